/*
 * Live reload: SIGHUP and reloadConfig() read the configuration file again
 * into a new Lua state and a new draft (rule chains, servers and pools,
 * settings), which replaces the running configuration; a file with any
 * error is thrown away with nothing changed.
 *
 * What outlives a configuration is carried over: a server with the same
 * address and name (its health, counters, sockets and queries in flight)
 * takes the new settings in place; a pool that remains keeps its packet
 * cache when the new one has the same settings; dynamic blocks, rings and
 * the statistics are shared objects outside the draft.  Listeners, the
 * control socket, the web server's address and the sizes fixed when the
 * threads start stay as they are, with a warning when the file asks for
 * others.  The old draft's pools and Lua state go once no packet thread
 * can use them any more (QSBR); a state lives on while rules of the old
 * snapshot still hold its functions.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "dnscrypt.h"
#include "dnsdist.h"
#include "doh.h"
#include "dynblock.h"
#include "inflight.h"
#include "lua.h"
#include "netmask.h"
#include "policy.h"
#include "qsbr.h"
#include "ring.h"
#include "rule.h"
#include "server.h"
#include "settings.h"

static struct rule_chain *const chains[] = {
	&rules_query, &rules_response, &rules_cachehit, &rules_selfanswered
};
#define NCHAINS	(sizeof(chains) / sizeof(chains[0]))

/* The draft: what the configuration file builds, besides its Lua state. */
struct draft {
	struct rule_chain	 d_chains[NCHAINS];
	struct server_registry	 d_servers;
	struct settings		 d_settings;
	int			 d_policy;
	uint32_t		 d_perturbation;
	bool			 d_addedns;
	uint16_t		 d_ednspayload;
	int			 d_dynaction;
	size_t			 d_memlimit;
	bool			 d_allowempty;
	bool			 d_rrfail;
	double			 d_wfactor;
	double			 d_cfactor;
	int			 d_facility;
	bool			 d_verbosechecks;
	bool			 d_ringoff[2];	/* queries, responses */
};

/* The scalars as they were before the configuration ran: the defaults. */
static struct draft	 defaults;
static const char	*reload_path;
static char		**cmd_servers;
static int		  cmd_nservers;
static char		**cmd_acls;
static size_t		  cmd_nacls;
static bool		  cmd_locals;	/* -l */
static pthread_t	  main_thread;
/* Requests from other threads (the control socket), done by the loop. */
static pthread_mutex_t	  req_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	  req_cond = PTHREAD_COND_INITIALIZER;
static uint64_t		  req_asked, req_done;
static int		  req_rc;
static struct sbuf	  req_out;
#define RELOAD_WAIT	60	/* seconds a console waits for the loop */
/* reloadConfig() ran on this thread: reload when the Lua call returns. */
static _Thread_local bool reload_wanted;

static void
scalars_get(struct draft *d)
{
	d->d_policy = atomic_load(&policy_global);
	d->d_perturbation = policy_hash_perturbation;
	d->d_addedns = rule_add_edns;
	d->d_ednspayload = rule_edns_payload;
	d->d_dynaction = atomic_load(&dynblock_default_action);
	d->d_memlimit = dlua_mem_limit;
	d->d_allowempty = atomic_load(&inflight_allow_empty);
	d->d_rrfail = atomic_load(&policy_rr_fail_no_server);
	d->d_wfactor = atomic_load(&policy_weighted_factor);
	d->d_cfactor = atomic_load(&policy_chashed_factor);
	d->d_facility = atomic_load(&settings_syslogfacility);
	d->d_verbosechecks = atomic_load(&settings_verbosehealthchecks);
	d->d_ringoff[0] = ring_queries != NULL &&
	    atomic_load(&ring_queries->rg_off);
	d->d_ringoff[1] = ring_responses != NULL &&
	    atomic_load(&ring_responses->rg_off);
}

