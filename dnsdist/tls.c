/*
 * DNS over TLS frontends, whatever the library under them (tls_int.h).
 * Each TLS listener has a server context made from its certificates,
 * keys, OCSP responses and ticket keys; reloading any of them makes a
 * new context that new connections take, while those already open keep
 * the one they began with (each holds a reference).  The TCP workers
 * accept, shake hands and move the bytes (tcp_tls below is their
 * transport); the main thread loads files and rotates the ticket keys.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "metrics.h"
#include "settings.h"
#include "stats.h"
#include "lua.h"
#include "server.h"
#include "dnsdist.h"
#include "tcp.h"
#include "ossl.h"
#include "tls_int.h"

static struct tls_front	**fronts;
static size_t		  nfronts;

static void
pem_free(struct tls_pem *tp, size_t n)
{
	size_t	i, j;

	for (i = 0; tp != NULL && i < n; i++)
		for (j = 0; j < 3; j++)
			if (tp[i].tp_buf[j] != NULL)
				tlsl_unload_file(tp[i].tp_buf[j],
				    tp[i].tp_len[j]);
	free(tp);
}

/*
 * Read the frontend's files: NULL and err when one does not load.  A
 * certificate without a key file (newTLSCertificate()) is PKCS#12, which
 * libcrypto turns into PEM, or PEM holding the key too.
 */
