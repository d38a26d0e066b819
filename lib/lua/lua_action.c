/*
 * Lua bindings for actions (*Action) on queries, the actions that have a
 * response twin (delay, log, tag), and the seed's convenience commands
 * (addDomainBlock() and friends), each one rule in the query chain.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "compat/compat.h"
#include "dnspacket.h"
#include "lua.h"
#include "netmask.h"
#include "proxyproto.h"
#include "rule.h"

/* Userdata holding one reference to an action. */

void
dlua_push_action(lua_State *L, struct action *ac)
{
	struct action	**u = lua_newuserdata(L, sizeof(*u));

	*u = ac;
	luaL_setmetatable(L, DLUA_ACTION_MT);
}

static int
l_action_gc(lua_State *L)
{
	struct action	**u = luaL_checkudata(L, 1, DLUA_ACTION_MT);

	action_unref(*u);
	*u = NULL;
	return 0;
}

/*
 * action:getStats(): name to value; only TeeAction has any here.  The
 * answers that have come are counted first.
 */
static int
l_action_getstats(lua_State *L)
{
	struct action	*ac = dlua_action_arg(L, 1);
	int		 i;

	lua_newtable(L);
	if (ac->ac_kind != ACT_TEE)
		return 1;
	if (rule_tee_drain != NULL)
		rule_tee_drain(ac);
	for (i = 0; i < TEE_NSTATS; i++) {
		lua_pushinteger(L, (lua_Integer)atomic_load(
		    &ac->ac_u.tee.st[i]));
		lua_setfield(L, -2, tee_stat_names[i]);
	}
	return 1;
}

/* action:printStats(): the same, a "name<TAB>value" line each, sorted. */
static int
l_action_printstats(lua_State *L)
{
	struct action	*ac = dlua_action_arg(L, 1);
	int		 i;

	if (ac->ac_kind != ACT_TEE)
		return 0;
	if (rule_tee_drain != NULL)
		rule_tee_drain(ac);
	for (i = 0; i < TEE_NSTATS; i++)
		dlua_printf("%s\t%llu\n", tee_stat_names[i],
		    (unsigned long long)atomic_load(&ac->ac_u.tee.st[i]));
	return 0;
}

static const luaL_Reg action_methods[] = {
	{ "getStats", l_action_getstats },
	{ "printStats", l_action_printstats },
	{ NULL, NULL }
};

static int
l_action_tostring(lua_State *L)
{
	struct action	*ac = *(struct action **)luaL_checkudata(L, 1,
	    DLUA_ACTION_MT);

	lua_pushstring(L, ac->ac_desc ? ac->ac_desc : "");
	return 1;
}

struct action *
dlua_act_new(lua_State *L, int kind)
{
	struct action	*ac;

	if ((ac = action_new(kind)) == NULL)
		luaL_error(L, "out of memory");
	dlua_push_action(L, ac);
	return ac;
}

struct action *
dlua_action_arg(lua_State *L, int idx)
{
	return *(struct action **)luaL_checkudata(L, idx, DLUA_ACTION_MT);
}

/* Action constructors */

int
dlua_simple_action(lua_State *L, int kind, const char *desc)
{
	action_set_desc(dlua_act_new(L, kind), "%s", desc);
	return 1;
}

static int
l_dropaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_DROP, "drop");
}

static int
l_allowaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_ALLOW, "allow");
}

static int
l_noneaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_NONE, "no op");
}

static int
l_tcaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_TC, "tc=1 answer");
}

static int
l_norecurseaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_NORECURSE, "set rd=0");
}

static int
l_disablevalidationaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_DISABLEVALIDATION, "set cd=1");
}

static int
l_setskipcacheaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_SKIPCACHE, "skip cache");
}

