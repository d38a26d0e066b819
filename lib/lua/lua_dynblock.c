/*
 * Lua bindings for dynamic blocks: the exceed*() detectors over the rings,
 * addDynBlocks(), addDynBlockSMT(), showDynBlocks(), clearDynBlocks(),
 * setDynBlocksAction(), setDynBlocksPurgeInterval() and the rules-group
 * object of dynBlockRulesGroup(), with dnsdist's names.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "dnsname.h"
#include "dnspacket.h"
#include "dynblock.h"
#include "lua.h"
#include "netmask.h"
#include "ring.h"
#include "settings.h"

#define DBR_MT		"dnsdist.DynBlockRulesGroup"
#define DBR_MAXRULES	64

/* What a detector counts per client, over the last seconds. */
enum metric {
	M_QUERIES,		/* query ring; code: qtype or 0 for all */
	M_RCODE,		/* response ring; code: rcode */
	M_RCODE_RATIO,		/* response ring; code over all responses */
	M_BYTES			/* response ring; bytes */
};

/* One client's figures: an open-addressed table of them. */
struct client_count {
	struct netmask	cc_net;		/* the client, masked; family 0: empty */
	uint16_t	cc_port;	/* masked to t_portbits; host order */
	uint64_t	cc_n;
	uint64_t	cc_total;	/* responses, for ratios */
};

struct tally {
	struct client_count	*t_items;
	size_t			 t_cap;
	size_t			 t_count;
	bool			 t_nomem;
	/* what to count */
	int			 t_metric;
	int			 t_code;	/* -1: any */
	int64_t			 t_since;	/* wall clock seconds */
	int			 t_v4bits;
	int			 t_v6bits;
	int			 t_portbits;	/* IPv4 /32 only */
	const struct netmask_group *t_include;	/* NULL or empty: all */
	const struct netmask_group *t_exclude;
};

static uint64_t
net_hash(const struct netmask *nm, uint16_t port)
{
	uint64_t	h = 1469598103934665603ULL ^ (uint64_t)nm->nm_family ^
			    ((uint64_t)port << 8);
	size_t		i;

	for (i = 0; i < sizeof(nm->nm_addr); i++)
		h = (h ^ nm->nm_addr[i]) * 1099511628211ULL;
	return h;
}

static struct client_count *
tally_slot(struct tally *t, const struct netmask *nm, uint16_t port)
{
	struct client_count	*old, *ni, *cc;
	size_t			 i, j, cap;

	if (t->t_count * 2 >= t->t_cap) {
		cap = t->t_cap ? t->t_cap * 2 : 256;
		if ((ni = calloc(cap, sizeof(*ni))) == NULL) {
			t->t_nomem = true;
			return NULL;
		}
		old = t->t_items;
		for (i = 0; i < t->t_cap; i++) {
			if (old[i].cc_net.nm_family == 0)
				continue;
			for (j = net_hash(&old[i].cc_net, old[i].cc_port) &
			    (cap - 1);
			    ni[j].cc_net.nm_family != 0; j = (j + 1) & (cap - 1))
				;
			ni[j] = old[i];
		}
		free(old);
		t->t_items = ni;
		t->t_cap = cap;
	}
	for (i = net_hash(nm, port) & (t->t_cap - 1);;
	    i = (i + 1) & (t->t_cap - 1)) {
		cc = &t->t_items[i];
		if (cc->cc_net.nm_family == 0) {
			cc->cc_net = *nm;
			cc->cc_port = port;
			t->t_count++;
			return cc;
		}
		if (cc->cc_net.nm_family == nm->nm_family &&
		    cc->cc_port == port &&
		    memcmp(cc->cc_net.nm_addr, nm->nm_addr, 16) == 0)
			return cc;
	}
}

/* The client address masked to the group's prefix lengths, and its port. */
static bool
client_net(const struct tally *t, const struct sockaddr *sa,
    struct netmask *nm, uint16_t *port)
{
	*port = 0;
	if (t->t_portbits > 0 && sa->sa_family == AF_INET)
		*port = ntohs(((const struct sockaddr_in *)sa)->sin_port) &
		    (uint16_t)~(0xffffu >> t->t_portbits);
	return netmask_from_sockaddr(sa, t->t_v4bits, t->t_v6bits, nm) == 0;
}

