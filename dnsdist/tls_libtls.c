/*
 * DNS over TLS through libtls (make TLS=libtls; LibreSSL's own on the
 * BSDs): the server contexts and connections of tls.c's frontends, and
 * the connections to backends.  libretls, libtls over OpenSSL, resumes
 * no session either way: tls_ossl.c does it where libtls is libretls.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tls.h>

#include "metrics.h"
#include "settings.h"
#include "dnsdist.h"
#include "tcp.h"

#include "tls_int.h"

/* One generation of a frontend's server context. */
struct tls_sctx {
	struct tls		*ts_tls;
	struct tls_config	*ts_cfg;
	_Atomic int		 ts_refs;
};

static uint8_t		  session_id[16];
static pthread_once_t	  init_once = PTHREAD_ONCE_INIT;
static int		  init_rc;

static void
init1(void)
{
	init_rc = tls_init();
	randombytes_buf(session_id, sizeof(session_id));
}

int
tlsl_init(void)
{
	pthread_once(&init_once, init1);
	return init_rc;
}

void
tlsl_sctx_ref(struct tls_sctx *ts)
{
	atomic_fetch_add(&ts->ts_refs, 1);
}

void
tlsl_sctx_unref(struct tls_sctx *ts)
{
	if (ts == NULL || atomic_fetch_sub(&ts->ts_refs, 1) != 1)
		return;
	tls_free(ts->ts_tls);
	tls_config_free(ts->ts_cfg);
	free(ts);
}

uint8_t *
tlsl_load_file(const char *path, size_t *len, const char *pass)
{
	return tls_load_file(path, len, (char *)(uintptr_t)pass);
}

void
tlsl_unload_file(uint8_t *buf, size_t len)
{
	tls_unload_file(buf, len);
}

/* A server context from the files in tp and the keys, or NULL and err. */
struct tls_sctx *
tlsl_sctx_new(struct tls_front *tf, const struct tls_pem *tp, size_t ntp,
    char *err, size_t errlen)
{
	struct tls_local	*tl = tf->tf_tl;
	struct tls_sctx		*ts;
	struct tls_config	*cfg;
	uint32_t		 protos = 0;
	size_t			 i;
	int			 k, r, life;

	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->ts_cfg = cfg = tls_config_new()) == NULL) {
		free(ts);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&ts->ts_refs, 1);
	for (i = 0; i < ntp; i++) {
		r = (i == 0 ? tls_config_set_keypair_ocsp_mem :
		    tls_config_add_keypair_ocsp_mem)(cfg, tp[i].tp_buf[0],
		    tp[i].tp_len[0], tp[i].tp_buf[1], tp[i].tp_len[1],
		    tp[i].tp_buf[2], tp[i].tp_len[2]);
		if (r == -1)
			goto fail;
	}
	if (tl->tl_minver <= 10)
		protos |= TLS_PROTOCOL_TLSv1_0;
	if (tl->tl_minver <= 11)
		protos |= TLS_PROTOCOL_TLSv1_1;
	if (tl->tl_minver <= 12)
		protos |= TLS_PROTOCOL_TLSv1_2;
	protos |= TLS_PROTOCOL_TLSv1_3;
	if (tls_config_set_protocols(cfg, protos) == -1 ||
	    (tl->tl_ciphers != NULL &&
	    tls_config_set_ciphers(cfg, tl->tl_ciphers) == -1))
		goto fail;
	/* DNS over HTTPS: HTTP/2 when the client offers it, else HTTP/1.1. */
	if (tf->tf_li->li_local->lc_doh != NULL &&
	    tls_config_set_alpn(cfg, "h2,http/1.1") == -1)
		goto fail;
	if (tl->tl_tickets) {
		/* Sessions live as long as a key stays the newest. */
		life = tl->tl_rotation > 0 && tl->tl_rotation < TLS_MAXLIFE ?
		    tl->tl_rotation : TLS_MAXLIFE;
		if (tls_config_set_session_id(cfg, session_id,
		    sizeof(session_id)) == -1 ||
		    tls_config_set_session_lifetime(cfg, life) == -1)
			goto fail;
		/* libtls: a key of 48 bytes, named by a number. */
		for (k = tf->tf_nkeys - 1; k >= 0; k--)
			if (tls_config_add_ticket_key(cfg,
			    (uint32_t)tf->tf_keys[k][0] << 24 |
			    (uint32_t)tf->tf_keys[k][1] << 16 |
			    (uint32_t)tf->tf_keys[k][2] << 8 | tf->tf_keys[k][3],
			    tf->tf_keys[k] + 16, TLS_TICKET_KEY_SIZE) == -1)
				goto fail;
	}
	if ((ts->ts_tls = tls_server()) == NULL) {
		snprintf(err, errlen, "out of memory");
		tlsl_sctx_unref(ts);
		return NULL;
	}
	if (tls_configure(ts->ts_tls, cfg) == -1) {
		snprintf(err, errlen, "%s: %s", tf->tf_li->li_local->lc_text,
		    tls_error(ts->ts_tls));
		tlsl_sctx_unref(ts);
		return NULL;
	}
	return ts;
