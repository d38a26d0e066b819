/*
 * Inspection of live traffic from the rings: topQueries, topResponses,
 * topClients, topSlow, topBandwidth, grepq, showResponseLatency and
 * setRingBuffersSize's shards, with dnsdist's names and output.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "addr.h"
#include "dnsname.h"
#include "dnspacket.h"
#include "lua.h"
#include "netmask.h"
#include "qcount.h"
#include "ring.h"
#include "settings.h"
#include "stats.h"

struct top_out {
	struct ring_top	*to_rt;
	lua_Integer	 to_n;
};

static void
top_row(lua_State *L, size_t i, const char *key, uint64_t n, double pct)
{
	lua_createtable(L, 3, 0);
	lua_pushstring(L, key);
	lua_rawseti(L, -2, 1);
	lua_pushinteger(L, (lua_Integer)n);
	lua_rawseti(L, -2, 2);
	lua_pushnumber(L, pct);
	lua_rawseti(L, -2, 3);
	lua_rawseti(L, -2, (lua_Integer)i);
}

/*
 * The rows of a get*() table: { key, count, percentage }, the top n then
 * "Rest".  Called protected, so that the tally is freed whatever happens.
 */
static int
top_table(lua_State *L)
{
	struct top_out	*to = lua_touserdata(L, 1);
	struct ring_top	*rt = to->to_rt;
	uint64_t	 shown = 0, rest;
	size_t		 i;
	double		 tot = rt->rt_total > 0 ? (double)rt->rt_total : 1.0;

	lua_newtable(L);
	for (i = 0; i < rt->rt_t.qt_count && (lua_Integer)i < to->to_n; i++) {
		top_row(L, i + 1, rt->rt_t.qt_items[i].qi_key,
		    rt->rt_t.qt_items[i].qi_n,
		    100.0 * (double)rt->rt_t.qt_items[i].qi_n / tot);
		shown += rt->rt_t.qt_items[i].qi_n;
	}
	rest = rt->rt_total - shown;
	top_row(L, i + 1, "Rest", rest, rt->rt_total > 0 ?
	    100.0 * (double)rest / tot : 100.0);
	return 1;
}

/*
 * The top n as dnsdist prints them, then "Rest"; or, when L is not NULL,
 * the same rows as a table on L's stack (getTopQueries() and friends).
 * Frees the tally.
 */
static void
top_emit(lua_State *L, struct ring_top *rt, lua_Integer n)
{
	struct top_out	 to = { rt, n };
	uint64_t	 shown = 0, rest;
	size_t		 i;
	double		 tot = rt->rt_total > 0 ? (double)rt->rt_total : 1.0;
	int		 rc;

	if (L != NULL) {
		lua_pushcfunction(L, top_table);
		lua_pushlightuserdata(L, &to);
		rc = lua_pcall(L, 1, 1, 0);
		ring_top_free(rt);
		if (rc != LUA_OK)
			lua_error(L);
		return;
	}
	for (i = 0; i < rt->rt_t.qt_count && (lua_Integer)i < n; i++) {
		dlua_printf("%4zu  %-40s %4llu %4.1f%%\n", i + 1,
		    rt->rt_t.qt_items[i].qi_key,
		    (unsigned long long)rt->rt_t.qt_items[i].qi_n,
		    100.0 * (double)rt->rt_t.qt_items[i].qi_n / tot);
		shown += rt->rt_t.qt_items[i].qi_n;
	}
	rest = rt->rt_total - shown;
	dlua_printf("%4zu  %-40s %4llu %4.1f%%\n", i + 1, "Rest",
	    (unsigned long long)rest, 100.0 * (double)rest / tot);
	if (rt->rt_nomem)
		dlua_printf("(out of memory: counts incomplete)\n");
	ring_top_free(rt);
}

static int
opt_labels(lua_State *L, int idx)
{
	lua_Integer	l = luaL_optinteger(L, idx, 0);

	return l < 0 ? 0 : l > 127 ? 127 : (int)l;
}