static void
tally_entry(const struct ring_entry *re, void *arg)
{
	struct tally		*t = arg;
	const struct sockaddr	*sa = (const struct sockaddr *)&re->re_client;
	struct client_count	*cc;
	struct netmask		 nm;
	uint16_t		 port;

	if (re->re_sec < t->t_since || t->t_nomem)
		return;
	if (t->t_include != NULL && t->t_include->ng_count > 0 &&
	    netmask_group_match(t->t_include, sa) != 1)
		return;
	if (t->t_exclude != NULL && t->t_exclude->ng_count > 0 &&
	    netmask_group_match(t->t_exclude, sa) == 1)
		return;
	if (t->t_metric == M_QUERIES && t->t_code >= 0 &&
	    re->re_qtype != t->t_code)
		return;
	if (t->t_metric == M_RCODE && re->re_rcode != t->t_code)
		return;
	if (!client_net(t, sa, &nm, &port) ||
	    (cc = tally_slot(t, &nm, port)) == NULL)
		return;
	cc->cc_total++;
	if (t->t_metric == M_BYTES)
		cc->cc_n += re->re_size;
	else if (t->t_metric != M_RCODE_RATIO || re->re_rcode == t->t_code)
		cc->cc_n++;
}

static bool
tally_run(lua_State *L, struct tally *t, int metric, int code, int seconds)
{
	if (ring_global_init() == -1)
		luaL_error(L, "ring buffers: out of memory");
	t->t_metric = metric;
	t->t_code = code;
	t->t_since = (int64_t)time(NULL) - seconds;
	ring_foreach(metric == M_QUERIES ? ring_queries : ring_responses,
	    tally_entry, t);
	if (t->t_nomem) {
		free(t->t_items);
		luaL_error(L, "out of memory");
	}
	return true;
}

static void
netmask_sockaddr(const struct netmask *nm, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (nm->nm_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, nm->nm_addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, nm->nm_addr, 16);
	}
}

/* exceed*(): a table of ComboAddress -> count for clients over the rate. */
static int
exceed(lua_State *L, int metric, int code, int rate_idx)
{
	struct tally		t;
	struct sockaddr_storage	ss;
	lua_Number		rate = luaL_checknumber(L, rate_idx);
	lua_Integer		seconds = luaL_checkinteger(L, rate_idx + 1);
	size_t			i;

	if (seconds <= 0 || rate < 0)
		return luaL_error(L, "the rate and the number of seconds must "
		    "be positive");
	memset(&t, 0, sizeof(t));
	t.t_v4bits = 32;
	t.t_v6bits = 128;
	tally_run(L, &t, metric, code, (int)seconds);
	lua_newtable(L);
	for (i = 0; i < t.t_cap; i++) {
		if (t.t_items[i].cc_net.nm_family == 0 ||
		    (double)t.t_items[i].cc_n <= rate * (double)seconds)
			continue;
		netmask_sockaddr(&t.t_items[i].cc_net, &ss);
		dlua_push_ca(L, (struct sockaddr *)&ss);
		lua_pushinteger(L, (lua_Integer)t.t_items[i].cc_n);
		lua_settable(L, -3);
	}
	free(t.t_items);
	return 1;
}

static int
l_exceedqrate(lua_State *L)
{
	return exceed(L, M_QUERIES, -1, 1);
}

static int
l_exceedqtyperate(lua_State *L)
{
	lua_Integer	qtype = luaL_checkinteger(L, 1);

	if (qtype < 0 || qtype > 65535)
		return luaL_error(L, "exceedQTypeRate: bad type");
	return exceed(L, M_QUERIES, (int)qtype, 2);
}

static int
l_exceedrespbyterate(lua_State *L)
{
	return exceed(L, M_BYTES, -1, 1);
}

static int
l_exceedservfails(lua_State *L)
{
	return exceed(L, M_RCODE, DNS_RCODE_SERVFAIL, 1);
}

static int
l_exceednxdomains(lua_State *L)
{
	return exceed(L, M_RCODE, DNS_RCODE_NXDOMAIN, 1);
}

