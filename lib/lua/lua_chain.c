/*
 * Lua bindings for the rule chains (query, response, cache hit, cache
 * inserted, self-answered): add, show, top, move, remove, RuleAction
 * pairs; and the constants tables (DNSAction, DNSQType, EDNSOptionCode...).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "rule.h"

#define RULEPAIR_MT	"dnsdist.RuleAction"

struct rulepair {
	struct selector	*rp_sel;
	struct action	*rp_act;
	char		*rp_name;
};

/* Chains */

static struct rule_chain *
chain_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static bool
is_response_chain(const struct rule_chain *rc)
{
	return rc != &rules_query;
}

static int
chain_add(lua_State *L, struct rule_chain *rc, int selidx, int actidx,
    int optidx)
{
	struct selector	*se = dlua_selector_arg(L, selidx);
	struct action	*ac = dlua_action_arg(L, actidx);
	const char	*name = NULL, *uuid = NULL;
	bool		 resp = ac->ac_kind >= ACT_RALLOW;

	if (resp != is_response_chain(rc) && ac->ac_kind != ACT_DROP &&
	    ac->ac_kind != ACT_ALLOW)
		return luaL_error(L, "%s action in the %s chain",
		    resp ? "a response" : "a query",
		    resp ? "query" : "response");
	if (lua_type(L, optidx) == LUA_TTABLE) {
		name = dlua_opt_string(L, optidx, "name", NULL);
		uuid = dlua_opt_string(L, optidx, "uuid", NULL);
	}
	if (rule_add(rc, se, ac, name, uuid) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_addaction(lua_State *L)
{
	return chain_add(L, chain_of(L), 1, 2, 3);
}

static int
l_showrules(lua_State *L)
{
	bool	uuids = false;

	if (lua_type(L, 1) == LUA_TTABLE)
		uuids = dlua_opt_bool(L, 1, "showUUIDs", 0);
	rule_show(chain_of(L), dlua_output(), uuids, -1, (size_t)-1, false);
	return 0;
}

static int
l_toprules(lua_State *L)
{
	static const char *keys[] = { "showUUIDs", NULL };
	bool	uuids = false;

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		dlua_check_keys(L, 2, keys, "top rules");
		uuids = dlua_opt_bool(L, 2, "showUUIDs", 0);
	}
	rule_show(chain_of(L), dlua_output(), uuids, -1,
	    (size_t)luaL_optinteger(L, 1, 10), true);
	return 0;
}

static void	push_rulepair(lua_State *, const struct rule *);

/* getTopRules() and friends: the rules that matched most, as pairs. */
static int
l_gettoprules(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	lua_Integer		 top = luaL_optinteger(L, 1, 10);
	struct rule		**list;
	size_t			 i;

	lua_newtable(L);
	if (top <= 0 || rc->rc_count == 0)
		return 1;
	if ((list = calloc(rc->rc_count, sizeof(*list))) == NULL)
		return luaL_error(L, "out of memory");
	memcpy(list, rc->rc_rules, rc->rc_count * sizeof(*list));
	qsort(list, rc->rc_count, sizeof(*list), rule_matches_cmp);
	for (i = 0; i < rc->rc_count && i < (size_t)top; i++) {
		push_rulepair(L, list[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(list);
	return 1;
}

static int
rule_arg(lua_State *L, struct rule_chain *rc, int idx)
{
	int	pos;

	if (lua_isinteger(L, idx))
		pos = (int)lua_tointeger(L, idx);
	else
		pos = rule_find(rc, luaL_checkstring(L, idx));
	if (pos < 0 || (size_t)pos >= rc->rc_count)
		luaL_error(L, "no such rule");
	return pos;
}

static int
l_rmrule(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);

	rule_remove(rc, (size_t)rule_arg(L, rc, 1));
	return 0;
}

static int
l_mvrule(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	lua_Integer		 to = luaL_checkinteger(L, 2);

	if (to < 0 || rule_move(rc, (size_t)rule_arg(L, rc, 1), (size_t)to)
	    == -1)
		return luaL_error(L, "no such position");
	return 0;
}

static int
l_mvruletotop(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);

	if (rc->rc_count > 0)
		rule_move(rc, rc->rc_count - 1, 0);
	return 0;
}

static int
l_clearrules(lua_State *L)
{
	rule_clear(chain_of(L));
	return 0;
}

static int
l_getaction(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	struct action		*ac;

	ac = rc->rc_rules[rule_arg(L, rc, 1)]->ru_act;
	action_ref(ac);
	dlua_push_action(L, ac);
	return 1;
}

static int
l_newruleaction(lua_State *L)
{
	struct rulepair	*rp;
	struct selector	*se = dlua_selector_arg(L, 1);
	struct action	*ac = dlua_action_arg(L, 2);
	const char	*name = NULL;

	if (lua_type(L, 3) == LUA_TTABLE)
		name = dlua_opt_string(L, 3, "name", NULL);
	rp = lua_newuserdata(L, sizeof(*rp));
	memset(rp, 0, sizeof(*rp));
	luaL_setmetatable(L, RULEPAIR_MT);
	if (name != NULL && (rp->rp_name = strdup(name)) == NULL)
		return luaL_error(L, "out of memory");
	selector_ref(se);
	action_ref(ac);
	rp->rp_sel = se;
	rp->rp_act = ac;
	return 1;
}

/* A RuleAction pair for a rule of a chain, as newRuleAction() makes. */
static void
push_rulepair(lua_State *L, const struct rule *ru)
{
	struct rulepair	*rp = lua_newuserdata(L, sizeof(*rp));

	memset(rp, 0, sizeof(*rp));
	luaL_setmetatable(L, RULEPAIR_MT);
	if (ru->ru_name != NULL && (rp->rp_name = strdup(ru->ru_name)) == NULL)
		luaL_error(L, "out of memory");
	selector_ref(ru->ru_sel);
	action_ref(ru->ru_act);
	rp->rp_sel = ru->ru_sel;
	rp->rp_act = ru->ru_act;
}

static int
l_rulepair_gc(lua_State *L)
{
	struct rulepair	*rp = luaL_checkudata(L, 1, RULEPAIR_MT);

	selector_unref(rp->rp_sel);
	action_unref(rp->rp_act);
	free(rp->rp_name);
	memset(rp, 0, sizeof(*rp));
	return 0;
}

static int
l_setrules(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	struct rulepair		*rp;
	size_t			 i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = lua_rawlen(L, 1);
	/* Check everything first: an error keeps the old chain. */
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		luaL_checkudata(L, -1, RULEPAIR_MT);
		lua_pop(L, 1);
	}
	rule_clear(rc);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		rp = lua_touserdata(L, -1);
		if (rule_add(rc, rp->rp_sel, rp->rp_act, rp->rp_name, NULL) == -1)
			return luaL_error(L, "out of memory");
		lua_pop(L, 1);
	}
	return 0;
}

