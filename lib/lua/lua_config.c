/*
 * Lua bindings for global settings: listeners, the ACL, tunables,
 * statistics and miscellany.
 */
#include <net/if.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat/compat.h"
#include "config.h"
#include "inflight.h"
#include "lua.h"
#include "netmask.h"
#include "proxyproto.h"
#include "rule.h"
#include "settings.h"
#include "stats.h"

/* Settings that only make sense before the sockets exist. */
static int
config_only(lua_State *L, const char *fn)
{
	if (!settings.st_running)
		return 0;
	dlua_printf("%s cannot be used at runtime!\n", fn);
	(void)L;
	return 1;
}

/*
 * Linux capabilities to keep once the sockets are bound: a name or a
 * list of names; the others are dropped then (lib/compat/caps.c).
 */
static int
l_addcapabilitiestoretain(lua_State *L)
{
	const char	*name;
	lua_Integer	 i, n = 1;
	int		 cap;

	if (lua_type(L, 1) != LUA_TTABLE)
		(void)luaL_checkstring(L, 1);
	if (config_only(L, "addCapabilitiesToRetain"))
		return 0;
	if (!compat_caps_exist())
		return luaL_error(L, "addCapabilitiesToRetain: this system "
		    "has no Linux capabilities");
	if (lua_type(L, 1) == LUA_TTABLE)
		n = (lua_Integer)lua_rawlen(L, 1);
	for (i = 1; i <= n; i++) {
		if (lua_type(L, 1) == LUA_TTABLE) {
			if (lua_rawgeti(L, 1, i) != LUA_TSTRING)
				return luaL_error(L, "addCapabilitiesToRetain: "
				    "capabilities are strings");
			name = lua_tostring(L, -1);
			lua_pop(L, 1);
		} else
			name = lua_tostring(L, 1);
		if ((cap = compat_cap_from_name(name)) == -1)
			return luaL_error(L, "addCapabilitiesToRetain: unknown "
			    "capability '%s'", name);
		settings.st_capretain |= (uint64_t)1 << cap;
	}
	return 0;
}

/* setLocal's and addLocal's options, as dnsdist 1.7-1.9 has them. */
static const char *local_keys[] = {
	"doTCP", "reusePort", "tcpFastOpenQueueSize", "interface", "cpus",
	"maxInFlight", "tcpListenQueueSize", "maxConcurrentTCPConnections",
	"enableProxyProtocol", "xskSocket", NULL
};

/* An integer option from 0 to INT_MAX. */
static int
local_int(lua_State *L, const char *key, const char *fn)
{
	lua_Integer	v = dlua_opt_int(L, 2, key, 0);

	if (v < 0 || v > INT_MAX)
		luaL_error(L, "%s: bad %s", fn, key);
	return (int)v;
}

/*
 * interface: the listener's sockets take only what arrives on that
 * interface (SO_BINDTODEVICE), as dnsdist's.  cpus: a list of CPU
 * numbers its UDP loop may run on.  Listeners served by the TCP workers
 * alone have no thread of their own to pin.
 */