static struct tls_pem *
pem_load(struct tls_front *tf, char *err, size_t errlen)
{
	struct tls_local	*tl = tf->tf_tl;
	struct tls_pem		*tp;
	const char		*f, *pass;
	char			 why[384];
	size_t			 i, j;
	int			 r;

	if ((tp = calloc(tl->tl_npairs, sizeof(*tp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < tl->tl_npairs; i++) {
		pass = tl->tl_pass != NULL ? tl->tl_pass[i] : NULL;
		r = 1;
		if (tl->tl_keys[i][0] == '\0' && (r = ossl_pkcs12(
		    tl->tl_certs[i], pass, &tp[i].tp_buf[0], &tp[i].tp_len[0],
		    &tp[i].tp_buf[1], &tp[i].tp_len[1], why, sizeof(why))) == -1)
			goto fail;
		for (j = r == 0 ? 2 : 0; j < 3; j++) {
			f = j == 0 ? tl->tl_certs[i] : j == 1 ?
			    (tl->tl_keys[i][0] != '\0' ? tl->tl_keys[i] :
			    tl->tl_certs[i]) : tl->tl_ocsp != NULL ?
			    tl->tl_ocsp[i] : NULL;
			if (f == NULL)
				continue;
			/* A PEM key is opened with the password. */
			if ((tp[i].tp_buf[j] = tlsl_load_file(f,
			    &tp[i].tp_len[j], j == 1 ? pass : NULL)) == NULL) {
				snprintf(why, sizeof(why), "%s: %s", f,
				    j == 1 && pass != NULL ? "cannot read the "
				    "key (wrong password?)" : strerror(errno));
				goto fail;
			}
		}
		/* As dnsdist: a response that does not parse is not stapled. */
		if (tp[i].tp_buf[2] != NULL &&
		    !ossl_ocsp_valid(tp[i].tp_buf[2], tp[i].tp_len[2])) {
			log_warnx("tls %s: %s is no OCSP response: none "
			    "stapled", tf->tf_li->li_local->lc_text,
			    tl->tl_ocsp[i]);
			tlsl_unload_file(tp[i].tp_buf[2], tp[i].tp_len[2]);
			tp[i].tp_buf[2] = NULL;
			tp[i].tp_len[2] = 0;
		}
	}
	return tp;
fail:
	snprintf(err, errlen, "%s: %s", tf->tf_li->li_local->lc_text, why);
	pem_free(tp, tl->tl_npairs);
	return NULL;
}

/*
 * Make a new context, from the files again (files) or from them as last
 * loaded, and put it in place: 0, or -1 and the old one stays.
 */
static int
front_reload(struct tls_front *tf, bool files, char *err, size_t errlen)
{
	struct tls_sctx	*ts, *old;
	struct tls_pem	*tp = tf->tf_pem;
	size_t		 ntp = tf->tf_npem;

	if (files && (tp = pem_load(tf, err, errlen)) == NULL)
		return -1;
	if (files)
		ntp = tf->tf_tl->tl_npairs;
	if ((ts = tlsl_sctx_new(tf, tp, ntp, err, errlen)) == NULL) {
		if (files)
			pem_free(tp, ntp);
		return -1;
	}
	if (files) {
		pem_free(tf->tf_pem, tf->tf_npem);
		tf->tf_pem = tp;
		tf->tf_npem = ntp;
	}
	pthread_mutex_lock(&tf->tf_lock);
	old = tf->tf_ctx;
	tf->tf_ctx = ts;
	pthread_mutex_unlock(&tf->tf_lock);
	tlsl_sctx_unref(old);
	return 0;
}

/*
 * Add a ticket key (NULL: a random one, named by a number of its own in
 * its first 4 bytes) as the newest.
 */
static void
front_add_key(struct tls_front *tf, const uint8_t *key)
{
	int	n = tf->tf_tl->tl_nkeys;

	if (tf->tf_nkeys < n)
		tf->tf_nkeys++;
	memmove(tf->tf_keys[1], tf->tf_keys[0], (size_t)(n - 1) *
	    sizeof(tf->tf_keys[0]));
	if (key != NULL)
		memcpy(tf->tf_keys[0], key, TICKET_KEYLEN);
	else {
		randombytes_buf(tf->tf_keys[0], TICKET_KEYLEN);
		tf->tf_keys[0][0] = (uint8_t)(tf->tf_nextrev >> 24);
		tf->tf_keys[0][1] = (uint8_t)(tf->tf_nextrev >> 16);
		tf->tf_keys[0][2] = (uint8_t)(tf->tf_nextrev >> 8);
		tf->tf_keys[0][3] = (uint8_t)tf->tf_nextrev++;
	}
	tf->tf_rotated = time(NULL);
}

/*
 * Keys from a file of dnsdist's format (TICKET_KEYLEN bytes a key, the
 * last the newest).  0, or -1 and err, the keys as they were.
 */
static int
front_load_keys(struct tls_front *tf, const char *file, char *err,
    size_t errlen)
{
	uint8_t		 buf[TICKET_KEYLEN * 64];
	ssize_t		 n;
	size_t		 len = 0, i, nk;
	int		 fd;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n == -1 || len == 0 || len % TICKET_KEYLEN != 0) {
		snprintf(err, errlen, "%s: %s", file, n == -1 ?
		    strerror(errno) : "not a whole number of 80-byte keys");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	nk = len / TICKET_KEYLEN;
	for (i = nk > TLS_MAXKEYS ? nk - TLS_MAXKEYS : 0; i < nk; i++)
		front_add_key(tf, buf + i * TICKET_KEYLEN);
	explicit_bzero(buf, sizeof(buf));
	return front_reload(tf, tf->tf_pem == NULL, err, errlen);
}

/* Listeners: a TLS frontend for each addTLSLocal(), at start. */
void
tls_front_init(struct listener *li)
{
	struct tls_front	*tf, **nf;
	char			 err[512];

	if (nfronts == 0) {
		if (tlsl_init() == -1)
			fatalx("unable to initialise the TLS library");
	}
	if ((tf = calloc(1, sizeof(*tf))) == NULL ||
	    (nf = reallocarray(fronts, nfronts + 1, sizeof(*nf))) == NULL)
		fatal("tls frontend");
	fronts = nf;
	fronts[nfronts++] = tf;
	tf->tf_li = li;
	tf->tf_tl = li->li_local->lc_tls;
	pthread_mutex_init(&tf->tf_lock, NULL);
	randombytes_buf(&tf->tf_nextrev, sizeof(tf->tf_nextrev));
	tf->tf_nkeys = 0;
	if (tf->tf_tl->tl_tickets && tf->tf_tl->tl_keyfile != NULL) {
		if (front_load_keys(tf, tf->tf_tl->tl_keyfile, err,
		    sizeof(err)) == -1)
			fatalx("ticketKeyFile: %s", err);
	} else {
		if (tf->tf_tl->tl_tickets)
			front_add_key(tf, NULL);
		if (front_reload(tf, true, err, sizeof(err)) == -1)
			fatalx("addTLSLocal %s", err);
	}
	li->li_tls = tf;
}

/* Main thread, once a second: rotate the keys that are due. */
static void
tls_rotate_due(void *arg)
{
	struct tls_front	*tf;
	char			 err[512];
	size_t			 i;
	time_t			 now = time(NULL);

	(void)arg;
	for (i = 0; i < nfronts; i++) {
		tf = fronts[i];
		if (!tf->tf_tl->tl_tickets || tf->tf_tl->tl_rotation == 0 ||
		    now - tf->tf_rotated < tf->tf_tl->tl_rotation)
			continue;
		front_add_key(tf, NULL);
		if (front_reload(tf, false, err, sizeof(err)) == -1)
			log_warnx("tls: rotating the ticket keys: %s", err);
	}
}

static int
hook_each(const struct local *lc, int (*fn)(struct tls_front *, const char *,
    char *, size_t), const char *arg, char *err, size_t errlen)
{
	size_t	i;
	int	r = 0, found = 0;

	for (i = 0; i < nfronts; i++) {
		if (lc != NULL && fronts[i]->tf_li->li_local != lc)
			continue;
		found = 1;
		if (fn(fronts[i], arg, err, errlen) == -1)
			r = -1;
	}
	if (lc != NULL && !found) {
		snprintf(err, errlen, "no TLS on %s", lc->lc_text);
		return -1;
	}
	return r;
}

static int
do_reload(struct tls_front *tf, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	return front_reload(tf, true, err, errlen);
}

static int
do_rotate(struct tls_front *tf, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	if (!tf->tf_tl->tl_tickets) {
		snprintf(err, errlen, "sessionTickets is false on %s",
		    tf->tf_li->li_local->lc_text);
		return -1;
	}
	front_add_key(tf, NULL);
	return front_reload(tf, false, err, errlen);
}

static int
do_loadkeys(struct tls_front *tf, const char *file, char *err, size_t errlen)
{
	if (!tf->tf_tl->tl_tickets) {
		snprintf(err, errlen, "sessionTickets is false on %s",
		    tf->tf_li->li_local->lc_text);
		return -1;
	}
	if (file == NULL && (file = tf->tf_tl->tl_keyfile) == NULL) {
		snprintf(err, errlen, "no ticketKeyFile on %s",
		    tf->tf_li->li_local->lc_text);
		return -1;
	}
	return front_load_keys(tf, file, err, errlen);
}

static int
hook_reload(const struct local *lc, char *err, size_t errlen)
{
	return hook_each(lc, do_reload, NULL, err, errlen);
}

static int
hook_rotate(const struct local *lc, char *err, size_t errlen)
{
	return hook_each(lc, do_rotate, NULL, err, errlen);
}

static int
hook_loadkeys(const struct local *lc, const char *file, char *err,
    size_t errlen)
{
	return hook_each(lc, do_loadkeys, file, err, errlen);
}

/* dnsdist's handshake failure counters, by what OpenSSL said. */
static const struct {
	const char	*e_text;	/* in the error, lower case */
	int		 e_counter;
} hs_errors[] = {
	{ "dh key too small", TLSC_DHKEYTOOSMALL },
	{ "inappropriate fallback", TLSC_INAPPROPRIATEFALLBACK },
	{ "no shared cipher", TLSC_NOSHAREDCIPHER },
	{ "unknown cipher", TLSC_UNKNOWNCIPHER },
	{ "unknown key exchange", TLSC_UNKNOWNKEYEXCHANGE },
	{ "unknown protocol", TLSC_UNKNOWNPROTOCOL },
	{ "wrong version number", TLSC_UNKNOWNPROTOCOL },
	{ "http request", TLSC_UNKNOWNPROTOCOL },
	{ "packet length too long", TLSC_UNKNOWNPROTOCOL },
	{ "record layer failure", TLSC_UNKNOWNPROTOCOL },
	{ "unsupported elliptic curve", TLSC_UNSUPPORTEDEC },
	{ "unsupported protocol", TLSC_UNSUPPORTEDPROTOCOL },
	{ "version too low", TLSC_UNSUPPORTEDPROTOCOL },
};

void
tls_count(struct tls_front *tf, int c)
{
	atomic_fetch_add_explicit(&tf->tf_cnt[c], 1, memory_order_relaxed);
}

/* To a backend, the handshake alone: 0 when done, else as tls_backend_io(). */
int
tls_backend_handshake(struct tls *ctx, short *want)
{
	const char	*e = NULL;

	switch (tlsl_handshake(ctx, want, &e)) {
	case 1:
		*want = 0;
		return 0;
	case 0:
		errno = EAGAIN;
		return -1;
	}
	log_debug("tls to a backend: %s", e != NULL ? e : "?");
	errno = EIO;
	return -1;
}

const char *
tls_backend_name(const struct server *ds, char *buf, size_t len)
{
	const struct sockaddr_in6	*s6 = (const void *)&ds->ds_addr;
	const struct sockaddr_in	*s4 = (const void *)&ds->ds_addr;

	if (ds->ds_tlsname != NULL)
		return ds->ds_tlsname;
	return inet_ntop(ds->ds_addr.ss_family, s6->sin6_family == AF_INET6 ?
	    (const void *)&s6->sin6_addr : (const void *)&s4->sin_addr, buf,
	    (socklen_t)len);
}

/* A worker took a connection of a TLS listener: 0, or -1 to close it. */
int
tls_client_start(struct tcp_client *tc)
{
	struct tls_front	*tf = tc->tc_li->li_tls;
	int			 r, on = 1;

	/* Handshake flights are small writes waiting for each other. */
	setsockopt(tc->tc_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	pthread_mutex_lock(&tf->tf_lock);
	tc->tc_sctx = tf->tf_ctx;
	tlsl_sctx_ref(tc->tc_sctx);
	r = tlsl_accept(tc->tc_sctx, tc->tc_fd, &tc->tc_tls);
	pthread_mutex_unlock(&tf->tf_lock);
	if (r == -1) {
		tlsl_sctx_unref(tc->tc_sctx);
		tc->tc_sctx = NULL;
		tc->tc_tls = NULL;
		return -1;
	}
	tc->tc_tr = &tcp_tls;
	tc->tc_handshaking = true;
	tc->tc_rwant = POLLIN;
	return 0;
}

static int
tls_hs(struct tcp_client *tc)
{
	struct tls_front	*tf = tc->tc_li->li_tls;
	const char		*v, *e = NULL;
	char			 low[256];
	size_t			 i;
	int			 r;

	if ((r = tlsl_handshake(tc->tc_tls, &tc->tc_rwant, &e)) == 0)
		return 0;
	if (r == -1) {
		tls_count(tf, TLSC_HANDSHAKEFAILURES);
		for (i = 0; e != NULL && e[i] != '\0' && i < sizeof(low) - 1;
		    i++)
			low[i] = (char)(e[i] >= 'A' && e[i] <= 'Z' ?
			    e[i] + 'a' - 'A' : e[i]);
		low[i] = '\0';
		for (i = 0; i < sizeof(hs_errors) / sizeof(hs_errors[0]); i++)
			if (strstr(low, hs_errors[i].e_text) != NULL) {
				tls_count(tf, hs_errors[i].e_counter);
				break;
			}
		log_debug("tls: handshake with a client of %s: %s",
		    tc->tc_li->li_local->lc_text, e != NULL ? e : "?");
		tc->tc_handshaking = false;	/* counted */
		return -1;
	}
	tc->tc_rwant = 0;
	tls_count(tf, tlsl_resumed(tc->tc_tls) ? TLSC_RESUMPTIONS :
	    TLSC_NEWSESSIONS);
	v = tlsl_version(tc->tc_tls);
	tc->tc_tlsver = v == NULL ? TLSC_QUNKNOWN :
	    strcmp(v, "TLSv1.3") == 0 ? TLSC_Q13 :
	    strcmp(v, "TLSv1.2") == 0 ? TLSC_Q12 :
	    strcmp(v, "TLSv1.1") == 0 ? TLSC_Q11 :
	    strcmp(v, "TLSv1") == 0 || strcmp(v, "TLSv1.0") == 0 ? TLSC_Q10 :
	    TLSC_QUNKNOWN;
	if ((v = tlsl_servername(tc->tc_tls)) != NULL)
		tc->tc_sni = strdup(v);
	return 1;
}

static ssize_t
tls_rd(struct tcp_client *tc, void *buf, size_t len)
{
	return tlsl_io(tc->tc_tls, buf, len, false, &tc->tc_rwant);
}

static ssize_t
tls_wr(struct tcp_client *tc, const void *buf, size_t len)
{
	return tlsl_io(tc->tc_tls, (void *)(uintptr_t)buf, len, true,
	    &tc->tc_wwant);
}

static void
tls_cl(struct tcp_client *tc)
{
	/* Closed before the end of its handshake: stalled, or gone. */
	if (tc->tc_handshaking)
		tls_count(tc->tc_li->li_tls, TLSC_HANDSHAKEFAILURES);
	/* One try at a close_notify: the socket closes anyway. */
	if (tc->tc_tls != NULL)
		tlsl_free(tc->tc_tls, !tc->tc_handshaking);
	tlsl_sctx_unref(tc->tc_sctx);
	free(tc->tc_sni);
}

/* A query read over TLS: counted by the version it came over. */
static void
tls_query(struct tcp_client *tc)
{
	tls_count(tc->tc_li->li_tls, tc->tc_tlsver);
}

const struct tcp_transport tcp_tls = {
	"DNS over TLS", tls_hs, tls_rd, tls_wr, tls_cl, tls_query
};

/* showTLSContexts(), showTLSErrorCounters() */
static void
tls_show(struct sbuf *sb, bool errors)
{
	static const struct { int c; const char *name; } ec[] = {
		{ TLSC_DHKEYTOOSMALL, "DH key too small" },
		{ TLSC_INAPPROPRIATEFALLBACK, "Inappropriate fallback" },
		{ TLSC_NOSHAREDCIPHER, "No shared cipher" },
		{ TLSC_UNKNOWNCIPHER, "Unknown cipher type" },
		{ TLSC_UNKNOWNKEYEXCHANGE, "Unknown exchange type" },
		{ TLSC_UNKNOWNPROTOCOL, "Unknown protocol" },
		{ TLSC_UNSUPPORTEDEC, "Unsupported EC" },
		{ TLSC_UNSUPPORTEDPROTOCOL, "Unsupported protocol" },
	};
	struct tls_front	*tf;
	struct tm		 tm;
	time_t			 next;
	char			 when[32];
	size_t			 i, j;

	if (!errors)
		sbuf_printf(sb, "%-3s %-20s %-14s %-14s %s\n", "#", "Address",
		    "# ticket keys", "Rotation delay", "Next rotation");
	for (i = 0; i < nfronts; i++) {
		tf = fronts[i];
		if (errors) {
			sbuf_printf(sb, "## %s\n", tf->tf_li->li_local->lc_text);
			for (j = 0; j < sizeof(ec) / sizeof(ec[0]); j++)
				sbuf_printf(sb, "%s: %llu\n", ec[j].name,
				    (unsigned long long)atomic_load(
				    &tf->tf_cnt[ec[j].c]));
			sbuf_printf(sb, "\n");
			continue;
		}
		when[0] = '\0';
		if (tf->tf_tl->tl_tickets && tf->tf_tl->tl_rotation > 0) {
			next = tf->tf_rotated + tf->tf_tl->tl_rotation;
			localtime_r(&next, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		}
		sbuf_printf(sb, "%-3zu %-20s %-14d %-14d %s\n", i,
		    tf->tf_li->li_local->lc_text, tf->tf_nkeys,
		    tf->tf_tl->tl_rotation, when);
	}
}

/* The counters of a TLS listener for the metrics, or NULL. */
void
tls_front_counters(const struct listener *li, uint64_t *out)
{
	size_t	i;

	for (i = 0; i < TLSC_COUNT; i++)
		out[i] = atomic_load_explicit(&li->li_tls->tf_cnt[i],
		    memory_order_relaxed);
}

void
tls_start(void)
{
	dlua_host.h_tls_reload = hook_reload;
	dlua_host.h_tls_rotate = hook_rotate;
	dlua_host.h_tls_load_keys = hook_loadkeys;
	dlua_host.h_tls_show = tls_show;
	if (nfronts > 0)
		loop_timer(1000000000ULL, tls_rotate_due, NULL);
}

/* At exit, after the workers: the contexts and the keys go. */
void
tls_stop(void)
{
	struct tls_front	*tf;
	size_t			 i;

	for (i = 0; i < nfronts; i++) {
		tf = fronts[i];
		tlsl_sctx_unref(tf->tf_ctx);
		pem_free(tf->tf_pem, tf->tf_npem);
		explicit_bzero(tf->tf_keys, sizeof(tf->tf_keys));
		pthread_mutex_destroy(&tf->tf_lock);
		free(tf);
	}
	free(fronts);
	fronts = NULL;
	nfronts = 0;
}

