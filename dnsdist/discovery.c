/*
 * Backend discovery (newServer's autoUpgrade, RFC 9462), as dnsdist 1.8:
 * a thread of its own asks each plain server, over TCP, for the SVCB
 * records of _dns.resolver.arpa; when one offers DNS over TLS ("dot") or
 * over HTTPS ("h2" with a dohpath), and a TLS handshake with it succeeds
 * (its certificate valid for the target's name, or for the plain server's
 * address when it is elsewhere), the main thread adds that server to the
 * same pools (or autoUpgradePool) in the next snapshot, and removes the
 * plain one unless autoUpgradeKeep.  A server without a usable answer is
 * asked again every autoUpgradeInterval seconds; its first failure is
 * logged, the others counted.
 *
 * The thread works on copies of the servers (server_clone), made on the
 * main thread, so it reads nothing the configuration changes; what it
 * found is a server the main thread registers as it is.  A reload keeps
 * an upgrade whose plain server the file names again as it was (address,
 * name, TLS settings), with the pools and state that server has now, and
 * asks the others again.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "ddr.h"
#include "dnsdist.h"

#define DISC_SLICE	100	/* ms: how often a wait looks at disc_stop */

struct disc_job {
	TAILQ_ENTRY(disc_job)	 dj_entry;
	struct server		*dj_orig;	/* held; compared, not read */
	struct server		*dj_base;	/* the thread's copy of it */
	struct server		*dj_new;	/* the upgrade found */
	uint64_t		 dj_next;	/* monotonic ns */
	uint64_t		 dj_fails;
	bool			 dj_cancel;
};
TAILQ_HEAD(disc_jobs, disc_job);

/* disc_lock: the lists, disc_cur and the flags. */
static pthread_mutex_t	 disc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 disc_cond = PTHREAD_COND_INITIALIZER;
static struct disc_jobs	 disc_todo = TAILQ_HEAD_INITIALIZER(disc_todo);
static struct disc_jobs	 disc_done = TAILQ_HEAD_INITIALIZER(disc_done);
static struct disc_job	*disc_cur;	/* the thread's, out of the lists */
static atomic_bool	 disc_stop;
static atomic_bool	 disc_pending;	/* disc_done is not empty */
static bool		 disc_started;
static pthread_t	 disc_tid;

static void
disc_job_free(struct disc_job *dj)
{
	server_unref(dj->dj_orig);
	server_unref(dj->dj_base);
	server_unref(dj->dj_new);
	free(dj);
}