static int
l_showpoolrules(lua_State *L)
{
	(void)L;
	rule_show(&rules_query, dlua_output(), false, ACT_POOL, (size_t)-1,
	    false);
	return 0;
}

static int
l_showqpslimiters(lua_State *L)
{
	(void)L;
	rule_show(&rules_query, dlua_output(), false, ACT_QPS, (size_t)-1,
	    false);
	return 0;
}

/* The chain functions, registered once per chain with the chain as upvalue. */
struct chain_fn {
	const char	*name;
	lua_CFunction	 fn;
};

static const struct chain_fn query_fns[] = {
	{ "addAction", l_addaction }, { "showRules", l_showrules },
	{ "topRules", l_toprules }, { "getTopRules", l_gettoprules },
	{ "rmRule", l_rmrule },
	{ "mvRule", l_mvrule }, { "mvRuleToTop", l_mvruletotop },
	{ "clearRules", l_clearrules }, { "getAction", l_getaction },
	{ "setRules", l_setrules }, { NULL, NULL }
};

static const struct chain_fn response_fns[] = {
	{ "addResponseAction", l_addaction },
	{ "showResponseRules", l_showrules },
	{ "topResponseRules", l_toprules },
	{ "getTopResponseRules", l_gettoprules },
	{ "rmResponseRule", l_rmrule },
	{ "mvResponseRule", l_mvrule },
	{ "mvResponseRuleToTop", l_mvruletotop },
	{ "clearResponseRules", l_clearrules },
	{ "getResponseAction", l_getaction }, { NULL, NULL }
};

