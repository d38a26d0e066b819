/*
 * DNS over TLS through OpenSSL's libssl (make TLS=openssl, the default
 * on Linux), for what libretls, libtls over OpenSSL, cannot do: it
 * ignores the ticket keys given to it and issues no ticket, and keeps a
 * client session only in a file written right after the handshake,
 * before a TLS 1.3 ticket arrives.  Here the frontends issue tickets
 * under tls.c's keys (the newest encrypts, every one held decrypts) and
 * keep numberOfStoredSessions sessions, and each backend keeps the
 * sessions its server gave, each used once, as dnsdist does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "metrics.h"
#include "settings.h"
#include "config.h"
#include "server.h"
#include "dnsdist.h"
#include "tls_int.h"

/* A certificate with its chain and key, and the OCSP response to staple. */
struct tls_pair {
	X509		*pr_cert;
	STACK_OF(X509)	*pr_chain;
	EVP_PKEY	*pr_key;
	const uint8_t	*pr_ocsp;	/* the frontend's tf_pem, or NULL */
	size_t		 pr_ocsplen;
};

/* One generation of a frontend's server context. */
struct tls_sctx {
	SSL_CTX		*ts_ctx;
	struct tls_pem	*ts_pem;	/* the files the pairs came from */
	struct tls_pair	*ts_pairs;
	size_t		 ts_npairs;
	uint8_t		 ts_keys[TLS_MAXKEYS][TICKET_KEYLEN];
	int		 ts_nkeys;
	FILE		*ts_keylog;	/* keyLogFile, or NULL */
	_Atomic int	 ts_refs;
};

/* A backend's client context and the sessions it may resume. */
struct tls_client {
	SSL_CTX		*cl_ctx;
	pthread_mutex_t	 cl_lock;	/* what follows */
	struct {
		SSL_SESSION	*s;
		time_t		 t;	/* when it came */
	}		*cl_sess;	/* oldest first */
	size_t		 cl_n;
	size_t		 cl_cap;
	time_t		 cl_swept;
};

/* A connection, either way. */
struct tls {
	SSL		*t_ssl;
	size_t		 t_pair;	/* to a client: the pair it got */
	struct server	*t_ds;		/* to a backend, with its sessions */
	bool		 t_counted;	/* ... its resumption counted */
	char		 t_err[160];
};

static pthread_once_t	 init_once = PTHREAD_ONCE_INIT;
static int		 ctx_idx = -1;	/* SSL_CTX's ex_data: ours */
static uint8_t		 session_id[SSL_MAX_SID_CTX_LENGTH];
static pthread_mutex_t	 client_lock = PTHREAD_MUTEX_INITIALIZER;

static void
init1(void)
{
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (RAND_bytes(session_id, sizeof(session_id)) != 1)
		ctx_idx = -1;
}

int
tlsl_init(void)
{
	pthread_once(&init_once, init1);
	return ctx_idx == -1 ? -1 : 0;
}

/* What OpenSSL said last (into buf), or the system's error. */
static const char *
ossl_err(char *buf, size_t len)
{
	unsigned long	e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", errno != 0 ? strerror(errno) :
		    "connection closed");
	ERR_clear_error();
	return buf;
}

