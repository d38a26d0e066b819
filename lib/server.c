/*
 * Downstream servers: creation with dnsdist's defaults, reference counting,
 * the registry of configured servers and their pool memberships.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "compat/compat.h"
#include "dnspacket.h"
#include "policy.h"
#include "server.h"
#include "uuid.h"

struct server_registry servers;

struct server *
server_new(const char *addrtext)
{
	struct server	*ds;

	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		return NULL;
	if (addr_parse(addrtext, 53, &ds->ds_addr, &ds->ds_addrlen) == -1) {
		free(ds);
		return NULL;
	}
	addr_to_text((struct sockaddr *)&ds->ds_addr, ds->ds_addrtext,
	    sizeof(ds->ds_addrtext));
	uuid_random(ds->ds_id);
	pthread_mutex_init(&ds->ds_qpslock, NULL);
	ds->ds_order = 1;
	ds->ds_weight = 1;
	ds->ds_sockets = 1;
	ds->ds_bindnoport = true;
	dnsname_from_text("a.root-servers.net.", ds->ds_checkname,
	    &ds->ds_checknamelen);
	ds->ds_checktype = DNS_TYPE_A;
	ds->ds_checkclass = DNS_CLASS_IN;
	ds->ds_checkinterval = 1;
	ds->ds_checktimeout = 1000;
	ds->ds_maxcheckfailures = 1;
	ds->ds_rise = 1;
	ds->ds_tcprecvtimeout = 30;
	ds->ds_tcpsendtimeout = 30;
	ds->ds_tcpconnecttimeout = 5;
	ds->ds_retries = 5;
	ds->ds_lazysize = 100;
	ds->ds_lazyminsamples = 1;
	ds->ds_lazythreshold = 20;
	ds->ds_lazyfailedinterval = 30;
	ds->ds_lazyservfail = true;
	ds->ds_lazymaxbackoff = 3600;
	atomic_init(&ds->ds_avail, SERVER_AUTO);
	atomic_init(&ds->ds_healthy, false);
	atomic_init(&ds->ds_refs, 1);
	ds->ds_num = -1;
	return ds;
}

void
server_ref(struct server *ds)
{
	atomic_fetch_add_explicit(&ds->ds_refs, 1, memory_order_relaxed);
}

void	(*server_tls_free)(void *);

void
server_unref(struct server *ds)
{
	size_t	i;

	if (ds == NULL)
		return;
	if (atomic_fetch_sub_explicit(&ds->ds_refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (i = 0; i < ds->ds_npools; i++)
		free(ds->ds_pools[i]);
	free(ds->ds_pools);
	free(ds->ds_points);
	free(ds->ds_name);
	free(ds->ds_tlsname);
	free(ds->ds_tlsca);
	free(ds->ds_tlsciphers);
	free(ds->ds_tlsciphers13);
	free(ds->ds_dohpath);
	free(ds->ds_upgpool);
	if (ds->ds_tlscfg != NULL && server_tls_free != NULL)
		server_tls_free(ds->ds_tlscfg);
	pthread_mutex_destroy(&ds->ds_qpslock);
	server_unref(ds->ds_forward);
	server_unref(ds->ds_upgfrom);
	free(ds);
}

struct server *
server_current(struct server *ds)
{
	while (ds->ds_forward != NULL)
		ds = ds->ds_forward;
	return ds;
}

static bool
str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
server_same(const struct server *a, const struct server *b)
{
	return a->ds_addrlen == b->ds_addrlen && addr_equal(
	    (const struct sockaddr *)&a->ds_addr,
	    (const struct sockaddr *)&b->ds_addr) &&
	    strcmp(a->ds_name, b->ds_name) == 0 && a->ds_tls == b->ds_tls &&
	    a->ds_tlsverify == b->ds_tlsverify &&
	    str_same(a->ds_tlsname, b->ds_tlsname) &&
	    str_same(a->ds_tlsca, b->ds_tlsca) &&
	    str_same(a->ds_tlsciphers, b->ds_tlsciphers) &&
	    str_same(a->ds_tlsciphers13, b->ds_tlsciphers13) &&
	    str_same(a->ds_dohpath, b->ds_dohpath) &&
	    a->ds_sourcelen == b->ds_sourcelen && (a->ds_sourcelen == 0 ||
	    addr_equal((const struct sockaddr *)&a->ds_source,
	    (const struct sockaddr *)&b->ds_source)) &&
	    strcmp(a->ds_sourceif, b->ds_sourceif) == 0;
}

/* Write *dst only when it changes: packet threads read these fields. */
#define ADOPT(f)	do {						\
	if (ds->f != nds->f)						\
		ds->f = nds->f;						\
} while (0)