static int
action_arg(lua_State *L, int idx)
{
	lua_Integer	a;

	if (lua_isnoneornil(L, idx))
		return DYN_DEFAULT;
	a = luaL_checkinteger(L, idx);
	switch (a) {
	case DYN_DROP: case DYN_NXDOMAIN: case DYN_REFUSED: case DYN_TRUNCATE:
	case DYN_SERVFAIL: case DYN_NOOP: case DYN_NORECURSE:
		return (int)a;
	case DYN_NONE:
		return DYN_DEFAULT;
	}
	return luaL_error(L, "dynamic blocks take DNSAction.Drop, Nxdomain, "
	    "Refused, Truncate, ServFail, NoOp or NoRecurse");
}

static int
seconds_arg(lua_State *L, int idx)
{
	lua_Integer	s = luaL_optinteger(L, idx, 10);

	if (s <= 0 || s > 86400 * 365)
		return luaL_error(L, "the block duration must be positive");
	return (int)s;
}

/* A key of addDynBlocks()' table: a ComboAddress, or netmask text. */
static void
block_key(lua_State *L, int idx, struct netmask *nm)
{
	const struct sockaddr	*sa;
	char			 buf[INET6_ADDRSTRLEN + 8];

	if (lua_type(L, idx) == LUA_TUSERDATA &&
	    (sa = luaL_testudata(L, idx, "dnsdist.ComboAddress")) != NULL) {
		if (addr_host_to_text(sa, buf, sizeof(buf)) == NULL ||
		    netmask_parse(buf, nm) == -1)
			luaL_error(L, "addDynBlocks: bad address");
		return;
	}
	if (lua_type(L, idx) != LUA_TSTRING ||
	    netmask_parse(lua_tostring(L, idx), nm) == -1)
		luaL_error(L, "addDynBlocks: the keys must be addresses or "
		    "netmasks");
}

/* addDynBlocks(addresses, message[, seconds[, action]]) */
static int
l_adddynblocks(lua_State *L)
{
	struct netmask	nm;
	const char	*msg = luaL_checkstring(L, 2);
	int		seconds = seconds_arg(L, 3), action = action_arg(L, 4);
	time_t		now = dynblock_now();

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		lua_pop(L, 1);
		block_key(L, -1, &nm);
		if (dynblock_add_netmask(&nm, msg, seconds, action, false,
		    now) == -1)
			return luaL_error(L, "addDynBlocks: out of memory");
	}
	return 0;
}

/* addDynBlockSMT(names, message[, seconds[, action]]) */
static int
l_adddynblocksmt(lua_State *L)
{
	uint8_t		name[DNSNAME_MAXLEN];
	size_t		len;
	const char	*msg = luaL_checkstring(L, 2);
	int		seconds = seconds_arg(L, 3), action = action_arg(L, 4);
	time_t		now = dynblock_now();

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 1) != 0) {
		dlua_name_arg(L, -1, name, &len);
		if (dynblock_add_suffix(name, len, msg, seconds, action,
		    now) == -1)
			return luaL_error(L, "addDynBlockSMT: out of memory");
		lua_pop(L, 1);
	}
	return 0;
}

static int
l_showdynblocks(lua_State *L)
{
	struct sbuf	sb;

	(void)L;
	sbuf_init(&sb);
	dynblock_show(&sb, dynblock_now());
	dlua_printf("%s", sbuf_text(&sb));
	sbuf_free(&sb);
	return 0;
}

static int
l_cleardynblocks(lua_State *L)
{
	(void)L;
	dynblock_clear();
	return 0;
}

static int
l_setdynblocksaction(lua_State *L)
{
	int	a = action_arg(L, 1);

	atomic_store(&dynblock_default_action, a == DYN_DEFAULT ? DYN_DROP : a);
	return 0;
}

static int
l_setdynblockspurgeinterval(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > 86400)
		return luaL_error(L, "setDynBlocksPurgeInterval: between 0 and "
		    "86400 seconds");
	settings.st_dynblockpurge = (int)n;
	return 0;
}

/* dynBlockRulesGroup() */

struct dbr_rule {
	int		 r_metric;
	int		 r_code;		/* qtype, rcode; -1: none */
	double		 r_rate;		/* or ratio */
	double		 r_warn;		/* 0: no warning level */
	int		 r_seconds;
	char		*r_reason;
	int		 r_duration;
	int		 r_action;
	lua_Integer	 r_minresponses;	/* ratios */
};