/* The whole of a file, malloc'd; NULL and errno. */
static uint8_t *
read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	uint8_t	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			if (cap >= 16 << 20 || (nb = realloc(buf, cap =
			    cap == 0 ? 8192 : cap * 2)) == NULL) {
				freezero(buf, len);
				fclose(f);
				errno = cap >= 16 << 20 ? EFBIG : ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		if ((n = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		freezero(buf, cap);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	*lenp = len;
	return buf;
}

/* A file's bytes; a PEM key opened with pass comes back in the clear. */
uint8_t *
tlsl_load_file(const char *path, size_t *lenp, const char *pass)
{
	uint8_t		*buf, *out = NULL;
	size_t		 len;
	BIO		*b, *w = NULL;
	EVP_PKEY	*k = NULL;
	char		*p;
	long		 n;

	if ((buf = read_file(path, &len)) == NULL || pass == NULL) {
		*lenp = buf != NULL ? len : 0;
		return buf;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL &&
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL,
	    (void *)(uintptr_t)pass)) != NULL &&
	    (w = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_PrivateKey(w, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(w, &p)) > 0 &&
	    (out = malloc((size_t)n)) != NULL) {
		memcpy(out, p, (size_t)n);
		*lenp = (size_t)n;
	}
	ERR_clear_error();
	BIO_free(b);
	BIO_free(w);
	EVP_PKEY_free(k);
	freezero(buf, len);
	if (out == NULL)
		errno = EINVAL;
	return out;
}

void
tlsl_unload_file(uint8_t *buf, size_t len)
{
	freezero(buf, len);
}

void
tlsl_sctx_ref(struct tls_sctx *ts)
{
	atomic_fetch_add(&ts->ts_refs, 1);
}

void
tlsl_sctx_unref(struct tls_sctx *ts)
{
	size_t	i;

	if (ts == NULL || atomic_fetch_sub(&ts->ts_refs, 1) != 1)
		return;
	SSL_CTX_free(ts->ts_ctx);
	for (i = 0; i < ts->ts_npairs; i++) {
		X509_free(ts->ts_pairs[i].pr_cert);
		sk_X509_pop_free(ts->ts_pairs[i].pr_chain, X509_free);
		EVP_PKEY_free(ts->ts_pairs[i].pr_key);
	}
	free(ts->ts_pairs);
	if (ts->ts_keylog != NULL)
		fclose(ts->ts_keylog);
	explicit_bzero(ts->ts_keys, sizeof(ts->ts_keys));
	free(ts);
}

/* The certificate, chain and key of a pair from its PEM: NULL, or why not. */
static const char *
pair_load(struct tls_pair *pr, const struct tls_pem *tp)
{
	BIO	*b;
	X509	*x;

	if ((b = BIO_new_mem_buf(tp->tp_buf[0], (int)tp->tp_len[0])) == NULL)
		return "out of memory";
	pr->pr_cert = PEM_read_bio_X509(b, NULL, NULL, (void *)"");
	if ((pr->pr_chain = sk_X509_new_null()) != NULL)
		while ((x = PEM_read_bio_X509(b, NULL, NULL, (void *)"")) !=
		    NULL)
			if (sk_X509_push(pr->pr_chain, x) == 0)
				X509_free(x);
	BIO_free(b);
	ERR_clear_error();	/* the end of the chain */
	if ((b = BIO_new_mem_buf(tp->tp_buf[1], (int)tp->tp_len[1])) == NULL)
		return "out of memory";
	pr->pr_key = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
	BIO_free(b);
	pr->pr_ocsp = tp->tp_buf[2];
	pr->pr_ocsplen = tp->tp_len[2];
	ERR_clear_error();
	if (pr->pr_cert == NULL || pr->pr_chain == NULL)
		return "no certificate in it";
	if (pr->pr_key == NULL)
		return "no private key";
	if (X509_check_private_key(pr->pr_cert, pr->pr_key) != 1) {
		ERR_clear_error();
		return "the private key is not the certificate's";
	}
	return NULL;
}

/*
 * The pair for the name the client asked (SNI), or the first, which the
 * context holds already.
 */
static int
cert_cb(SSL *ssl, void *arg)
{
	struct tls_sctx	*ts = arg;
	struct tls	*t = SSL_get_app_data(ssl);
	struct tls_pair	*pr;
	const char	*name;
	size_t		 i;

	t->t_pair = 0;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	for (i = 0; name != NULL && i < ts->ts_npairs; i++)
		if (X509_check_host(ts->ts_pairs[i].pr_cert, name, 0, 0,
		    NULL) == 1) {
			t->t_pair = i;
			break;
		}
	if (t->t_pair == 0)
		return 1;
	pr = &ts->ts_pairs[t->t_pair];
	return SSL_use_cert_and_key(ssl, pr->pr_cert, pr->pr_key,
	    pr->pr_chain, 1);
}

/*
 * The name the client asked is taken (the certificate is chosen later,
 * in cert_cb): so it is kept in the session, and a TLS 1.2 session
 * resumed still has it for SNIRule.
 */
static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	(void)ssl;
	(void)alert;
	(void)arg;
	return SSL_TLSEXT_ERR_OK;
}

