/*
 * Lua bindings for servers, pools and policies: newServer, getServer,
 * showServers, the Server methods, getPool, setServerPolicy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnspacket.h"
#include "cache.h"
#include "compat/compat.h"
#include "lua.h"
#include "policy.h"
#include "server.h"
#include "settings.h"
#include "uuid.h"

#define SERVER_MT	DLUA_SERVER_MT
#define POLICY_MT	"dnsdist.ServerPolicy"
#define POOL_MT		DLUA_POOL_MT

static void
push_server(lua_State *L, struct server *ds)
{
	struct server	**u;

	u = lua_newuserdata(L, sizeof(*u));
	*u = ds;
	server_ref(ds);
	luaL_setmetatable(L, SERVER_MT);
}

static struct server *
check_server(lua_State *L, int idx)
{
	return server_current(*(struct server **)luaL_checkudata(L, idx,
	    SERVER_MT));
}

static int
l_server_gc(lua_State *L)
{
	struct server	**u = luaL_checkudata(L, 1, SERVER_MT);

	server_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_server_tostring(lua_State *L)
{
	lua_pushstring(L, check_server(L, 1)->ds_name);
	return 1;
}

static void
server_pools_from_lua(lua_State *L, struct server *ds, int idx)
{
	size_t	i, n;

	if (lua_type(L, idx) == LUA_TSTRING) {
		if (server_add_pool(ds, lua_tostring(L, idx)) == -1)
			luaL_error(L, "out of memory");
		return;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L, "'pool' must be a string or a table of strings");
	n = lua_rawlen(L, idx);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "'pool' must be a string or a table of strings");
		if (server_add_pool(ds, lua_tostring(L, -1)) == -1)
			luaL_error(L, "out of memory");
		lua_pop(L, 1);
	}
}

static const char *server_keys[] = {
	"address", "name", "pool", "order", "weight", "qps", "checkName",
	"checkType", "checkClass", "checkInterval", "checkTimeout",
	"maxCheckFailures", "rise", "mustResolve", "tcpRecvTimeout",
	"tcpSendTimeout", "useClientSubnet", "retries", "tcpConnectTimeout",
	"source", "sockets", "id", "healthCheckMode", "reconnectOnUp",
	"setCD", "disableZeroScope", "ipBindAddrNoPort", "tcpFastOpen",
	"tcpOnly", "maxInFlight", "useProxyProtocol", "tls", "subjectName",
	"subjectAddr", "validateCertificates", "caStore", "ciphers",
	"ciphersTLS13", "releaseBuffers", "enableRenegotiation", "addXPF",
	"lazyHealthCheckSampleSize", "lazyHealthCheckMinSampleCount",
	"lazyHealthCheckThreshold", "lazyHealthCheckFailedInterval",
	"lazyHealthCheckMode", "lazyHealthCheckUseExponentialBackOff",
	"lazyHealthCheckMaxBackOff", "lazyHealthCheckWhenUpgraded", "dohPath",
	"addXForwardedHeaders", "autoUpgrade", "autoUpgradeInterval",
	"autoUpgradeKeep", "autoUpgradePool", "autoUpgradeDoHKey", NULL
};

static char *
opt_strdup(lua_State *L, int t, const char *key)
{
	const char	*s = dlua_opt_string(L, t, key, NULL);
	char		*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		luaL_error(L, "out of memory");
	return d;
}

/* DNS over TLS to the server: tls='openssl' or 'gnutls', both libtls. */
static void
server_tls_from_table(lua_State *L, struct server *ds, int t)
{
	const char	*s;

	if ((s = dlua_opt_string(L, t, "tls", NULL)) == NULL)
		return;
#ifdef DNSDIST_NO_TLS
	luaL_error(L, "newServer: tls: DNS over TLS is not built in (built "
	    "with TLS=no)");
#endif
	if (strcmp(s, "openssl") != 0 && strcmp(s, "gnutls") != 0)
		luaL_error(L, "newServer: tls must be 'openssl' or 'gnutls'");
#ifndef DNSDIST_TLS_OPENSSL
	if (dlua_opt_string(L, t, "ciphersTLS13", NULL) != NULL)
		luaL_error(L, "newServer: ciphersTLS13 is not supported: "
		    "libtls has no separate list of TLS 1.3 cipher suites");
#endif
	if (dlua_opt_bool(L, t, "enableRenegotiation", 0))
		luaL_error(L, "newServer: enableRenegotiation is not "
		    "supported: libtls never renegotiates");
	if (!dlua_opt_bool(L, t, "releaseBuffers", 1))
		luaL_error(L, "newServer: releaseBuffers=false is not "
		    "supported: libtls manages its buffers");
	ds->ds_tls = true;
	/* As dnsdist: UDP queries to it go over DNS over TLS too. */
	ds->ds_tcponly = true;
	ds->ds_tlsverify = dlua_opt_bool(L, t, "validateCertificates", 1);
	if ((ds->ds_tlsname = opt_strdup(L, t, "subjectName")) == NULL)
		ds->ds_tlsname = opt_strdup(L, t, "subjectAddr");
	ds->ds_tlsca = opt_strdup(L, t, "caStore");
	ds->ds_tlsciphers = opt_strdup(L, t, "ciphers");
	ds->ds_tlsciphers13 = opt_strdup(L, t, "ciphersTLS13");
}

/*
 * dohPath: DNS over HTTPS to the server, HTTP/2 over TLS with tls set,
 * else in the clear (prior knowledge), as dnsdist; every query, whatever
 * its client's transport, goes that way.
 */