struct dbr_group {
	struct dbr_rule		g_rules[DBR_MAXRULES];
	size_t			g_n;
	int			g_v4bits;
	int			g_v6bits;
	int			g_portbits;
	bool			g_quiet;
	struct netmask_group	g_include;
	struct netmask_group	g_exclude;
	/* setSuffixMatchRule(); its visitor and excludeDomains() live in
	 * the object's user value */
	bool			g_smt;
	int			g_smtseconds;
	char			*g_smtreason;
	int			g_smtduration;
	int			g_smtaction;
};

static struct dbr_group *
check_dbr(lua_State *L)
{
	return luaL_checkudata(L, 1, DBR_MT);
}

static int
l_dynblockrulesgroup(lua_State *L)
{
	struct dbr_group	*g = lua_newuserdata(L, sizeof(*g));

	memset(g, 0, sizeof(*g));
	g->g_v4bits = 32;
	g->g_v6bits = 128;
	netmask_group_init(&g->g_include);
	netmask_group_init(&g->g_exclude);
	luaL_setmetatable(L, DBR_MT);
	return 1;
}

static int
l_dbr_gc(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	size_t			 i;

	for (i = 0; i < g->g_n; i++)
		free(g->g_rules[i].r_reason);
	g->g_n = 0;
	free(g->g_smtreason);
	g->g_smtreason = NULL;
	netmask_group_clear(&g->g_include);
	netmask_group_clear(&g->g_exclude);
	return 0;
}

/*
 * Set the rule for (metric, code), replacing the one there: the arguments
 * from idx are rate, seconds, reason, blockingTime[, minimumResponses for
 * ratios], action, warning level.
 */
static int
dbr_set(lua_State *L, int metric, int code, int idx)
{
	struct dbr_group	*g = check_dbr(L);
	struct dbr_rule		 r, *slot = NULL;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	r.r_metric = metric;
	r.r_code = code;
	r.r_rate = luaL_checknumber(L, idx);
	r.r_seconds = (int)luaL_checkinteger(L, idx + 1);
	r.r_duration = (int)luaL_checkinteger(L, idx + 3);
	if (metric == M_RCODE_RATIO)
		r.r_minresponses = luaL_checkinteger(L, idx++ + 4);
	r.r_action = action_arg(L, idx + 4);
	r.r_warn = luaL_optnumber(L, idx + 5, 0);
	if (r.r_seconds <= 0 || r.r_duration <= 0 || r.r_rate < 0 ||
	    r.r_warn < 0)
		return luaL_error(L, "the rate, seconds and blocking time must "
		    "be positive");
	for (i = 0; i < g->g_n; i++)
		if (g->g_rules[i].r_metric == metric &&
		    g->g_rules[i].r_code == code)
			slot = &g->g_rules[i];
	if (slot == NULL) {
		if (g->g_n == DBR_MAXRULES)
			return luaL_error(L, "too many rules in the group");
		slot = &g->g_rules[g->g_n];
	}
	if ((r.r_reason = strdup(luaL_checkstring(L,
	    metric == M_RCODE_RATIO ? idx + 1 : idx + 2))) == NULL)
		return luaL_error(L, "out of memory");
	if (slot == &g->g_rules[g->g_n])
		g->g_n++;
	else
		free(slot->r_reason);
	*slot = r;
	return 0;
}

static int
l_dbr_setqueryrate(lua_State *L)
{
	return dbr_set(L, M_QUERIES, -1, 2);
}

static int
code_arg(lua_State *L, int idx)
{
	lua_Integer	c = luaL_checkinteger(L, idx);

	if (c < 0 || c > 65535)
		return luaL_error(L, "bad type or rcode %I", c);
	return (int)c;
}

static int
l_dbr_setqtyperate(lua_State *L)
{
	return dbr_set(L, M_QUERIES, code_arg(L, 2), 3);
}

static int
l_dbr_setrcoderate(lua_State *L)
{
	return dbr_set(L, M_RCODE, code_arg(L, 2), 3);
}

static int
l_dbr_setrcoderatio(lua_State *L)
{
	return dbr_set(L, M_RCODE_RATIO, code_arg(L, 2), 3);
}

static int
l_dbr_setresponsebyterate(lua_State *L)
{
	return dbr_set(L, M_BYTES, -1, 2);
}