/* OCSP stapling: the response of the pair chosen, if it has one. */
static int
status_cb(SSL *ssl, void *arg)
{
	struct tls_sctx	*ts = arg;
	struct tls	*t = SSL_get_app_data(ssl);
	struct tls_pair	*pr = &ts->ts_pairs[t->t_pair];
	uint8_t		*p;

	if (pr->pr_ocsp == NULL ||
	    (p = OPENSSL_memdup(pr->pr_ocsp, pr->pr_ocsplen)) == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long)pr->pr_ocsplen) !=
	    1) {
		OPENSSL_free(p);
		return SSL_TLSEXT_ERR_NOACK;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* DNS over HTTPS: HTTP/2 when the client offers it, else HTTP/1.1. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	 ours[] = "\x02h2\x08http/1.1";
	unsigned char			*sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Session tickets under our keys: AES-256-CBC and HMAC-SHA256 with the
 * newest key; a ticket under an older key still held is taken and a new
 * one issued (2), one under a key gone means a full handshake (0).
 */
static int
ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_sctx	*ts = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
			    ctx_idx);
	const uint8_t	*k;
	OSSL_PARAM	 p[3];
	int		 i = 0;

	if (enc) {
		if (ts->ts_nkeys == 0 || RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(name, ts->ts_keys[0], 16);
	} else {
		while (i < ts->ts_nkeys && memcmp(name, ts->ts_keys[i], 16))
			i++;
		if (i == ts->ts_nkeys)
			return 0;
	}
	k = ts->ts_keys[i];
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)(uintptr_t)(k + 48), 32);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	p[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, p) != 1 || (enc ?
	    EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k + 16, iv) :
	    EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k + 16, iv)) != 1)
		return -1;
	return enc || i == 0 ? 1 : 2;
}

/* keyLogFile: the secrets of each session, NSS's format. */
static void
keylog_cb(const SSL *ssl, const char *line)
{
	struct tls_sctx	*ts = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
			    ctx_idx);

	flockfile(ts->ts_keylog);
	fprintf(ts->ts_keylog, "%s\n", line);
	fflush(ts->ts_keylog);
	funlockfile(ts->ts_keylog);
}

/* The settings both ways: versions, ciphers, modes. */
static int
ctx_common(SSL_CTX *ctx, int minver, const char *ciphers,
    const char *ciphers13)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_min_proto_version(ctx, minver) != 1 ||
	    (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) ||
	    (ciphers13 != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, ciphers13) != 1))
		return -1;
	return 0;
}

/* A server context from the files in tp and the keys, or NULL and err. */
struct tls_sctx *
tlsl_sctx_new(struct tls_front *tf, const struct tls_pem *tp, size_t ntp,
    char *err, size_t errlen)
{
	static const int	 vers[] = { TLS1_VERSION, TLS1_1_VERSION,
				    TLS1_2_VERSION, TLS1_3_VERSION };
	struct tls_local	*tl = tf->tf_tl;
	struct tls_sctx		*ts;
	SSL_CTX			*ctx;
	const char		*e;
	char			 why[160];
	size_t			 i;
	int			 v;

	ERR_clear_error();
	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->ts_pairs = calloc(ntp, sizeof(*ts->ts_pairs))) == NULL ||
	    (ts->ts_ctx = ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		if (ts != NULL)
			free(ts->ts_pairs);
		free(ts);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&ts->ts_refs, 1);
	ts->ts_npairs = ntp;
	for (i = 0; i < ntp; i++)
		if ((e = pair_load(&ts->ts_pairs[i], &tp[i])) != NULL) {
			snprintf(err, errlen, "%s: %s: %s",
			    tf->tf_li->li_local->lc_text, tl->tl_certs[i], e);
			goto fail;
		}
	v = tl->tl_minver < 10 ? 10 : tl->tl_minver > 13 ? 13 : tl->tl_minver;
	if (ctx_common(ctx, vers[v - 10], tl->tl_ciphers,
	    tl->tl_ciphers13) == -1 ||
	    SSL_CTX_set_ex_data(ctx, ctx_idx, ts) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, session_id,
	    sizeof(session_id)) != 1)
		goto ossl;
	if (SSL_CTX_use_cert_and_key(ctx, ts->ts_pairs[0].pr_cert,
	    ts->ts_pairs[0].pr_key, ts->ts_pairs[0].pr_chain, 1) != 1)
		goto ossl;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_cert_cb(ctx, cert_cb, ts);
	SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
	SSL_CTX_set_tlsext_status_arg(ctx, ts);
	if (tf->tf_li->li_local->lc_doh != NULL)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	/* sessionTimeout, else as long as a key stays the newest. */
	SSL_CTX_set_timeout(ctx, tl->tl_timeout > 0 ? tl->tl_timeout :
	    tl->tl_rotation > 0 && tl->tl_rotation < TLS_MAXLIFE ?
	    tl->tl_rotation : TLS_MAXLIFE);
	if (tl->tl_tickets) {
		memcpy(ts->ts_keys, tf->tf_keys, sizeof(ts->ts_keys));
		ts->ts_nkeys = tf->tf_nkeys;
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	} else
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (tl->tl_nsessions == 0)
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
		SSL_CTX_sess_set_cache_size(ctx, tl->tl_nsessions);
	}
	if (tl->tl_keylog != NULL) {
		if ((ts->ts_keylog = fopen(tl->tl_keylog, "ae")) == NULL) {
			snprintf(err, errlen, "%s: keyLogFile %s: %s",
			    tf->tf_li->li_local->lc_text, tl->tl_keylog,
			    strerror(errno));
			goto fail;
		}
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	}
	return ts;