static bool
rings_ready(void)
{
	if (ring_global_init() == -1) {
		dlua_printf("ring buffers: out of memory\n");
		return false;
	}
	return true;
}

/*
 * Tally one or two rings as q says and print the n largest; the get*()
 * variants (an upvalue true) return them as a table instead.
 */
static int
top_run(lua_State *L, const struct ring_top_query *q, lua_Integer n,
    struct ring **a, struct ring **b)
{
	struct ring_top	rt = { 0 };
	bool		push = lua_toboolean(L, lua_upvalueindex(1));

	if (!rings_ready()) {
		if (push)
			lua_newtable(L);
		return push;
	}
	ring_top(*a, b != NULL ? *b : NULL, q, &rt);
	top_emit(push ? L : NULL, &rt, n);
	return push;
}

static int
l_topqueries(lua_State *L)
{
	struct ring_top_query	q = { false, false, 0, -1, 0 };
	lua_Integer		n = luaL_optinteger(L, 1, 10);

	q.tq_labels = opt_labels(L, 2);
	return top_run(L, &q, n, &ring_queries, NULL);
}

static int
l_topresponses(lua_State *L)
{
	struct ring_top_query	q = { false, false, 0, 0, 0 };
	lua_Integer		n = luaL_optinteger(L, 1, 10);

	q.tq_rcode = (int)luaL_optinteger(L, 2, 0);
	q.tq_labels = opt_labels(L, 3);
	return top_run(L, &q, n, &ring_responses, NULL);
}

static int
l_topslow(lua_State *L)
{
	struct ring_top_query	q = { false, false, 0, -1, 0 };
	lua_Integer		n = luaL_optinteger(L, 1, 10);
	lua_Integer		ms = luaL_optinteger(L, 2, 2000);

	q.tq_minusec = ms < 0 ? 0 : (uint64_t)ms * 1000;
	q.tq_labels = opt_labels(L, 3);
	return top_run(L, &q, n, &ring_responses, NULL);
}

/* topClients counts queries, topBandwidth bytes both ways. */
static int
l_topclients(lua_State *L)
{
	struct ring_top_query	q = { true, false, 0, -1, 0 };
	lua_Integer		n = luaL_optinteger(L, 1, 10);

	return top_run(L, &q, n, &ring_queries, NULL);
}

static int
l_topbandwidth(lua_State *L)
{
	struct ring_top_query	q = { true, true, 0, -1, 0 };
	lua_Integer		n = luaL_optinteger(L, 1, 10);

	return top_run(L, &q, n, &ring_queries, &ring_responses);
}

/* grepq: the filters (all that are given must match) and the matches. */
struct grep {
	struct netmask		 gp_nm;
	bool			 gp_hasnm;
	uint8_t			 gp_name[DNSNAME_MAXLEN];
	size_t			 gp_namelen;
	bool			 gp_hasname;
	uint64_t		 gp_minusec;
	bool			 gp_hasms;
	bool			 gp_response;	/* walking the response ring */
	struct grep_hit {
		struct ring_entry	gh_e;
		bool			gh_response;
	}			*gp_hits;
	size_t			 gp_nhits, gp_cap;
	bool			 gp_nomem;
};

static void
grep_filter(lua_State *L, struct grep *gp, const char *s)
{
	struct netmask	 nm;
	char		*end;
	unsigned long	 ms;
	size_t		 len = strlen(s);

	if (len > 2 && strcmp(s + len - 2, "ms") == 0) {
		errno = 0;
		ms = strtoul(s, &end, 10);
		if (errno == 0 && end == s + len - 2 && s[0] != '-') {
			gp->gp_minusec = (uint64_t)ms * 1000;
			gp->gp_hasms = true;
			return;
		}
	}
	/* A failed parse may have written into nm: keep it apart. */
	if (netmask_parse(s, &nm) == 0) {
		gp->gp_nm = nm;
		gp->gp_hasnm = true;
		return;
	}
	if (dnsname_from_text(s, gp->gp_name, &gp->gp_namelen) == 0) {
		gp->gp_hasname = true;
		return;
	}
	luaL_error(L, "grepq: '%s' is neither a netmask, a name nor a "
	    "latency such as \"100ms\"", s);
}