/* The settings that a reload changes in place, from nds to ds. */
static void
server_copy(struct server *ds, const struct server *nds)
{
	ADOPT(ds_order);
	ADOPT(ds_weight);
	ADOPT(ds_dohxff);
	if (ds->ds_qpslimit != nds->ds_qpslimit)
		server_set_qps(ds, nds->ds_qpslimit);
	if (ds->ds_checknamelen != nds->ds_checknamelen ||
	    memcmp(ds->ds_checkname, nds->ds_checkname,
	    nds->ds_checknamelen) != 0) {
		memcpy(ds->ds_checkname, nds->ds_checkname,
		    nds->ds_checknamelen);
		ds->ds_checknamelen = nds->ds_checknamelen;
	}
	ADOPT(ds_checktype);
	ADOPT(ds_checkclass);
	ADOPT(ds_checkinterval);
	ADOPT(ds_checktimeout);
	ADOPT(ds_maxcheckfailures);
	ADOPT(ds_rise);
	ADOPT(ds_mustresolve);
	ADOPT(ds_setcd);
	ADOPT(ds_useecs);
	ADOPT(ds_disablezeroscope);
	ADOPT(ds_xpf);
	ADOPT(ds_tcprecvtimeout);
	ADOPT(ds_tcpsendtimeout);
	ADOPT(ds_tcpconnecttimeout);
	ADOPT(ds_retries);
	ADOPT(ds_tcponly);
	ADOPT(ds_proxyproto);
	ADOPT(ds_maxinflight);
	ADOPT(ds_bindnoport);
	ADOPT(ds_tcpfastopen);
	ADOPT(ds_reconnectonup);
	/* The samples and the lazy state stay unless their meaning changes. */
	if (ds->ds_lazy != nds->ds_lazy || ds->ds_lazysize != nds->ds_lazysize)
		server_lazy_clear(ds);
	if (ds->ds_lazy != nds->ds_lazy)
		ds->ds_lazystate = nds->ds_lazystate;
	ADOPT(ds_lazy);
	ADOPT(ds_lazysize);
	ADOPT(ds_lazyminsamples);
	ADOPT(ds_lazythreshold);
	ADOPT(ds_lazyfailedinterval);
	ADOPT(ds_lazyservfail);
	ADOPT(ds_lazybackoff);
	ADOPT(ds_lazymaxbackoff);
	if (atomic_load(&ds->ds_avail) != atomic_load(&nds->ds_avail))
		atomic_store(&ds->ds_avail, atomic_load(&nds->ds_avail));
	ADOPT(ds_upgrade);
	ADOPT(ds_upgkeep);
	ADOPT(ds_upglazy);
	ADOPT(ds_upginterval);
	ADOPT(ds_upgdohkey);
}

void
server_adopt(struct server *ds, struct server *nds)
{
	char	**tp, *t;
	size_t	  tn;

	ds->ds_num = nds->ds_num;
	if (strcmp(ds->ds_id, nds->ds_id) != 0)
		memcpy(ds->ds_id, nds->ds_id, sizeof(ds->ds_id));
	server_copy(ds, nds);
	t = ds->ds_upgpool;
	ds->ds_upgpool = nds->ds_upgpool;
	nds->ds_upgpool = t;
	/* The pool names: the lists swap, nds frees the old one. */
	tp = ds->ds_pools;
	tn = ds->ds_npools;
	ds->ds_pools = nds->ds_pools;
	ds->ds_npools = nds->ds_npools;
	nds->ds_pools = tp;
	nds->ds_npools = tn;
	server_ref(ds);
	nds->ds_forward = ds;
}

#undef ADOPT

static int
str_copy(char **dst, const char *src)
{
	return src == NULL || (*dst = strdup(src)) != NULL ? 0 : -1;
}