/* Packet threads read these: only values that change are written. */
static void
scalars_set(const struct draft *d)
{
	if (atomic_load(&policy_global) != d->d_policy)
		atomic_store(&policy_global, d->d_policy);
	if (policy_hash_perturbation != d->d_perturbation)
		policy_hash_perturbation = d->d_perturbation;
	if (rule_add_edns != d->d_addedns)
		rule_add_edns = d->d_addedns;
	if (rule_edns_payload != d->d_ednspayload)
		rule_edns_payload = d->d_ednspayload;
	if (atomic_load(&dynblock_default_action) != d->d_dynaction)
		atomic_store(&dynblock_default_action, d->d_dynaction);
	dlua_mem_limit = d->d_memlimit;
	if (atomic_load(&inflight_allow_empty) != d->d_allowempty)
		atomic_store(&inflight_allow_empty, d->d_allowempty);
	atomic_store(&policy_rr_fail_no_server, d->d_rrfail);
	atomic_store(&policy_weighted_factor, d->d_wfactor);
	atomic_store(&policy_chashed_factor, d->d_cfactor);
	atomic_store(&settings_syslogfacility, d->d_facility);
	atomic_store(&settings_verbosehealthchecks, d->d_verbosechecks);
	if (ring_queries != NULL)
		atomic_store(&ring_queries->rg_off, d->d_ringoff[0]);
	if (ring_responses != NULL)
		atomic_store(&ring_responses->rg_off, d->d_ringoff[1]);
}

void
reload_setup(char **servers_, int nservers, char **acls, size_t nacls,
    bool locals)
{
	cmd_locals = locals;
	cmd_servers = servers_;
	cmd_nservers = nservers;
	cmd_acls = acls;
	cmd_nacls = nacls;
	main_thread = pthread_self();
	scalars_get(&defaults);
}

void
reload_set_path(const char *path)
{
	reload_path = path;
}

/* Move the running draft into d and start an empty one. */
static int
draft_take(struct draft *d)
{
	size_t	i;

	for (i = 0; i < NCHAINS; i++) {
		d->d_chains[i] = *chains[i];
		memset(chains[i], 0, sizeof(*chains[i]));
	}
	d->d_servers = servers;
	server_registry_reset();
	d->d_settings = settings;
	scalars_get(d);
	scalars_set(&defaults);
	return settings_init();
}

/* Throw the draft being built away and put d back. */
static void
draft_drop(struct draft *d)
{
	size_t	i;

	for (i = 0; i < NCHAINS; i++) {
		rule_clear(chains[i]);
		free(chains[i]->rc_rules);
		*chains[i] = d->d_chains[i];
	}
	server_registry_free(&servers);
	servers = d->d_servers;
	settings_free(&settings);
	settings = d->d_settings;
	scalars_set(d);
}

/* What the command line adds to the file: servers first, then -a. */
static int
draft_cmdline(struct sbuf *err)
{
	struct server	*ds;
	size_t		 i;
	int		 n;

	for (n = 0; n < cmd_nservers; n++) {
		if ((ds = server_new(cmd_servers[n])) == NULL ||
		    server_register(ds) == -1) {
			server_unref(ds);
			sbuf_printf(err, "bad downstream address '%s'",
			    cmd_servers[n]);
			return -1;
		}
		server_unref(ds);
	}
	if (cmd_nacls > 0) {
		netmask_group_clear(&settings.st_acl);
		for (i = 0; i < cmd_nacls; i++)
			if (netmask_group_add_text(&settings.st_acl,
			    cmd_acls[i]) == -1) {
				sbuf_printf(err, "bad ACL netmask '%s'",
				    cmd_acls[i]);
				return -1;
			}
	}
	return 0;
}

static void warn(struct sbuf *, const char *, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static void
warn(struct sbuf *out, const char *fmt, ...)
{
	va_list	ap;
	char	msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("reload: %s", msg);
	sbuf_printf(out, "Warning: %s\n", msg);
}

static bool
local_same(const struct local *a, const struct local *b)
{
	return a->lc_addrlen == b->lc_addrlen &&
	    addr_equal((const struct sockaddr *)&a->lc_addr,
	    (const struct sockaddr *)&b->lc_addr) &&
	    a->lc_reuseport == b->lc_reuseport && a->lc_udp == b->lc_udp &&
	    (a->lc_doh == NULL) == (b->lc_doh == NULL) &&
	    a->lc_tcp == b->lc_tcp && a->lc_tcpfastopen == b->lc_tcpfastopen &&
	    a->lc_tcplistenqueue == b->lc_tcplistenqueue &&
	    a->lc_maxtcpconns == b->lc_maxtcpconns &&
	    a->lc_maxinflight == b->lc_maxinflight &&
	    a->lc_ppoff == b->lc_ppoff && a->lc_ppoutside == b->lc_ppoutside &&
	    strcmp(a->lc_ifname, b->lc_ifname) == 0 &&
	    a->lc_pinned == b->lc_pinned &&
	    memcmp(a->lc_cpus, b->lc_cpus, sizeof(a->lc_cpus)) == 0 &&
	    (a->lc_dnscrypt == NULL) == (b->lc_dnscrypt == NULL) &&
	    (a->lc_dnscrypt == NULL || strcmp(a->lc_dnscrypt->dc_providertext,
	    b->lc_dnscrypt->dc_providertext) == 0) &&
	    tls_local_same(a->lc_tls, b->lc_tls);
}

static bool
addr_same(const struct sockaddr_storage *a, socklen_t alen,
    const struct sockaddr_storage *b, socklen_t blen)
{
	return alen == blen && (alen == 0 || addr_equal(
	    (const struct sockaddr *)a, (const struct sockaddr *)b));
}

#define KEEP(f, what)	do {						\
	if (settings.f != old->f) {					\
		warn(out, "%s changes with a restart; it stays as it was", \
		    what);						\
		settings.f = old->f;					\
	}								\
} while (0)