static void
server_doh_from_table(lua_State *L, struct server *ds, int t)
{
	const char	*s;

	if ((s = dlua_opt_string(L, t, "dohPath", NULL)) == NULL) {
		if (dlua_opt_bool(L, t, "addXForwardedHeaders", 0))
			luaL_error(L, "newServer: addXForwardedHeaders needs "
			    "dohPath");
		return;
	}
	if (s[0] != '/')
		luaL_error(L, "newServer: dohPath must start with '/'");
	ds->ds_dohpath = opt_strdup(L, t, "dohPath");
	ds->ds_dohxff = dlua_opt_bool(L, t, "addXForwardedHeaders", 0);
	ds->ds_tcponly = true;
}

/*
 * healthCheckMode: 'auto', 'lazy', 'up' or 'down' (any case, as dnsdist);
 * the forced states are those of setUp() and setDown().
 */
static void
server_mode_from_table(lua_State *L, struct server *ds, int t)
{
	const char	*s;

	if ((s = dlua_opt_string(L, t, "healthCheckMode", NULL)) == NULL)
		return;
	if (strcasecmp(s, "auto") == 0 || strcasecmp(s, "lazy") == 0) {
		atomic_store(&ds->ds_avail, SERVER_AUTO);
		ds->ds_lazy = strcasecmp(s, "lazy") == 0;
	} else if (strcasecmp(s, "up") == 0)
		atomic_store(&ds->ds_avail, SERVER_FORCED_UP);
	else if (strcasecmp(s, "down") == 0)
		atomic_store(&ds->ds_avail, SERVER_FORCED_DOWN);
	else
		luaL_error(L, "newServer: healthCheckMode must be 'auto', "
		    "'lazy', 'up' or 'down'");
}

/* An integer option from lo to hi. */
static int
opt_range(lua_State *L, int t, const char *key, int def, int lo, int hi)
{
	lua_Integer	n = dlua_opt_int(L, t, key, def);

	if (n < lo || n > hi)
		luaL_error(L, "newServer: '%s' must be from %d to %d", key, lo,
		    hi);
	return (int)n;
}

/* The settings of lazy health checks, taken in any mode as by dnsdist. */
static void
server_lazy_from_table(lua_State *L, struct server *ds, int t)
{
	const char	*s;

	ds->ds_lazysize = opt_range(L, t, "lazyHealthCheckSampleSize",
	    ds->ds_lazysize, 1, SERVER_LAZYMAX);
	ds->ds_lazyminsamples = opt_range(L, t,
	    "lazyHealthCheckMinSampleCount", ds->ds_lazyminsamples, 1,
	    ds->ds_lazysize);
	ds->ds_lazythreshold = opt_range(L, t, "lazyHealthCheckThreshold",
	    ds->ds_lazythreshold, 1, 100);
	ds->ds_lazyfailedinterval = opt_range(L, t,
	    "lazyHealthCheckFailedInterval", ds->ds_lazyfailedinterval, 1,
	    INT32_MAX);
	ds->ds_lazymaxbackoff = opt_range(L, t, "lazyHealthCheckMaxBackOff",
	    ds->ds_lazymaxbackoff, 1, INT32_MAX);
	ds->ds_lazybackoff = dlua_opt_bool(L, t,
	    "lazyHealthCheckUseExponentialBackOff", 0);
	if ((s = dlua_opt_string(L, t, "lazyHealthCheckMode", NULL)) != NULL) {
		if (strcmp(s, "TimeoutOnly") != 0 &&
		    strcmp(s, "TimeoutOrServFail") != 0)
			luaL_error(L, "newServer: lazyHealthCheckMode must be "
			    "'TimeoutOnly' or 'TimeoutOrServFail'");
		ds->ds_lazyservfail = strcmp(s, "TimeoutOrServFail") == 0;
	}
	ds->ds_upglazy = dlua_opt_bool(L, t, "lazyHealthCheckWhenUpgraded", 0);
}

/*
 * autoUpgrade: the discovery thread asks a plain server for a designated
 * resolver (RFC 9462) every autoUpgradeInterval seconds until it finds
 * one, as dnsdist; servers over TLS or HTTPS already are not asked.
 */
static void
server_upgrade_from_table(lua_State *L, struct server *ds, int t)
{
	if (!dlua_opt_bool(L, t, "autoUpgrade", 0))
		return;
#ifdef DNSDIST_NO_TLS
	luaL_error(L, "newServer: autoUpgrade: DNS over TLS is not built in "
	    "(built with TLS=no)");
#endif
	ds->ds_upgrade = !ds->ds_tls && ds->ds_dohpath == NULL;
	if (!ds->ds_upgrade)
		return;
	/* What the upgraded server's TLS takes. */
	ds->ds_tlsverify = dlua_opt_bool(L, t, "validateCertificates", 1);
	ds->ds_tlsca = opt_strdup(L, t, "caStore");
	ds->ds_tlsciphers = opt_strdup(L, t, "ciphers");
	ds->ds_upginterval = opt_range(L, t, "autoUpgradeInterval", 3600, 1,
	    INT32_MAX);
	ds->ds_upgkeep = dlua_opt_bool(L, t, "autoUpgradeKeep", 0);
	ds->ds_upgdohkey = (uint16_t)opt_range(L, t, "autoUpgradeDoHKey",
	    7, 0, 65535);
	if ((ds->ds_upgpool = opt_strdup(L, t, "autoUpgradePool")) != NULL &&
	    ds->ds_upgpool[0] == '\0') {
		free(ds->ds_upgpool);
		ds->ds_upgpool = NULL;
	}
}

/* How the sockets to the server are made: tcpFastOpen where the system has it. */
static void
server_tcp_from_table(lua_State *L, struct server *ds, int t)
{
	ds->ds_reconnectonup = dlua_opt_bool(L, t, "reconnectOnUp", 0);
	ds->ds_tcpfastopen = dlua_opt_bool(L, t, "tcpFastOpen", 0);
	if (ds->ds_tcpfastopen && compat_fastopen_connect(-1) == -1 &&
	    errno == EOPNOTSUPP)
		luaL_error(L, "newServer: tcpFastOpen=true is not supported: "
		    "this system has no TCP Fast Open on connect()");
}