ossl:
	snprintf(err, errlen, "%s: %s", tf->tf_li->li_local->lc_text,
	    ossl_err(why, sizeof(why)));
fail:
	tlsl_sctx_unref(ts);
	return NULL;
}

int
tlsl_accept(struct tls_sctx *ts, int fd, struct tls **tlsp)
{
	struct tls	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	if ((t->t_ssl = SSL_new(ts->ts_ctx)) == NULL ||
	    SSL_set_fd(t->t_ssl, fd) != 1) {
		ERR_clear_error();
		SSL_free(t->t_ssl);
		free(t);
		return -1;
	}
	SSL_set_app_data(t->t_ssl, t);
	SSL_set_accept_state(t->t_ssl);
	*tlsp = t;
	return 0;
}

/* After a call that returned r: 0 and *want, or -1. */
static int
want(struct tls *t, int r, short *w)
{
	switch (SSL_get_error(t->t_ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*w = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*w = POLLOUT;
		return 0;
	}
	return -1;
}

int
tlsl_handshake(struct tls *t, short *w, const char **err)
{
	int	r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(t->t_ssl)) == 1)
		return 1;
	if (want(t, r, w) == 0)
		return 0;
	*err = ossl_err(t->t_err, sizeof(t->t_err));
	return -1;
}

/* To a backend: its handshake done, count a session resumed. */
static void
count_resumed(struct tls *t)
{
	if (t->t_ds == NULL || t->t_counted ||
	    !SSL_is_init_finished(t->t_ssl))
		return;
	t->t_counted = true;
	if (SSL_session_reused(t->t_ssl))
		atomic_fetch_add_explicit(&t->t_ds->ds_tlsresumed, 1,
		    memory_order_relaxed);
}