static void
grep_cb(const struct ring_entry *e, void *arg)
{
	struct grep	*gp = arg;
	struct grep_hit	*nh;

	if (gp->gp_hasms && (!gp->gp_response ||
	    e->re_latency < gp->gp_minusec))
		return;
	if (gp->gp_hasnm && (e->re_client.sin6_family == 0 ||
	    netmask_match(&gp->gp_nm,
	    (const struct sockaddr *)&e->re_client) != 1))
		return;
	if (gp->gp_hasname && dnsname_is_part_of(e->re_name, e->re_namelen,
	    gp->gp_name, gp->gp_namelen) != 1)
		return;
	if (gp->gp_nhits == gp->gp_cap) {
		size_t cap = gp->gp_cap ? gp->gp_cap * 2 : 64;

		if ((nh = reallocarray(gp->gp_hits, cap, sizeof(*nh))) ==
		    NULL) {
			gp->gp_nomem = true;
			return;
		}
		gp->gp_hits = nh;
		gp->gp_cap = cap;
	}
	gp->gp_hits[gp->gp_nhits].gh_e = *e;
	gp->gp_hits[gp->gp_nhits++].gh_response = gp->gp_response;
}

/* Newest first. */
static int
grep_cmp(const void *a, const void *b)
{
	const struct ring_entry	*x = &((const struct grep_hit *)a)->gh_e;
	const struct ring_entry	*y = &((const struct grep_hit *)b)->gh_e;

	if (x->re_sec != y->re_sec)
		return x->re_sec > y->re_sec ? -1 : 1;
	if (x->re_usec != y->re_usec)
		return x->re_usec > y->re_usec ? -1 : 1;
	return 0;
}

static void
grep_print(const struct grep_hit *h, const struct timespec *now)
{
	const struct ring_entry	*e = &h->gh_e;
	char			 client[64], server[64], name[RING_TOP_KEYMAX];
	char			 tbuf[16], lat[24];
	const char		*type;
	double			 ago;

	ago = (double)(e->re_sec - now->tv_sec) +
	    ((double)e->re_usec - (double)now->tv_nsec / 1000.0) / 1e6;
	if (e->re_client.sin6_family != 0)
		addr_to_text((const struct sockaddr *)&e->re_client, client,
		    sizeof(client));
	else
		strlcpy(client, "-", sizeof(client));
	if (h->gh_response && e->re_server.sin6_family != 0)
		addr_to_text((const struct sockaddr *)&e->re_server, server,
		    sizeof(server));
	else
		strlcpy(server, h->gh_response ? "self" : "", sizeof(server));
	ring_name_text(e, 0, name, sizeof(name));
	type = dnspacket_type_name(e->re_qtype, tbuf, sizeof(tbuf));
	if (h->gh_response)
		snprintf(lat, sizeof(lat), "%.2f", e->re_latency / 1000.0);
	else
		lat[0] = '\0';
	dlua_printf("%-7.1f %-47s %-21s %-40s %-6s %-8s %-3s %s\n", ago,
	    client, server, name, type, lat,
	    h->gh_response && e->re_tc ? "TC" : "",
	    h->gh_response ? dnspacket_rcode_name(e->re_rcode) : "Question");
}

static int
l_grepq(lua_State *L)
{
	struct grep	 gp;
	struct timespec	 now;
	lua_Integer	 n = luaL_optinteger(L, 2, 10);
	size_t		 i;

	memset(&gp, 0, sizeof(gp));
	if (lua_type(L, 1) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 1) != 0) {
			grep_filter(L, &gp, luaL_checkstring(L, -1));
			lua_pop(L, 1);
		}
	} else
		grep_filter(L, &gp, luaL_checkstring(L, 1));
	if (!rings_ready())
		return 0;
	if (!gp.gp_hasms)
		ring_foreach(ring_queries, grep_cb, &gp);
	gp.gp_response = true;
	ring_foreach(ring_responses, grep_cb, &gp);
	if (gp.gp_nhits > 0)
		qsort(gp.gp_hits, gp.gp_nhits, sizeof(*gp.gp_hits), grep_cmp);
	clock_gettime(CLOCK_REALTIME, &now);
	dlua_printf("%-7s %-47s %-21s %-40s %-6s %-8s %-3s %s\n", "Time",
	    "Client", "Server", "Name", "Type", "Lat.", "TC", "Rcode");
	for (i = 0; i < gp.gp_nhits && (lua_Integer)i < n; i++)
		grep_print(&gp.gp_hits[i], &now);
	if (gp.gp_nomem)
		dlua_printf("(out of memory: matches incomplete)\n");
	free(gp.gp_hits);
	return 0;
}