static void
server_from_table(lua_State *L, struct server *ds, int t)
{
	const char	*s, *why;
	lua_Integer	 n, xpf;
	int		 type;

	if ((s = dlua_opt_string(L, t, "name", NULL)) != NULL &&
	    server_set_name(ds, s) == -1)
		luaL_error(L, "out of memory");
	if (lua_getfield(L, t, "pool") != LUA_TNIL)
		server_pools_from_lua(L, ds, lua_gettop(L));
	lua_pop(L, 1);
	ds->ds_order = (int)dlua_opt_int(L, t, "order", ds->ds_order);
	ds->ds_weight = (int)dlua_opt_int(L, t, "weight", ds->ds_weight);
	if (ds->ds_weight < 1)
		luaL_error(L, "newServer: 'weight' must be at least 1");
	if (dlua_opt_int(L, t, "qps", 0) > 0)
		server_set_qps(ds, (double)dlua_opt_int(L, t, "qps", 0));
	if ((s = dlua_opt_string(L, t, "checkName", NULL)) != NULL &&
	    server_set_checkname(ds, s) == -1)
		luaL_error(L, "newServer: bad checkName '%s'", s);
	if (lua_getfield(L, t, "checkType") != LUA_TNIL) {
		if (lua_isinteger(L, -1))
			type = (int)lua_tointeger(L, -1);
		else
			type = dnspacket_type_from_text(lua_tostring(L, -1));
		if (type < 0 || type > 65535)
			luaL_error(L, "newServer: bad checkType");
		ds->ds_checktype = (uint16_t)type;
	}
	lua_pop(L, 1);
	ds->ds_checkclass = (uint16_t)dlua_opt_int(L, t, "checkClass",
	    ds->ds_checkclass);
	ds->ds_checkinterval = (int)dlua_opt_int(L, t, "checkInterval",
	    ds->ds_checkinterval);
	ds->ds_checktimeout = (int)dlua_opt_int(L, t, "checkTimeout",
	    ds->ds_checktimeout);
	ds->ds_maxcheckfailures = (int)dlua_opt_int(L, t, "maxCheckFailures",
	    ds->ds_maxcheckfailures);
	ds->ds_rise = (int)dlua_opt_int(L, t, "rise", ds->ds_rise);
	ds->ds_mustresolve = dlua_opt_bool(L, t, "mustResolve", 0);
	ds->ds_setcd = dlua_opt_bool(L, t, "setCD", 0);
	server_mode_from_table(L, ds, t);
	server_lazy_from_table(L, ds, t);
	server_tcp_from_table(L, ds, t);
	ds->ds_useecs = dlua_opt_bool(L, t, "useClientSubnet", 0);
	ds->ds_disablezeroscope = dlua_opt_bool(L, t, "disableZeroScope", 0);
	xpf = dlua_opt_int(L, t, "addXPF", 0);
	if (xpf < 0 || xpf > 65535)
		luaL_error(L, "newServer: addXPF takes a record type, 0 to "
		    "65535");
	ds->ds_xpf = (uint16_t)xpf;
	ds->ds_tcprecvtimeout = (int)dlua_opt_int(L, t, "tcpRecvTimeout",
	    ds->ds_tcprecvtimeout);
	ds->ds_tcpsendtimeout = (int)dlua_opt_int(L, t, "tcpSendTimeout",
	    ds->ds_tcpsendtimeout);
	ds->ds_tcpconnecttimeout = (int)dlua_opt_int(L, t,
	    "tcpConnectTimeout", ds->ds_tcpconnecttimeout);
	ds->ds_retries = (int)dlua_opt_int(L, t, "retries", ds->ds_retries);
	if (ds->ds_tcpconnecttimeout < 1 || ds->ds_retries < 0)
		luaL_error(L, "newServer: 'tcpConnectTimeout' must be at "
		    "least 1 and 'retries' at least 0");
	ds->ds_tcponly = dlua_opt_bool(L, t, "tcpOnly", 0);
	ds->ds_proxyproto = dlua_opt_bool(L, t, "useProxyProtocol", 0);
	server_tls_from_table(L, ds, t);
	server_doh_from_table(L, ds, t);
	server_upgrade_from_table(L, ds, t);
	ds->ds_maxinflight = (int)dlua_opt_int(L, t, "maxInFlight", 0);
	if (ds->ds_maxinflight < 0 || ds->ds_maxinflight > 65535)
		luaL_error(L, "newServer: 'maxInFlight' must be from 0 to 65535");
	n = dlua_opt_int(L, t, "sockets", 1);
	if (n < 1 || n > SERVER_MAXSOCKETS)
		luaL_error(L, "newServer: 'sockets' must be from 1 to %d",
		    SERVER_MAXSOCKETS);
	ds->ds_sockets = (int)n;
	if ((s = dlua_opt_string(L, t, "id", NULL)) != NULL &&
	    uuid_parse(s, ds->ds_id) == -1)
		luaL_error(L, "newServer: bad id '%s': not a UUID", s);
	ds->ds_bindnoport = dlua_opt_bool(L, t, "ipBindAddrNoPort", 1);
	if ((s = dlua_opt_string(L, t, "source", NULL)) != NULL &&
	    server_set_source(ds, s, &why) == -1)
		luaL_error(L, "newServer: bad source '%s': %s", s, why);
	if (ds->ds_checkinterval < 1 || ds->ds_checktimeout < 1 ||
	    ds->ds_maxcheckfailures < 1 || ds->ds_rise < 1)
		luaL_error(L, "newServer: checkInterval, checkTimeout, "
		    "maxCheckFailures and rise must be at least 1");
}

