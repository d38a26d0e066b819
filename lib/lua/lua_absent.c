/*
 * dnsdist's functions for features this program does not have.  Each is
 * defined, so that a configuration never stops on "attempt to call a nil
 * value", and fails when called with its name and the reason, which
 * carries the file and line of the call like any other error.
 */
#include <stddef.h>
#include <stdint.h>

#include "lua.h"

enum absent_why {
	AB_TLS, AB_DOH, AB_FFI,
	AB_BPF, AB_SNMP,
	AB_LIBTLS, AB_TLSOUT
};

static const char *const absent_reason[] = {
	[AB_TLS] = "DNS over TLS is not built in (built with TLS=no)",
	[AB_LIBTLS] = "TLS engines and providers are OpenSSL's: not built "
	    "with TLS=openssl",
	[AB_TLSOUT] = "TLS sessions to backends are not resumed: libtls "
	    "keeps a client session only in a file",
	[AB_DOH] = "this part of DNS over HTTPS is not built in yet",
	[AB_FFI] = "LuaJIT FFI is not supported: this is Lua 5.3",
	[AB_BPF] = "eBPF filtering is not supported",
	[AB_SNMP] = "SNMP is not supported",
};

static const struct absent {
	const char	*ab_name;
	enum absent_why	 ab_why;
} absent[] = {
#ifdef DNSDIST_NO_TLS
	{ "addTLSLocal", AB_TLS },
	{ "getTLSContext", AB_TLS },
	{ "getTLSFrontend", AB_TLS },
	{ "getTLSFrontendCount", AB_TLS },
	{ "reloadAllCertificates", AB_TLS },
	{ "showTLSContexts", AB_TLS },
	{ "showTLSErrorCounters", AB_TLS },
	{ "SNIRule", AB_TLS },
	{ "newTLSCertificate", AB_TLS },
	{ "generateOCSPResponse", AB_TLS },
#endif
#ifndef DNSDIST_TLS_OPENSSL
	{ "loadTLSEngine", AB_LIBTLS },
	{ "loadTLSProvider", AB_LIBTLS },
	{ "getOutgoingTLSSessionCacheSize", AB_TLSOUT },
	{ "setOutgoingTLSSessionsCacheCleanupDelay", AB_TLSOUT },
	{ "setOutgoingTLSSessionsCacheMaxTicketValidity", AB_TLSOUT },
	{ "setOutgoingTLSSessionsCacheMaxTicketsPerBackend", AB_TLSOUT },
#endif
	{ "LuaFFIAction", AB_FFI },
	{ "LuaFFIPerThreadAction", AB_FFI },
	{ "LuaFFIPerThreadResponseAction", AB_FFI },
	{ "LuaFFIPerThreadRule", AB_FFI },
	{ "LuaFFIResponseAction", AB_FFI },
	{ "LuaFFIRule", AB_FFI },
	{ "setPoolServerPolicyLuaFFI", AB_FFI },
	{ "setPoolServerPolicyLuaFFIPerThread", AB_FFI },
	{ "setServerPolicyLuaFFI", AB_FFI },
	{ "setServerPolicyLuaFFIPerThread", AB_FFI },
	{ "newBPFFilter", AB_BPF },
	{ "newDynBPFFilter", AB_BPF },
	{ "addBPFFilterDynBlocks", AB_BPF },
	{ "registerDynBPFFilter", AB_BPF },
	{ "unregisterDynBPFFilter", AB_BPF },
	{ "setDefaultBPFFilter", AB_BPF },
	{ "snmpAgent", AB_SNMP },
	{ "sendCustomTrap", AB_SNMP },
	{ "SNMPTrapAction", AB_SNMP },
	{ "SNMPTrapResponseAction", AB_SNMP },
};

/* Methods of objects that exist, for features that do not. */
static const struct absent_method {
	const char	*am_mt;
	struct absent	 am_ab;
} absent_methods[] = {
	{ "dnsdist.ClientState", { "attachFilter", AB_BPF } },
	{ "dnsdist.ClientState", { "detachFilter", AB_BPF } },
	{ "dnsdist.DynBlockRulesGroup", { "setSuffixMatchRuleFFI", AB_FFI } },
};

static int
l_absent(lua_State *L)
{
	const struct absent	*ab = lua_touserdata(L, lua_upvalueindex(1));

	return luaL_error(L, "%s: %s", ab->ab_name, absent_reason[ab->ab_why]);
}

void
dlua_open_absent(lua_State *L)
{
	size_t	i;
	int	top = lua_gettop(L);

	for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		lua_pushlightuserdata(L, (void *)(uintptr_t)&absent[i]);
		lua_pushcclosure(L, l_absent, 1);
		lua_setglobal(L, absent[i].ab_name);
	}
	/* Into the methods: __index, or the first upvalue of a function. */
	for (i = 0; i < sizeof(absent_methods) / sizeof(absent_methods[0]);
	    i++) {
		luaL_getmetatable(L, absent_methods[i].am_mt);
		if (lua_getfield(L, -1, "__index") == LUA_TFUNCTION)
			lua_getupvalue(L, -1, 1);
		lua_pushlightuserdata(L,
		    (void *)(uintptr_t)&absent_methods[i].am_ab);
		lua_pushcclosure(L, l_absent, 1);
		lua_setfield(L, -2, absent_methods[i].am_ab.ab_name);
		lua_settop(L, top);
	}
}
