/*
 * DNS over TLS: what tls.c (the frontends' bookkeeping, files, ticket
 * keys, console hooks and counters, whatever the library) shares with
 * the library under it: tls_libtls.c (libtls) or tls_ossl.c (OpenSSL's
 * libssl), chosen at build time.  The library part makes the server
 * contexts, shakes hands, moves bytes and resumes sessions; it also
 * does DNS over TLS to backends whole (tls_backend_* in dnsdist.h).
 */
#ifndef TLS_INT_H
#define TLS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "settings.h"

/*
 * A ticket key as dnsdist's ticketKeyFile holds it: a name of 16 bytes,
 * then 32 of AES-256 key and 32 of HMAC-SHA256 key.
 */
#define TICKET_KEYLEN		80

/* The files of a frontend as last loaded: ticket keys rotate with them. */
struct tls_pem {
	uint8_t			*tp_buf[3];	/* certificate, key, OCSP */
	size_t			 tp_len[3];
};

struct tls_sctx;

struct tls_front {
	struct listener		*tf_li;
	struct tls_local	*tf_tl;
	struct tls_pem		*tf_pem;	/* tl_npairs of them */
	size_t			 tf_npem;
	pthread_mutex_t		 tf_lock;	/* tf_ctx, and accepting */
	struct tls_sctx		*tf_ctx;
	/* ticket keys, newest first; the main thread's */
	uint8_t			 tf_keys[TLS_MAXKEYS][TICKET_KEYLEN];
	int			 tf_nkeys;
	uint32_t		 tf_nextrev;
	time_t			 tf_rotated;	/* wall clock, for show */
	_Atomic uint64_t	 tf_cnt[TLSC_COUNT];
};

/* tls.c, for the library part */
void		 tls_count(struct tls_front *, int);
/* The name a backend's certificate must have: subjectName, or its address. */
struct server;
const char	*tls_backend_name(const struct server *, char *, size_t);

/*
 * The library part.  tlsl_init once, before the first context.  A
 * server context from the files in tp and tf's keys, or NULL and err;
 * tlsl_sctx_ref and _unref count its users (the frontend and each
 * connection).  tlsl_load_file: a file's bytes (a PEM key opened with
 * pass when pass is not NULL), malloc'd, for tlsl_unload_file, or NULL
 * and errno.
 */
int		 tlsl_init(void);
struct tls_sctx	*tlsl_sctx_new(struct tls_front *, const struct tls_pem *,
		    size_t, char *, size_t);
void		 tlsl_sctx_ref(struct tls_sctx *);
void		 tlsl_sctx_unref(struct tls_sctx *);
uint8_t		*tlsl_load_file(const char *, size_t *, const char *);
void		 tlsl_unload_file(uint8_t *, size_t);

/*
 * A connection of a frontend's client on fd: 0 and *tlsp, or -1.
 * tlsl_handshake: 1 done, 0 again when the socket is ready for *want,
 * -1 failed, with what the library said in *err.  tlsl_io reads (wr
 * false) or writes as read(2) and write(2) do, or -1 with errno EAGAIN
 * and *want POLLIN or POLLOUT.  tlsl_version and tlsl_servername may be
 * NULL.  tlsl_free closes (a try at close_notify when notify) and frees.
 */
int		 tlsl_accept(struct tls_sctx *, int, struct tls **);
int		 tlsl_handshake(struct tls *, short *, const char **);
ssize_t		 tlsl_io(struct tls *, void *, size_t, bool, short *);
bool		 tlsl_resumed(struct tls *);
const char	*tlsl_version(struct tls *);
const char	*tlsl_servername(struct tls *);
void		 tlsl_free(struct tls *, bool);

#endif /* TLS_INT_H */