static const struct chain_fn cachehit_fns[] = {
	{ "addCacheHitResponseAction", l_addaction },
	{ "showCacheHitResponseRules", l_showrules },
	{ "topCacheHitResponseRules", l_toprules },
	{ "getTopCacheHitResponseRules", l_gettoprules },
	{ "rmCacheHitResponseRule", l_rmrule },
	{ "mvCacheHitResponseRule", l_mvrule },
	{ "mvCacheHitResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static const struct chain_fn cacheinserted_fns[] = {
	{ "addCacheInsertedResponseAction", l_addaction },
	{ "showCacheInsertedResponseRules", l_showrules },
	{ "topCacheInsertedResponseRules", l_toprules },
	{ "getTopCacheInsertedResponseRules", l_gettoprules },
	{ "rmCacheInsertedResponseRule", l_rmrule },
	{ "mvCacheInsertedResponseRule", l_mvrule },
	{ "mvCacheInsertedResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static const struct chain_fn selfanswered_fns[] = {
	{ "addSelfAnsweredResponseAction", l_addaction },
	{ "showSelfAnsweredResponseRules", l_showrules },
	{ "topSelfAnsweredResponseRules", l_toprules },
	{ "getTopSelfAnsweredResponseRules", l_gettoprules },
	{ "rmSelfAnsweredResponseRule", l_rmrule },
	{ "mvSelfAnsweredResponseRule", l_mvrule },
	{ "mvSelfAnsweredResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static void
register_chain(lua_State *L, struct rule_chain *rc, const struct chain_fn *f)
{
	for (; f->name != NULL; f++) {
		lua_pushlightuserdata(L, rc);
		lua_pushcclosure(L, f->fn, 1);
		lua_setglobal(L, f->name);
	}
}

static void
constants(lua_State *L, const char *table, const char *const *names,
    const int *values)
{
	lua_newtable(L);
	for (; *names != NULL; names++, values++) {
		lua_pushinteger(L, *values);
		lua_setfield(L, -2, *names);
	}
	lua_setglobal(L, table);
}

static const luaL_Reg globals[] = {
	{ "newRuleAction", l_newruleaction },
	{ "showPoolRules", l_showpoolrules },
	{ "showQPSLimiters", l_showqpslimiters },
	{ NULL, NULL }
};

void
dlua_open_chains(lua_State *L)
{
	static const char *const actions[] = { "Drop", "Nxdomain", "Refused",
	    "Spoof", "Allow", "HeaderModify", "Pool", "Delay", "Truncate",
	    "ServFail", "None", "NoOp", "NoRecurse", "SpoofRaw", "SpoofPacket",
	    "SetTag", NULL };
	static const int avals[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15 };
	static const char *const ractions[] = { "Allow", "Delay", "Drop",
	    "HeaderModify", "ServFail", "Truncate", "None", NULL };
	static const int ravals[] = { 0, 1, 2, 3, 4, 5, 6 };
	static const char *const rcodes[] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	    "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "BADVERS", "BADSIG",
	    "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
	    "BADCOOKIE", NULL };
	static const int rcvals[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 16,
	    17, 18, 19, 20, 21, 22, 23 };
	static const char *const classes[] = { "IN", "CHAOS", "NONE", "ANY",
	    NULL };
	static const int clvals[] = { 1, 3, 254, 255 };
	static const char *const opcodes[] = { "Query", "IQuery", "Status",
	    "Notify", "Update", NULL };
	static const int opvals[] = { 0, 1, 2, 4, 5 };
	static const char *const sections[] = { "Question", "Answer",
	    "Authority", "Additional", NULL };
	static const int secvals[] = { 0, 1, 2, 3 };
	/* generateDNSCryptCertificate()'s version: XSalsa20, XChacha20 */
	static const char *const dcversions[] = { "VERSION1", "VERSION2",
	    NULL };
	static const int dcvals[] = { 0, 1 };
	static const char *const ednsopts[] = { "NSID", "DAU", "DHU", "N3U",
	    "ECS", "EXPIRE", "COOKIE", "TCPKEEPALIVE", "PADDING", "CHAIN",
	    "KEYTAG", NULL };
	static const int eovals[] = { 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
	const char	*name;
	uint16_t	 type;
	size_t		 i;

	dlua_new_type(L, RULEPAIR_MT, NULL, NULL, l_rulepair_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	register_chain(L, &rules_query, query_fns);
	register_chain(L, &rules_response, response_fns);
	register_chain(L, &rules_cachehit, cachehit_fns);
	register_chain(L, &rules_selfanswered, selfanswered_fns);
	register_chain(L, &rules_cacheinserted, cacheinserted_fns);
	constants(L, "DNSAction", actions, avals);
	constants(L, "DNSResponseAction", ractions, ravals);
	/* Every type name the packet code knows. */
	lua_newtable(L);
	for (i = 0; (name = dnspacket_type_at(i, &type)) != NULL; i++) {
		lua_pushinteger(L, type);
		lua_setfield(L, -2, name);
	}
	lua_setglobal(L, "DNSQType");
	constants(L, "DNSRCode", rcodes, rcvals);
	constants(L, "DNSClass", classes, clvals);
	constants(L, "EDNSOptionCode", ednsopts, eovals);
	constants(L, "DNSOpcode", opcodes, opvals);
	constants(L, "DNSSection", sections, secvals);
	constants(L, "DNSCryptExchangeVersion", dcversions, dcvals);
}