static int
l_newserver(lua_State *L)
{
	struct server	*ds;
	const char	*addr;

	if (lua_type(L, 1) == LUA_TTABLE) {
		dlua_check_keys(L, 1, server_keys, "newServer");
		if ((addr = dlua_opt_string(L, 1, "address", NULL)) == NULL)
			return luaL_error(L, "newServer: 'address' is missing");
	} else
		addr = luaL_checkstring(L, 1);
	if ((ds = server_new(addr)) == NULL)
		return luaL_error(L, "newServer: bad address '%s'", addr);
	/* The userdata owns the creation reference: a Lua error frees it. */
	push_server(L, ds);
	server_unref(ds);
	if (lua_type(L, 1) == LUA_TTABLE)
		server_from_table(L, ds, 1);
	if (server_register(ds) == -1)
		return luaL_error(L, "out of memory");
	dlua_printf("Added downstream server %s\n", ds->ds_addrtext);
	return 1;
}

static struct server *
server_arg(lua_State *L, int idx)
{
	struct server	*ds;
	lua_Integer	 n;

	if (lua_isinteger(L, idx)) {
		n = lua_tointeger(L, idx);
		if ((ds = server_find_num((int)n)) == NULL)
			luaL_error(L, "no server number %d", (int)n);
		return ds;
	}
	return check_server(L, idx);
}

static int
l_getserver(lua_State *L)
{
	push_server(L, server_arg(L, 1));
	return 1;
}

static int
l_getservers(lua_State *L)
{
	size_t	i;

	lua_createtable(L, (int)servers.sr_count, 0);
	for (i = 0; i < servers.sr_count; i++) {
		push_server(L, servers.sr_servers[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
l_rmserver(lua_State *L)
{
	server_unregister(server_arg(L, 1));
	return 0;
}

static void
server_pool_list(const struct server *ds, char *buf, size_t bufsz)
{
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < ds->ds_npools; i++) {
		if (ds->ds_pools[i][0] == '\0')
			continue;
		if (buf[0] != '\0')
			strlcat(buf, " ", bufsz);
		strlcat(buf, ds->ds_pools[i], bufsz);
	}
}

/* A latency in ms, "-" when there is none yet, as dnsdist 1.8. */
static const char *
latency_text(double usec, char *buf, size_t bufsz)
{
	if (usec == 0)
		return "-";
	snprintf(buf, bufsz, "%.1f", usec / 1000.0);
	return buf;
}

/*
 * dnsdist 1.8's columns: a server without a name shows none (its address
 * is next), and the latency over TCP follows the one over UDP.
 */
static int
l_showservers(lua_State *L)
{
	struct server	*ds;
	char		 pools[256], lat[32], tcplat[32];
	double		 totqps = 0;
	uint64_t	 totq = 0, totd = 0;
	size_t		 i;

	(void)L;
	dlua_printf("%-3s %-20.20s %-30.30s%5s %7s %7s %3s %2s %10s %7s %5s "
	    "%5s %5s %11s %s\n", "#", "Name", "Address", "State", "Qps", "Qlim",
	    "Ord", "Wt", "Queries", "Drops", "Drate", "Lat", "TCP",
	    "Outstanding", "Pools");
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		server_pool_list(ds, pools, sizeof(pools));
		dlua_printf("%-3zu %-20.20s %-30.30s%5s %7.1f %7.0f %3d %2d "
		    "%10llu %7llu %5.1f %5s %5s %11d %s\n", i,
		    strcmp(ds->ds_name, ds->ds_addrtext) == 0 ? "" : ds->ds_name,
		    ds->ds_addrtext, server_state_text(ds),
		    atomic_load(&ds->ds_qpsrate), ds->ds_qpslimit,
		    ds->ds_order, ds->ds_weight,
		    (unsigned long long)atomic_load(&ds->ds_queries),
		    (unsigned long long)atomic_load(&ds->ds_drops),
		    atomic_load(&ds->ds_droprate),
		    latency_text(atomic_load(&ds->ds_latency), lat, sizeof(lat)),
		    latency_text(atomic_load(&ds->ds_tcplatency), tcplat,
		    sizeof(tcplat)), atomic_load(&ds->ds_outstanding), pools);
		totqps += atomic_load(&ds->ds_qpsrate);
		totq += atomic_load(&ds->ds_queries);
		totd += atomic_load(&ds->ds_drops);
	}
	dlua_printf("%-3s %-20.20s %-30.30s%5s %7.1f %7s %3s %2s %10llu %7llu "
	    "%5s %5s %5s %11s %s\n", "All", "", "", "", totqps, "", "", "",
	    (unsigned long long)totq, (unsigned long long)totd, "", "", "", "",
	    "");
	return 0;
}

/* Server methods */

static int
l_server_setup(lua_State *L)
{
	atomic_store(&check_server(L, 1)->ds_avail, SERVER_FORCED_UP);
	return 0;
}

static int
l_server_setdown(lua_State *L)
{
	atomic_store(&check_server(L, 1)->ds_avail, SERVER_FORCED_DOWN);
	return 0;
}

/*
 * Auto again, lazy or active health checks (setAuto keeps the mode, as in
 * dnsdist 1.9); an optional argument gives the state until the next check.
 */
static int
server_auto(lua_State *L, int lazy)
{
	struct server	*ds = check_server(L, 1);

	if (lua_gettop(L) >= 2)
		atomic_store(&ds->ds_healthy, lua_toboolean(L, 2));
	if (lazy != -1 && ds->ds_lazy != lazy) {
		/* The health checks take the state up from here. */
		atomic_store(&ds->ds_lazyon, false);
		server_lazy_clear(ds);
		ds->ds_lazystate = SERVER_LAZY_HEALTHY;
		ds->ds_lazy = lazy;
	}
	atomic_store(&ds->ds_avail, SERVER_AUTO);
	return 0;
}

static int
l_server_setauto(lua_State *L)
{
	return server_auto(L, -1);
}

static int
l_server_setlazyauto(lua_State *L)
{
	return server_auto(L, 1);
}

static int
l_server_setactiveauto(lua_State *L)
{
	return server_auto(L, 0);
}

static int
l_server_gethealthcheckmode(lua_State *L)
{
	lua_pushstring(L, check_server(L, 1)->ds_lazy ? "lazy" : "active");
	return 1;
}

/* Queries that timed out: dnsdist's "reuseds", showServers' Drops. */
static int
l_server_getdrops(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)atomic_load(&check_server(L,
	    1)->ds_drops));
	return 1;
}