struct server *
server_clone(const struct server *ds, const char *addrtext)
{
	struct server	*nds;
	size_t		 i;

	if ((nds = server_new(addrtext)) == NULL)
		return NULL;
	server_copy(nds, ds);
	if (ds->ds_qpslimit > 0)
		server_set_qps(nds, ds->ds_qpslimit);
	nds->ds_tls = ds->ds_tls;
	nds->ds_tlsverify = ds->ds_tlsverify;
	nds->ds_dohxff = ds->ds_dohxff;
	nds->ds_sockets = ds->ds_sockets;
	nds->ds_source = ds->ds_source;
	nds->ds_sourcelen = ds->ds_sourcelen;
	memcpy(nds->ds_sourceif, ds->ds_sourceif, sizeof(nds->ds_sourceif));
	for (i = 0; i < ds->ds_npools; i++)
		if (server_add_pool(nds, ds->ds_pools[i]) == -1)
			goto fail;
	/* A name that was the address is the new address. */
	if ((ds->ds_name != NULL && strcmp(ds->ds_name, ds->ds_addrtext) != 0 &&
	    str_copy(&nds->ds_name, ds->ds_name) == -1) ||
	    str_copy(&nds->ds_tlsname, ds->ds_tlsname) == -1 ||
	    str_copy(&nds->ds_tlsca, ds->ds_tlsca) == -1 ||
	    str_copy(&nds->ds_tlsciphers, ds->ds_tlsciphers) == -1 ||
	    str_copy(&nds->ds_dohpath, ds->ds_dohpath) == -1 ||
	    str_copy(&nds->ds_upgpool, ds->ds_upgpool) == -1)
		goto fail;
	return nds;
fail:
	server_unref(nds);
	return NULL;
}

void
server_registry_reset(void)
{
	memset(&servers, 0, sizeof(servers));
}

void
server_registry_free(struct server_registry *r)
{
	size_t	i;

	for (i = 0; i < r->sr_count; i++)
		server_unref(r->sr_servers[i]);
	for (i = 0; i < r->sr_nremoved; i++)
		server_unref(r->sr_removed[i]);
	for (i = 0; i < r->sr_npools; i++)
		pool_free(r->sr_pools[i]);
	free(r->sr_servers);
	free(r->sr_removed);
	free(r->sr_pools);
	memset(r, 0, sizeof(*r));
}

int
server_set_name(struct server *ds, const char *name)
{
	char	*n;

	if ((n = strdup(name)) == NULL)
		return -1;
	free(ds->ds_name);
	ds->ds_name = n;
	return 0;
}

int
server_set_checkname(struct server *ds, const char *text)
{
	return dnsname_from_text(text, ds->ds_checkname, &ds->ds_checknamelen);
}

void
server_set_qps(struct server *ds, double rate)
{
	pthread_mutex_lock(&ds->ds_qpslock);
	ds->ds_qpslimit = rate;
	qps_init(&ds->ds_qps, rate, rate, 0);
	pthread_mutex_unlock(&ds->ds_qpslock);
}