void
dlua_local_place(lua_State *L, int t, struct local *lc, const char *fn,
    bool udp)
{
	const char	*s = dlua_opt_string(L, t, "interface", "");
	lua_Integer	 cpu;
	long		 ncpu;
	int		 isnum;

	if (s[0] != '\0') {
		if (strlen(s) >= sizeof(lc->lc_ifname) ||
		    if_nametoindex(s) == 0)
			luaL_error(L, "%s: interface: no such interface '%s'",
			    fn, s);
		if (compat_bind_device(-1, s) == -1 && errno == EOPNOTSUPP)
			luaL_error(L, "%s: interface is not supported: this "
			    "system cannot bind a socket to an interface", fn);
		strlcpy(lc->lc_ifname, s, sizeof(lc->lc_ifname));
	}
	if (lua_getfield(L, t, "cpus") == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (!udp)
		luaL_error(L, "%s: cpus is not supported: its connections are "
		    "served by the TCP worker threads, which every listener "
		    "shares, so there is no thread of its own to pin", fn);
	if (compat_thread_cpus(NULL) == -1)
		luaL_error(L, "%s: cpus is not supported: this system cannot "
		    "pin a thread to CPUs", fn);
	if (lua_type(L, -1) != LUA_TTABLE)
		luaL_error(L, "%s: cpus must be a list of CPU numbers", fn);
	ncpu = sysconf(_SC_NPROCESSORS_CONF);
	memset(lc->lc_cpus, 0, sizeof(lc->lc_cpus));
	lc->lc_pinned = false;
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		cpu = lua_tointegerx(L, -1, &isnum);
		if (!isnum || cpu < 0)
			luaL_error(L, "%s: cpus: '%s' is not a CPU number", fn,
			    luaL_tolstring(L, -1, NULL));
		if (cpu >= COMPAT_MAXCPUS || (ncpu > 0 && cpu >= ncpu))
			luaL_error(L, "%s: cpus: there is no CPU %I (this "
			    "machine has %d)", fn, cpu, (int)ncpu);
		lc->lc_cpus[cpu / 64] |= 1ULL << (cpu % 64);
		lc->lc_pinned = true;
		lua_pop(L, 1);
	}
	if (!lc->lc_pinned)
		luaL_error(L, "%s: cpus: the list is empty", fn);
	lua_pop(L, 1);
}

static int
local_from_lua(lua_State *L, const char *fn)
{
	const char	*addr = luaL_checkstring(L, 1);
	struct local	 opt, *lc;

	memset(&opt, 0, sizeof(opt));
	opt.lc_tcp = true;
	if (lua_type(L, 2) == LUA_TTABLE) {
		dlua_check_keys(L, 2, local_keys, fn);
		dlua_local_place(L, 2, &opt, fn, true);
		if (lua_getfield(L, 2, "xskSocket") != LUA_TNIL)
			return luaL_error(L, "%s: xskSocket is not supported: "
			    "AF_XDP is not built in", fn);
		lua_pop(L, 1);
		opt.lc_tcp = dlua_opt_bool(L, 2, "doTCP", 1);
		opt.lc_reuseport = dlua_opt_bool(L, 2, "reusePort", 0);
		opt.lc_tcpfastopen = local_int(L, "tcpFastOpenQueueSize", fn);
		opt.lc_maxtcpconns = local_int(L,
		    "maxConcurrentTCPConnections", fn);
		opt.lc_maxinflight = local_int(L, "maxInFlight", fn);
		opt.lc_tcplistenqueue = local_int(L, "tcpListenQueueSize", fn);
		opt.lc_ppoff = !dlua_opt_bool(L, 2, "enableProxyProtocol", 1);
	} else if (!lua_isnoneornil(L, 2))
		return luaL_error(L, "%s: the second argument must be a table",
		    fn);
	if ((lc = settings_add_local(addr, 53, opt.lc_reuseport,
	    opt.lc_tcpfastopen)) == NULL)
		return luaL_error(L, "%s: bad address '%s'", fn, addr);
	lc->lc_tcp = opt.lc_tcp;
	lc->lc_maxtcpconns = opt.lc_maxtcpconns;
	lc->lc_maxinflight = opt.lc_maxinflight;
	if (opt.lc_tcplistenqueue > 0)
		lc->lc_tcplistenqueue = opt.lc_tcplistenqueue;
	lc->lc_ppoff = opt.lc_ppoff;
	settings_local_place(lc, &opt);
	settings.st_locals_from_config = true;
	return 0;
}

static int
l_setlocal(lua_State *L)
{
	if (config_only(L, "setLocal"))
		return 0;
	settings_clear_locals();
	return local_from_lua(L, "setLocal");
}

static int
l_addlocal(lua_State *L)
{
	if (config_only(L, "addLocal"))
		return 0;
	return local_from_lua(L, "addLocal");
}