/* showResponseLatency: bins of 0.1 ms doubling, as dnsdist draws them. */
#define LAT_BINS	15

struct latency {
	uint64_t	lt_bins[LAT_BINS];
	uint64_t	lt_sum;
	uint64_t	lt_count;
};

static void
latency_cb(const struct ring_entry *e, void *arg)
{
	struct latency	*lt = arg;
	uint64_t	 bound = 100;
	int		 i;

	for (i = 0; i < LAT_BINS - 1 && e->re_latency > bound; i++)
		bound *= 2;
	lt->lt_bins[i]++;
	lt->lt_sum += e->re_latency;
	lt->lt_count++;
}

static int
l_showresponselatency(lua_State *L)
{
	struct latency	lt;
	uint64_t	highest = 0, bound = 100;
	char		bar[72];
	int		i, stars;

	(void)L;
	memset(&lt, 0, sizeof(lt));
	if (!rings_ready())
		return 0;
	ring_foreach(ring_responses, latency_cb, &lt);
	dlua_printf("Average response latency: %.02f ms\n", lt.lt_count > 0 ?
	    (double)lt.lt_sum / 1000.0 / (double)lt.lt_count : 0.0);
	for (i = 0; i < LAT_BINS; i++)
		if (lt.lt_bins[i] > highest)
			highest = lt.lt_bins[i];
	dlua_printf("%7s\t%7s\n", "ms", "count");
	for (i = 0; i < LAT_BINS; i++, bound *= 2) {
		char c = '*';

		stars = highest > 0 ? (int)(70 * lt.lt_bins[i] / highest) : 0;
		if (stars == 0 && lt.lt_bins[i] > 0) {
			stars = 1;
			c = '.';
		}
		memset(bar, c, (size_t)stars);
		bar[stars] = '\0';
		dlua_printf("%7.2f\t%7llu %s\n", (double)bound / 1000.0,
		    (unsigned long long)lt.lt_bins[i], bar);
	}
	return 0;
}

static int
l_setringbufferssize(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);
	lua_Integer	s = luaL_optinteger(L, 2, RING_DEFAULT_SHARDS);

	if (n < 0 || n > (1 << 28))
		return luaL_error(L, "setRingBuffersSize: bad size");
	/* 0: keep no history at all, for the last bit of speed. */
	ring_recording = n > 0;
	if (n == 0)
		n = 1;
	if (s < 1 || s > RING_MAXSHARDS)
		return luaL_error(L, "setRingBuffersSize: shards must be "
		    "from 1 to %d", RING_MAXSHARDS);
	/* The same sizes again (a reloaded file): the entries stay. */
	if (rings_ready() && atomic_load(&ring_queries->rg_nshards) ==
	    (size_t)s && ring_capacity(ring_queries) ==
	    (n / s > 0 ? (size_t)(n / s) : 1) * (size_t)s) {
		settings.st_ringsize = (size_t)n;
		return 0;
	}
	if (ring_global_resize((size_t)n, (size_t)s) == -1)
		return luaL_error(L, "setRingBuffersSize: out of memory");
	settings.st_ringsize = (size_t)n;
	return 0;
}

/*
 * setRingBuffersOptions{ recordQueries = bool, recordResponses = bool,
 * lockRetries = n }: which of the rings are kept.  A busy shard is never
 * waited for here, so lockRetries has nothing to tune.
 */