ssize_t
tlsl_io(struct tls *t, void *buf, size_t len, bool wr, short *w)
{
	size_t	n = 0;
	int	r;

	*w = 0;
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	if (len > INT_MAX)
		len = INT_MAX;
	r = wr ? SSL_write_ex(t->t_ssl, buf, len, &n) :
	    SSL_read_ex(t->t_ssl, buf, len, &n);
	count_resumed(t);
	if (r == 1 && n > 0)
		return (ssize_t)n;
	/*
	 * A write never returns 0: once the socket has failed, OpenSSL may
	 * report the record it keeps trying as written, and a caller that
	 * loops until all is out would spin for ever on a dead connection.
	 */
	if (r == 1) {
		errno = EPIPE;
		return -1;
	}
	if (want(t, r, w) == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (SSL_get_error(t->t_ssl, r) == SSL_ERROR_ZERO_RETURN) {
		if (!wr)
			return 0;
		errno = EPIPE;
		return -1;
	}
	log_debug("tls: %s", ossl_err(t->t_err, sizeof(t->t_err)));
	errno = EIO;
	return -1;
}

bool
tlsl_resumed(struct tls *t)
{
	return SSL_session_reused(t->t_ssl) == 1;
}

const char *
tlsl_version(struct tls *t)
{
	return SSL_get_version(t->t_ssl);
}

const char *
tlsl_servername(struct tls *t)
{
	return SSL_get_servername(t->t_ssl, TLSEXT_NAMETYPE_host_name);
}

void
tlsl_free(struct tls *t, bool notify)
{
	if (notify) {
		(void)SSL_shutdown(t->t_ssl);
		ERR_clear_error();
	}
	SSL_free(t->t_ssl);
	free(t);
}

/*
 * DNS over TLS to backends: one client context per server, made by the
 * first connection (any thread) and kept with the server, with the
 * sessions to resume (setOutgoingTLSSessionsCache*: at most so many,
 * none older than the validity, swept once per cleanup delay).
 */

/* Drop the sessions too old, once per cleanup delay.  cl_lock held. */
static void
client_sweep(struct tls_client *cl, const struct config *cf, time_t now)
{
	size_t	i, j;

	if (now - cl->cl_swept < cf->cf_tlssesscleanup)
		return;
	cl->cl_swept = now;
	for (i = j = 0; i < cl->cl_n; i++) {
		if (now - cl->cl_sess[i].t < cf->cf_tlssessvalid) {
			cl->cl_sess[j++] = cl->cl_sess[i];
			continue;
		}
		SSL_SESSION_free(cl->cl_sess[i].s);
		atomic_fetch_sub(&settings_tlssessions, 1);
	}
	cl->cl_n = j;
}

/* A session the server gave: kept, the oldest out past the limit. */
static int
sess_new_cb(SSL *ssl, SSL_SESSION *s)
{
	struct tls_client	*cl = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
				    ctx_idx);
	const struct config	*cf = config_now();
	size_t			 max = (size_t)cf->cf_tlssessmax;
	time_t			 now = time(NULL);
	void			*n;

	if (max == 0 || !SSL_SESSION_is_resumable(s) ||
	    ((struct tls *)SSL_get_app_data(ssl))->t_ds == NULL)
		return 0;
	pthread_mutex_lock(&cl->cl_lock);
	client_sweep(cl, cf, now);
	if (cl->cl_cap < max) {
		if ((n = reallocarray(cl->cl_sess, max,
		    sizeof(*cl->cl_sess))) == NULL) {
			pthread_mutex_unlock(&cl->cl_lock);
			return 0;
		}
		cl->cl_sess = n;
		cl->cl_cap = max;
	}
	while (cl->cl_n >= max) {
		SSL_SESSION_free(cl->cl_sess[0].s);
		atomic_fetch_sub(&settings_tlssessions, 1);
		memmove(&cl->cl_sess[0], &cl->cl_sess[1], --cl->cl_n *
		    sizeof(*cl->cl_sess));
	}
	cl->cl_sess[cl->cl_n].s = s;
	cl->cl_sess[cl->cl_n++].t = now;
	atomic_fetch_add(&settings_tlssessions, 1);
	pthread_mutex_unlock(&cl->cl_lock);
	return 1;
}

/* The newest session still valid, taken out (each is used once). */
static SSL_SESSION *
client_take(struct tls_client *cl)
{
	const struct config	*cf = config_now();
	SSL_SESSION		*s = NULL;
	time_t			 now = time(NULL);

	pthread_mutex_lock(&cl->cl_lock);
	client_sweep(cl, cf, now);
	while (s == NULL && cl->cl_n > 0) {
		s = cl->cl_sess[--cl->cl_n].s;
		atomic_fetch_sub(&settings_tlssessions, 1);
		if (now - cl->cl_sess[cl->cl_n].t >= cf->cf_tlssessvalid) {
			SSL_SESSION_free(s);
			s = NULL;
		}
	}
	pthread_mutex_unlock(&cl->cl_lock);
	return s;
}