static int
l_dbr_setmasks(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	lua_Integer		 v4 = luaL_checkinteger(L, 2);
	lua_Integer		 v6 = luaL_checkinteger(L, 3);
	lua_Integer		 port = luaL_optinteger(L, 4, 0);

	if (v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128)
		return luaL_error(L, "setMasks: v4 takes 0-32, v6 0-128");
	if (port < 0 || port > 16)
		return luaL_error(L, "setMasks: the port bits take 0-16");
	g->g_v4bits = (int)v4;
	g->g_v6bits = (int)v6;
	/* As dnsdist: ports count only for whole IPv4 addresses. */
	g->g_portbits = v4 == 32 ? (int)port : 0;
	return 0;
}

static int
l_dbr_excluderange(lua_State *L)
{
	dlua_netmask_group(L, 2, &check_dbr(L)->g_exclude, "excludeRange");
	return 0;
}

static int
l_dbr_includerange(lua_State *L)
{
	dlua_netmask_group(L, 2, &check_dbr(L)->g_include, "includeRange");
	return 0;
}

/* dbr:removeRange(netmasks): out of both lists, whichever had them. */
static int
l_dbr_removerange(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	struct netmask_group	*ng = dlua_push_nmg(L);
	size_t			 i;

	dlua_netmask_group(L, 2, ng, "removeRange");
	for (i = 0; i < ng->ng_count; i++) {
		netmask_group_del(&g->g_include, &ng->ng_masks[i]);
		netmask_group_del(&g->g_exclude, &ng->ng_masks[i]);
	}
	return 0;
}

static int
l_dbr_setquiet(lua_State *L)
{
	check_dbr(L)->g_quiet = lua_toboolean(L, 2);
	return 0;
}

static const char *
metric_name(const struct dbr_rule *r, char *buf, size_t bufsz)
{
	char	type[16];

	switch (r->r_metric) {
	case M_QUERIES:
		if (r->r_code < 0)
			return "Query rate rule";
		snprintf(buf, bufsz, "QType (%s) rate rule",
		    dnspacket_type_name((uint16_t)r->r_code, type,
		    sizeof(type)));
		return buf;
	case M_RCODE:
		snprintf(buf, bufsz, "RCode (%s) rate rule",
		    dnspacket_rcode_name(r->r_code));
		return buf;
	case M_RCODE_RATIO:
		snprintf(buf, bufsz, "RCode (%s) ratio rule",
		    dnspacket_rcode_name(r->r_code));
		return buf;
	}
	return "Response bandwidth rule";
}

static int
l_dbr_tostring(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	struct sbuf		 sb;
	char			 name[64];
	size_t			 i;

	sbuf_init(&sb);
	for (i = 0; i < g->g_n; i++) {
		struct dbr_rule *r = &g->g_rules[i];

		sbuf_printf(&sb, "%s: %s %g over %d seconds, blocking for %d "
		    "seconds (%s): %s\n", metric_name(r, name, sizeof(name)),
		    r->r_metric == M_RCODE_RATIO ? "ratio" : "rate",
		    r->r_rate, r->r_seconds, r->r_duration,
		    dynblock_action_name(r->r_action == DYN_DEFAULT ?
		    atomic_load(&dynblock_default_action) : r->r_action),
		    r->r_reason);
	}
	if (g->g_smt)
		sbuf_printf(&sb, "Suffix match rule: over %d seconds, blocking "
		    "for %d seconds (%s): %s\n", g->g_smtseconds,
		    g->g_smtduration, dynblock_action_name(g->g_smtaction ==
		    DYN_DEFAULT ? atomic_load(&dynblock_default_action) :
		    g->g_smtaction), g->g_smtreason);
	lua_pushstring(L, sbuf_text(&sb));
	sbuf_free(&sb);
	return 1;
}