int
server_set_source(struct server *ds, const char *text, const char **why)
{
	char		 buf[128], *at;
	const char	*ifname = NULL;
	int		 fd;

	if (strlcpy(buf, text, sizeof(buf)) >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	if ((at = strchr(buf, '@')) != NULL) {
		*at = '\0';
		ifname = at + 1;
	}
	ds->ds_sourcelen = 0;
	ds->ds_sourceif[0] = '\0';
	if (addr_parse(buf, 0, &ds->ds_source, &ds->ds_sourcelen) == -1) {
		if (at != NULL) {
			*why = "not an address before '@'";
			return -1;
		}
		ds->ds_sourcelen = 0;
		ifname = buf;
	} else if (ds->ds_source.ss_family != ds->ds_addr.ss_family) {
		*why = "not of the server's address family";
		return -1;
	}
	if (ifname != NULL) {
		if (strlcpy(ds->ds_sourceif, ifname, sizeof(ds->ds_sourceif)) >=
		    sizeof(ds->ds_sourceif) || if_nametoindex(ifname) == 0) {
			*why = "no such interface";
			return -1;
		}
		if (compat_bind_device(-1, ifname) == -1 &&
		    errno == EOPNOTSUPP) {
			*why = "this system cannot bind to an interface";
			return -1;
		}
	}
	/* An address the host does not have fails now, not at each query. */
	if ((fd = server_socket(ds, SOCK_DGRAM)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	close(fd);
	return 0;
}

int
server_socket(const struct server *ds, int type)
{
	int	fd, e;

	if ((fd = socket(ds->ds_addr.ss_family, type, 0)) == -1)
		return -1;
	if (ds->ds_sourcelen > 0 && type == SOCK_STREAM && ds->ds_bindnoport)
		compat_bind_noport(fd);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (type == SOCK_STREAM && ds->ds_tcpfastopen &&
	    compat_fastopen_connect(fd) == -1) ||
	    (ds->ds_sourceif[0] != '\0' &&
	    compat_bind_device(fd, ds->ds_sourceif) == -1) ||
	    (ds->ds_sourcelen > 0 && bind(fd,
	    (const struct sockaddr *)&ds->ds_source, ds->ds_sourcelen) == -1) ||
	    (connect(fd, (const struct sockaddr *)&ds->ds_addr,
	    ds->ds_addrlen) == -1 && errno != EINPROGRESS)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool
server_is_up(const struct server *ds)
{
	switch (atomic_load_explicit(&ds->ds_avail, memory_order_relaxed)) {
	case SERVER_FORCED_UP:
		return true;
	case SERVER_FORCED_DOWN:
		return false;
	default:
		return atomic_load_explicit(&ds->ds_healthy,
		    memory_order_relaxed);
	}
}

void
server_lazy_push(struct server *ds, bool failed)
{
	uint64_t	 pos, bit, old;
	_Atomic uint64_t *w;

	pos = atomic_fetch_add_explicit(&ds->ds_lazypos, 1,
	    memory_order_relaxed) % (uint64_t)ds->ds_lazysize;
	w = &ds->ds_lazybits[pos / 64];
	bit = 1ULL << (pos % 64);
	if (failed)
		old = atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
	else if ((atomic_load_explicit(w, memory_order_relaxed) & bit) == 0)
		return;
	else
		old = atomic_fetch_and_explicit(w, ~bit, memory_order_relaxed);
	/* The count follows each bit that changed, whoever changed it. */
	if (((old & bit) != 0) != failed)
		atomic_fetch_add_explicit(&ds->ds_lazyfails, failed ? 1 : -1,
		    memory_order_relaxed);
}

bool
server_lazy_over(const struct server *ds)
{
	uint64_t	n = atomic_load(&ds->ds_lazypos);
	int		fails = atomic_load(&ds->ds_lazyfails);

	if (n > (uint64_t)ds->ds_lazysize)
		n = (uint64_t)ds->ds_lazysize;
	if (n == 0 || n < (uint64_t)ds->ds_lazyminsamples)
		return false;
	return fails > 0 && (uint64_t)fails * 100 >=
	    (uint64_t)ds->ds_lazythreshold * n;
}

void
server_lazy_clear(struct server *ds)
{
	uint64_t	old;
	size_t		i;

	for (i = 0; i < sizeof(ds->ds_lazybits) / sizeof(ds->ds_lazybits[0]);
	    i++)
		if ((old = atomic_exchange(&ds->ds_lazybits[i], 0)) != 0)
			atomic_fetch_sub(&ds->ds_lazyfails,
			    __builtin_popcountll(old));
	atomic_store(&ds->ds_lazypos, 0);
}

const char *
server_state_text(const struct server *ds)
{
	switch (atomic_load_explicit(&ds->ds_avail, memory_order_relaxed)) {
	case SERVER_FORCED_UP:
		return "UP";
	case SERVER_FORCED_DOWN:
		return "DOWN";
	default:
		return server_is_up(ds) ? "up" : "down";
	}
}

const char *
server_display(const struct server *ds, char *buf, size_t bufsz)
{
	if (ds->ds_name != NULL && strcmp(ds->ds_name, ds->ds_addrtext) != 0)
		snprintf(buf, bufsz, "%s (%s)", ds->ds_name, ds->ds_addrtext);
	else
		snprintf(buf, bufsz, "%s", ds->ds_addrtext);
	return buf;
}

static bool
server_qps(struct server *ds, uint64_t now, bool take)
{
	bool	ok;

	if (ds->ds_qpslimit <= 0)
		return true;
	pthread_mutex_lock(&ds->ds_qpslock);
	ok = take ? qps_take(&ds->ds_qps, now) : qps_check(&ds->ds_qps, now);
	pthread_mutex_unlock(&ds->ds_qpslock);
	return ok;
}

bool
server_qps_take(struct server *ds, uint64_t now)
{
	return server_qps(ds, now, true);
}

bool
server_qps_check(struct server *ds, uint64_t now)
{
	return server_qps(ds, now, false);
}

static int
ptr_append(void *arrayp, size_t *count, void *elem)
{
	void	**a = *(void ***)arrayp, **na;

	if ((na = realloc(a, (*count + 1) * sizeof(*na))) == NULL)
		return -1;
	na[(*count)++] = elem;
	*(void ***)arrayp = na;
	return 0;
}

int
server_register(struct server *ds)
{
	size_t	 i;

	if (ptr_append(&servers.sr_servers, &servers.sr_count, ds) == -1)
		return -1;
	server_ref(ds);
	ds->ds_num = servers.sr_nextnum++;
	if (ds->ds_name == NULL && server_set_name(ds, ds->ds_addrtext) == -1)
		return -1;
	if (ds->ds_npools == 0 && server_add_pool(ds, "") == -1)
		return -1;
	for (i = 0; i < ds->ds_npools; i++)
		if (pool_add_server(pool_get(ds->ds_pools[i], true), ds) == -1)
			return -1;
	return 0;
}

void
server_unregister(struct server *ds)
{
	size_t	i;

	for (i = 0; i < servers.sr_count; i++)
		if (servers.sr_servers[i] == ds)
			break;
	if (i == servers.sr_count)
		return;
	memmove(&servers.sr_servers[i], &servers.sr_servers[i + 1],
	    (servers.sr_count - i - 1) * sizeof(ds));
	servers.sr_count--;
	for (i = 0; i < servers.sr_npools; i++)
		pool_rm_server(servers.sr_pools[i], ds);
	/* The registry's reference moves to the removed list. */
	server_removed_add(ds);
}

void
server_removed_add(struct server *ds)
{
	ds->ds_removed = true;
	if (ptr_append(&servers.sr_removed, &servers.sr_nremoved, ds) == -1)
		server_unref(ds);
}

struct server *
server_reap(void)
{
	if (servers.sr_nremoved == 0)
		return NULL;
	return servers.sr_removed[--servers.sr_nremoved];
}

struct server *
server_find_num(int num)
{
	if (num < 0 || (size_t)num >= servers.sr_count)
		return NULL;
	return servers.sr_servers[num];
}

bool
server_in_pool(const struct server *ds, const char *name)
{
	size_t	i;

	for (i = 0; i < ds->ds_npools; i++)
		if (strcmp(ds->ds_pools[i], name) == 0)
			return true;
	return false;
}

int
server_add_pool(struct server *ds, const char *name)
{
	char	*n;

	if (server_in_pool(ds, name))
		return 0;
	if ((n = strdup(name)) == NULL)
		return -1;
	if (ptr_append(&ds->ds_pools, &ds->ds_npools, n) == -1) {
		free(n);
		return -1;
	}
	/* A registered server joins the pool at once. */
	if (ds->ds_num >= 0 && !ds->ds_removed)
		return pool_add_server(pool_get(name, true), ds);
	return 0;
}

int
server_rm_pool(struct server *ds, const char *name)
{
	size_t	i;

	for (i = 0; i < ds->ds_npools; i++) {
		if (strcmp(ds->ds_pools[i], name) != 0)
			continue;
		free(ds->ds_pools[i]);
		memmove(&ds->ds_pools[i], &ds->ds_pools[i + 1],
		    (ds->ds_npools - i - 1) * sizeof(char *));
		ds->ds_npools--;
		if (ds->ds_num >= 0)
			pool_rm_server(pool_get(name, true), ds);
		return 0;
	}
	return -1;
}