static int
l_server_isup(lua_State *L)
{
	lua_pushboolean(L, server_is_up(check_server(L, 1)));
	return 1;
}

static int
l_server_addpool(lua_State *L)
{
	if (server_add_pool(check_server(L, 1), luaL_checkstring(L, 2)) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_server_rmpool(lua_State *L)
{
	server_rm_pool(check_server(L, 1), luaL_checkstring(L, 2));
	return 0;
}

static int
l_server_getpools(lua_State *L)
{
	struct server	*ds = check_server(L, 1);
	size_t		 i;

	lua_createtable(L, (int)ds->ds_npools, 0);
	for (i = 0; i < ds->ds_npools; i++) {
		lua_pushstring(L, ds->ds_pools[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
l_server_getoutstanding(lua_State *L)
{
	lua_pushinteger(L, atomic_load(&check_server(L, 1)->ds_outstanding));
	return 1;
}

static int
l_server_getname(lua_State *L)
{
	lua_pushstring(L, check_server(L, 1)->ds_name);
	return 1;
}

static int
l_server_getid(lua_State *L)
{
	lua_pushstring(L, check_server(L, 1)->ds_id);
	return 1;
}

static int
l_server_getnamewithaddr(lua_State *L)
{
	char	buf[256];

	lua_pushstring(L, server_display(check_server(L, 1), buf,
	    sizeof(buf)));
	return 1;
}

static int
l_server_setqps(lua_State *L)
{
	server_set_qps(check_server(L, 1), luaL_checknumber(L, 2));
	return 0;
}

static int
l_server_getlatency(lua_State *L)
{
	lua_pushnumber(L, atomic_load(&check_server(L, 1)->ds_latency));
	return 1;
}

/* Health-check figures: failed checks and up/down transitions. */
static int
l_server_gethealthcheckstats(lua_State *L)
{
	struct server	*ds = check_server(L, 1);

	lua_createtable(L, 0, 2);
	lua_pushinteger(L, (lua_Integer)atomic_load(&ds->ds_hcfailures));
	lua_setfield(L, -2, "failures");
	lua_pushinteger(L, (lua_Integer)atomic_load(&ds->ds_hcchanges));
	lua_setfield(L, -2, "stateChanges");
	return 1;
}

/* A server's weight or order changes its pools' rings and lists. */
static void
server_set_int(lua_State *L, int *field, int idx, const char *what,
    lua_Integer lo)
{
	lua_Integer	 n = luaL_checkinteger(L, idx);

	if (n < lo || n > INT32_MAX)
		luaL_error(L, "%s must be from %d to %d", what, (int)lo,
		    INT32_MAX);
	*field = (int)n;
	pool_rebuild_all();
}

static int
l_server_setweight(lua_State *L)
{
	server_set_int(L, &check_server(L, 1)->ds_weight, 2, "weight", 1);
	return 0;
}

/*
 * The members dnsdist gives a server, read and written as fields: name,
 * upStatus (the verdict of the health checks), weight and order; anything
 * else is a method.
 */
static int
l_server_index(lua_State *L)
{
	struct server	*ds = check_server(L, 1);
	const char	*k = luaL_checkstring(L, 2);

	if (strcmp(k, "name") == 0)
		lua_pushstring(L, ds->ds_name);
	else if (strcmp(k, "upStatus") == 0)
		lua_pushboolean(L, atomic_load(&ds->ds_healthy));
	else if (strcmp(k, "weight") == 0)
		lua_pushinteger(L, ds->ds_weight);
	else if (strcmp(k, "order") == 0)
		lua_pushinteger(L, ds->ds_order);
	else
		lua_getfield(L, lua_upvalueindex(1), k);
	return 1;
}

static int
l_server_newindex(lua_State *L)
{
	struct server	*ds = check_server(L, 1);
	const char	*k = luaL_checkstring(L, 2);

	/* Health is shared state; the rest is the configuration's. */
	if (dlua_in_hook > 0 && strcmp(k, "upStatus") != 0)
		return luaL_error(L, "Server.%s: cannot change the "
		    "configuration from a packet hook", k);
	if (strcmp(k, "name") == 0) {
		if (server_set_name(ds, luaL_checkstring(L, 3)) == -1)
			return luaL_error(L, "out of memory");
	} else if (strcmp(k, "upStatus") == 0) {
		luaL_checktype(L, 3, LUA_TBOOLEAN);
		atomic_store(&ds->ds_healthy, lua_toboolean(L, 3));
	} else if (strcmp(k, "weight") == 0)
		server_set_int(L, &ds->ds_weight, 3, "weight", 1);
	else if (strcmp(k, "order") == 0)
		server_set_int(L, &ds->ds_order, 3, "order", INT32_MIN);
	else
		return luaL_error(L, "Server has no member '%s'", k);
	return 0;
}

/* Policies */

static void
push_policy(lua_State *L, int kind)
{
	int	*u = lua_newuserdata(L, sizeof(*u));

	*u = kind;
	luaL_setmetatable(L, POLICY_MT);
}

static int
l_policy_tostring(lua_State *L)
{
	lua_pushstring(L, policy_name(*(int *)luaL_checkudata(L, 1,
	    POLICY_MT)));
	return 1;
}

static int
l_setserverpolicy(lua_State *L)
{
	atomic_store(&policy_global, *(int *)luaL_checkudata(L, 1, POLICY_MT));
	pool_rebuild_all();
	return 0;
}

static int
l_getserverpolicy(lua_State *L)
{
	push_policy(L, atomic_load(&policy_global));
	return 1;
}

static int
l_showserverpolicy(lua_State *L)
{
	(void)L;
	dlua_printf("%s\n", policy_name(atomic_load(&policy_global)));
	return 0;
}

static int
l_setpoolserverpolicy(lua_State *L)
{
	int		 kind = *(int *)luaL_checkudata(L, 1, POLICY_MT);
	struct pool	*pl = pool_get(luaL_checkstring(L, 2), true);

	if (pl == NULL)
		return luaL_error(L, "out of memory");
	pl->pl_policy = kind;
	pool_rebuild(pl);
	return 0;
}

/*
 * Policies in Lua: f(servers, dq) returns one of the servers.  A built-in
 * policy can be applied to any list of servers from Lua with
 * policy.policy(servers, dq), which is how split-horizon set-ups hand the
 * choice to leastOutstanding over another pool.
 */
#define LUAPOLICY_MAX	64

static struct {
	char	lp_name[64];
	struct luafn *lp_fn;	/* NULL: its state is gone */
}		luapolicies[LUAPOLICY_MAX];
static int	nluapolicies;
static _Thread_local uint64_t policy_rnd = 0x2545f4914f6cdd1dULL;
static _Atomic unsigned	policy_apply_rr;

static const char *
luapolicy_name(int kind)
{
	kind -= POLICY_COUNT;
	return kind >= 0 && kind < nluapolicies ? luapolicies[kind].lp_name :
	    "unknown";
}

static void
push_servers(lua_State *L, struct server **list, size_t n)
{
	size_t	i;

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		push_server(L, list[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static struct server *
luapolicy_select(int kind, struct pool *pl, const struct dnsquestion *q)
{
	lua_State	*L;
	struct server	*ds = NULL, **u;
	int		 idx = kind - POLICY_COUNT, rc;

	if (idx < 0 || idx >= nluapolicies)
		return NULL;
	dlua_lock();
	if (luapolicies[idx].lp_fn == NULL ||
	    (L = dlua_fn_push(luapolicies[idx].lp_fn)) == NULL) {
		dlua_unlock();
		return NULL;
	}
	push_servers(L, pl->pl_servers, pl->pl_count);
	/* The policy sees the question: a table with qname, qtype, qclass. */
	lua_createtable(L, 0, 3);
	dlua_push_dnsname(L, q->q_name, q->q_namelen);
	lua_setfield(L, -2, "qname");
	lua_pushinteger(L, q->q_type);
	lua_setfield(L, -2, "qtype");
	lua_pushinteger(L, q->q_class);
	lua_setfield(L, -2, "qclass");
	dlua_hook_begin(L, DLUA_HOOK_BUDGET);
	rc = lua_pcall(L, 2, 1, 0);
	dlua_hook_end(L);
	if (rc != LUA_OK) {
		atomic_fetch_add(&dlua_hook_errors, 1);
		if (dlua_host.h_hook_error != NULL)
			dlua_host.h_hook_error(lua_tostring(L, -1) ?
			    lua_tostring(L, -1) : "policy error");
	} else if ((u = luaL_testudata(L, -1, SERVER_MT)) != NULL)
		ds = *u;
	lua_pop(L, 1);
	dlua_unlock();
	/* The pool keeps a reference while the configuration lock is held. */
	return ds;
}

static int
luapolicy_new(lua_State *L, const char *name, int fidx)
{
	int	i;

	luaL_checktype(L, fidx, LUA_TFUNCTION);
	/*
	 * The same name from the same state replaces; a reloaded
	 * configuration (another state) gets slots of its own, as the old
	 * one's may still be in use until it is released.
	 */
	for (i = 0; i < nluapolicies; i++)
		if (luapolicies[i].lp_fn != NULL &&
		    dlua_fn_in(luapolicies[i].lp_fn, L) &&
		    strcmp(luapolicies[i].lp_name, name) == 0)
			break;
	if (i == nluapolicies)
		for (i = 0; i < nluapolicies; i++)
			if (luapolicies[i].lp_fn == NULL)
				break;
	if (i == LUAPOLICY_MAX)
		return luaL_error(L, "too many Lua policies");
	if (i == nluapolicies)
		nluapolicies++;
	else if (luapolicies[i].lp_fn != NULL)
		dlua_fn_release(luapolicies[i].lp_fn);
	snprintf(luapolicies[i].lp_name, sizeof(luapolicies[i].lp_name), "%s",
	    name);
	if ((luapolicies[i].lp_fn = dlua_fn_new(L, fidx)) == NULL)
		return luaL_error(L, "out of memory");
	return POLICY_COUNT + i;
}

void
dlua_policies_forget(lua_State *L)
{
	int	i;

	for (i = 0; i < nluapolicies; i++)
		if (luapolicies[i].lp_fn != NULL &&
		    dlua_fn_in(luapolicies[i].lp_fn, L)) {
			dlua_fn_release(luapolicies[i].lp_fn);
			luapolicies[i].lp_fn = NULL;
		}
}

static int
l_newserverpolicy(lua_State *L)
{
	push_policy(L, luapolicy_new(L, luaL_checkstring(L, 1), 2));
	return 1;
}

static int
l_setserverpolicylua(lua_State *L)
{
	atomic_store(&policy_global, luapolicy_new(L, luaL_checkstring(L, 1),
	    2));
	pool_rebuild_all();
	return 0;
}

static int
l_setpoolserverpolicylua(lua_State *L)
{
	int		 kind = luapolicy_new(L, luaL_checkstring(L, 1), 2);
	struct pool	*pl = pool_get(luaL_checkstring(L, 3), true);

	if (pl == NULL)
		return luaL_error(L, "out of memory");
	pl->pl_policy = kind;
	pool_rebuild(pl);
	return 0;
}

static int
l_showpoolserverpolicy(lua_State *L)
{
	struct pool	*pl = pool_get(luaL_checkstring(L, 1), false);

	if (pl == NULL)
		return luaL_error(L, "no pool '%s'", lua_tostring(L, 1));
	dlua_printf("%s\n", policy_name(pl->pl_policy < 0 ?
	    atomic_load(&policy_global) : pl->pl_policy));
	return 0;
}

/* policy.policy(servers, dq): the policy over a list of servers. */
static int
l_policy_apply(lua_State *L)
{
	int		 kind = *(int *)luaL_checkudata(L, lua_upvalueindex(1),
			    POLICY_MT);
	struct pool	 tmp;
	struct dnsquestion q;
	struct server	*ds;
	size_t		 i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	memset(&tmp, 0, sizeof(tmp));
	memset(&q, 0, sizeof(q));
	tmp.pl_policy = kind;
	n = lua_rawlen(L, 1);
	if ((tmp.pl_servers = calloc(n + 1, sizeof(ds))) == NULL)
		return luaL_error(L, "out of memory");
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		tmp.pl_servers[tmp.pl_count++] = check_server(L, -1);
		lua_pop(L, 1);
	}
	/* The question, for the hashed policies: dq.qname. */
	if (lua_type(L, 2) == LUA_TTABLE || lua_type(L, 2) == LUA_TUSERDATA) {
		lua_getfield(L, 2, "qname");
		if (lua_type(L, -1) == LUA_TUSERDATA) {
			lua_getfield(L, -1, "toString");
			lua_pushvalue(L, -2);
			lua_call(L, 1, 1);
			dnsname_from_text(lua_tostring(L, -1), q.q_name,
			    &q.q_namelen);
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	if (q.q_namelen == 0)
		dnsname_from_text(".", q.q_name, &q.q_namelen);
	if (kind == POLICY_CHASHED)
		pool_rebuild(&tmp);
	/* roundrobin turns across calls, not within one temporary pool. */
	atomic_store(&tmp.pl_rr, atomic_fetch_add(&policy_apply_rr, 1));
	ds = kind < POLICY_COUNT ? pool_select(&tmp, &q, 0, &policy_rnd) :
	    NULL;
	free(tmp.pl_ring);
	free(tmp.pl_servers);
	if (ds == NULL)
		lua_pushnil(L);
	else
		push_server(L, ds);
	return 1;
}

/*
 * A policy's members, as dnsdist's ServerPolicy has them: policy is the
 * Lua function of a Lua policy (nil once its state is gone) and a function
 * over a list of servers for a built-in one; FFI policies do not exist
 * here, so isFFI is false and ffipolicy nil.
 */
static int
l_policy_index(lua_State *L)
{
	int			 kind = *(int *)luaL_checkudata(L, 1, POLICY_MT);
	const char		*k = luaL_checkstring(L, 2);
	const struct luafn	*fn;

	if (strcmp(k, "policy") == 0) {
		if (kind < POLICY_COUNT) {
			lua_pushvalue(L, 1);
			lua_pushcclosure(L, l_policy_apply, 1);
		} else if ((fn = luapolicies[kind - POLICY_COUNT].lp_fn) !=
		    NULL && dlua_fn_in(fn, L))
			lua_rawgeti(L, LUA_REGISTRYINDEX, fn->fn_ref);
		else
			lua_pushnil(L);
	} else if (strcmp(k, "name") == 0)
		lua_pushstring(L, policy_name(kind));
	else if (strcmp(k, "isLua") == 0)
		lua_pushboolean(L, kind >= POLICY_COUNT);
	else if (strcmp(k, "isFFI") == 0 || strcmp(k, "isPerThread") == 0)
		lua_pushboolean(L, 0);
	else if (strcmp(k, "toString") == 0)
		lua_pushcfunction(L, l_policy_tostring);
	else
		lua_pushnil(L);
	return 1;
}

static int
l_setwhashedpertubation(lua_State *L)
{
	policy_hash_perturbation = (uint32_t)luaL_checkinteger(L, 1);
	pool_rebuild_all();
	return 0;
}

static int
l_getservfailwhennoserver(lua_State *L)
{
	lua_pushboolean(L, settings.st_servfailwhennoserver);
	return 1;
}

static int
l_getwhashedpertubation(lua_State *L)
{
	lua_pushinteger(L, policy_hash_perturbation);
	return 1;
}

static int
l_setservfailwhennoserver(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_servfailwhennoserver = lua_toboolean(L, 1);
	return 0;
}

/* Pools */

static struct pool *
check_pool(lua_State *L, int idx)
{
	struct pool	*pl;

	pl = pool_get(*(const char **)luaL_checkudata(L, idx, POOL_MT), true);
	if (pl == NULL)
		luaL_error(L, "out of memory");
	return pl;
}

static int
l_getpool(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	**u;

	/* Making a pool changes the configuration; finding one does not. */
	if (dlua_in_hook > 0 && pool_get(name, false) == NULL)
		return luaL_error(L, "getPool: cannot change the "
		    "configuration from a packet hook (no pool '%s')", name);
	if (pool_get(name, true) == NULL)
		return luaL_error(L, "out of memory");
	u = lua_newuserdata(L, sizeof(*u));
	/* Pools live as long as the daemon: keep the pool's own copy. */
	*u = pool_get(name, false)->pl_name;
	luaL_setmetatable(L, POOL_MT);
	return 1;
}

static int
l_pool_tostring(lua_State *L)
{
	lua_pushstring(L, check_pool(L, 1)->pl_name);
	return 1;
}

static int
l_pool_getservers(lua_State *L)
{
	struct pool	*pl = check_pool(L, 1);
	size_t		 i;

	lua_createtable(L, (int)pl->pl_count, 0);
	for (i = 0; i < pl->pl_count; i++) {
		push_server(L, pl->pl_servers[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
l_pool_setpolicy(lua_State *L)
{
	check_pool(L, 1)->pl_policy = *(int *)luaL_checkudata(L, 2, POLICY_MT);
	return 0;
}

static int
l_pool_countup(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)pool_count_up(check_pool(L, 1)));
	return 1;
}

static int
l_getpoolservers(lua_State *L)
{
	struct pool	*pl = pool_get(luaL_checkstring(L, 1), false);
	size_t		 i;

	lua_newtable(L);
	for (i = 0; pl != NULL && i < pl->pl_count; i++) {
		push_server(L, pl->pl_servers[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
l_showpools(lua_State *L)
{
	struct pcache_stats	 st;
	struct pool		*pl;
	char			 cache[48];
	size_t			 i, j;

	(void)L;
	dlua_printf("%-40s %-12s %20s %s\n", "Name", "Cache", "ServerPolicy",
	    "Servers");
	for (i = 0; i < servers.sr_npools; i++) {
		pl = servers.sr_pools[i];
		cache[0] = '\0';
		if (pl->pl_cache != NULL) {
			pcache_get_stats(pl->pl_cache, &st);
			snprintf(cache, sizeof(cache), "%llu/%llu",
			    (unsigned long long)st.entries,
			    (unsigned long long)st.maxentries);
		}
		dlua_printf("%-40s %-12s %20s", pl->pl_name, cache,
		    pl->pl_policy < 0 ? "" : policy_name(pl->pl_policy));
		for (j = 0; j < pl->pl_count; j++)
			dlua_printf("%s%s", j ? ", " : " ",
			    pl->pl_servers[j]->ds_name);
		dlua_printf("\n");
	}
	return 0;
}

static const luaL_Reg server_methods[] = {
	{ "setUp", l_server_setup },
	{ "setDown", l_server_setdown },
	{ "setAuto", l_server_setauto },
	{ "setLazyAuto", l_server_setlazyauto },
	{ "setActiveAuto", l_server_setactiveauto },
	{ "getHealthCheckMode", l_server_gethealthcheckmode },
	{ "getDrops", l_server_getdrops },
	{ "isUp", l_server_isup },
	{ "addPool", l_server_addpool },
	{ "rmPool", l_server_rmpool },
	{ "getPools", l_server_getpools },
	{ "getOutstanding", l_server_getoutstanding },
	{ "getName", l_server_getname },
	{ "getID", l_server_getid },
	{ "getNameWithAddr", l_server_getnamewithaddr },
	{ "setQPS", l_server_setqps },
	{ "getLatency", l_server_getlatency },
	{ "setWeight", l_server_setweight },
	{ "getHealthCheckStats", l_server_gethealthcheckstats },
	{ NULL, NULL }
};

static const luaL_Reg pool_methods[] = {
	{ "getServers", l_pool_getservers },
	{ "setServerPolicy", l_pool_setpolicy },
	{ "countServers", l_pool_countup },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "newServer", l_newserver },
	{ "getServer", l_getserver },
	{ "getServers", l_getservers },
	{ "rmServer", l_rmserver },
	{ "showServers", l_showservers },
	{ "setServerPolicy", l_setserverpolicy },
	{ "getServerPolicy", l_getserverpolicy },
	{ "showServerPolicy", l_showserverpolicy },
	{ "setPoolServerPolicy", l_setpoolserverpolicy },
	{ "setWHashedPertubation", l_setwhashedpertubation },
	{ "newServerPolicy", l_newserverpolicy },
	{ "setServerPolicyLua", l_setserverpolicylua },
	{ "setPoolServerPolicyLua", l_setpoolserverpolicylua },
	{ "showPoolServerPolicy", l_showpoolserverpolicy },
	{ "setServFailWhenNoServer", l_setservfailwhennoserver },
	{ "getServFailWhenNoServer", l_getservfailwhennoserver },
	{ "getWHashedPertubation", l_getwhashedpertubation },
	{ "getPool", l_getpool },
	{ "getPoolServers", l_getpoolservers },
	{ "showPools", l_showpools },
	{ NULL, NULL }
};

void
dlua_open_server(lua_State *L)
{
	int	i;

	dlua_new_type(L, SERVER_MT, server_methods, l_server_tostring,
	    l_server_gc);
	/* Members first, then the methods (also in __methods, for lists). */
	luaL_getmetatable(L, SERVER_MT);
	lua_getfield(L, -1, "__index");
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__methods");
	lua_pushcclosure(L, l_server_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_server_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pop(L, 1);
	dlua_new_type(L, POLICY_MT, NULL, l_policy_tostring, NULL);
	luaL_getmetatable(L, POLICY_MT);
	lua_pushcfunction(L, l_policy_index);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	policy_lua_select = luapolicy_select;
	policy_lua_name = luapolicy_name;
	dlua_new_type(L, POOL_MT, pool_methods, l_pool_tostring, NULL);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	for (i = 0; i < POLICY_COUNT; i++) {
		push_policy(L, i);
		lua_setglobal(L, policy_name(i));
	}
}