static void
dbr_apply_rule(lua_State *L, struct dbr_group *g, struct dbr_rule *r,
    time_t now)
{
	struct tally		 t;
	struct client_count	*cc;
	double			 value, limit;
	size_t			 i;
	bool			 warn;

	memset(&t, 0, sizeof(t));
	t.t_v4bits = g->g_v4bits;
	t.t_v6bits = g->g_v6bits;
	t.t_portbits = g->g_portbits;
	t.t_include = &g->g_include;
	t.t_exclude = &g->g_exclude;
	tally_run(L, &t, r->r_metric, r->r_code, r->r_seconds);
	for (i = 0; i < t.t_cap; i++) {
		cc = &t.t_items[i];
		if (cc->cc_net.nm_family == 0)
			continue;
		if (r->r_metric == M_RCODE_RATIO) {
			if ((lua_Integer)cc->cc_total < r->r_minresponses)
				continue;
			value = (double)cc->cc_n / (double)cc->cc_total;
			limit = 1.0;
		} else {
			value = (double)cc->cc_n;
			limit = (double)r->r_seconds;
		}
		if (value > r->r_rate * limit)
			warn = false;
		else if (r->r_warn > 0 && value > r->r_warn * limit)
			warn = true;
		else
			continue;
		if ((g->g_portbits > 0 && cc->cc_net.nm_family == AF_INET ?
		    dynblock_add_portrange(cc->cc_net.nm_addr, cc->cc_port,
		    g->g_portbits, r->r_reason, r->r_duration, r->r_action,
		    warn, now) : dynblock_add_netmask(&cc->cc_net, r->r_reason,
		    r->r_duration, r->r_action, warn, now)) == -1)
			break;
	}
	free(t.t_items);
}

/* The group's user value: a table with the visitor and the exclusions. */
static void
dbr_uservalue(lua_State *L)
{
	if (lua_getuservalue(L, 1) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setuservalue(L, 1);
	}
}

/* setSuffixMatchRule(seconds, reason, blockingTime, action, visitor) */
static int
l_dbr_setsuffixmatchrule(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	lua_Integer		 secs = luaL_checkinteger(L, 2);
	const char		*reason = luaL_checkstring(L, 3);
	lua_Integer		 dur = luaL_checkinteger(L, 4);
	int			 action = action_arg(L, 5);
	char			*r;

	luaL_checktype(L, 6, LUA_TFUNCTION);
	if (secs <= 0 || dur <= 0 || secs > 86400 || dur > 86400 * 365)
		return luaL_error(L, "setSuffixMatchRule: the seconds and "
		    "blocking time must be positive");
	if ((r = strdup(reason)) == NULL)
		return luaL_error(L, "out of memory");
	free(g->g_smtreason);
	g->g_smtreason = r;
	g->g_smtseconds = (int)secs;
	g->g_smtduration = (int)dur;
	g->g_smtaction = action;
	g->g_smt = true;
	dbr_uservalue(L);
	lua_pushvalue(L, 6);
	lua_setfield(L, -2, "visitor");
	return 0;
}

/* excludeDomains(name | {names}): never blocked by the suffix rule. */
static int
l_dbr_excludedomains(lua_State *L)
{
	uint8_t		name[DNSNAME_MAXLEN];
	size_t		len;
	lua_Integer	n;

	check_dbr(L);
	dbr_uservalue(L);
	if (lua_getfield(L, -1, "exclude") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, "exclude");
	}
	n = (lua_Integer)lua_rawlen(L, -1);
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 2) != 0) {
			dlua_name_arg(L, -1, name, &len);
			lua_pushlstring(L, (const char *)name, len);
			lua_rawseti(L, -4, ++n);
			lua_pop(L, 1);
		}
	} else {
		dlua_name_arg(L, 2, name, &len);
		lua_pushlstring(L, (const char *)name, len);
		lua_rawseti(L, -2, ++n);
	}
	return 0;
}

/* Per name and per suffix: what its answers were. */
enum { SN_QUERIES, SN_NOERRORS, SN_NXDOMAINS, SN_SERVFAILS, SN_BYTES, SN_N };

struct smt_node {
	uint8_t		sn_name[DNSNAME_MAXLEN];	/* lower case; len 0: empty */
	size_t		sn_len;
	uint64_t	sn_self[SN_N];
	uint64_t	sn_all[SN_N];	/* itself and everything under it */
};

struct smt_tree {
	struct smt_node	*st_nodes;
	size_t		 st_cap;
	size_t		 st_count;
	bool		 st_nomem;
	int64_t		 st_since;
};

static uint64_t
name_hash(const uint8_t *name, size_t len)
{
	uint64_t	h = 1469598103934665603ULL;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ name[i]) * 1099511628211ULL;
	return h;
}