/* Settings fixed when the sockets and threads were made stay as they are. */
static void
keep_fixed(struct settings *old, struct sbuf *out)
{
	struct local	*tl;
	size_t		 i, tn;
	bool		 same;

	/* -l replaces the file's listeners; none means 127.0.0.1:53. */
	if (cmd_locals || settings.st_nlocals == 0)
		same = cmd_locals || !old->st_locals_from_config;
	else {
		same = settings.st_nlocals == old->st_nlocals;
		for (i = 0; same && i < old->st_nlocals; i++)
			same = local_same(&settings.st_locals[i],
			    &old->st_locals[i]);
	}
	if (!same)
		warn(out, "listeners (setLocal, addLocal, addTLSLocal, "
		    "addDOHLocal, addDNSCryptBind) change with a restart; the "
		    "running ones stay");
	/*
	 * The file's responses maps (setResponsesMap) and muted flags go
	 * live on the listeners that stay.
	 */
	for (i = 0; i < old->st_nlocals && i < settings.st_nlocals; i++) {
		if (!local_same(&old->st_locals[i], &settings.st_locals[i]))
			continue;
		if (old->st_locals[i].lc_doh != NULL)
			doh_frontend_move_map(old->st_locals[i].lc_doh,
			    settings.st_locals[i].lc_doh);
		atomic_store(&old->st_locals[i].lc_muted,
		    atomic_load(&settings.st_locals[i].lc_muted));
	}
	/* The listeners point into the running array: it stays. */
	tl = settings.st_locals;
	tn = settings.st_nlocals;
	settings.st_locals = old->st_locals;
	settings.st_nlocals = old->st_nlocals;
	settings.st_locals_from_config = old->st_locals_from_config;
	old->st_locals = tl;
	old->st_nlocals = tn;
	if (!addr_same(&settings.st_ctladdr, settings.st_ctladdrlen,
	    &old->st_ctladdr, old->st_ctladdrlen)) {
		warn(out, "controlSocket changes with a restart; it stays as "
		    "it was");
		settings.st_ctladdr = old->st_ctladdr;
		settings.st_ctladdrlen = old->st_ctladdrlen;
	}
	if (!addr_same(&settings.st_webaddr, settings.st_webaddrlen,
	    &old->st_webaddr, old->st_webaddrlen)) {
		warn(out, "the web server's address changes with a restart; "
		    "it stays as it was");
		settings.st_webaddr = old->st_webaddr;
		settings.st_webaddrlen = old->st_webaddrlen;
	}
	KEEP(st_maxudpoutstanding, "setMaxUDPOutstanding");
	KEEP(st_maxtcpclientthreads, "setMaxTCPClientThreads");
	KEEP(st_maxtcpqueuedconns, "setMaxTCPQueuedConnections");
	KEEP(st_maxtcpqueuedbytes, "setMaxTCPQueuedBytes");
	KEEP(st_udprcvbuf, "setUDPSocketBufferSizes");
	KEEP(st_udpsndbuf, "setUDPSocketBufferSizes");
	/* A key given with -k beats the file's. */
	if (old->st_consolekeycmdline) {
		memcpy(settings.st_consolekey, old->st_consolekey,
		    sizeof(settings.st_consolekey));
		settings.st_consolekeyset = old->st_consolekeyset;
		settings.st_consolekeycmdline = true;
	}
	settings.st_running = true;
}

#undef KEEP