static int
l_setringbuffersoptions(lua_State *L)
{
	static bool	 told;
	const char	*k;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
		if (strcmp(k, "lockRetries") == 0)
			luaL_checkinteger(L, -1);
		else if (strcmp(k, "recordQueries") != 0 &&
		    strcmp(k, "recordResponses") != 0)
			return luaL_error(L, "setRingBuffersOptions: unknown "
			    "option '%s'", k);
		else
			luaL_checktype(L, -1, LUA_TBOOLEAN);
		lua_pop(L, 1);
	}
	if (!rings_ready())
		return luaL_error(L, "setRingBuffersOptions: out of memory");
	atomic_store(&ring_queries->rg_off,
	    !dlua_opt_bool(L, 1, "recordQueries", 1));
	atomic_store(&ring_responses->rg_off,
	    !dlua_opt_bool(L, 1, "recordResponses", 1));
	lua_getfield(L, 1, "lockRetries");
	if (!lua_isnil(L, -1) && !told && dlua_host.h_log != NULL) {
		told = true;
		dlua_host.h_log(LOG_WARNING, "setRingBuffersOptions: "
		    "lockRetries has no effect here: a busy ring shard is "
		    "skipped, never waited for");
	}
	return 0;
}

/* getRingBuffersSize(): entries and shards, 0 when not recording. */
static int
l_getringbufferssize(lua_State *L)
{
	if (!rings_ready() || !ring_recording) {
		lua_pushinteger(L, 0);
		lua_pushinteger(L, 0);
		return 2;
	}
	lua_pushinteger(L, (lua_Integer)ring_capacity(ring_queries));
	lua_pushinteger(L, (lua_Integer)atomic_load(&ring_queries->rg_nshards));
	return 2;
}

static double
gauge_ring_skipped(void)
{
	if (ring_queries == NULL || ring_responses == NULL)
		return 0;
	return (double)(ring_skipped(ring_queries) +
	    ring_skipped(ring_responses));
}

/*
 * Copies of ring entries for the functions that hand them to Lua: made
 * with the shard locks, then pushed with none held.  The copy is a
 * userdata, so that a Lua error while pushing does not leak it.
 */
#define RINGCOPY_MT	"dnsdist.RingCopy"

struct ringcopy {
	struct ring_entry	*rc_e;
	bool			*rc_resp;
	size_t			 rc_n, rc_cap;
	bool			 rc_isresp;	/* what is being walked */
	int64_t			 rc_since;	/* 0, or the oldest second */
};

static int
ringcopy_gc(lua_State *L)
{
	struct ringcopy	*rc = luaL_checkudata(L, 1, RINGCOPY_MT);

	free(rc->rc_e);
	free(rc->rc_resp);
	rc->rc_e = NULL;
	rc->rc_resp = NULL;
	return 0;
}

static void
ringcopy_cb(const struct ring_entry *e, void *arg)
{
	struct ringcopy		*rc = arg;
	struct ring_entry	*ne;
	bool			*nr;
	size_t			 cap;

	if (rc->rc_since != 0 && e->re_sec < rc->rc_since)
		return;
	if (rc->rc_n == rc->rc_cap) {
		cap = rc->rc_cap ? rc->rc_cap * 2 : 256;
		if ((ne = reallocarray(rc->rc_e, cap, sizeof(*ne))) == NULL)
			return;
		rc->rc_e = ne;
		if ((nr = reallocarray(rc->rc_resp, cap, sizeof(*nr))) == NULL)
			return;
		rc->rc_resp = nr;
		rc->rc_cap = cap;
	}
	rc->rc_e[rc->rc_n] = *e;
	rc->rc_resp[rc->rc_n++] = rc->rc_isresp;
}

/* A copy of the queries (when asked) and the responses, on the stack. */
static struct ringcopy *
ringcopy_take(lua_State *L, bool queries, int64_t since)
{
	struct ringcopy	*rc = lua_newuserdata(L, sizeof(*rc));

	memset(rc, 0, sizeof(*rc));
	rc->rc_since = since;
	luaL_setmetatable(L, RINGCOPY_MT);
	if (!rings_ready())
		return rc;
	if (queries)
		ring_foreach(ring_queries, ringcopy_cb, rc);
	rc->rc_isresp = true;
	ring_foreach(ring_responses, ringcopy_cb, rc);
	return rc;
}