void
dlua_each_string(lua_State *L, int idx, int (*add)(void *, const char *),
    void *arg, const char *fn, const char *what)
{
	const char	*s;
	size_t		 i, n;

	if (lua_type(L, idx) == LUA_TSTRING) {
		s = lua_tostring(L, idx);
		if (add(arg, s) == -1)
			luaL_error(L, "%s: bad %s '%s'", fn, what, s);
		return;
	}
	luaL_checktype(L, idx, LUA_TTABLE);
	n = lua_rawlen(L, idx);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i);
		s = lua_tostring(L, -1);
		if (s == NULL || add(arg, s) == -1)
			luaL_error(L, "%s: bad %s '%s'", fn, what,
			    s ? s : "(not a string)");
		lua_pop(L, 1);
	}
}

static int
nmg_add(void *ng, const char *s)
{
	return netmask_group_add_text(ng, s);
}

/* A netmask or a table of them into a fresh group. */
void
dlua_netmask_group(lua_State *L, int idx, struct netmask_group *ng,
    const char *fn)
{
	const struct netmask_group *src;
	size_t	i;

	/* A NetmaskGroup object too, as dnsdist takes one. */
	if ((src = luaL_testudata(L, idx, DLUA_NMG_MT)) == NULL) {
		dlua_each_string(L, idx, nmg_add, ng, fn, "netmask");
		return;
	}
	for (i = 0; i < src->ng_count; i++)
		if (netmask_group_add(ng, &src->ng_masks[i]) == -1)
			luaL_error(L, "%s: out of memory", fn);
}

void
dlua_replace_nmg(lua_State *L, int idx, struct netmask_group *target,
    const char *fn)
{
	struct netmask_group	*ng, old;

	/*
	 * Built in a Lua object: a bad netmask keeps the old list and the
	 * collector frees the new one; on success the object takes the old.
	 */
	ng = dlua_push_nmg(L);
	dlua_netmask_group(L, idx, ng, fn);
	old = *target;
	*target = *ng;
	*ng = old;
}

static int
l_setacl(lua_State *L)
{
	dlua_replace_nmg(L, 1, &settings.st_acl, "setACL");
	return 0;
}

static bool
bool_arg(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	return lua_toboolean(L, 1);
}

/* The sources that must start with a PROXY protocol header. */
static int
l_setproxyprotocolacl(lua_State *L)
{
	dlua_replace_nmg(L, 1, &settings.st_ppacl, "setProxyProtocolACL");
	return 0;
}

static int
l_setproxyprotocolapplyacl(lua_State *L)
{
	settings.st_ppapplyacl = bool_arg(L);
	return 0;
}

/* As dnsdist: never below 16, the fixed part of a header. */
static int
l_setproxyprotocolmaxsize(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	settings.st_ppmaxsize = n < PP_HDRLEN ? PP_HDRLEN :
	    n > PP_MAXLEN ? PP_MAXLEN : (size_t)n;
	return 0;
}

static int
l_addacl(lua_State *L)
{
	const char	*s = luaL_checkstring(L, 1);

	if (netmask_group_add_text(&settings.st_acl, s) == -1)
		return luaL_error(L, "addACL: bad netmask '%s'", s);
	return 0;
}

static int
l_showacl(lua_State *L)
{
	char	buf[NETMASK_MAXTEXT];
	size_t	i;

	(void)L;
	for (i = 0; i < settings.st_acl.ng_count; i++)
		dlua_printf("%s\n", netmask_to_text(&settings.st_acl.ng_masks[i],
		    buf, sizeof(buf)));
	return 0;
}

struct int_setting {
	const char	*is_set;
	const char	*is_get;
	int		*is_var;
	int		 is_min;
	int		 is_max;
	int		 is_configonly;
};