/* SetECSAction(v4[, v6]): the subnet sent instead of the client's. */
static int
l_setecsaction(lua_State *L)
{
	const char	*v4 = luaL_checkstring(L, 1);
	const char	*v6 = luaL_optstring(L, 2, NULL);
	struct netmask	 n4, n6;
	struct action	*ac;

	memset(&n6, 0, sizeof(n6));
	if (netmask_parse(v4, &n4) == -1)
		return luaL_error(L, "SetECSAction: bad netmask '%s'", v4);
	if (v6 != NULL && netmask_parse(v6, &n6) == -1)
		return luaL_error(L, "SetECSAction: bad netmask '%s'", v6);
	ac = dlua_act_new(L, ACT_SETECS);
	ac->ac_u.ecs.v4 = n4;
	ac->ac_u.ecs.v6 = n6;
	action_set_desc(ac, "set ECS to %s%s%s", v4, v6 ? " / " : "",
	    v6 ? v6 : "");
	return 1;
}

static int
l_setecsprefixlengthaction(lua_State *L)
{
	lua_Integer	v4 = luaL_checkinteger(L, 1), v6 = luaL_checkinteger(L, 2);
	struct action	*ac;

	if (v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128)
		return luaL_error(L, "SetECSPrefixLengthAction: v4 takes 0-32, "
		    "v6 0-128");
	ac = dlua_act_new(L, ACT_ECSPREFIX);
	ac->ac_u.ecsprefix.v4 = (int)v4;
	ac->ac_u.ecsprefix.v6 = (int)v6;
	action_set_desc(ac, "set ECS prefix length to %d/%d", (int)v4, (int)v6);
	return 1;
}

static int
l_setdisableecsaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_DISABLEECS, "disable ECS");
}

/* An action that keeps code and a copy of len bytes in ac_u.raw. */
static struct action *
raw_action(lua_State *L, int kind, lua_Integer code, const void *data,
    size_t len)
{
	struct action	*ac = dlua_act_new(L, kind);

	if ((ac->ac_u.raw.data = malloc(len + 1)) == NULL)
		luaL_error(L, "out of memory");
	memcpy(ac->ac_u.raw.data, data, len);
	ac->ac_u.raw.code = (uint16_t)code;
	ac->ac_u.raw.len = (uint16_t)len;
	return ac;
}

/* SetEDNSOptionAction(code, data): the option, added or replaced. */
static int
l_setednsoptionaction(lua_State *L)
{
	lua_Integer	 code = luaL_checkinteger(L, 1);
	size_t		 len;
	const char	*data = luaL_checklstring(L, 2, &len);
	struct action	*ac;

	if (code < 0 || code > 65535)
		return luaL_error(L, "SetEDNSOptionAction: option code %I out "
		    "of range", code);
	if (len > 65535 - 4)
		return luaL_error(L, "SetEDNSOptionAction: data too long "
		    "(at most 65531 bytes)");
	ac = raw_action(L, ACT_EDNSOPTION, code, data, len);
	action_set_desc(ac, "add EDNS Option (code=%d)", (int)code);
	return 1;
}

/*
 * SetMacAddrAction(code): the client's MAC address, from the kernel's
 * neighbour table, as EDNS option code of a query that has no additional
 * record.  Refused where the system cannot look it up.
 */
static int
l_setmacaddraction(lua_State *L)
{
	lua_Integer	 code = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (code < 0 || code > 65535)
		return luaL_error(L, "SetMacAddrAction: option code %I out "
		    "of range", code);
	if (compat_mac_address(NULL, NULL) == -1 && errno == EOPNOTSUPP)
		return luaL_error(L, "SetMacAddrAction: MAC addresses are "
		    "looked up on Linux only");
	ac = raw_action(L, ACT_MACADDR, code, "", 0);
	action_set_desc(ac, "add EDNS MAC (code=%d)", (int)code);
	return 1;
}

