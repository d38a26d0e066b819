/*
 * The remote console's nonces and sealed messages (see ctlproto.h), on
 * libsodium's crypto_secretbox.
 */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "ctlproto.h"

_Static_assert(CTLPROTO_KEYLEN == crypto_secretbox_KEYBYTES, "key size");
_Static_assert(CTLPROTO_NONCELEN == crypto_secretbox_NONCEBYTES, "nonce size");
_Static_assert(CTLPROTO_MACLEN == crypto_secretbox_MACBYTES, "tag size");

#define HALF	(CTLPROTO_NONCELEN / 2)

void
ctlproto_nonces(struct ctlproto_nonces *cn, const uint8_t ours[CTLPROTO_NONCELEN],
    const uint8_t theirs[CTLPROTO_NONCELEN])
{
	memcpy(cn->cn_recv, ours, HALF);
	memcpy(cn->cn_recv + HALF, theirs + HALF, HALF);
	memcpy(cn->cn_send, theirs, HALF);
	memcpy(cn->cn_send + HALF, ours + HALF, HALF);
}

void
ctlproto_nonce_next(uint8_t nonce[CTLPROTO_NONCELEN])
{
	int	i;

	for (i = 3; i >= 0; i--)
		if (++nonce[i] != 0)
			break;
}

uint32_t
ctlproto_getlen(const uint8_t b[CTLPROTO_LENLEN])
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

size_t
ctlproto_seal(struct ctlproto_nonces *cn, const uint8_t key[CTLPROTO_KEYLEN],
    const uint8_t *msg, size_t len, uint8_t *out)
{
	uint32_t	blen = (uint32_t)(len + CTLPROTO_MACLEN);

	out[0] = blen >> 24;
	out[1] = blen >> 16;
	out[2] = blen >> 8;
	out[3] = blen;
	crypto_secretbox_easy(out + CTLPROTO_LENLEN, msg, len, cn->cn_send,
	    key);
	ctlproto_nonce_next(cn->cn_send);
	return CTLPROTO_LENLEN + blen;
}

int
ctlproto_open(struct ctlproto_nonces *cn, const uint8_t key[CTLPROTO_KEYLEN],
    const uint8_t *box, size_t len, uint8_t *out)
{
	if (len < CTLPROTO_MACLEN ||
	    crypto_secretbox_open_easy(out, box, len, cn->cn_recv, key) != 0)
		return -1;
	ctlproto_nonce_next(cn->cn_recv);
	return 0;
}

int
ctlproto_key_decode(const char *text, uint8_t key[CTLPROTO_KEYLEN])
{
	uint8_t		 tmp[CTLPROTO_KEYLEN + 3];
	size_t		 len, tlen;
	const char	*end;
	int		 rc = -1;

	while (isspace((unsigned char)*text))
		text++;
	tlen = strlen(text);
	while (tlen > 0 && isspace((unsigned char)text[tlen - 1]))
		tlen--;
	/* Decoding into a larger buffer tells 32 bytes from more. */
	if (sodium_base642bin(tmp, sizeof(tmp), text, tlen, NULL, &len, &end,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && end == text + tlen &&
	    len == CTLPROTO_KEYLEN) {
		memcpy(key, tmp, CTLPROTO_KEYLEN);
		rc = 0;
	}
	explicit_bzero(tmp, sizeof(tmp));
	return rc;
}

void
ctlproto_key_make(char buf[CTLPROTO_KEYTEXT])
{
	uint8_t	key[CTLPROTO_KEYLEN];

	crypto_secretbox_keygen(key);
	sodium_bin2base64(buf, CTLPROTO_KEYTEXT, key, sizeof(key),
	    sodium_base64_VARIANT_ORIGINAL);
	explicit_bzero(key, sizeof(key));
}

int
ctlproto_selftest(const char **why)
{
	static const char	 msg[] = "showServers()";
	uint8_t			 key[CTLPROTO_KEYLEN], other[CTLPROTO_KEYLEN];
	uint8_t			 a[CTLPROTO_NONCELEN], b[CTLPROTO_NONCELEN];
	uint8_t			 frame[CTLPROTO_LENLEN + CTLPROTO_MACLEN +
				    sizeof(msg)], plain[sizeof(msg)];
	struct ctlproto_nonces	 client, server, saved;
	size_t			 n;
	int			 rc = -1;

	crypto_secretbox_keygen(key);
	crypto_secretbox_keygen(other);
	randombytes_buf(a, sizeof(a));
	randombytes_buf(b, sizeof(b));
	ctlproto_nonces(&client, a, b);
	ctlproto_nonces(&server, b, a);
	n = ctlproto_seal(&client, key, (const uint8_t *)msg, sizeof(msg),
	    frame);
	saved = server;
	if (n != sizeof(frame) || ctlproto_getlen(frame) != n - CTLPROTO_LENLEN)
		*why = "bad length prefix";
	else if (ctlproto_open(&server, other, frame + CTLPROTO_LENLEN,
	    n - CTLPROTO_LENLEN, plain) == 0)
		*why = "a wrong key opens a message";
	else if (ctlproto_open(&server, key, frame + CTLPROTO_LENLEN,
	    n - CTLPROTO_LENLEN, plain) != 0)
		*why = "a message does not open";
	else if (memcmp(plain, msg, sizeof(msg)) != 0)
		*why = "a message opens to different text";
	else if (ctlproto_open(&server, key, frame + CTLPROTO_LENLEN,
	    n - CTLPROTO_LENLEN, plain) == 0)
		*why = "a replayed message opens";
	else {
		frame[n - 1] ^= 1;
		if (ctlproto_open(&saved, key, frame + CTLPROTO_LENLEN,
		    n - CTLPROTO_LENLEN, plain) == 0)
			*why = "a changed message opens";
		else
			rc = 0;
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(other, sizeof(other));
	return rc;
}