static struct int_setting int_settings[] = {
	{ "setMaxUDPOutstanding", "getMaxUDPOutstanding",
	    &settings.st_maxudpoutstanding, 1, 65535, 1 },
	{ "setUDPTimeout", "getUDPTimeout", &settings.st_udptimeout, 1,
	    3600, 0 },
	{ "setTCPRecvTimeout", "getTCPRecvTimeout",
	    &settings.st_tcprecvtimeout, 1, 3600, 0 },
	{ "setTCPSendTimeout", "getTCPSendTimeout",
	    &settings.st_tcpsendtimeout, 1, 3600, 0 },
	{ "setMaxTCPClientThreads", "getMaxTCPClientThreads",
	    &settings.st_maxtcpclientthreads, 1, 1024, 1 },
	{ "setMaxTCPConnectionsPerClient", "getMaxTCPConnectionsPerClient",
	    &settings.st_maxtcpconnperclient, 0, 1 << 30, 0 },
	{ "setMaxTCPQueriesPerConnection", "getMaxTCPQueriesPerConnection",
	    &settings.st_maxtcpqueriesperconn, 0, 1 << 30, 0 },
	{ "setMaxTCPConnectionDuration", "getMaxTCPConnectionDuration",
	    &settings.st_maxtcpconnduration, 0, 1 << 30, 0 },
	{ "setMaxTCPQueuedConnections", "getMaxTCPQueuedConnections",
	    &settings.st_maxtcpqueuedconns, 0, 1 << 30, 1 },
	{ "setMaxTCPQueuedBytes", "getMaxTCPQueuedBytes",
	    &settings.st_maxtcpqueuedbytes, 1 << 16, 1 << 30, 1 },
	{ "setOutgoingDoHWorkerThreads", NULL, &settings.st_dohworkers, 1,
	    1024, 1 },
};

static int
l_int_set(lua_State *L)
{
	struct int_setting	*is = lua_touserdata(L, lua_upvalueindex(1));
	lua_Integer		 v = luaL_checkinteger(L, 1);

	if (is->is_configonly && config_only(L, is->is_set))
		return 0;
	if (v < is->is_min || v > is->is_max)
		return luaL_error(L, "%s: %d is out of range %d..%d",
		    is->is_set, (int)v, is->is_min, is->is_max);
	*is->is_var = (int)v;
	return 0;
}

static int
l_int_get(lua_State *L)
{
	struct int_setting	*is = lua_touserdata(L, lua_upvalueindex(1));

	lua_pushinteger(L, *is->is_var);
	return 1;
}

static int
l_dumpstats(lua_State *L)
{
	(void)L;
	stats_dump(dlua_output());
	return 0;
}

static int
l_getstatisticscounters(lua_State *L)
{
	struct stat_value	all[STATS_MAX];
	size_t			i, n;

	n = stats_snapshot(all, STATS_MAX);
	lua_createtable(L, 0, (int)n);
	for (i = 0; i < n; i++) {
		if (all[i].sv_gauge)
			continue;
		lua_pushinteger(L, (lua_Integer)all[i].sv_value);
		lua_setfield(L, -2, all[i].sv_name);
	}
	return 1;
}

static int
l_setsecuritypollsuffix(lua_State *L)
{
	/* Accepted for compatibility: this daemon never polls. */
	luaL_checkstring(L, 1);
	return 0;
}

static int
l_ignore(lua_State *L)
{
	(void)L;
	return 0;
}

static int
l_showversion(lua_State *L)
{
	(void)L;
	dlua_printf("dnsdist %s\n", DNSDIST_VERSION);
	return 0;
}

/* Which snapshot of the configuration the packet path runs on. */
static int
l_showconfiggeneration(lua_State *L)
{
	(void)L;
	dlua_printf("%llu\n", (unsigned long long)config_generation());
	return 0;
}

static int
l_setverbose(lua_State *L)
{
	settings.st_verbose = lua_toboolean(L, 1);
	return 0;
}

static int
l_getverbose(lua_State *L)
{
	lua_pushboolean(L, settings.st_verbose);
	return 1;
}

/* reloadConfig(): read the configuration file again, when this call returns. */
static int
l_reloadconfig(lua_State *L)
{
	if (!settings.st_running)
		return luaL_error(L, "reloadConfig: only once the daemon runs");
	if (dlua_host.h_reload == NULL)
		return luaL_error(L, "reloadConfig: not in this program");
	dlua_host.h_reload();
	return 0;
}

static int
l_shutdown(lua_State *L)
{
	(void)L;
	if (dlua_host.h_shutdown != NULL)
		dlua_host.h_shutdown();
	return 0;
}

static int
l_showtcpstats(lua_State *L)
{
	(void)L;
	if (dlua_host.h_show_tcp_stats != NULL)
		dlua_host.h_show_tcp_stats(dlua_output());
	return 0;
}