static struct smt_node *
smt_slot(struct smt_tree *st, const uint8_t *name, size_t len)
{
	struct smt_node	*old, *ni, *sn;
	size_t		 i, j, cap;

	if (st->st_count * 2 >= st->st_cap) {
		cap = st->st_cap ? st->st_cap * 2 : 1024;
		if ((ni = calloc(cap, sizeof(*ni))) == NULL) {
			st->st_nomem = true;
			return NULL;
		}
		old = st->st_nodes;
		for (i = 0; i < st->st_cap; i++) {
			if (old[i].sn_len == 0)
				continue;
			for (j = name_hash(old[i].sn_name, old[i].sn_len) &
			    (cap - 1); ni[j].sn_len != 0; j = (j + 1) & (cap - 1))
				;
			ni[j] = old[i];
		}
		free(old);
		st->st_nodes = ni;
		st->st_cap = cap;
	}
	for (i = name_hash(name, len) & (st->st_cap - 1);;
	    i = (i + 1) & (st->st_cap - 1)) {
		sn = &st->st_nodes[i];
		if (sn->sn_len == 0) {
			memcpy(sn->sn_name, name, len);
			sn->sn_len = len;
			st->st_count++;
			return sn;
		}
		if (sn->sn_len == len && memcmp(sn->sn_name, name, len) == 0)
			return sn;
	}
}

static void
smt_entry(const struct ring_entry *re, void *arg)
{
	struct smt_tree	*st = arg;
	struct smt_node	*sn;
	uint8_t		 lower[DNSNAME_MAXLEN];
	uint64_t	 add[SN_N];
	size_t		 off, k;

	if (re->re_sec < st->st_since || st->st_nomem || re->re_namelen <= 1)
		return;
	memset(add, 0, sizeof(add));
	add[SN_QUERIES] = 1;
	add[SN_NOERRORS] = re->re_rcode == DNS_RCODE_NOERROR;
	add[SN_NXDOMAINS] = re->re_rcode == DNS_RCODE_NXDOMAIN;
	add[SN_SERVFAILS] = re->re_rcode == DNS_RCODE_SERVFAIL;
	add[SN_BYTES] = re->re_size;
	dnsname_lower(re->re_name, re->re_namelen, lower);
	/* The name, then each parent down to the top-level label. */
	for (off = 0; off < re->re_namelen && lower[off] != 0;
	    off += (size_t)lower[off] + 1) {
		if ((sn = smt_slot(st, lower + off, re->re_namelen - off)) ==
		    NULL)
			return;
		for (k = 0; k < SN_N; k++) {
			sn->sn_all[k] += add[k];
			if (off == 0)
				sn->sn_self[k] += add[k];
		}
	}
}

static void
push_node_stats(lua_State *L, const uint64_t *v)
{
	static const char *const names[SN_N] = { "queries", "noerrors",
	    "nxdomains", "servfails", "bytes" };
	int	k;

	lua_createtable(L, 0, SN_N + 1);
	for (k = 0; k < SN_N; k++) {
		lua_pushinteger(L, (lua_Integer)v[k]);
		lua_setfield(L, -2, names[k]);
	}
	lua_pushinteger(L, 0);
	lua_setfield(L, -2, "drops");
}

static bool
smt_excluded(lua_State *L, int exclude, const struct smt_node *sn)
{
	const char	*n;
	size_t		 len;
	lua_Integer	 i, count;

	if (exclude == 0)
		return false;
	count = (lua_Integer)lua_rawlen(L, exclude);
	for (i = 1; i <= count; i++) {
		lua_rawgeti(L, exclude, i);
		n = lua_tolstring(L, -1, &len);
		lua_pop(L, 1);
		if (n != NULL && dnsname_is_part_of(sn->sn_name, sn->sn_len,
		    (const uint8_t *)n, len))
			return true;
	}
	return false;
}

/*
 * The suffix rule: the visitor sees each name and suffix of the answers
 * of the last seconds (node, its own figures, its figures with everything
 * under it) and says whether to block it, maybe with a reason and an
 * action of its own.  0, or -1 with an error message pushed.
 */
