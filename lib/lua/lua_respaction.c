/*
 * Lua bindings for the actions of the response chains that rewrite
 * records and TTLs, and the simple verdicts on responses.
 */
#include <stdint.h>
#include <stdlib.h>

#include "lua.h"
#include "rule.h"

static int
l_allowresponseaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_RALLOW, "allow");
}

static int
l_dropresponseaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_RDROP, "drop");
}

/* A TTL, or a count of seconds: 0 to 2^31 - 1. */
static uint32_t
ttl_arg(lua_State *L, int idx, const char *fn)
{
	lua_Integer	v = luaL_checkinteger(L, idx);

	if (v < 0 || v > INT32_MAX)
		luaL_error(L, "%s: %d out of range", fn, (int)v);
	return (uint32_t)v;
}

/* A type or a table of types (integers or names), into ac's list. */
static void
types_arg(lua_State *L, int idx, struct action *ac, const char *fn)
{
	size_t	i, n = 1;

	if (lua_type(L, idx) == LUA_TTABLE)
		n = lua_rawlen(L, idx);
	if (n == 0)
		return;
	if ((ac->ac_u.rrs.types = calloc(n, sizeof(uint16_t))) == NULL)
		luaL_error(L, "out of memory");
	for (i = 1; i <= n; i++) {
		if (lua_type(L, idx) == LUA_TTABLE)
			lua_rawgeti(L, idx, (lua_Integer)i);
		else
			lua_pushvalue(L, idx);
		if (!lua_isinteger(L, -1) && lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: record types expected", fn);
		ac->ac_u.rrs.types[ac->ac_u.rrs.ntypes++] =
		    dlua_qtype_arg(L, -1);
		lua_pop(L, 1);
	}
}

static int
l_clearrecordtypesresponseaction(lua_State *L)
{
	struct action	*ac = dlua_act_new(L, ACT_RCLEARTYPES);

	types_arg(L, 1, ac, "ClearRecordTypesResponseAction");
	if (ac->ac_u.rrs.ntypes == 0)
		return luaL_error(L, "ClearRecordTypesResponseAction: no type");
	action_set_desc(ac, "clear record types (%zu)", ac->ac_u.rrs.ntypes);
	return 1;
}

static struct action *
limit_ttl(lua_State *L, uint32_t min, uint32_t max)
{
	struct action	*ac = dlua_act_new(L, ACT_RLIMITTTL);

	ac->ac_u.rrs.min = min;
	ac->ac_u.rrs.max = max;
	action_set_desc(ac, "limit ttl (%u - %u)", min, max);
	return ac;
}

static int
l_limitttlresponseaction(lua_State *L)
{
	const char	*fn = "LimitTTLResponseAction";
	uint32_t	 min = ttl_arg(L, 1, fn);
	uint32_t	 max = lua_isnoneornil(L, 2) ? UINT32_MAX :
			    ttl_arg(L, 2, fn);
	bool		 types = !lua_isnoneornil(L, 3);
	struct action	*ac;

	if (types)
		luaL_checktype(L, 3, LUA_TTABLE);
	ac = limit_ttl(L, min, max);
	if (types)
		types_arg(L, 3, ac, fn);
	return 1;
}

static int
l_setminttlresponseaction(lua_State *L)
{
	limit_ttl(L, ttl_arg(L, 1, "SetMinTTLResponseAction"), UINT32_MAX);
	return 1;
}

static int
l_setmaxttlresponseaction(lua_State *L)
{
	limit_ttl(L, 0, ttl_arg(L, 1, "SetMaxTTLResponseAction"));
	return 1;
}

static int
l_setreducedttlresponseaction(lua_State *L)
{
	lua_Integer	 pct = luaL_checkinteger(L, 1);
	struct action	*ac;

	/* A uint8_t in dnsdist: above 100 raises the TTLs. */
	if (pct < 0 || pct > 255)
		return luaL_error(L, "SetReducedTTLResponseAction: percentage "
		    "between 0 and 255");
	ac = dlua_act_new(L, ACT_RREDUCETTL);
	ac->ac_u.rrs.pct = (uint32_t)pct;
	action_set_desc(ac, "reduce ttl to %d percent of its value", (int)pct);
	return 1;
}

static int
max_returned_ttl(lua_State *L, int kind, const char *fn)
{
	uint32_t	 max = ttl_arg(L, 1, fn);
	struct action	*ac = dlua_act_new(L, kind);

	ac->ac_u.rrs.max = max;
	action_set_desc(ac, "cap the TTL of the returned response to %u", max);
	return 1;
}

static int
l_setmaxreturnedttlaction(lua_State *L)
{
	return max_returned_ttl(L, ACT_MAXRETTTL, "SetMaxReturnedTTLAction");
}

static int
l_setmaxreturnedttlresponseaction(lua_State *L)
{
	return max_returned_ttl(L, ACT_RMAXRETTTL,
	    "SetMaxReturnedTTLResponseAction");
}

static int
l_settempfailurecachettlaction(lua_State *L)
{
	uint32_t	 ttl = ttl_arg(L, 1, "SetTempFailureCacheTTLAction");
	struct action	*ac = dlua_act_new(L, ACT_TEMPFAILTTL);

	ac->ac_u.rrs.max = ttl;
	action_set_desc(ac, "set tempfailure cache ttl to %u", ttl);
	return 1;
}

static int
l_setskipcacheresponseaction(lua_State *L)
{
	return dlua_simple_action(L, ACT_RSKIPCACHE, "skip cache");
}

static const luaL_Reg globals[] = {
	{ "AllowResponseAction", l_allowresponseaction },
	{ "DropResponseAction", l_dropresponseaction },
	{ "ClearRecordTypesResponseAction", l_clearrecordtypesresponseaction },
	{ "LimitTTLResponseAction", l_limitttlresponseaction },
	{ "SetMinTTLResponseAction", l_setminttlresponseaction },
	{ "SetMaxTTLResponseAction", l_setmaxttlresponseaction },
	{ "SetReducedTTLResponseAction", l_setreducedttlresponseaction },
	{ "SetMaxReturnedTTLAction", l_setmaxreturnedttlaction },
	{ "SetMaxReturnedTTLResponseAction", l_setmaxreturnedttlresponseaction },
	{ "SetTempFailureCacheTTLAction", l_settempfailurecachettlaction },
	{ "SetSkipCacheResponseAction", l_setskipcacheresponseaction },
	{ NULL, NULL }
};

void
dlua_open_respactions(lua_State *L)
{
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