static void
client_free(void *arg)
{
	struct tls_client	*cl = arg;
	size_t			 i;

	for (i = 0; i < cl->cl_n; i++) {
		SSL_SESSION_free(cl->cl_sess[i].s);
		atomic_fetch_sub(&settings_tlssessions, 1);
	}
	free(cl->cl_sess);
	SSL_CTX_free(cl->cl_ctx);
	pthread_mutex_destroy(&cl->cl_lock);
	free(cl);
}

static struct tls_client *
client_ctx(struct server *ds)
{
	struct tls_client	*cl;
	SSL_CTX			*ctx;
	char			 why[160];

	pthread_mutex_lock(&client_lock);
	if ((cl = ds->ds_tlscfg) != NULL) {
		pthread_mutex_unlock(&client_lock);
		return cl;
	}
	ERR_clear_error();
	if (tlsl_init() == -1 || (cl = calloc(1, sizeof(*cl))) == NULL)
		goto fail;
	if ((cl->cl_ctx = ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    ctx_common(ctx, TLS1_2_VERSION, ds->ds_tlsciphers,
	    ds->ds_tlsciphers13) == -1 ||
	    SSL_CTX_set_ex_data(ctx, ctx_idx, cl) != 1 ||
	    (ds->ds_tlsverify && (ds->ds_tlsca != NULL ?
	    SSL_CTX_load_verify_locations(ctx, ds->ds_tlsca, NULL) :
	    SSL_CTX_set_default_verify_paths(ctx)) != 1) ||
	    /* DNS over HTTPS: HTTP/2, which the server must agree to. */
	    (ds->ds_dohpath != NULL &&
	    SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h2", 3)
	    != 0)) {
		log_warnx("tls to %s: %s", ds->ds_addrtext,
		    ossl_err(why, sizeof(why)));
		SSL_CTX_free(ctx);
		free(cl);
		goto fail;
	}
	if (ds->ds_tlsverify)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, sess_new_cb);
	pthread_mutex_init(&cl->cl_lock, NULL);
	server_tls_free = client_free;
	ds->ds_tlscfg = cl;
	pthread_mutex_unlock(&client_lock);
	return cl;
fail:
	pthread_mutex_unlock(&client_lock);
	return NULL;
}

/*
 * Start TLS on fd, connected to ds: the handshake runs in the first
 * tls_backend_io().  NULL when it cannot start.
 */
struct tls *
tls_backend_start(struct server *ds, int fd, bool sessions)
{
	struct tls_client	*cl;
	struct tls		*t;
	SSL_SESSION		*s;
	char			 host[INET6_ADDRSTRLEN];
	const char		*name = tls_backend_name(ds, host, sizeof(host));
	char			 sni[256];	/* OpenSSL's macro takes it non-const */
	struct in6_addr		 a;
	bool			 ip;

	if ((cl = client_ctx(ds)) == NULL || (t = calloc(1, sizeof(*t))) ==
	    NULL)
		return NULL;
	t->t_ds = sessions ? ds : NULL;
	snprintf(sni, sizeof(sni), "%s", name != NULL ? name : "");
	ip = name != NULL && (inet_pton(AF_INET, name, &a) == 1 ||
	    inet_pton(AF_INET6, name, &a) == 1);
	if (name == NULL || (t->t_ssl = SSL_new(cl->cl_ctx)) == NULL ||
	    SSL_set_fd(t->t_ssl, fd) != 1 || (ip ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->t_ssl), name) :
	    SSL_set_tlsext_host_name(t->t_ssl, sni) &&
	    SSL_set1_host(t->t_ssl, name)) != 1) {
		log_debug("tls to %s: %s", ds->ds_addrtext,
		    ossl_err(t->t_err, sizeof(t->t_err)));
		SSL_free(t->t_ssl);
		free(t);
		return NULL;
	}
	SSL_set_app_data(t->t_ssl, t);
	if (sessions && (s = client_take(cl)) != NULL) {
		(void)SSL_set_session(t->t_ssl, s);
		SSL_SESSION_free(s);
	}
	SSL_set_connect_state(t->t_ssl);
	return t;
}

ssize_t
tls_backend_io(struct tls *t, void *buf, size_t len, bool wr, short *w)
{
	return tlsl_io(t, buf, len, wr, w);
}

void
tls_backend_close(struct tls *t)
{
	if (t != NULL)
		tlsl_free(t, true);
}