static int
dbr_apply_smt(lua_State *L, struct dbr_group *g, time_t now)
{
	struct smt_tree	 st;
	struct smt_node	*sn;
	char		 text[DNSNAME_MAXTEXT];
	const char	*reason;
	size_t		 i;
	int		 uv, visitor, exclude = 0, action, rc = 0;

	dbr_uservalue(L);
	uv = lua_gettop(L);
	if (lua_getfield(L, uv, "visitor") != LUA_TFUNCTION)
		return 0;
	visitor = lua_gettop(L);
	if (lua_getfield(L, uv, "exclude") == LUA_TTABLE)
		exclude = lua_gettop(L);
	if (ring_global_init() == -1)
		return luaL_error(L, "ring buffers: out of memory");
	memset(&st, 0, sizeof(st));
	st.st_since = (int64_t)time(NULL) - g->g_smtseconds;
	ring_foreach(ring_responses, smt_entry, &st);
	for (i = 0; i < st.st_cap && rc == 0 && !st.st_nomem; i++) {
		sn = &st.st_nodes[i];
		if (sn->sn_len == 0 || smt_excluded(L, exclude, sn) ||
		    dnsname_to_text(sn->sn_name, sn->sn_len, text,
		    sizeof(text)) == -1)
			continue;
		lua_pushvalue(L, visitor);
		lua_createtable(L, 0, 2);
		lua_pushstring(L, text);
		lua_setfield(L, -2, "fullname");
		lua_pushinteger(L, dnsname_count_labels(sn->sn_name,
		    sn->sn_len));
		lua_setfield(L, -2, "labelsCount");
		push_node_stats(L, sn->sn_self);
		push_node_stats(L, sn->sn_all);
		if ((rc = lua_pcall(L, 3, 3, 0)) != LUA_OK)
			break;
		if (lua_toboolean(L, -3)) {
			reason = lua_isstring(L, -2) ? lua_tostring(L, -2) :
			    g->g_smtreason;
			action = lua_isinteger(L, -1) ?
			    (int)lua_tointeger(L, -1) : g->g_smtaction;
			if (dynblock_add_suffix(sn->sn_name, sn->sn_len,
			    reason, g->g_smtduration, action, now) == -1)
				st.st_nomem = true;
		}
		lua_pop(L, 3);
	}
	free(st.st_nodes);
	if (rc != LUA_OK)
		return -1;
	if (st.st_nomem) {
		lua_pushliteral(L, "out of memory");
		return -1;
	}
	lua_settop(L, uv - 1);
	return 0;
}

static int
l_dbr_apply(lua_State *L)
{
	struct dbr_group	*g = check_dbr(L);
	void			(*saved)(const char *) = dynblock_log;
	time_t			 now = dynblock_now();
	size_t			 i;

	if (g->g_quiet)
		dynblock_log = NULL;
	for (i = 0; i < g->g_n; i++)
		dbr_apply_rule(L, g, &g->g_rules[i], now);
	if (g->g_smt && dbr_apply_smt(L, g, now) == -1) {
		dynblock_log = saved;
		return lua_error(L);
	}
	dynblock_log = saved;
	return 0;
}

static const luaL_Reg dbr_methods[] = {
	{ "setQueryRate", l_dbr_setqueryrate },
	{ "setQTypeRate", l_dbr_setqtyperate },
	{ "setRCodeRate", l_dbr_setrcoderate },
	{ "setRCodeRatio", l_dbr_setrcoderatio },
	{ "setResponseByteRate", l_dbr_setresponsebyterate },
	{ "setMasks", l_dbr_setmasks },
	{ "excludeRange", l_dbr_excluderange },
	{ "includeRange", l_dbr_includerange },
	{ "removeRange", l_dbr_removerange },
	{ "setQuiet", l_dbr_setquiet },
	{ "setSuffixMatchRule", l_dbr_setsuffixmatchrule },
	{ "excludeDomains", l_dbr_excludedomains },
	{ "apply", l_dbr_apply },
	{ "toString", l_dbr_tostring },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "exceedQRate", l_exceedqrate },
	{ "exceedQTypeRate", l_exceedqtyperate },
	{ "exceedRespByterate", l_exceedrespbyterate },
	{ "exceedServFails", l_exceedservfails },
	{ "exceedNXDOMAINs", l_exceednxdomains },
	{ "addDynBlocks", l_adddynblocks },
	{ "addDynBlockSMT", l_adddynblocksmt },
	{ "showDynBlocks", l_showdynblocks },
	{ "clearDynBlocks", l_cleardynblocks },
	{ "setDynBlocksAction", l_setdynblocksaction },
	{ "setDynBlocksPurgeInterval", l_setdynblockspurgeinterval },
	{ "dynBlockRulesGroup", l_dynblockrulesgroup },
	{ NULL, NULL }
};

void
dlua_open_dynblock(lua_State *L)
{
	luaL_newmetatable(L, DBR_MT);
	lua_newtable(L);
	luaL_setfuncs(L, dbr_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_dbr_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, l_dbr_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