/* Replace nds by ds in a pool's list. */
static void
pool_swap_server(struct pool *pl, struct server *nds, struct server *ds)
{
	size_t	i;

	for (i = 0; i < pl->pl_count; i++)
		if (pl->pl_servers[i] == nds)
			pl->pl_servers[i] = ds;
}

/*
 * Servers of the new draft that were running (same address and name) are
 * the running ones, with the new settings; running servers the file no
 * longer names are removed.  The old registry is left with its pools only.
 */
static int
keep_servers(struct server_registry *old, struct sbuf *out)
{
	struct server	*nds, *ds;
	bool		*kept;
	size_t		 i, j, k;

	if ((kept = calloc(old->sr_count + 1, sizeof(*kept))) == NULL)
		return -1;
	for (i = 0; i < servers.sr_count; i++) {
		nds = servers.sr_servers[i];
		for (j = 0; j < old->sr_count; j++)
			if (!kept[j] && server_same(old->sr_servers[j], nds))
				break;
		if (j == old->sr_count)
			continue;
		kept[j] = true;
		ds = old->sr_servers[j];
		if (ds->ds_sockets != nds->ds_sockets)
			warn(out, "%s: sockets changes with a restart of the "
			    "server; it stays at %d", ds->ds_name,
			    ds->ds_sockets);
		server_adopt(ds, nds);
		for (k = 0; k < servers.sr_npools; k++)
			pool_swap_server(servers.sr_pools[k], nds, ds);
		/* The old registry's reference moves to the new one. */
		servers.sr_servers[i] = ds;
		server_unref(nds);
	}
	discovery_forget();
	for (j = 0; j < old->sr_count; j++) {
		if (kept[j])
			continue;
		ds = old->sr_servers[j];
		/* An upgrade found by discovery, whose plain server is back. */
		if (discovery_keep(ds)) {
			server_unref(ds);
			continue;
		}
		ds->ds_removed = true;
		for (k = 0; k < old->sr_npools; k++)
			pool_rm_server(old->sr_pools[k], ds);
		server_removed_add(ds);
	}
	for (j = 0; j < old->sr_nremoved; j++)
		server_removed_add(old->sr_removed[j]);
	pool_rebuild_all();
	free(kept);
	free(old->sr_servers);
	free(old->sr_removed);
	old->sr_servers = old->sr_removed = NULL;
	old->sr_count = old->sr_nremoved = 0;
	return 0;
}

/* A pool that remains keeps its cache when the new one is made alike. */
static void
keep_caches(struct server_registry *old)
{
	struct pool	*pl, *opl;
	size_t		 i, j;

	for (i = 0; i < servers.sr_npools; i++) {
		pl = servers.sr_pools[i];
		opl = pool_find(old->sr_pools, old->sr_npools,
		    old->sr_default, pl->pl_name);
		if (pl->pl_cache == NULL || opl == NULL ||
		    opl->pl_cache == NULL || pl->pl_cache == opl->pl_cache ||
		    !pcache_same_config(pl->pl_cache, opl->pl_cache))
			continue;
		/* A cache shared by new pools goes with it everywhere. */
		for (j = 0; j < servers.sr_npools; j++)
			if (j != i && servers.sr_pools[j]->pl_cache ==
			    pl->pl_cache)
				servers.sr_pools[j]->pl_cache = opl->pl_cache;
		pcache_forward(pl->pl_cache, opl->pl_cache);
		pl->pl_cache = opl->pl_cache;
	}
}

/* The old draft's pools and Lua state, freed after a grace period. */
struct leftovers {
	struct qsbr_node	 lo_q;
	struct pool		**lo_pools;
	size_t			 lo_npools;
	lua_State		*lo_L;
};

static void
leftovers_free(struct qsbr_node *n)
{
	struct leftovers	*lo = (struct leftovers *)n;
	size_t			 i;

	for (i = 0; i < lo->lo_npools; i++)
		pool_free(lo->lo_pools[i]);
	free(lo->lo_pools);
	dlua_retire(lo->lo_L);
	free(lo);
}

/*
 * Read the file again and make it the configuration: 0, or -1 with the
 * reason in out, and nothing changed.  The configuration lock is held;
 * the caller is the loop's thread.
 */