fail:
	snprintf(err, errlen, "%s: %s", tf->tf_li->li_local->lc_text,
	    tls_config_error(cfg));
	tlsl_sctx_unref(ts);
	return NULL;
}

int
tlsl_accept(struct tls_sctx *ts, int fd, struct tls **tlsp)
{
	return tls_accept_socket(ts->ts_tls, tlsp, fd);
}

int
tlsl_handshake(struct tls *ctx, short *want, const char **err)
{
	int	r;

	r = tls_handshake(ctx);
	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
		*want = r == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
		return 0;
	}
	if (r == -1) {
		*err = tls_error(ctx);
		return -1;
	}
	return 1;
}

bool
tlsl_resumed(struct tls *ctx)
{
	return tls_conn_session_resumed(ctx) == 1;
}

const char *
tlsl_version(struct tls *ctx)
{
	return tls_conn_version(ctx);
}

const char *
tlsl_servername(struct tls *ctx)
{
	return tls_conn_servername(ctx);
}

void
tlsl_free(struct tls *ctx, bool notify)
{
	if (notify)
		(void)tls_close(ctx);
	tls_free(ctx);
}

/*
 * Read (wr false) or write over ctx: what read(2) or write(2) would
 * return, or -1 with errno EAGAIN and *want POLLIN or POLLOUT.
 */
ssize_t
tlsl_io(struct tls *ctx, void *buf, size_t len, bool wr, short *want)
{
	ssize_t	r;

	r = wr ? tls_write(ctx, buf, len) : tls_read(ctx, buf, len);
	if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
		*want = r == TLS_WANT_POLLIN ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return -1;
	}
	*want = 0;
	if (r == -1) {
		log_debug("tls: %s", tls_error(ctx));
		errno = EIO;
	}
	return r;
}

/*
 * DNS over TLS to backends: one client configuration per server, made by
 * the first connection (any thread) and kept with the server.
 */
static pthread_mutex_t	client_lock = PTHREAD_MUTEX_INITIALIZER;

static void
client_config_free(void *cfg)
{
	tls_config_free(cfg);
}

static struct tls_config *
client_config(struct server *ds)
{
	struct tls_config	*cfg;

	pthread_mutex_lock(&client_lock);
	if ((cfg = ds->ds_tlscfg) != NULL) {
		pthread_mutex_unlock(&client_lock);
		return cfg;
	}
	if (tlsl_init() == -1)
		goto fail;
	if ((cfg = tls_config_new()) == NULL)
		goto fail;
	if ((ds->ds_tlsca != NULL &&
	    tls_config_set_ca_file(cfg, ds->ds_tlsca) == -1) ||
	    (ds->ds_tlsciphers != NULL &&
	    tls_config_set_ciphers(cfg, ds->ds_tlsciphers) == -1)) {
		log_warnx("tls to %s: %s", ds->ds_addrtext,
		    tls_config_error(cfg));
		tls_config_free(cfg);
		goto fail;
	}
	/* DNS over HTTPS: HTTP/2, which the server must agree to. */
	if (ds->ds_dohpath != NULL && tls_config_set_alpn(cfg, "h2") == -1) {
		log_warnx("tls to %s: %s", ds->ds_addrtext,
		    tls_config_error(cfg));
		tls_config_free(cfg);
		goto fail;
	}
	if (!ds->ds_tlsverify) {
		tls_config_insecure_noverifycert(cfg);
		tls_config_insecure_noverifyname(cfg);
	}
	server_tls_free = client_config_free;
	ds->ds_tlscfg = cfg;
	pthread_mutex_unlock(&client_lock);
	return cfg;
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
	struct tls_config	*cfg;
	struct tls		*ctx;
	char			 host[INET6_ADDRSTRLEN];
	const char		*name = tls_backend_name(ds, host, sizeof(host));

	(void)sessions;		/* libtls resumes none */
	if ((cfg = client_config(ds)) == NULL || (ctx = tls_client()) == NULL)
		return NULL;
	if (name == NULL || tls_configure(ctx, cfg) == -1 ||
	    tls_connect_socket(ctx, fd, name) == -1) {
		log_debug("tls to %s: %s", ds->ds_addrtext, tls_error(ctx));
		tls_free(ctx);
		return NULL;
	}
	return ctx;
}

ssize_t
tls_backend_io(struct tls *ctx, void *buf, size_t len, bool wr, short *want)
{
	return tlsl_io(ctx, buf, len, wr, want);
}

void
tls_backend_close(struct tls *ctx)
{
	if (ctx == NULL)
		return;
	(void)tls_close(ctx);
	tls_free(ctx);
}