static int
l_getudpsocketbuffersizes(lua_State *L)
{
	lua_pushinteger(L, settings.st_udprcvbuf);
	lua_pushinteger(L, settings.st_udpsndbuf);
	return 2;
}

static int
l_getsecuritypollsuffix(lua_State *L)
{
	/* Never any polling: the suffix is always empty. */
	lua_pushstring(L, "");
	return 1;
}

static int
l_showbinds(lua_State *L)
{
	(void)L;
	if (dlua_host.h_show_binds != NULL)
		dlua_host.h_show_binds(dlua_output());
	return 0;
}

static int
l_setudpsocketbuffersizes(lua_State *L)
{
	lua_Integer	r = luaL_checkinteger(L, 1), s = luaL_checkinteger(L, 2);

	if (config_only(L, "setUDPSocketBufferSizes"))
		return 0;
	if (r < 0 || s < 0 || r > (1 << 30) || s > (1 << 30))
		return luaL_error(L, "setUDPSocketBufferSizes: bad size");
	settings.st_udprcvbuf = (int)r;
	settings.st_udpsndbuf = (int)s;
	return 0;
}

/*
 * dnsdist's form: four 32-bit numbers in hex, "x-x-x-x", laid out as
 * they are in memory.  For the listeners with tcpFastOpenQueueSize.
 */
static int
l_settcpfastopenkey(lua_State *L)
{
	const char	*s = luaL_checkstring(L, 1), *p = s;
	uint32_t	 w;
	size_t		 n;
	int		 i;

	if (config_only(L, "setTCPFastOpenKey"))
		return 0;
	for (i = 0; i < 4; i++, p += n + 1) {
		n = strspn(p, "0123456789abcdefABCDEF");
		if (n == 0 || n > 8 || p[n] != (i < 3 ? '-' : '\0'))
			return luaL_error(L, "setTCPFastOpenKey: '%s' is not "
			    "a key: four hexadecimal numbers of 32 bits, as "
			    "in 01234567-89abcdef-01234567-89abcdef", s);
		w = (uint32_t)strtoul(p, NULL, 16);
		memcpy(settings.st_tfokey + 4 * i, &w, sizeof(w));
	}
	settings.st_tfokeyset = true;
	return 0;
}

/* Each backend's table of UDP IDs is made with its sockets. */
static int
l_setrandomizedidsoverudp(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	if (config_only(L, "setRandomizedIdsOverUDP"))
		return 0;
	settings.st_randomids = lua_toboolean(L, 1);
	return 0;
}

static int
l_setrandomizedoutgoingsockets(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_randomsockets = lua_toboolean(L, 1);
	return 0;
}

static int
l_setaddednstoselfgenerated(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	rule_add_edns = lua_toboolean(L, 1);
	return 0;
}

static int
l_setpayloadsizeonselfgenerated(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 512 || n > 65535)
		return luaL_error(L, "setPayloadSizeOnSelfGeneratedAnswers: "
		    "the size must be between 512 and 65535");
	rule_edns_payload = (uint16_t)n;
	return 0;
}

static int
prefix_arg(lua_State *L, int max, const char *fn)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > max)
		return luaL_error(L, "%s: the prefix length must be between 0 "
		    "and %d", fn, max);
	return (int)n;
}

static int
l_setecssourceprefixv4(lua_State *L)
{
	settings.st_ecsv4 = prefix_arg(L, 32, "setECSSourcePrefixV4");
	return 0;
}

static int
l_setecssourceprefixv6(lua_State *L)
{
	settings.st_ecsv6 = prefix_arg(L, 128, "setECSSourcePrefixV6");
	return 0;
}

static int
l_setecsoverride(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_ecsoverride = lua_toboolean(L, 1);
	return 0;
}

static int
l_setudpfailovertimeout(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > 60000)
		return luaL_error(L, "setUDPFailoverTimeout: between 0 and "
		    "60000 ms");
	settings.st_failoverms = (int)n;
	return 0;
}

static int
l_getudpfailovertimeout(lua_State *L)
{
	lua_pushinteger(L, settings.st_failoverms);
	return 1;
}