/* The values in wire form, for a copy into each query that it matches. */
static int
l_setppvaluesaction(lua_State *L)
{
	struct pp_tlvs	*l;
	size_t		 len;
	const char	*wire;

	l = dlua_pp_values(L, 1, "SetProxyProtocolValuesAction");
	lua_pushlstring(L, l != NULL ? (const char *)l->pt_buf : "",
	    l != NULL ? l->pt_len : 0);
	pp_tlvs_free(l);
	wire = lua_tolstring(L, -1, &len);
	action_set_desc(raw_action(L, ACT_PPSET, 0, wire, len),
	    "set Proxy-Protocol values");
	return 1;
}

static int
l_setaddppvalueaction(lua_State *L)
{
	lua_Integer	 t = luaL_checkinteger(L, 1);
	size_t		 len;
	const char	*v = luaL_checklstring(L, 2, &len);

	if (t < 0 || t > 255 || len > PP_TLVMAX - 3)
		return luaL_error(L, "SetAdditionalProxyProtocolValueAction: "
		    "type must be from 0 to 255, value at most %d bytes",
		    PP_TLVMAX - 3);
	action_set_desc(raw_action(L, ACT_PPADD, t, v, len),
	    "add a Proxy-Protocol value of type %d", (int)t);
	return 1;
}

static int
l_setecsoverrideaction(lua_State *L)
{
	struct action	*ac;
	bool		 on;

	luaL_checktype(L, 1, LUA_TBOOLEAN);
	on = lua_toboolean(L, 1);
	ac = dlua_act_new(L, ACT_ECSOVERRIDE);
	ac->ac_u.flag = on;
	action_set_desc(ac, "set ECS override to %s", on ? "true" : "false");
	return 1;
}

/* The options table of answering actions: aa, ad, ra (and ttl). */
static void
answer_options(lua_State *L, int idx, struct action *ac, const char *what)
{
	static const char *keys[] = { "aa", "ad", "ra", NULL };

	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	dlua_check_keys(L, idx, keys, what);
	ac->ac_aa = (int8_t)dlua_opt_bool(L, idx, "aa", ac->ac_aa);
	ac->ac_ad = (int8_t)dlua_opt_bool(L, idx, "ad", ac->ac_ad);
	ac->ac_ra = (int8_t)dlua_opt_bool(L, idx, "ra", ac->ac_ra);
}

/* The options of the spoofing actions: aa, ad, ra and ttl. */
void
dlua_spoof_options(lua_State *L, int idx, struct action *ac, const char *what)
{
	static const char *keys[] = { "aa", "ad", "ra", "ttl", NULL };
	static const char *rawkeys[] = { "aa", "ad", "ra", "ttl",
	    "typeForAny", NULL };
	lua_Integer	 type;

	ac->ac_u.spoof.ttl = 60;
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	dlua_check_keys(L, idx, ac->ac_kind == ACT_SPOOFRAW ? rawkeys : keys,
	    what);
	ac->ac_u.spoof.ttl = (uint32_t)dlua_opt_int(L, idx, "ttl", 60);
	/* SpoofRawAction: the type of its records in answers to ANY. */
	if (ac->ac_kind == ACT_SPOOFRAW &&
	    (type = dlua_opt_int(L, idx, "typeForAny", 0)) != 0) {
		if (type < 1 || type > 65535 || type == DNS_TYPE_ANY)
			luaL_error(L, "%s: bad typeForAny", what);
		ac->ac_u.spoof.anytype = (uint16_t)type;
	}
	ac->ac_aa = (int8_t)dlua_opt_bool(L, idx, "aa", ac->ac_aa);
	ac->ac_ad = (int8_t)dlua_opt_bool(L, idx, "ad", ac->ac_ad);
	ac->ac_ra = (int8_t)dlua_opt_bool(L, idx, "ra", ac->ac_ra);
}

static int
l_rcodeaction(lua_State *L)
{
	lua_Integer	 rc = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (rc < 0 || rc > 15)
		return luaL_error(L, "RCodeAction: rcode out of range");
	ac = dlua_act_new(L, ACT_RCODE);
	ac->ac_u.rcode = (int)rc;
	answer_options(L, 2, ac, "RCodeAction");
	action_set_desc(ac, "set rcode %d", (int)rc);
	return 1;
}