/* Wait for ev on fd until deadline: 0, or -1 with errno (ETIMEDOUT). */
static int
disc_wait(int fd, short ev, uint64_t deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = ev };
	uint64_t	now;
	int		ms, n;

	for (;;) {
		if (atomic_load(&disc_stop)) {
			errno = ECANCELED;
			return -1;
		}
		if ((now = mono_ns()) >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		ms = (int)((deadline - now) / 1000000) + 1;
		if ((n = poll(&pfd, 1, ms < DISC_SLICE ? ms : DISC_SLICE)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

/* A TCP connection to ds, established within its connect timeout. */
static int
disc_connect(const struct server *ds, uint64_t deadline)
{
	socklen_t	elen = sizeof(int);
	int		fd, e = 0;

	if ((fd = server_socket(ds, SOCK_STREAM)) == -1)
		return -1;
	if (disc_wait(fd, POLLOUT, deadline) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 || e != 0) {
		if (e != 0)
			errno = e;
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* All of len bytes read or written before deadline: 0, or -1 with errno. */
static int
disc_io(int fd, uint8_t *buf, size_t len, bool wr, uint64_t deadline)
{
	ssize_t	n;
	size_t	done = 0;

	while (done < len) {
		n = wr ? send(fd, buf + done, len - done, MSG_NOSIGNAL) :
		    recv(fd, buf + done, len - done, 0);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if ((errno != EAGAIN && errno != EINTR) ||
		    disc_wait(fd, wr ? POLLOUT : POLLIN, deadline) == -1)
			return -1;
	}
	return 0;
}

#define SEC(s)	((uint64_t)(s) * 1000000000ULL)

/* Ask ds over TCP: the SVCB answer's verdict, *why for a failure. */
static int
disc_ask(const struct server *ds, uint16_t dohkey, struct ddr_result *res,
    const char **why)
{
	uint8_t		pkt[DNS_MAXUDP + 2];
	uint16_t	id;
	size_t		len;
	int		fd, e;

	randombytes_buf(&id, sizeof(id));
	if ((len = ddr_make_query(pkt + 2, sizeof(pkt) - 2, id)) == 0) {
		*why = "no room for the query";
		return -1;
	}
	dnspacket_put16(pkt, (uint16_t)len);
	if ((fd = disc_connect(ds, mono_ns() +
	    SEC(ds->ds_tcpconnecttimeout))) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (disc_io(fd, pkt, len + 2, true, mono_ns() +
	    SEC(ds->ds_tcpsendtimeout)) == -1 ||
	    disc_io(fd, pkt, 2, false, mono_ns() +
	    SEC(ds->ds_tcprecvtimeout)) == -1 ||
	    disc_io(fd, pkt + 2, len = dnspacket_get16(pkt), false,
	    mono_ns() + SEC(ds->ds_tcprecvtimeout)) == -1) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	close(fd);
	if ((e = ddr_parse(pkt + 2, len, id, dohkey, res)) != DDR_OK) {
		*why = ddr_strerror(e);
		return -1;
	}
	return 0;
}

static bool
disc_same_host(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	struct sockaddr_storage	x = *a, y = *b;

	addr_set_port((struct sockaddr *)&x, 0);
	addr_set_port((struct sockaddr *)&y, 0);
	return addr_equal((struct sockaddr *)&x, (struct sockaddr *)&y);
}

/* The upgraded server res describes, from base: NULL with *why. */
static struct server *
disc_server(const struct server *base, const struct ddr_result *res,
    const char **why)
{
	struct sockaddr_storage	 ss = base->ds_addr;
	struct server		*nds;
	char			 text[64], host[64];
	size_t			 i;
	bool			 same = res->dr_nhints == 0;

	for (i = 0; i < res->dr_nhints && !same; i++)
		same = disc_same_host(&res->dr_hints[i], &base->ds_addr);
	if (!same)
		ss = res->dr_hints[0];
	addr_set_port((struct sockaddr *)&ss, res->dr_port);
	addr_to_text((struct sockaddr *)&ss, text, sizeof(text));
	addr_host_to_text((const struct sockaddr *)&base->ds_addr, host,
	    sizeof(host));
	if ((nds = server_clone(base, text)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	nds->ds_upgrade = false;
	nds->ds_tls = nds->ds_tcponly = true;
	free(nds->ds_tlsname);
	free(nds->ds_dohpath);
	nds->ds_dohpath = NULL;
	/*
	 * At another address, the certificate must name the plain server's
	 * (RFC 9462, section 4.2); at the same one, the target.
	 */
	nds->ds_tlsname = strdup(same ? res->dr_target : host);
	if (nds->ds_tlsname == NULL || (res->dr_proto == DDR_DOH &&
	    (nds->ds_dohpath = strdup(res->dr_dohpath)) == NULL)) {
		server_unref(nds);
		*why = "out of memory";
		return NULL;
	}
	return nds;
}

/* A TLS handshake with nds, within its health check timeout. */
static int
disc_usable(struct server *nds, const char **why)
{
	struct tls	*ctx = NULL;
	uint64_t	 deadline = mono_ns() +
			    (uint64_t)nds->ds_checktimeout * 1000000ULL;
	short		 want;
	int		 fd, rc = -1;

	if ((fd = disc_connect(nds, deadline)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if ((ctx = tls_backend_start(nds, fd, false)) == NULL)
		*why = "TLS does not start";
	else
		while ((rc = tls_backend_handshake(ctx, &want)) == -1 &&
		    errno == EAGAIN && disc_wait(fd, want, deadline) == 0)
			;
	if (ctx != NULL && rc == -1)
		*why = errno == EAGAIN || errno == ETIMEDOUT ?
		    "TLS handshake timed out" : "TLS handshake failed (the "
		    "certificate?)";
	tls_backend_close(ctx);
	close(fd);
	return rc;
}

/* One discovery, on the thread: the upgrade in dj->dj_new, or -1. */
static int
disc_try(struct disc_job *dj)
{
	struct ddr_result	 res;
	struct server		*base = dj->dj_base, *nds;
	const char		*why = NULL;
	char			 msg[256];

	log_debug("disc_try: asking %s", base->ds_addrtext);
	if (disc_ask(base, base->ds_upgdohkey, &res, &why) == 0 &&
	    (nds = disc_server(base, &res, &why)) != NULL) {
		if (disc_usable(nds, &why) == 0) {
			dj->dj_new = nds;
			return 0;
		}
		snprintf(msg, sizeof(msg), "%s (%s) offered: %s",
		    nds->ds_addrtext, nds->ds_tlsname, why);
		why = msg;
		server_unref(nds);
	}
	stats_inc(STAT_BACKEND_DISCOVERY_FAILURES);
	if (dj->dj_fails++ == 0)
		log_info("discovery: no upgrade for %s: %s; asking again "
		    "every %d s", base->ds_addrtext, why, base->ds_upginterval);
	else
		log_debug("disc_try: no upgrade for %s: %s", base->ds_addrtext,
		    why);
	return -1;
}

static void *
disc_main(void *arg)
{
	struct disc_job	*dj, *next;
	struct timespec	 ts;
	uint64_t	 now, wait;
	int		 rc;

	(void)arg;
	pthread_mutex_lock(&disc_lock);
	while (!atomic_load(&disc_stop)) {
		now = mono_ns();
		next = NULL;
		TAILQ_FOREACH(dj, &disc_todo, dj_entry)
			if (next == NULL || dj->dj_next < next->dj_next)
				next = dj;
		if (next == NULL || next->dj_next > now) {
			wait = next == NULL ? SEC(1) : next->dj_next - now;
			if (wait > SEC(1))
				wait = SEC(1);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)wait;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&disc_cond, &disc_lock, &ts);
			continue;
		}
		TAILQ_REMOVE(&disc_todo, next, dj_entry);
		disc_cur = next;
		pthread_mutex_unlock(&disc_lock);
		rc = disc_try(next);
		pthread_mutex_lock(&disc_lock);
		disc_cur = NULL;
		if (rc == 0 || next->dj_cancel) {
			TAILQ_INSERT_TAIL(&disc_done, next, dj_entry);
			atomic_store(&disc_pending, true);
		} else {
			next->dj_next = mono_ns() +
			    SEC(next->dj_base->ds_upginterval);
			TAILQ_INSERT_TAIL(&disc_todo, next, dj_entry);
		}
	}
	pthread_mutex_unlock(&disc_lock);
	return NULL;
}

static bool
disc_registered(const struct server *ds)
{
	size_t	i;

	for (i = 0; i < servers.sr_count; i++)
		if (servers.sr_servers[i] == ds)
			return true;
	return false;
}

/*
 * The upgrade nds of orig enters the registry with orig's pools (or
 * autoUpgradePool) and state, and orig leaves it unless autoUpgradeKeep.
 * Configuration lock held.
 */
static int
disc_register(struct server *orig, struct server *nds)
{
	size_t	i;

	for (i = 0; i < nds->ds_npools; i++)
		free(nds->ds_pools[i]);
	nds->ds_npools = 0;
	if (orig->ds_upgpool != NULL) {
		if (server_add_pool(nds, orig->ds_upgpool) == -1)
			return -1;
	} else
		for (i = 0; i < orig->ds_npools; i++)
			if (server_add_pool(nds, orig->ds_pools[i]) == -1)
				return -1;
	/*
	 * As dnsdist: a server added beside the plain one does not inherit
	 * its forced up state, while one that replaces it does.
	 */
	atomic_store(&nds->ds_avail, atomic_load(&orig->ds_avail));
	if (orig->ds_upgkeep && atomic_load(&orig->ds_avail) ==
	    SERVER_FORCED_UP)
		atomic_store(&nds->ds_avail, SERVER_AUTO);
	if (server_register(nds) == -1)
		return -1;
	if (nds->ds_upgfrom != orig) {
		server_ref(orig);
		server_unref(nds->ds_upgfrom);
		nds->ds_upgfrom = orig;
	}
	if (!orig->ds_upgkeep)
		server_unregister(orig);
	orig->ds_upgraded = true;
	return 0;
}

/* The upgrade dj found goes into the registry.  Configuration lock held. */
static void
disc_apply(struct disc_job *dj)
{
	struct server	*orig = dj->dj_orig, *nds = dj->dj_new;
	char		 o[128], n[128];

	if (orig->ds_upglazy)
		nds->ds_lazy = true;
	/*
	 * Its handshake has just succeeded: it starts up when the plain
	 * server is (after its first check, see disc_unchecked), rather
	 * than dropping queries until its own first check.
	 */
	if (server_is_up(orig))
		atomic_store(&nds->ds_healthy, true);
	if (disc_register(orig, nds) == -1)
		goto fail;
	log_info("discovery: added %s (%s%s) as the upgrade of %s%s",
	    server_display(nds, n, sizeof(n)), nds->ds_dohpath != NULL ?
	    "DNS over HTTPS " : "DNS over TLS", nds->ds_dohpath != NULL ?
	    nds->ds_dohpath : "", server_display(orig, o, sizeof(o)),
	    orig->ds_upgkeep ? ", which stays" : ", which goes");
	return;
fail:
	log_warnx("discovery: out of memory: %s is not upgraded",
	    orig->ds_addrtext);
}

/*
 * Whether the plain server, checked by health checks, has not had its
 * first verdict yet: its upgrade waits for it, to start in its state.
 */
static bool
disc_unchecked(const struct server *ds)
{
	const struct backend	*be = ds->ds_io;

	return atomic_load(&ds->ds_avail) == SERVER_AUTO && be != NULL &&
	    be->be_hfirst;
}

/* Every 100 ms on the main thread: what the discovery thread found. */
static void
disc_collect(void *arg)
{
	struct disc_jobs	 done = TAILQ_HEAD_INITIALIZER(done);
	struct disc_jobs	 later = TAILQ_HEAD_INITIALIZER(later);
	struct disc_job		*dj;

	(void)arg;
	if (!atomic_exchange(&disc_pending, false))
		return;
	pthread_rwlock_wrlock(&config_lock);
	pthread_mutex_lock(&disc_lock);
	TAILQ_CONCAT(&done, &disc_done, dj_entry);
	pthread_mutex_unlock(&disc_lock);
	while ((dj = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, dj, dj_entry);
		if (!dj->dj_cancel && dj->dj_new != NULL &&
		    disc_registered(dj->dj_orig)) {
			if (disc_unchecked(dj->dj_orig)) {
				TAILQ_INSERT_TAIL(&later, dj, dj_entry);
				continue;
			}
			disc_apply(dj);
		}
		disc_job_free(dj);
	}
	if (!TAILQ_EMPTY(&later)) {
		pthread_mutex_lock(&disc_lock);
		TAILQ_CONCAT(&later, &disc_done, dj_entry);
		TAILQ_CONCAT(&disc_done, &later, dj_entry);
		pthread_mutex_unlock(&disc_lock);
		atomic_store(&disc_pending, true);
	}
	if (backend_sync() == -1)
		log_warnx("discovery: unable to open a backend socket");
	if (daemon_publish() == -1)
		log_warnx("discovery: out of memory: changes not live yet");
	pthread_rwlock_unlock(&config_lock);
}

static bool
disc_has_job(const struct server *ds)
{
	struct disc_job	*dj;

	if (disc_cur != NULL && disc_cur->dj_orig == ds && !disc_cur->dj_cancel)
		return true;
	TAILQ_FOREACH(dj, &disc_todo, dj_entry)
		if (dj->dj_orig == ds)
			return true;
	TAILQ_FOREACH(dj, &disc_done, dj_entry)
		if (dj->dj_orig == ds && !dj->dj_cancel)
			return true;
	return false;
}

void
discovery_sync(void)
{
	struct disc_job	*dj, *tmp;
	struct server	*ds;
	size_t		 i;
	bool		 signal = false;

	pthread_mutex_lock(&disc_lock);
	/* Servers gone from the registry are not asked any more. */
	TAILQ_FOREACH_SAFE(dj, &disc_todo, dj_entry, tmp)
		if (dj->dj_orig->ds_removed) {
			TAILQ_REMOVE(&disc_todo, dj, dj_entry);
			disc_job_free(dj);
		}
	if (disc_cur != NULL && disc_cur->dj_orig->ds_removed)
		disc_cur->dj_cancel = true;
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		if (!ds->ds_upgrade || ds->ds_upgraded || disc_has_job(ds))
			continue;
		if ((dj = calloc(1, sizeof(*dj))) == NULL ||
		    (dj->dj_base = server_clone(ds, ds->ds_addrtext)) == NULL) {
			free(dj);
			log_warnx("discovery: out of memory: %s is not asked",
			    ds->ds_addrtext);
			continue;
		}
		server_ref(ds);
		dj->dj_orig = ds;
		dj->dj_next = mono_ns();
		TAILQ_INSERT_TAIL(&disc_todo, dj, dj_entry);
		signal = true;
	}
	if (signal)
		pthread_cond_signal(&disc_cond);
	pthread_mutex_unlock(&disc_lock);
}

bool
discovery_keep(struct server *up)
{
	struct server	*p;
	size_t		 i;

	if (up->ds_upgfrom == NULL)
		return false;
	for (i = 0; i < servers.sr_count; i++) {
		p = servers.sr_servers[i];
		if (p->ds_upgrade && !p->ds_upgraded &&
		    server_same(p, up->ds_upgfrom))
			return disc_register(p, up) == 0;
	}
	return false;
}

void
discovery_forget(void)
{
	struct disc_job	*dj;
	size_t		 i;

	pthread_mutex_lock(&disc_lock);
	while ((dj = TAILQ_FIRST(&disc_todo)) != NULL) {
		TAILQ_REMOVE(&disc_todo, dj, dj_entry);
		disc_job_free(dj);
	}
	if (disc_cur != NULL)
		disc_cur->dj_cancel = true;
	TAILQ_FOREACH(dj, &disc_done, dj_entry)
		dj->dj_cancel = true;
	pthread_mutex_unlock(&disc_lock);
	for (i = 0; i < servers.sr_count; i++)
		servers.sr_servers[i]->ds_upgraded = false;
}

void
discovery_start(void)
{
	if (pthread_create(&disc_tid, NULL, disc_main, NULL) != 0)
		fatalx("unable to start the discovery thread");
	disc_started = true;
	loop_timer(100000000ULL, disc_collect, NULL);
}

void
discovery_stop(void)
{
	struct disc_job	*dj;

	if (disc_started) {
		atomic_store(&disc_stop, true);
		pthread_mutex_lock(&disc_lock);
		pthread_cond_signal(&disc_cond);
		pthread_mutex_unlock(&disc_lock);
		pthread_join(disc_tid, NULL);
		disc_started = false;
	}
	TAILQ_CONCAT(&disc_todo, &disc_done, dj_entry);
	while ((dj = TAILQ_FIRST(&disc_todo)) != NULL) {
		TAILQ_REMOVE(&disc_todo, dj, dj_entry);
		disc_job_free(dj);
	}
}