static void
setfield_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static void
setfield_name(lua_State *L, const char *k, const struct ring_entry *e)
{
	char	buf[RING_TOP_KEYMAX];

	if (dnsname_to_text(e->re_name, e->re_namelen, buf, sizeof(buf)) ==
	    -1)
		strlcpy(buf, "?", sizeof(buf));
	lua_pushstring(L, buf);
	lua_setfield(L, -2, k);
}

/* getRespRing([rcode]): { qname = "...", rcode = "0" } per response. */
static int
l_getrespring(lua_State *L)
{
	lua_Integer	 want = luaL_optinteger(L, 1, -1);
	struct ringcopy	*rc = ringcopy_take(L, false, 0);
	lua_Integer	 n = 0;
	size_t		 i;
	char		 buf[8];

	lua_newtable(L);
	for (i = 0; i < rc->rc_n; i++) {
		if (want >= 0 && rc->rc_e[i].re_rcode != want)
			continue;
		lua_createtable(L, 0, 2);
		setfield_name(L, "qname", &rc->rc_e[i]);
		snprintf(buf, sizeof(buf), "%u", rc->rc_e[i].re_rcode);
		lua_pushstring(L, buf);
		lua_setfield(L, -2, "rcode");
		lua_rawseti(L, -2, ++n);
	}
	return 1;
}

