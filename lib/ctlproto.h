/*
 * The remote console's wire protocol, as PowerDNS dnsdist speaks it.
 *
 * Over TCP, the client sends 24 random bytes and the server answers with
 * 24 of its own.  Each side then derives two nonces from the pair: the
 * client-to-server nonce is the first half of the server's bytes followed
 * by the second half of the client's, the server-to-client nonce the
 * first half of the client's followed by the second half of the server's.
 * Every message after that is a 4-byte big-endian length followed by a
 * crypto_secretbox (XSalsa20-Poly1305, a 16-byte tag then the text)
 * sealed with the shared 32-byte key and the nonce of its direction.  The
 * first four bytes of a nonce count, big-endian, the messages sent in
 * that direction.  Clients send an empty command first to check the key;
 * the server answers it with an empty message.
 */
#ifndef CTLPROTO_H
#define CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#define CTLPROTO_PORT		5199
#define CTLPROTO_KEYLEN		32
#define CTLPROTO_NONCELEN	24
#define CTLPROTO_MACLEN		16
#define CTLPROTO_LENLEN		4
#define CTLPROTO_KEYTEXT	45	/* base64 of a key, with the NUL */

struct ctlproto_nonces {
	uint8_t	cn_recv[CTLPROTO_NONCELEN];
	uint8_t	cn_send[CTLPROTO_NONCELEN];
};

/* The nonces of one side, from its own random bytes and the peer's. */
void	ctlproto_nonces(struct ctlproto_nonces *,
	    const uint8_t ours[CTLPROTO_NONCELEN],
	    const uint8_t theirs[CTLPROTO_NONCELEN]);
/* Count one message: the first four bytes, big-endian, wrapping. */
void	ctlproto_nonce_next(uint8_t nonce[CTLPROTO_NONCELEN]);

/*
 * Seal len bytes of msg into out, which has room for CTLPROTO_LENLEN +
 * CTLPROTO_MACLEN + len bytes: the length prefix, then the box.  Uses and
 * counts the sending nonce.  Returns the bytes written.
 */
size_t	ctlproto_seal(struct ctlproto_nonces *,
	    const uint8_t key[CTLPROTO_KEYLEN], const uint8_t *msg, size_t len,
	    uint8_t *out);
/*
 * Open the box of len bytes (after the length prefix) into out, which has
 * room for len - CTLPROTO_MACLEN bytes, with the receiving nonce.  Returns
 * 0 and counts the nonce, or -1 when the box is too short or was not
 * sealed with this key and nonce (a wrong key, a forged or replayed
 * message).
 */
int	ctlproto_open(struct ctlproto_nonces *,
	    const uint8_t key[CTLPROTO_KEYLEN], const uint8_t *box, size_t len,
	    uint8_t *out);

uint32_t ctlproto_getlen(const uint8_t b[CTLPROTO_LENLEN]);

/*
 * Decode base64 text into a key.  0, or -1 when the text is not the
 * standard base64 of exactly 32 bytes (blanks around it are ignored).
 */
int	ctlproto_key_decode(const char *text, uint8_t key[CTLPROTO_KEYLEN]);
/* A new random key, as base64 text in buf (CTLPROTO_KEYTEXT bytes). */
void	ctlproto_key_make(char buf[CTLPROTO_KEYTEXT]);
/*
 * Round trips with a random key: a message opens, a changed byte, a
 * wrong key and a reused nonce do not.  0 when all went as expected,
 * else -1 with what failed in why.
 */
int	ctlproto_selftest(const char **why);

#endif /* CTLPROTO_H */