static int
l_ercodeaction(lua_State *L)
{
	lua_Integer	 rc = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (rc < 0 || rc > 4095)
		return luaL_error(L, "ERCodeAction: rcode out of range");
	ac = dlua_act_new(L, ACT_ERCODE);
	ac->ac_u.rcode = (int)rc;
	answer_options(L, 2, ac, "ERCodeAction");
	action_set_desc(ac, "set ercode %d", (int)rc);
	return 1;
}

/*
 * dnsdist 1.8's stopProcessing argument of the pool actions (true when
 * absent): whether the rules go on once the pool is chosen.
 */
static bool
stop_arg(lua_State *L, int idx)
{
	if (lua_isnoneornil(L, idx))
		return false;
	luaL_checktype(L, idx, LUA_TBOOLEAN);
	return !lua_toboolean(L, idx);
}

static int
l_poolaction(lua_State *L)
{
	const char	*pool = luaL_checkstring(L, 1);
	bool		 goon = stop_arg(L, 2);
	struct action	*ac = dlua_act_new(L, ACT_POOL);

	ac->ac_kind = ACT_NONE;
	if ((ac->ac_u.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	ac->ac_kind = ACT_POOL;
	ac->ac_goon = goon;
	action_set_desc(ac, "to pool %s", pool);
	return 1;
}

static int
l_qpsaction(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	struct action	*ac = dlua_act_new(L, ACT_QPS);

	qps_init(&ac->ac_u.qps.bucket, qps, qps, 0);
	action_set_desc(ac, "qps limit to %g", qps);
	return 1;
}

static int
l_qpspoolaction(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	const char	*pool = luaL_checkstring(L, 2);
	bool		 goon = stop_arg(L, 3);
	struct action	*ac = dlua_act_new(L, ACT_QPSPOOL);

	qps_init(&ac->ac_u.qps.bucket, qps, qps, 0);
	if ((ac->ac_u.qps.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	ac->ac_goon = goon;
	action_set_desc(ac, "max %g to pool %s", qps, pool);
	return 1;
}

static void
spoof_add_addr(lua_State *L, struct action *ac, int idx, struct sbuf *sb)
{
	socklen_t	 len;
	const char	*s;

	if ((s = lua_tostring(L, idx)) == NULL)
		luaL_error(L, "SpoofAction: an address expected");
	if (ac->ac_u.spoof.n == SPOOF_MAX)
		luaL_error(L, "SpoofAction: at most %d addresses", SPOOF_MAX);
	if (addr_parse(s, 0, &ac->ac_u.spoof.addrs[ac->ac_u.spoof.n],
	    &len) == -1)
		luaL_error(L, "SpoofAction: bad address '%s'", s);
	ac->ac_u.spoof.n++;
	sbuf_printf(sb, "%s ", s);
}

static int
l_spoofaction(lua_State *L)
{
	struct action	*ac = dlua_act_new(L, ACT_SPOOF);
	struct sbuf	 sb;
	size_t		 i, n;
	int		 opt = 2;

	sbuf_init(&sb);
	sbuf_puts(&sb, "spoof in ");
	if (lua_type(L, 1) == LUA_TTABLE) {
		n = lua_rawlen(L, 1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, 1, (lua_Integer)i);
			spoof_add_addr(L, ac, lua_gettop(L), &sb);
			lua_pop(L, 1);
		}
	} else {
		spoof_add_addr(L, ac, 1, &sb);
		/* SpoofAction(v4, v6[, options]) */
		if (lua_type(L, 2) == LUA_TSTRING) {
			spoof_add_addr(L, ac, 2, &sb);
			opt = 3;
		}
	}
	dlua_spoof_options(L, opt, ac, "SpoofAction");
	action_set_desc(ac, "%s", sbuf_text(&sb));
	sbuf_free(&sb);
	return 1;
}

static int
l_spoofcnameaction(lua_State *L)
{
	struct action	*ac;
	uint8_t		 name[DNSNAME_MAXLEN];
	size_t		 len;
	char		 text[DNSNAME_MAXTEXT];

	dlua_name_arg(L, 1, name, &len);
	ac = dlua_act_new(L, ACT_SPOOFCNAME);
	memcpy(ac->ac_u.spoof.cname, name, len);
	ac->ac_u.spoof.cnamelen = len;
	dlua_spoof_options(L, 2, ac, "SpoofCNAMEAction");
	dnsname_to_text(name, len, text, sizeof(text));
	action_set_desc(ac, "spoof in CNAME %s", text);
	return 1;
}

static void
spoofraw_add(lua_State *L, struct action *ac, int idx)
{
	const char	*s;
	size_t		 len;

	s = luaL_checklstring(L, idx, &len);
	if (ac->ac_u.spoof.n == SPOOF_MAX || len > 65535)
		luaL_error(L, "SpoofRawAction: too many or too long");
	if ((ac->ac_u.spoof.raw[ac->ac_u.spoof.n] = malloc(len + 1)) == NULL)
		luaL_error(L, "out of memory");
	memcpy(ac->ac_u.spoof.raw[ac->ac_u.spoof.n], s, len);
	ac->ac_u.spoof.rawlen[ac->ac_u.spoof.n++] = len;
}

static int
l_spoofrawaction(lua_State *L)
{
	struct action	*ac = dlua_act_new(L, ACT_SPOOFRAW);
	size_t		 i, n;

	if (lua_type(L, 1) == LUA_TTABLE) {
		n = lua_rawlen(L, 1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, 1, (lua_Integer)i);
			spoofraw_add(L, ac, lua_gettop(L));
			lua_pop(L, 1);
		}
	} else
		spoofraw_add(L, ac, 1);
	dlua_spoof_options(L, 2, ac, "SpoofRawAction");
	action_set_desc(ac, "spoof in raw records (%zu)", ac->ac_u.spoof.n);
	return 1;
}

static int
delay_action(lua_State *L, int kind)
{
	lua_Integer	 ms = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (ms < 0 || ms > 60000)
		return luaL_error(L, "delay out of range 0..60000 ms");
	ac = dlua_act_new(L, kind);
	ac->ac_u.delayms = (int)ms;
	action_set_desc(ac, "delay by %d ms", (int)ms);
	return 1;
}

static int
l_delayaction(lua_State *L)
{
	return delay_action(L, ACT_DELAY);
}

static int
l_delayresponseaction(lua_State *L)
{
	return delay_action(L, ACT_RDELAY);
}

static int
set_tag(lua_State *L, int kind)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*value = luaL_checkstring(L, 2);
	struct action	*ac = dlua_act_new(L, kind);

	ac->ac_kind = ACT_NONE;
	if ((ac->ac_u.tag.name = strdup(name)) == NULL ||
	    (ac->ac_u.tag.value = strdup(value)) == NULL)
		return luaL_error(L, "out of memory");
	ac->ac_kind = kind;
	action_set_desc(ac, "set tag '%s' to value '%s'", name, value);
	return 1;
}

static int
l_settagaction(lua_State *L)
{
	return set_tag(L, ACT_SETTAG);
}

static int
l_settagresponseaction(lua_State *L)
{
	return set_tag(L, ACT_RSETTAG);
}

/* An optional boolean argument, def when absent. */
static bool
opt_boolarg(lua_State *L, int idx, bool def)
{
	if (lua_isnoneornil(L, idx))
		return def;
	luaL_checktype(L, idx, LUA_TBOOLEAN);
	return lua_toboolean(L, idx);
}

/*
 * LogAction(file, binary, append, buffered, verboseOnly, includeTimestamp)
 * and, as in dnsdist, without the binary argument LogResponseAction(file,
 * append, buffered, verboseOnly, includeTimestamp).  Without a file, the
 * lines go to standard output, in verbose mode only with verboseOnly.
 */
static int
log_action(lua_State *L, int kind)
{
	int		 a = kind == ACT_LOG ? 3 : 2;
	const char	*path = luaL_optstring(L, 1, "");
	bool		 binary = kind == ACT_LOG && opt_boolarg(L, 2, true);
	bool		 append = opt_boolarg(L, a, false);
	bool		 buffered = opt_boolarg(L, a + 1, true);
	bool		 verboseonly = opt_boolarg(L, a + 2, true);
	bool		 timestamp = opt_boolarg(L, a + 3, false);
	struct action	*ac = dlua_act_new(L, kind);

	ac->ac_u.log.buffered = buffered;
	ac->ac_u.log.binary = binary && *path != '\0';
	ac->ac_u.log.verboseonly = verboseonly;
	ac->ac_u.log.timestamp = timestamp;
	if (*path == '\0')
		ac->ac_u.log.fp = stdout;
	else if (action_log_open(ac, path, append) == -1)
		return luaL_error(L, "LogAction: unable to open '%s'", path);
	action_set_desc(ac, "log to %s", path);
	return 1;
}

static int
l_logaction(lua_State *L)
{
	return log_action(L, ACT_LOG);
}

static int
l_logresponseaction(lua_State *L)
{
	return log_action(L, ACT_RLOG);
}

static int
l_teeaction(lua_State *L)
{
	const char		*s = luaL_checkstring(L, 1);
	bool			 addecs = lua_toboolean(L, 2);
	struct sockaddr_storage	 local;
	struct action		*ac;
	socklen_t		 len;
	char			 buf[ADDR_MAXTEXT];

	memset(&local, 0, sizeof(local));
	if (!lua_isnoneornil(L, 3) && addr_parse(luaL_checkstring(L, 3), 0,
	    &local, &len) == -1)
		return luaL_error(L, "TeeAction: bad local address '%s'",
		    lua_tostring(L, 3));
	if (lua_toboolean(L, 4))
		return luaL_error(L, "TeeAction: addProxyProtocol: the PROXY "
		    "protocol is not built in");
	lua_settop(L, 1);
	ac = dlua_act_new(L, ACT_TEE);
	if (addr_parse(s, 53, &ac->ac_u.tee.addr, &len) == -1)
		return luaL_error(L, "TeeAction: bad address '%s'", s);
	ac->ac_u.tee.addecs = addecs;
	ac->ac_u.tee.local = local;
	action_set_desc(ac, "tee to %s%s", addr_to_text((struct sockaddr *)
	    &ac->ac_u.tee.addr, buf, sizeof(buf)), addecs ? " with ECS" : "");
	return 1;
}

static int
l_continueaction(lua_State *L)
{
	struct action	*inner = dlua_action_arg(L, 1), *ac;

	ac = dlua_act_new(L, ACT_CONTINUE);
	action_ref(inner);
	ac->ac_u.inner = inner;
	action_set_desc(ac, "continue after: %s",
	    inner->ac_desc ? inner->ac_desc : "");
	return 1;
}

static int
l_negativeandsoaaction(lua_State *L)
{
	static const char *keys[] = { "aa", "ad", "ra",
	    "soaInAuthoritySection", NULL };
	struct action	*ac;
	char		 text[DNSNAME_MAXTEXT];
	bool		 nxd = lua_toboolean(L, 1);

	ac = dlua_act_new(L, ACT_NEGATIVESOA);
	ac->ac_u.soa.nxd = nxd;
	dlua_name_arg(L, 2, ac->ac_u.soa.zone, &ac->ac_u.soa.zonelen);
	ac->ac_u.soa.ttl = (uint32_t)luaL_checkinteger(L, 3);
	dlua_name_arg(L, 4, ac->ac_u.soa.mname, &ac->ac_u.soa.mnamelen);
	dlua_name_arg(L, 5, ac->ac_u.soa.rname, &ac->ac_u.soa.rnamelen);
	ac->ac_u.soa.serial = (uint32_t)luaL_checkinteger(L, 6);
	ac->ac_u.soa.refresh = (uint32_t)luaL_checkinteger(L, 7);
	ac->ac_u.soa.retry = (uint32_t)luaL_checkinteger(L, 8);
	ac->ac_u.soa.expire = (uint32_t)luaL_checkinteger(L, 9);
	ac->ac_u.soa.minimum = (uint32_t)luaL_checkinteger(L, 10);
	if (lua_type(L, 11) == LUA_TTABLE) {
		dlua_check_keys(L, 11, keys, "NegativeAndSOAAction");
		ac->ac_u.soa.inauth = dlua_opt_bool(L, 11,
		    "soaInAuthoritySection", false);
		ac->ac_aa = (int8_t)dlua_opt_bool(L, 11, "aa", ac->ac_aa);
		ac->ac_ad = (int8_t)dlua_opt_bool(L, 11, "ad", ac->ac_ad);
		ac->ac_ra = (int8_t)dlua_opt_bool(L, 11, "ra", ac->ac_ra);
	}
	dnsname_to_text(ac->ac_u.soa.zone, ac->ac_u.soa.zonelen, text,
	    sizeof(text));
	action_set_desc(ac, "negative answer (%s) with SOA of %s",
	    nxd ? "NXDOMAIN" : "NODATA", text);
	return 1;
}

static int
l_spoofpacketaction(lua_State *L)
{
	size_t		 rawlen;
	const char	*raw = luaL_checklstring(L, 1, &rawlen);
	lua_Integer	 len = luaL_checkinteger(L, 2);
	struct action	*ac;

	if (len < DNS_HDRLEN || (size_t)len > rawlen || len > 65535)
		return luaL_error(L, "SpoofPacketAction: the length must be "
		    "that of a DNS message, at most the string's");
	ac = dlua_act_new(L, ACT_SPOOFPACKET);
	if ((ac->ac_u.raw.data = malloc((size_t)len)) == NULL)
		return luaL_error(L, "out of memory");
	memcpy(ac->ac_u.raw.data, raw, (size_t)len);
	ac->ac_u.raw.len = (uint16_t)len;
	action_set_desc(ac, "spoof a raw answer of %d bytes", (int)len);
	return 1;
}

/* The seed's commands, each one rule in the chain. */

/* The action is on top of the stack; the selector is argument selidx. */
static int
seed_add(lua_State *L, int selidx)
{
	struct selector	*se = dlua_selector_arg(L, selidx);

	if (rule_add(&rules_query, se, dlua_action_arg(L, -2), NULL,
	    NULL) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_adddomainblock(lua_State *L)
{
	l_dropaction(L);
	return seed_add(L, 1);
}

static int
l_addqpslimit(lua_State *L)
{
	lua_pushcfunction(L, l_qpsaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_addpoolrule(lua_State *L)
{
	lua_pushcfunction(L, l_poolaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_addqpspoolrule(lua_State *L)
{
	lua_pushcfunction(L, l_qpspoolaction);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_call(L, 2, 1);
	return seed_add(L, 1);
}

static int
l_addnorecurserule(lua_State *L)
{
	l_norecurseaction(L);
	return seed_add(L, 1);
}

static int
l_adddisablevalidationrule(lua_State *L)
{
	l_disablevalidationaction(L);
	return seed_add(L, 1);
}

static int
l_adddelay(lua_State *L)
{
	lua_pushcfunction(L, l_delayaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_adddomainspoof(lua_State *L)
{
	lua_pushcfunction(L, l_spoofaction);
	lua_pushvalue(L, 2);
	if (lua_isnoneornil(L, 3))
		lua_call(L, 1, 1);
	else {
		lua_pushvalue(L, 3);
		lua_call(L, 2, 1);
	}
	return seed_add(L, 1);
}

static int
l_addanytcrule(lua_State *L)
{
	lua_settop(L, 0);
	if (luaL_dostring(L, "return AndRule{QTypeRule(255), "
	    "NotRule(TCPRule(true))}") != LUA_OK)
		return lua_error(L);
	l_tcaction(L);
	if (rule_add(&rules_query, *(struct selector **)luaL_checkudata(L, 1,
	    DLUA_SELECTOR_MT), dlua_action_arg(L, 2), NULL, NULL) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static const luaL_Reg globals[] = {
	{ "DropAction", l_dropaction },
	{ "AllowAction", l_allowaction },
	{ "NoneAction", l_noneaction },
	{ "RCodeAction", l_rcodeaction },
	{ "ERCodeAction", l_ercodeaction },
	{ "TCAction", l_tcaction },
	{ "PoolAction", l_poolaction },
	{ "QPSAction", l_qpsaction },
	{ "QPSPoolAction", l_qpspoolaction },
	{ "SpoofAction", l_spoofaction },
	{ "SpoofCNAMEAction", l_spoofcnameaction },
	{ "SpoofRawAction", l_spoofrawaction },
	{ "DelayAction", l_delayaction },
	{ "SetNoRecurseAction", l_norecurseaction },
	{ "NoRecurseAction", l_norecurseaction },
	{ "DisableValidationAction", l_disablevalidationaction },
	{ "SetDisableValidationAction", l_disablevalidationaction },
	{ "SetSkipCacheAction", l_setskipcacheaction },
	{ "SetECSAction", l_setecsaction },
	{ "SetECSPrefixLengthAction", l_setecsprefixlengthaction },
	{ "SetDisableECSAction", l_setdisableecsaction },
	{ "DisableECSAction", l_setdisableecsaction },
	{ "SetECSOverrideAction", l_setecsoverrideaction },
	{ "SetEDNSOptionAction", l_setednsoptionaction },
	{ "SetMacAddrAction", l_setmacaddraction },
	{ "ECSOverrideAction", l_setecsoverrideaction },
	{ "ECSPrefixLengthAction", l_setecsprefixlengthaction },
	{ "SkipCacheAction", l_setskipcacheaction },
	{ "SetTagAction", l_settagaction },
	{ "SetProxyProtocolValuesAction", l_setppvaluesaction },
	{ "SetAdditionalProxyProtocolValueAction", l_setaddppvalueaction },
	{ "TagAction", l_settagaction },
	{ "LogAction", l_logaction },
	{ "ContinueAction", l_continueaction },
	{ "TeeAction", l_teeaction },
	{ "NegativeAndSOAAction", l_negativeandsoaaction },
	{ "DelayResponseAction", l_delayresponseaction },
	{ "LogResponseAction", l_logresponseaction },
	{ "SetTagResponseAction", l_settagresponseaction },
	{ "SpoofPacketAction", l_spoofpacketaction },
	{ "addDomainBlock", l_adddomainblock },
	{ "addQPSLimit", l_addqpslimit },
	{ "addPoolRule", l_addpoolrule },
	{ "newPoolRule", l_addpoolrule },
	{ "addQPSPoolRule", l_addqpspoolrule },
	{ "addAnyTCRule", l_addanytcrule },
	{ "addDelay", l_adddelay },
	{ "addNoRecurseRule", l_addnorecurserule },
	{ "addDisableValidationRule", l_adddisablevalidationrule },
	{ "addDomainSpoof", l_adddomainspoof },
	{ NULL, NULL }
};

void
dlua_open_actions(lua_State *L)
{
	dlua_new_type(L, DLUA_ACTION_MT, action_methods, l_action_tostring,
	    l_action_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
