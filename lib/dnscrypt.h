/*
 * DNSCrypt v2 (X25519-XSalsa20Poly1305 and X25519-XChacha20Poly1305), the
 * resolver's side: provider keys and resolver certificates, the certificate
 * store of a DNSCrypt listener, the certificates' TXT answer, decrypting a
 * query and encrypting its answer.
 *
 * A context's certificates are an immutable set published through one
 * atomic pointer: packet threads (QSBR readers) read the live set without a
 * lock; the configuration's writers, one at a time under the configuration
 * lock, publish a changed copy and retire the old set through QSBR.
 */
#ifndef DNSCRYPT_H
#define DNSCRYPT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qsbr.h"

#define DNSCRYPT_CERT_LEN	124	/* magic 4, es 2, minor 2, sig 64, 52 */
#define DNSCRYPT_PROVIDER_PK	32	/* Ed25519 */
#define DNSCRYPT_PROVIDER_SK	64
#define DNSCRYPT_KEY		32	/* X25519 */
#define DNSCRYPT_QHDR		52	/* client magic 8, pk 32, nonce 12 */
#define DNSCRYPT_RHDR		32	/* resolver magic 8, nonce 24 */
#define DNSCRYPT_MAC		16
#define DNSCRYPT_MINUDP		256	/* smallest query over UDP */
#define DNSCRYPT_BLOCK		64
#define DNSCRYPT_MAXPAD		256	/* most padding of an answer */
#define DNSCRYPT_CERT_TTL	3600
/* Room an answer needs beyond its own length once encrypted. */
#define DNSCRYPT_OVERHEAD	(DNSCRYPT_RHDR + DNSCRYPT_MAC + DNSCRYPT_MAXPAD)

/* es-version: 0x0001 X25519-XSalsa20Poly1305, 0x0002 XChacha20Poly1305. */
#define DNSCRYPT_ES_XSALSA	1
#define DNSCRYPT_ES_XCHACHA	2

struct dnscrypt_pair {
	uint8_t		dp_cert[DNSCRYPT_CERT_LEN];
	uint8_t		dp_sk[DNSCRYPT_KEY];	/* the resolver's secret key */
	bool		dp_active;		/* advertised to clients */
};

/* Immutable once published. */
struct dnscrypt_set {
	struct qsbr_node	ds_q;
	size_t			ds_n;
	struct dnscrypt_pair	ds_pairs[];
};

struct dnscrypt_ctx {
	uint8_t				 dc_provider[255];	/* wire */
	size_t				 dc_providerlen;
	char				 dc_providertext[256];
	_Atomic(struct dnscrypt_set *)	 dc_set;	/* never NULL */
	char				**dc_paths;	/* cert, key, ... */
	size_t				 dc_npaths;
};

/* What a decrypted query leaves for its answer. */
struct dnscrypt_query {
	uint8_t		dq_key[DNSCRYPT_KEY];	/* the shared key */
	uint8_t		dq_nonce[12];		/* the client's half */
	uint16_t	dq_padded;		/* padded plaintext length */
	uint8_t		dq_es;			/* DNSCRYPT_ES_* */
};

/* Certificate fields, from its wire form. */
uint32_t	dnscrypt_cert_serial(const uint8_t *cert);
uint32_t	dnscrypt_cert_start(const uint8_t *cert);
uint32_t	dnscrypt_cert_end(const uint8_t *cert);
int		dnscrypt_cert_es(const uint8_t *cert);	/* -1: unknown */
const uint8_t	*dnscrypt_cert_pk(const uint8_t *cert);
const uint8_t	*dnscrypt_cert_magic(const uint8_t *cert);	/* client's */

/* A context for provider (text); NULL on a bad name or ENOMEM. */
struct dnscrypt_ctx *dnscrypt_ctx_new(const char *provider);
/* Free it at once: no reader may hold it (never published, or shutdown). */
void		dnscrypt_ctx_free(struct dnscrypt_ctx *);
/* The live set (a QSBR reader, or a writer under the writers' lock). */
const struct dnscrypt_set *dnscrypt_set(const struct dnscrypt_ctx *);

/*
 * Changes, by the writers one at a time.  Each returns 0, or -1 with a
 * reason in *why (a static string) and nothing changed.
 */
int	dnscrypt_add(struct dnscrypt_ctx *, const uint8_t *cert,
	    const uint8_t *sk, bool active, const char **why);
int	dnscrypt_mark(struct dnscrypt_ctx *, uint32_t serial, bool active,
	    const char **why);
int	dnscrypt_remove(struct dnscrypt_ctx *, uint32_t serial,
	    const char **why);
/*
 * Load a certificate file and its key file; reload=true replaces the whole
 * set by the files remembered so far (reloadCertificates()).
 */
int	dnscrypt_load(struct dnscrypt_ctx *, const char *certfile,
	    const char *keyfile, bool active, const char **why);
int	dnscrypt_reload(struct dnscrypt_ctx *, const char **why);

/* Key material. */
int	dnscrypt_provider_keys(uint8_t *pk, uint8_t *sk);
/* "E1D7:2108:...", 80 bytes of room. */
void	dnscrypt_fingerprint(const uint8_t *pk, char *out);
/* A resolver key pair and its certificate signed by the provider key. */
int	dnscrypt_cert_make(const uint8_t *providersk, uint32_t serial,
	    uint32_t from, uint32_t until, int es, uint8_t *cert, uint8_t *sk);
/* Read exactly len bytes of a file; 0 or -1. */
int	dnscrypt_read_file(const char *path, uint8_t *buf, size_t len);
int	dnscrypt_write_file(const char *path, const uint8_t *buf, size_t len);

enum dnscrypt_kind {
	DNSCRYPT_BAD,		/* drop it */
	DNSCRYPT_CERTREQ,	/* the provider's TXT query, in plain text */
	DNSCRYPT_QUERY		/* decrypted in place */
};

/*
 * A datagram or TCP message to a DNSCrypt listener.  An encrypted query
 * (its client magic names a certificate valid at now) is decrypted in
 * place: *len becomes the plain query's length and *dq what its answer
 * needs.
 */
enum dnscrypt_kind dnscrypt_query(const struct dnscrypt_ctx *, time_t now,
	    uint8_t *pkt, size_t *len, bool tcp, struct dnscrypt_query *dq);
/*
 * Make pkt[0..len), the certificate query, its answer: the active
 * certificates valid at now.  The answer's length, or 0 without room.
 */
size_t	dnscrypt_cert_answer(const struct dnscrypt_ctx *, time_t now,
	    uint8_t *pkt, size_t len, size_t size);
/*
 * Encrypt the answer pkt[0..len) in place (room: size); over UDP an answer
 * longer than the padded query is first cut to its question with TC set.
 * The encrypted length, or 0 when it does not fit (drop it).
 */
size_t	dnscrypt_encrypt(const struct dnscrypt_query *, uint8_t *pkt,
	    size_t len, size_t size, bool tcp);

#endif /* DNSCRYPT_H */