static int
l_setluamemorylimit(lua_State *L)
{
	lua_Integer	mb = luaL_checkinteger(L, 1);

	if (mb < 16 || mb > 1048576)
		return luaL_error(L, "setLuaMemoryLimit: between 16 and "
		    "1048576 MB");
	dlua_mem_limit = (size_t)mb << 20;
	return 0;
}

static int
l_getluamemoryusage(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)dlua_mem_usage());
	return 1;
}

static int
l_truncatetc(lua_State *L)
{
	settings.st_truncatetc = bool_arg(L);
	return 0;
}

static int
l_setdropemptyqueries(lua_State *L)
{
	settings.st_dropemptyqueries = bool_arg(L);
	return 0;
}

static int
l_setallowemptyresponse(lua_State *L)
{
	atomic_store(&inflight_allow_empty, bool_arg(L));
	return 0;
}

static const luaL_Reg globals[] = {
	{ "truncateTC", l_truncatetc },
	{ "setDropEmptyQueries", l_setdropemptyqueries },
	{ "setAllowEmptyResponse", l_setallowemptyresponse },
	{ "setLuaMemoryLimit", l_setluamemorylimit },
	{ "getLuaMemoryUsage", l_getluamemoryusage },
	{ "setUDPFailoverTimeout", l_setudpfailovertimeout },
	{ "getUDPFailoverTimeout", l_getudpfailovertimeout },
	{ "setECSSourcePrefixV4", l_setecssourceprefixv4 },
	{ "setECSSourcePrefixV6", l_setecssourceprefixv6 },
	{ "setECSOverride", l_setecsoverride },
	{ "setAddEDNSToSelfGeneratedResponses", l_setaddednstoselfgenerated },
	{ "setPayloadSizeOnSelfGeneratedAnswers",
	    l_setpayloadsizeonselfgenerated },
	{ "setUDPSocketBufferSizes", l_setudpsocketbuffersizes },
	{ "setRandomizedIdsOverUDP", l_setrandomizedidsoverudp },
	{ "setTCPFastOpenKey", l_settcpfastopenkey },
	{ "setRandomizedOutgoingSockets", l_setrandomizedoutgoingsockets },
	{ "setLocal", l_setlocal },
	{ "addCapabilitiesToRetain", l_addcapabilitiestoretain },
	{ "addLocal", l_addlocal },
	{ "setACL", l_setacl },
	{ "addACL", l_addacl },
	{ "setProxyProtocolACL", l_setproxyprotocolacl },
	{ "setProxyProtocolApplyACLToProxiedClients",
	    l_setproxyprotocolapplyacl },
	{ "setProxyProtocolMaximumPayloadSize", l_setproxyprotocolmaxsize },
	{ "showACL", l_showacl },
	{ "dumpStats", l_dumpstats },
	{ "getStatisticsCounters", l_getstatisticscounters },
	{ "setSecurityPollSuffix", l_setsecuritypollsuffix },
	{ "setSecurityPollInterval", l_ignore },
	{ "showVersion", l_showversion },
	{ "showConfigGeneration", l_showconfiggeneration },
	{ "setVerbose", l_setverbose },
	{ "getVerbose", l_getverbose },
	{ "shutdown", l_shutdown },
	{ "reloadConfig", l_reloadconfig },
	{ "showBinds", l_showbinds },
	{ "showTCPStats", l_showtcpstats },
	{ "getUDPSocketBufferSizes", l_getudpsocketbuffersizes },
	{ "getSecurityPollSuffix", l_getsecuritypollsuffix },
	{ NULL, NULL }
};

void
dlua_open_config(lua_State *L)
{
	size_t	i;

	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	for (i = 0; i < sizeof(int_settings) / sizeof(int_settings[0]); i++) {
		lua_pushlightuserdata(L, &int_settings[i]);
		lua_pushcclosure(L, l_int_set, 1);
		lua_setglobal(L, int_settings[i].is_set);
		if (int_settings[i].is_get == NULL)
			continue;
		lua_pushlightuserdata(L, &int_settings[i]);
		lua_pushcclosure(L, l_int_get, 1);
		lua_setglobal(L, int_settings[i].is_get);
	}
}