/* getResponseRing(): { name, qtype, rcode, usec } per response. */
static int
l_getresponsering(lua_State *L)
{
	struct ringcopy	*rc = ringcopy_take(L, false, 0);
	size_t		 i;

	lua_createtable(L, (int)rc->rc_n, 0);
	for (i = 0; i < rc->rc_n; i++) {
		lua_createtable(L, 0, 4);
		setfield_name(L, "name", &rc->rc_e[i]);
		setfield_int(L, "qtype", rc->rc_e[i].re_qtype);
		setfield_int(L, "rcode", rc->rc_e[i].re_rcode);
		setfield_int(L, "usec", rc->rc_e[i].re_latency);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/*
 * getRingEntries(): every query and response kept, as tables with
 * dnsdist's fields: qname (DNSName), requestor and backend
 * (ComboAddress), when ({ tv_sec, tv_nsec }), usec, size, qtype,
 * isResponse, and rcode and tc for responses.
 */
static int
l_getringentries(lua_State *L)
{
	struct ringcopy		*rc = ringcopy_take(L, true, 0);
	struct ring_entry	*e;
	struct sockaddr_in6	 none;
	size_t			 i;

	memset(&none, 0, sizeof(none));
	none.sin6_family = AF_INET;
	lua_createtable(L, (int)rc->rc_n, 0);
	for (i = 0; i < rc->rc_n; i++) {
		e = &rc->rc_e[i];
		lua_createtable(L, 0, 10);
		dlua_push_dnsname(L, e->re_name, e->re_namelen);
		lua_setfield(L, -2, "qname");
		dlua_push_ca(L, (const struct sockaddr *)(e->re_client.
		    sin6_family != 0 ? &e->re_client : &none));
		lua_setfield(L, -2, "requestor");
		dlua_push_ca(L, (const struct sockaddr *)(e->re_server.
		    sin6_family != 0 ? &e->re_server : &none));
		lua_setfield(L, -2, "backend");
		lua_createtable(L, 0, 2);
		setfield_int(L, "tv_sec", e->re_sec);
		setfield_int(L, "tv_nsec", (lua_Integer)e->re_usec * 1000);
		lua_setfield(L, -2, "when");
		setfield_int(L, "usec", rc->rc_resp[i] ? e->re_latency : 0);
		setfield_int(L, "size", e->re_size);
		setfield_int(L, "qtype", e->re_qtype);
		lua_pushboolean(L, rc->rc_resp[i]);
		lua_setfield(L, -2, "isResponse");
		lua_pushstring(L, "");
		lua_setfield(L, -2, "macAddress");
		if (rc->rc_resp[i]) {
			setfield_int(L, "rcode", e->re_rcode);
			lua_pushboolean(L, e->re_tc);
			lua_setfield(L, -2, "tc");
		}
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/*
 * statNodeRespRing(visitor[, seconds]): the responses of the last
 * seconds (0: all) summed per name and per parent name, and
 * visitor(node, self, children) called for each name, the longest
 * first: node has fullname, labelsCount and numChildren(); self counts
 * the responses for the name itself, children those for the names
 * below it (queries, noerrors, nxdomains, servfails, drops, bytes, hits).
 */
struct snstat {
	uint64_t	ss_queries, ss_noerrors, ss_nxdomains, ss_servfails;
	uint64_t	ss_bytes;
};

static void
snstat_add(struct snstat *st, const struct ring_entry *e)
{
	st->ss_queries++;
	st->ss_noerrors += e->re_rcode == DNS_RCODE_NOERROR;
	st->ss_nxdomains += e->re_rcode == DNS_RCODE_NXDOMAIN;
	st->ss_servfails += e->re_rcode == DNS_RCODE_SERVFAIL;
	st->ss_bytes += e->re_size;
}

static void
snstat_push(lua_State *L, const struct snstat *st)
{
	lua_createtable(L, 0, 7);
	setfield_int(L, "queries", (lua_Integer)st->ss_queries);
	setfield_int(L, "noerrors", (lua_Integer)st->ss_noerrors);
	setfield_int(L, "nxdomains", (lua_Integer)st->ss_nxdomains);
	setfield_int(L, "servfails", (lua_Integer)st->ss_servfails);
	setfield_int(L, "drops", 0);
	setfield_int(L, "bytes", (lua_Integer)st->ss_bytes);
	setfield_int(L, "hits", 0);
}

static int
l_statnode_numchildren(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_getfield(L, 1, "\1children");
	return 1;
}

static int
l_statnoderespring(lua_State *L)
{
	lua_Integer	 secs = luaL_optinteger(L, 2, 0);
	struct ringcopy	*rc;
	struct snstat	*self, *kids;
	uint8_t		 name[DNSNAME_MAXLEN];
	char		 text[RING_TOP_KEYMAX];
	size_t		 i, off, len, nnodes = 0;
	int		 labels, maxlabels = 0, l, nodes;
	bool		 created, wasnew;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	rc = ringcopy_take(L, false, secs > 0 ? (int64_t)time(NULL) - secs : 0);
	/* name text -> index of its node; stats in two userdata arrays. */
	lua_newtable(L);
	nodes = lua_gettop(L);
	lua_newtable(L);	/* index -> { text, labels } */
	for (i = 0; i < rc->rc_n; i++) {
		len = rc->rc_e[i].re_namelen;
		dnsname_lower(rc->rc_e[i].re_name, len, name);
		created = false;
		for (off = 0; off < len && name[off] != 0;
		    off += (size_t)name[off] + 1) {
			if (dnsname_to_text(name + off, len - off, text,
			    sizeof(text)) == -1)
				break;
			if (lua_getfield(L, nodes, text) == LUA_TNIL) {
				lua_pop(L, 1);
				lua_pushinteger(L, (lua_Integer)++nnodes);
				lua_pushvalue(L, -1);
				lua_setfield(L, nodes, text);
				labels = dnsname_count_labels(name + off,
				    len - off);
				if (labels > maxlabels)
					maxlabels = labels;
				lua_createtable(L, 3, 0);
				lua_pushstring(L, text);
				lua_rawseti(L, -2, 1);
				lua_pushinteger(L, labels);
				lua_rawseti(L, -2, 2);
				lua_pushinteger(L, 0);
				lua_rawseti(L, -2, 3);
				lua_rawseti(L, nodes + 1, (lua_Integer)nnodes);
				wasnew = true;
			} else
				wasnew = false;
			/* A name seen for the first time is a new child. */
			if (created) {
				lua_rawgeti(L, nodes + 1, lua_tointeger(L, -1));
				lua_rawgeti(L, -1, 3);
				lua_pushinteger(L, lua_tointeger(L, -1) + 1);
				lua_rawseti(L, -3, 3);
				lua_pop(L, 2);
			}
			created = wasnew;
			lua_pop(L, 1);
		}
	}
	self = lua_newuserdata(L, (nnodes + 1) * sizeof(*self));
	kids = lua_newuserdata(L, (nnodes + 1) * sizeof(*kids));
	memset(self, 0, (nnodes + 1) * sizeof(*self));
	memset(kids, 0, (nnodes + 1) * sizeof(*kids));
	/* Each response counts for its name, and below for its parents. */
	for (i = 0; i < rc->rc_n; i++) {
		len = rc->rc_e[i].re_namelen;
		dnsname_lower(rc->rc_e[i].re_name, len, name);
		for (off = 0; off < len && name[off] != 0;
		    off += (size_t)name[off] + 1) {
			if (dnsname_to_text(name + off, len - off, text,
			    sizeof(text)) == -1)
				break;
			lua_getfield(L, nodes, text);
			l = (int)lua_tointeger(L, -1);
			lua_pop(L, 1);
			snstat_add(off == 0 ? &self[l] : &kids[l],
			    &rc->rc_e[i]);
		}
	}
	/* The deepest names first, as a tree is visited from its leaves. */
	for (labels = maxlabels; labels > 0; labels--) {
		for (i = 1; i <= nnodes; i++) {
			lua_rawgeti(L, nodes + 1, (lua_Integer)i);
			lua_rawgeti(L, -1, 2);
			l = (int)lua_tointeger(L, -1);
			lua_pop(L, 1);
			if (l != labels) {
				lua_pop(L, 1);
				continue;
			}
			lua_pushvalue(L, 1);
			lua_createtable(L, 0, 4);
			lua_rawgeti(L, -3, 1);
			lua_setfield(L, -2, "fullname");
			setfield_int(L, "labelsCount", labels);
			lua_rawgeti(L, -3, 3);
			lua_setfield(L, -2, "\1children");
			lua_pushcfunction(L, l_statnode_numchildren);
			lua_setfield(L, -2, "numChildren");
			snstat_push(L, &self[i]);
			snstat_push(L, &kids[i]);
			lua_call(L, 3, 0);
			lua_pop(L, 1);
		}
	}
	return 0;
}

static const luaL_Reg globals[] = {
	{ "topQueries", l_topqueries },
	{ "getRespRing", l_getrespring },
	{ "getResponseRing", l_getresponsering },
	{ "getRingEntries", l_getringentries },
	{ "statNodeRespRing", l_statnoderespring },
	{ "topResponses", l_topresponses },
	{ "topSlow", l_topslow },
	{ "topClients", l_topclients },
	{ "topBandwidth", l_topbandwidth },
	{ "grepq", l_grepq },
	{ "showResponseLatency", l_showresponselatency },
	{ "setRingBuffersSize", l_setringbufferssize },
	{ "getRingBuffersSize", l_getringbufferssize },
	{ "setRingBuffersOptions", l_setringbuffersoptions },
	{ NULL, NULL }
};

/* The same functions, returning their rows as dnsdist's get*() do. */
static const luaL_Reg getters[] = {
	{ "getTopQueries", l_topqueries },
	{ "getTopResponses", l_topresponses },
	{ "getSlowResponses", l_topslow },
	{ "getTopBandwidth", l_topbandwidth },
};

void
dlua_open_ring(lua_State *L)
{
	size_t	i;

	/* The shard arrays only; entries come with the first packets. */
	(void)ring_global_init();
	luaL_newmetatable(L, RINGCOPY_MT);
	lua_pushcfunction(L, ringcopy_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	stats_set_gauge("ring-buffer-skipped", gauge_ring_skipped);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	for (i = 0; i < sizeof(getters) / sizeof(getters[0]); i++) {
		lua_pushboolean(L, 1);
		lua_pushcclosure(L, getters[i].func, 1);
		lua_setglobal(L, getters[i].name);
	}
}
