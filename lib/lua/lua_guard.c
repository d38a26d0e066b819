/*
 * Packet hooks may look at the configuration but never change it.  A Lua
 * rule, action, policy or blockFilter runs on whichever thread carries the
 * query, while the configuration is built by the main thread alone: called
 * from a hook, a function that changes the configuration raises a Lua
 * error naming itself, and the hook fails as any failing hook does
 * (counted, logged, no action).  The configuration, the console and
 * maintenance() call the same functions freely.
 */
#include <stdbool.h>
#include <string.h>

#include "lua.h"

int		dlua_in_hook;

/*
 * Globals that change the configuration and do not start with add, set,
 * rm, clear or mv; and those that do but only change shared state that
 * packet threads already update themselves (dynamic blocks).
 */
static const char *const changing[] = {
	"newServer", "controlSocket", "carbonServer", "webserver",
	"shutdown", "newRuleAction", "includeDirectory", "reloadConfig",
	"registerWebHandler", NULL
};
static const char *const state_only[] = {
	"addDynBlocks", "addDynBlockSMT", "clearDynBlocks", "setMetric", NULL
};
static const char *const prefixes[] = {
	"add", "set", "rm", "clear", "mv", NULL
};

/* Methods of configuration objects, per class. */
static const struct {
	const char	*mt;
	const char	*names[8];
} methods[] = {
	{ DLUA_POOL_MT, { "setCache", "unsetCache", "setECS",
	    "setServerPolicy", NULL } },
	{ DLUA_SERVER_MT, { "addPool", "rmPool", "setQPS", "setWeight",
	    "setLazyAuto", "setActiveAuto", NULL } },
};

static bool
in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static bool
is_changing(const char *name)
{
	const char *const	*p;
	size_t			 n;

	if (in_list(changing, name))
		return true;
	if (in_list(state_only, name))
		return false;
	for (p = prefixes; *p != NULL; p++) {
		n = strlen(*p);
		/* "setKey", not "settings" or "address". */
		if (strncmp(name, *p, n) == 0 && name[n] >= 'A' &&
		    name[n] <= 'Z')
			return true;
	}
	return false;
}

#define CHANGING_KEY	"dnsdist.changing"

/*
 * While a packet hook runs, every call is checked against the set of
 * changing functions (keyed by the function, valued by its name); the
 * instruction budget rides on the same debug hook.
 */
static void
guard_hook(lua_State *L, lua_Debug *ar)
{
	const char	*name;

	if (ar->event == LUA_HOOKCOUNT)
		luaL_error(L, "instruction budget exceeded");
	if (!lua_getinfo(L, "f", ar))
		return;
	lua_getfield(L, LUA_REGISTRYINDEX, CHANGING_KEY);
	lua_insert(L, -2);
	lua_rawget(L, -2);
	name = lua_tostring(L, -1);
	if (name != NULL)
		luaL_error(L, "%s: cannot change the configuration from a "
		    "packet hook", name);
	lua_pop(L, 2);
}

void
dlua_hook_begin(lua_State *L, int budget)
{
	dlua_in_hook++;
	lua_sethook(L, guard_hook, LUA_MASKCALL | LUA_MASKCOUNT, budget);
}

void
dlua_hook_end(lua_State *L)
{
	dlua_in_hook--;
	lua_sethook(L, NULL, 0, 0);
}

/* Add the function at key name of the table at the top to the set. */
static void
mark(lua_State *L, int set, const char *name)
{
	if (lua_getfield(L, -1, name) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return;
	}
	lua_pushstring(L, name);
	lua_rawset(L, set);
}

void
dlua_guard_config(lua_State *L)
{
	const char	*name;
	size_t		 i, j;
	int		 set;

	lua_newtable(L);
	set = lua_gettop(L);
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) == LUA_TSTRING &&
		    is_changing((name = lua_tostring(L, -1)))) {
			lua_pushvalue(L, -2);
			mark(L, set, name);
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	/* The methods: __methods where __index is a function (members). */
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		luaL_getmetatable(L, methods[i].mt);
		if (lua_getfield(L, -1, "__methods") != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_getfield(L, -1, "__index");
		}
		lua_remove(L, -2);
		if (lua_type(L, -1) == LUA_TTABLE)
			for (j = 0; methods[i].names[j] != NULL; j++)
				mark(L, set, methods[i].names[j]);
		lua_pop(L, 1);
	}
	lua_setfield(L, LUA_REGISTRYINDEX, CHANGING_KEY);
}