static int
reload_run(struct sbuf *out)
{
	struct draft		 old;
	struct leftovers	*lo;
	struct sbuf		 err, text;
	lua_State		*L, *oldL;
	size_t			 i;
	int			 rc = -1;

	sbuf_init(&err);
	sbuf_init(&text);
	if ((lo = calloc(1, sizeof(*lo))) == NULL ||
	    (L = dlua_open()) == NULL) {
		free(lo);
		sbuf_puts(out, "Error: reload: out of memory\n");
		return -1;
	}
	if (draft_take(&old) == -1)
		sbuf_puts(&err, "out of memory");
	else if (draft_cmdline(&err) == 0 &&
	    dlua_run_file(L, reload_path, &text, &err) == 0)
		rc = 0;
	if (rc == 0 && keep_servers(&old.d_servers, out) == -1) {
		sbuf_puts(&err, "out of memory");
		rc = -1;
	}
	if (rc == -1) {
		draft_drop(&old);
		settings.st_running = true;
		dlua_lock();
		dlua_close(L);
		dlua_release_pending();
		dlua_unlock();
		log_warnx("reload: %s has errors, the running configuration "
		    "stays: %s", reload_path, sbuf_text(&err));
		sbuf_printf(out, "Error: %s\n", sbuf_text(&err));
		free(lo);
		sbuf_free(&err);
		sbuf_free(&text);
		return -1;
	}
	sbuf_puts(out, sbuf_text(&text));
	keep_caches(&old.d_servers);
	keep_fixed(&old.d_settings, out);
	dlua_lock();
	oldL = config_L;
	config_L = L;
	dlua_hooks_changed(L);
	dlua_unlock();

	for (i = 0; i < NCHAINS; i++) {
		rule_clear(&old.d_chains[i]);
		free(old.d_chains[i].rc_rules);
	}
	settings_free(&old.d_settings);
	if (backend_sync() == -1)
		warn(out, "unable to open a backend socket");
	/* The new loggers run before the snapshot that uses them. */
	remotelog_start();
	if (daemon_publish() == -1)
		warn(out, "out of memory: the new configuration is not live "
		    "yet");
	/* Readers may hold the old pools (their round-robin counters). */
	lo->lo_pools = old.d_servers.sr_pools;
	lo->lo_npools = old.d_servers.sr_npools;
	lo->lo_L = oldL;
	qsbr_retire(&lo->lo_q, leftovers_free);
	if (settings.st_ncarbon > 0 && dlua_host.h_carbon != NULL &&
	    dlua_host.h_carbon() == -1)
		warn(out, "unable to start the carbon thread");
	log_info("reload: configuration %s is live, generation %llu",
	    reload_path, (unsigned long long)config_generation());
	sbuf_free(&err);
	sbuf_free(&text);
	return 0;
}

/* SIGHUP, or a request of another thread: on the loop's thread. */
int
reload_now(struct sbuf *out)
{
	int	rc;

	pthread_rwlock_wrlock(&config_lock);
	rc = reload_run(out);
	pthread_rwlock_unlock(&config_lock);
	pthread_mutex_lock(&req_lock);
	if (req_done < req_asked) {
		req_done = req_asked;
		req_rc = rc;
		sbuf_reset(&req_out);
		sbuf_puts(&req_out, sbuf_text(out));
		pthread_cond_broadcast(&req_cond);
	}
	pthread_mutex_unlock(&req_lock);
	return rc;
}

/* reloadConfig(): noted, done when the Lua call returns. */
void
reload_request(void)
{
	reload_wanted = true;
}

/*
 * After a console line or maintenance(), without the configuration lock:
 * the reload reloadConfig() asked for, its output appended to out.  On
 * another thread than the loop's, the loop does it (SIGHUP) and this one
 * waits.  0 when none was asked or it went well, -1 otherwise.
 */
int
reload_pending(struct sbuf *out)
{
	struct timespec	deadline;
	uint64_t	ticket;
	int		rc;

	if (!reload_wanted)
		return 0;
	reload_wanted = false;
	if (pthread_equal(pthread_self(), main_thread))
		return reload_now(out);
	pthread_mutex_lock(&req_lock);
	ticket = ++req_asked;
	pthread_kill(main_thread, SIGHUP);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += RELOAD_WAIT;
	while (req_done < ticket && pthread_cond_timedwait(&req_cond,
	    &req_lock, &deadline) != ETIMEDOUT)
		;
	if (req_done < ticket) {
		sbuf_puts(out, "Error: reload: no answer from the main "
		    "thread\n");
		rc = -1;
	} else {
		rc = req_rc;
		sbuf_puts(out, sbuf_text(&req_out));
	}
	pthread_mutex_unlock(&req_lock);
	return rc;
}
