/*
 * dnsdist's smaller functions: logging from Lua, custom metrics, the
 * Netmask and QPSLimiter objects, includeDirectory, the ACL from a file,
 * the host's interfaces and resolvers, and the tunables of dnsdist's
 * design that have nothing to tune here.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "compat/compat.h"
#include "lua.h"
#include "netmask.h"
#include "policy.h"
#include "qps.h"
#include "server.h"
#include "settings.h"
#include "stats.h"

#define NETMASK_MT	"dnsdist.Netmask"
#define QPSLIMITER_MT	"dnsdist.QPSLimiter"
#define BIND_MT		"dnsdist.ClientState"
#define ENDPOINT_MT	"dnsdist.NetworkEndpoint"

static void
misc_log(int pri, const char *msg)
{
	if (dlua_host.h_log != NULL)
		dlua_host.h_log(pri, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

/* infolog(), warnlog(), errlog(), vinfolog(): the priority is an upvalue. */
static int
l_log(lua_State *L)
{
	int	pri = (int)lua_tointeger(L, lua_upvalueindex(1));

	/* The host logs LOG_DEBUG only when verbose (-v, setVerbose). */
	if (pri == LOG_DEBUG && dlua_host.h_log == NULL && !settings.st_verbose)
		return 0;
	misc_log(pri, luaL_checkstring(L, 1));
	return 0;
}

/* Custom metrics. */

static int
l_declaremetric(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*type = luaL_checkstring(L, 2);
	const char	*help = luaL_checkstring(L, 3);
	const char	*prom = luaL_optstring(L, 4, NULL);
	char		 msg[256];

	if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0) {
		snprintf(msg, sizeof(msg), "declareMetric: unable to declare "
		    "metric '%s': the type must be 'counter' or 'gauge'", name);
		misc_log(LOG_ERR, msg);
		lua_pushboolean(L, 0);
		return 1;
	}
	if (stats_declare(name, type[0] == 'g', help, prom) == -1) {
		snprintf(msg, sizeof(msg), "declareMetric: unable to declare "
		    "metric '%s': %s", name, errno == EINVAL ? "invalid name "
		    "(lower case letters, digits and '-'), or declared with "
		    "another type" : errno == EEXIST ? "a built-in metric" :
		    errno == ENOSPC ? "too many metrics" : strerror(errno));
		misc_log(LOG_ERR, msg);
		lua_pushboolean(L, 0);
		return 1;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static void
push_metric(lua_State *L, double v)
{
	if (v == (double)(lua_Integer)v)
		lua_pushinteger(L, (lua_Integer)v);
	else
		lua_pushnumber(L, v);
}

/* incMetric(name[, step]), decMetric(name[, step]): counters only. */
static int
l_incmetric(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	lua_Integer	 step = luaL_optinteger(L, 2, 1);
	int		 sign = (int)lua_tointeger(L, lua_upvalueindex(1));
	double		 v;

	if (step < 0)
		return luaL_argerror(L, 2, "negative step");
	if (stats_custom_update(name, false, (double)(sign * step), &v) == -1)
		return luaL_error(L, "%s: no counter '%s' (declareMetric)",
		    sign > 0 ? "incMetric" : "decMetric", name);
	push_metric(L, v);
	return 1;
}

static int
l_setmetric(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	double		 v = luaL_checknumber(L, 2);

	if (stats_custom_update(name, true, v, &v) == -1)
		return luaL_error(L, "setMetric: no gauge '%s' (declareMetric)",
		    name);
	push_metric(L, v);
	return 1;
}

static int
l_getmetric(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	double		 v;
	bool		 gauge;

	if (stats_custom_get(name, &v, &gauge) == -1)
		return luaL_error(L, "getMetric: no metric '%s' "
		    "(declareMetric)", name);
	push_metric(L, v);
	return 1;
}

/* Netmask objects. */

static struct netmask *
check_netmask(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, NETMASK_MT);
}

/* newNetmask("192.0.2.0/24") or newNetmask(ComboAddress, bits). */
static int
l_newnetmask(lua_State *L)
{
	struct netmask		 nm;
	struct sockaddr		*sa;
	const char		*s;
	lua_Integer		 bits;

	if (lua_type(L, 1) == LUA_TUSERDATA) {
		sa = luaL_checkudata(L, 1, "dnsdist.ComboAddress");
		bits = luaL_checkinteger(L, 2);
		if (bits < 0 || bits > (sa->sa_family == AF_INET ? 32 : 128) ||
		    netmask_from_sockaddr(sa, (int)bits, (int)bits, &nm) == -1)
			return luaL_error(L, "newNetmask: bad prefix length "
			    "%d", (int)bits);
	} else {
		s = luaL_checkstring(L, 1);
		if (s[0] == '!' || netmask_parse(s, &nm) == -1)
			return luaL_error(L, "newNetmask: bad netmask '%s'", s);
	}
	*(struct netmask *)lua_newuserdata(L, sizeof(nm)) = nm;
	luaL_setmetatable(L, NETMASK_MT);
	return 1;
}

static int
l_nm_tostring(lua_State *L)
{
	char	buf[NETMASK_MAXTEXT];

	lua_pushstring(L, netmask_to_text(check_netmask(L, 1), buf,
	    sizeof(buf)));
	return 1;
}

static int
l_nm_getbits(lua_State *L)
{
	lua_pushinteger(L, check_netmask(L, 1)->nm_bits);
	return 1;
}

static int
l_nm_empty(lua_State *L)
{
	lua_pushboolean(L, check_netmask(L, 1)->nm_family == 0);
	return 1;
}

static int
l_nm_isv4(lua_State *L)
{
	lua_pushboolean(L, check_netmask(L, 1)->nm_family == AF_INET);
	return 1;
}

static int
l_nm_isv6(lua_State *L)
{
	lua_pushboolean(L, check_netmask(L, 1)->nm_family == AF_INET6);
	return 1;
}

/* The network as a ComboAddress (host bits are always cleared here). */
static int
l_nm_getnetwork(lua_State *L)
{
	struct sockaddr_storage	 ss;

	netmask_network(check_netmask(L, 1), &ss);
	dlua_push_ca(L, (struct sockaddr *)&ss);
	return 1;
}

static int
l_nm_match(lua_State *L)
{
	struct netmask		*nm = check_netmask(L, 1);
	struct sockaddr_storage	 ss;
	struct sockaddr		*sa;
	socklen_t		 len;
	const char		*s;

	if (lua_type(L, 2) == LUA_TUSERDATA)
		sa = luaL_checkudata(L, 2, "dnsdist.ComboAddress");
	else {
		s = luaL_checkstring(L, 2);
		if (addr_parse(s, 0, &ss, &len) == -1)
			return luaL_error(L, "match: bad address '%s'", s);
		sa = (struct sockaddr *)&ss;
	}
	lua_pushboolean(L, netmask_match(nm, sa));
	return 1;
}

static int
l_nm_eq(lua_State *L)
{
	struct netmask	*a = check_netmask(L, 1);
	struct netmask	*b = check_netmask(L, 2);

	lua_pushboolean(L, a->nm_family == b->nm_family &&
	    a->nm_bits == b->nm_bits &&
	    memcmp(a->nm_addr, b->nm_addr, sizeof(a->nm_addr)) == 0);
	return 1;
}

static const luaL_Reg netmask_methods[] = {
	{ "toString", l_nm_tostring },
	{ "getBits", l_nm_getbits },
	{ "empty", l_nm_empty },
	{ "isIPv4", l_nm_isv4 },
	{ "isIpv4", l_nm_isv4 },
	{ "isIPv6", l_nm_isv6 },
	{ "isIpv6", l_nm_isv6 },
	{ "getNetwork", l_nm_getnetwork },
	{ "getMaskedNetwork", l_nm_getnetwork },
	{ "match", l_nm_match },
	{ NULL, NULL }
};

/*
 * newNetworkEndpoint(path): a datagram socket connected to the Unix
 * socket path, for :send(); :isValid() is false when it could not be
 * connected.  Sends never wait: a full socket makes :send() false.
 */
static int
l_newnetworkendpoint(lua_State *L)
{
	const char		*path = luaL_checkstring(L, 1);
	struct sockaddr_un	 sun;
	int			*fd;

	fd = lua_newuserdata(L, sizeof(*fd));
	*fd = -1;
	luaL_setmetatable(L, ENDPOINT_MT);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path) ||
	    (*fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;
	if (connect(*fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(*fd);
		*fd = -1;
	}
	return 1;
}

static int
l_ep_isvalid(lua_State *L)
{
	lua_pushboolean(L, *(int *)luaL_checkudata(L, 1, ENDPOINT_MT) != -1);
	return 1;
}

static int
l_ep_send(lua_State *L)
{
	int		 fd = *(int *)luaL_checkudata(L, 1, ENDPOINT_MT);
	size_t		 len;
	const char	*p = luaL_checklstring(L, 2, &len);

	/* As dnsdist: an empty datagram is not sent. */
	lua_pushboolean(L, fd != -1 && len > 0 &&
	    send(fd, p, len, MSG_DONTWAIT) == (ssize_t)len);
	return 1;
}

static int
l_ep_gc(lua_State *L)
{
	int	*fd = luaL_checkudata(L, 1, ENDPOINT_MT);

	if (*fd != -1)
		close(*fd);
	*fd = -1;
	return 0;
}

static const luaL_Reg endpoint_methods[] = {
	{ "isValid", l_ep_isvalid },
	{ "send", l_ep_send },
	{ NULL, NULL }
};

/* newQPSLimiter(rate, burst): a token bucket; :check() takes a token. */
static int
l_newqpslimiter(lua_State *L)
{
	lua_Integer	 rate = luaL_checkinteger(L, 1);
	lua_Integer	 burst = luaL_checkinteger(L, 2);
	struct qps	*q;

	if (rate < 0 || burst < 0)
		return luaL_error(L, "newQPSLimiter: rate and burst must not "
		    "be negative");
	q = lua_newuserdata(L, sizeof(*q));
	qps_init(q, (double)rate, (double)burst, dlua_mono_ns());
	luaL_setmetatable(L, QPSLIMITER_MT);
	return 1;
}

static int
l_qps_check(lua_State *L)
{
	lua_pushboolean(L, qps_take(luaL_checkudata(L, 1, QPSLIMITER_MT),
	    dlua_mono_ns()));
	return 1;
}

static const luaL_Reg qps_methods[] = {
	{ "check", l_qps_check },
	{ NULL, NULL }
};

/*
 * getBind(n): the frontends as showBinds() numbers them, the UDP then the
 * TCP socket of each listener (a TLS one has only the TCP one).
 */
static int
l_getbindcount(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)settings_nbinds());
	return 1;
}

static int
l_getbind(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || (size_t)n >= settings_nbinds())
		return luaL_error(L, "getBind: no frontend %d (getBindCount() "
		    "is %d)", (int)n, (int)settings_nbinds());
	*(size_t *)lua_newuserdata(L, sizeof(size_t)) = (size_t)n;
	luaL_setmetatable(L, BIND_MT);
	return 1;
}

static struct local *
bind_sock(lua_State *L, bool *tcp)
{
	size_t	n = *(size_t *)luaL_checkudata(L, 1, BIND_MT), i;

	if (settings_bind(n, &i, tcp) == -1)
		luaL_error(L, "the frontend is gone");
	return &settings.st_locals[i];
}

static struct local *
bind_arg(lua_State *L)
{
	bool	tcp;

	return bind_sock(L, &tcp);
}

/* bind:getType(), in dnsdist's words: "UDP", "TCP (DNS over TLS)", ... */
static int
l_bind_gettype(lua_State *L)
{
	bool		 tcp;
	struct local	*lc = bind_sock(L, &tcp);

	lua_pushstring(L, tcp ? "TCP" : "UDP");
	if (lc->lc_doh != NULL)
		lua_pushliteral(L, " (DNS over HTTPS)");
	else if (tcp && lc->lc_tls != NULL)
		lua_pushliteral(L, " (DNS over TLS)");
	else if (lc->lc_dnscrypt != NULL)
		lua_pushliteral(L, " (DNSCrypt)");
	else
		lua_pushliteral(L, "");
	lua_concat(L, 2);
	return 1;
}

/* What addTLSLocal's provider asked for; DoH is "openssl" as in dnsdist. */
static int
l_bind_configuredtls(lua_State *L)
{
	struct local	*lc = bind_arg(L);

	lua_pushstring(L, lc->lc_tls != NULL ? lc->lc_tls->tl_provider :
	    lc->lc_doh != NULL ? "openssl" : "");
	return 1;
}

/*
 * bind.muted: a muted UDP frontend takes queries and sends no answer, as
 * dnsdist's does (for a listener that sees a copy of traffic).  The loop
 * reads the flag of the listener it serves, which outlives reloads.
 */
static int
l_bind_index(lua_State *L)
{
	bool	tcp;

	if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2),
	    "muted") == 0) {
		lua_pushboolean(L, atomic_load(&bind_sock(L, &tcp)->lc_muted) &&
		    !tcp);
		return 1;
	}
	lua_pushvalue(L, 2);
	lua_rawget(L, lua_upvalueindex(1));
	return 1;
}

static int
l_bind_newindex(lua_State *L)
{
	bool		 tcp;
	struct local	*lc = bind_sock(L, &tcp);

	if (lua_type(L, 2) != LUA_TSTRING || strcmp(lua_tostring(L, 2),
	    "muted") != 0)
		return luaL_error(L, "a frontend has no member '%s' to set",
		    luaL_tolstring(L, 2, NULL));
	luaL_checktype(L, 3, LUA_TBOOLEAN);
	if (tcp && lua_toboolean(L, 3))
		return luaL_error(L, "muted: only a UDP frontend can be muted, "
		    "%s is TCP", lc->lc_text);
	if (!tcp)
		atomic_store(&lc->lc_muted, lua_toboolean(L, 3));
	return 0;
}

static int
l_bind_tostring(lua_State *L)
{
	lua_pushstring(L, bind_arg(L)->lc_text);
	return 1;
}

/* The TLS library behind a TLS frontend: libtls, on OpenSSL's or LibreSSL's. */
static int
l_bind_tlsprovider(lua_State *L)
{
	struct local	*lc = bind_arg(L);

	lua_pushstring(L, lc->lc_tls != NULL ? lc->lc_tls->tl_provider : "");
	return 1;
}

static const luaL_Reg bind_methods[] = {
	{ "toString", l_bind_tostring },
	{ "getEffectiveTLSProvider", l_bind_tlsprovider },
	{ "getConfiguredTLSProvider", l_bind_configuredtls },
	{ "getType", l_bind_gettype },
	{ NULL, NULL }
};

static int
l_getcurrenttime(lua_State *L)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	lua_createtable(L, 0, 2);
	lua_pushinteger(L, (lua_Integer)ts.tv_sec);
	lua_setfield(L, -2, "tv_sec");
	lua_pushinteger(L, (lua_Integer)ts.tv_nsec);
	lua_setfield(L, -2, "tv_nsec");
	return 1;
}

static int
l_inclientstartup(lua_State *L)
{
	lua_pushboolean(L, settings.st_clientmode);
	return 1;
}

static int
l_inconfigcheck(lua_State *L)
{
	lua_pushboolean(L, settings.st_configcheck);
	return 1;
}

static int
l_getpoolnames(lua_State *L)
{
	size_t	i;

	lua_createtable(L, (int)servers.sr_npools, 0);
	for (i = 0; i < servers.sr_npools; i++) {
		lua_pushstring(L, servers.sr_pools[i]->pl_name);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * includeDirectory(dir): run every regular file of dir whose name ends
 * in ".conf", in the order of their names, as dnsdist does.
 */
static int
l_includedirectory(lua_State *L)
{
	const char	*dir = luaL_checkstring(L, 1);
	char		**names = NULL, **nn, path[4096];
	struct dirent	*de;
	struct stat	 st;
	size_t		 n = 0, i, len;
	DIR		*d;

	if (settings.st_running)
		return luaL_error(L, "includeDirectory: cannot be used at "
		    "runtime");
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return luaL_error(L, "includeDirectory: '%s' is not a "
		    "directory", dir);
	if ((d = opendir(dir)) == NULL)
		return luaL_error(L, "includeDirectory: '%s': %s", dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*nn))) == NULL ||
		    (nn[n] = strdup(path)) == NULL) {
			names = nn != NULL ? nn : names;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	/* Loaded from a table of strings that Lua frees on an error. */
	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		free(names[i]);
	}
	free(names);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i);
		if (luaL_loadfile(L, lua_tostring(L, -1)) != LUA_OK)
			return lua_error(L);
		lua_call(L, 0, 0);
		lua_pop(L, 1);
	}
	return 0;
}

/* rmACL(netmask): take an exact netmask out of the ACL. */
static int
l_rmacl(lua_State *L)
{
	struct netmask_group	*ng = &settings.st_acl;
	struct netmask		 nm;
	const char		*s = luaL_checkstring(L, 1);
	size_t			 i;

	if (netmask_parse(s, &nm) == -1)
		return luaL_error(L, "rmACL: bad netmask '%s'", s);
	for (i = 0; i < ng->ng_count; i++)
		if (ng->ng_masks[i].nm_family == nm.nm_family &&
		    ng->ng_masks[i].nm_bits == nm.nm_bits &&
		    ng->ng_masks[i].nm_negated == nm.nm_negated &&
		    memcmp(ng->ng_masks[i].nm_addr, nm.nm_addr, 16) == 0) {
			memmove(&ng->ng_masks[i], &ng->ng_masks[i + 1],
			    (ng->ng_count - i - 1) * sizeof(nm));
			ng->ng_count--;
			break;
		}
	return 0;
}

/*
 * setACLFromFile(path): the ACL becomes the netmasks of the file, one a
 * line; blank lines and lines starting with '#' are skipped.
 */
static int
l_setaclfromfile(lua_State *L)
{
	const char	*path = luaL_checkstring(L, 1);
	char		 line[512], *p, *e;
	int		 lineno = 0;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL)
		return luaL_error(L, "setACLFromFile: '%s': %s", path,
		    strerror(errno));
	lua_newtable(L);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		for (e = p + strlen(p); e > p && (e[-1] == '\n' ||
		    e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		lua_pushstring(L, p);
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	}
	fclose(f);
	dlua_replace_nmg(L, lua_gettop(L), &settings.st_acl, "setACLFromFile");
	return 0;
}

/* getResolvers([path]): the nameservers of resolv.conf, as text. */
static int
l_getresolvers(lua_State *L)
{
	const char	*path = luaL_optstring(L, 1, "/etc/resolv.conf");
	char		 line[512], addr[256];
	FILE		*f;
	lua_Integer	 n = 0;

	lua_newtable(L);
	/* As in dnsdist, a file that cannot be read has no resolvers. */
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " nameserver %255s", addr) == 1) {
			lua_pushstring(L, addr);
			lua_rawseti(L, -2, ++n);
		}
	fclose(f);
	return 1;
}

/*
 * The host's interfaces: names, addresses, and networks (address and
 * prefix length), from getifaddrs(3).  what: 0 names, 1 addresses of
 * one interface, 2 ranges of one interface.
 */
static int
interfaces(lua_State *L, int what)
{
	const char		*want;
	struct ifaddrs		*ifa, *i;
	struct netmask		 nm;
	char			 buf[NETMASK_MAXTEXT];
	uint8_t			*m;
	lua_Integer		 n = 0;
	int			 bits, k, len;

	want = what > 0 ? luaL_checkstring(L, 1) : NULL;
	if (getifaddrs(&ifa) == -1)
		return luaL_error(L, "getifaddrs: %s", strerror(errno));
	lua_newtable(L);
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (what == 0) {
			/* Once each: an interface has an entry per address. */
			for (k = 1; k <= n; k++) {
				lua_rawgeti(L, -1, k);
				len = strcmp(lua_tostring(L, -1), i->ifa_name);
				lua_pop(L, 1);
				if (len == 0)
					break;
			}
			if (k > n) {
				lua_pushstring(L, i->ifa_name);
				lua_rawseti(L, -2, ++n);
			}
			continue;
		}
		if (strcmp(i->ifa_name, want) != 0 || i->ifa_addr == NULL ||
		    (i->ifa_addr->sa_family != AF_INET &&
		    i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (what == 1) {
			lua_pushstring(L, addr_host_to_text(i->ifa_addr, buf,
			    sizeof(buf)));
			lua_rawseti(L, -2, ++n);
			continue;
		}
		if (i->ifa_netmask == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			m = (uint8_t *)&((struct sockaddr_in *)(void *)
			    i->ifa_netmask)->sin_addr;
			len = 4;
		} else {
			m = (uint8_t *)&((struct sockaddr_in6 *)(void *)
			    i->ifa_netmask)->sin6_addr;
			len = 16;
		}
		for (bits = 0, k = 0; k < len * 8 && (m[k / 8] &
		    (0x80 >> (k % 8))); k++)
			bits++;
		if (netmask_from_sockaddr(i->ifa_addr, bits, bits, &nm) == -1)
			continue;
		lua_pushstring(L, netmask_to_text(&nm, buf, sizeof(buf)));
		lua_rawseti(L, -2, ++n);
	}
	freeifaddrs(ifa);
	return 1;
}

static int
l_getifnames(lua_State *L)
{
	return interfaces(L, 0);
}

static int
l_getifaddrs(lua_State *L)
{
	return interfaces(L, 1);
}

static int
l_getifranges(lua_State *L)
{
	return interfaces(L, 2);
}

/*
 * getMACAddress(address): the 6 bytes of its MAC address in the kernel's
 * neighbour table, or "" when it has none, as dnsdist.
 */
static int
l_getmacaddress(lua_State *L)
{
	const char		*s = luaL_checkstring(L, 1);
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	uint8_t			 mac[6];

	if (addr_parse(s, 0, &ss, &len) == -1)
		return luaL_error(L, "getMACAddress: '%s' is not an address",
		    s);
	if (compat_mac_address((struct sockaddr *)&ss, mac) == 0)
		lua_pushlstring(L, (const char *)mac, sizeof(mac));
	else if (errno == EOPNOTSUPP)
		return luaL_error(L, "getMACAddress: MAC addresses are "
		    "looked up on Linux only");
	else
		lua_pushliteral(L, "");
	return 1;
}

/* newCAFromRaw(bytes[, port]): a ComboAddress from 4 or 16 raw bytes. */
static int
l_newcafromraw(lua_State *L)
{
	size_t			 len;
	const char		*raw = luaL_checklstring(L, 1, &len);
	lua_Integer		 port = luaL_optinteger(L, 2, 0);
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	if (port < 0 || port > 65535)
		return luaL_error(L, "newCAFromRaw: bad port");
	memset(&ss, 0, sizeof(ss));
	if (len == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, raw, 4);
	} else if (len == 16) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, raw, 16);
	} else
		return luaL_error(L, "newCAFromRaw: %d bytes: an address has "
		    "4 or 16", (int)len);
	dlua_push_ca(L, (struct sockaddr *)&ss);
	return 1;
}

/* show(text): print one line, as dnsdist's console does. */
static int
l_show(lua_State *L)
{
	dlua_printf("%s\n", luaL_checkstring(L, 1));
	return 0;
}

/* help(): every function the configuration and the console may call. */
static int
l_help(lua_State *L)
{
	dlua_global_names(L, dlua_output());
	return 0;
}

static int
l_showsecuritystatus(lua_State *L)
{
	struct stat_value	sv;

	(void)L;
	dlua_printf("%.0f\n", stats_get("security-status", &sv) == 0 ?
	    sv.sv_value : 0.0);
	return 0;
}

static int
l_requesttcpstatesdump(lua_State *L)
{
	struct sbuf	sb;
	char		*line, *next;

	(void)L;
	if (dlua_host.h_show_tcp_stats == NULL)
		return 0;
	sbuf_init(&sb);
	dlua_host.h_show_tcp_stats(&sb);
	for (line = sb.sb_buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		misc_log(LOG_INFO, line);
	}
	sbuf_free(&sb);
	return 0;
}

static int
l_setroundrobinfailonnoserver(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	atomic_store(&policy_rr_fail_no_server, lua_toboolean(L, 1));
	return 0;
}

static int
l_fixupcase(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_fixupcase = lua_toboolean(L, 1);
	return 0;
}

/* The balancing factors: 0 (no bound) or at least 1, as in dnsdist. */
static int
l_setbalancingfactor(lua_State *L)
{
	bool		 chashed = lua_toboolean(L, lua_upvalueindex(1));
	lua_Number	 v = luaL_checknumber(L, 1);

	if (v != 0 && !(v >= 1.0))
		return luaL_error(L, "%s: the factor must be 0 or at least 1",
		    chashed ? "setConsistentHashingBalancingFactor" :
		    "setWeightedBalancingFactor");
	atomic_store(chashed ? &policy_chashed_factor :
	    &policy_weighted_factor, (double)v);
	return 0;
}

static int
l_setverbosehealthchecks(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	atomic_store(&settings_verbosehealthchecks, lua_toboolean(L, 1));
	return 0;
}

/* requestDoHStatesDump(): the workers log their DoH connections. */
static int
l_requestdohstatesdump(lua_State *L)
{
	(void)L;
	atomic_fetch_add(&settings_dohdump, 1);
	return 0;
}

#ifdef DNSDIST_TLS_OPENSSL
/* getOutgoingTLSSessionCacheSize(): sessions to backends held to resume. */
static int
l_getoutgoingtlssessioncachesize(lua_State *L)
{
	lua_pushinteger(L, atomic_load(&settings_tlssessions));
	return 1;
}
#endif

/* The TCP and DoH connections to backends: how many idle, how long. */
static const struct {
	const char	*tn_name;
	int		*tn_var;
	int		 tn_min;
} tcpknobs[] = {
	{ "setMaxCachedTCPConnectionsPerDownstream",
	    &settings.st_tcpcachedperds, 0 },
	{ "setTCPDownstreamMaxIdleTime", &settings.st_tcpdsmaxidle, 1 },
	{ "setTCPDownstreamCleanupInterval", &settings.st_tcpdscleanup, 1 },
	{ "setMaxIdleDoHConnectionsPerDownstream",
	    &settings.st_dohcachedperds, 0 },
	{ "setDoHDownstreamMaxIdleTime", &settings.st_dohdsmaxidle, 1 },
	{ "setDoHDownstreamCleanupInterval", &settings.st_dohdscleanup, 1 },
#ifdef DNSDIST_TLS_OPENSSL
	{ "setOutgoingTLSSessionsCacheMaxTicketsPerBackend",
	    &settings.st_tlssessmax, 0 },
	{ "setOutgoingTLSSessionsCacheMaxTicketValidity",
	    &settings.st_tlssessvalid, 1 },
	{ "setOutgoingTLSSessionsCacheCleanupDelay",
	    &settings.st_tlssesscleanup, 1 },
#endif
};

static int
l_tcpknob(lua_State *L)
{
	size_t		i = (size_t)lua_tointeger(L, lua_upvalueindex(1));
	lua_Integer	v = luaL_checkinteger(L, 1);

	if (v < tcpknobs[i].tn_min || v > 1000000)
		return luaL_error(L, "%s: %d is out of range %d..1000000",
		    tcpknobs[i].tn_name, (int)v, tcpknobs[i].tn_min);
	*tcpknobs[i].tn_var = (int)v;
	return 0;
}

/* setVerboseLogDestination(path): verbose messages go to that file. */
static int
l_setverboselogdestination(lua_State *L)
{
	const char	*path = luaL_checkstring(L, 1);

	if (dlua_host.h_verbose_log != NULL &&
	    dlua_host.h_verbose_log(path) == -1)
		return luaL_error(L, "setVerboseLogDestination: '%s': %s",
		    path, strerror(errno));
	return 0;
}

/* setSyslogFacility(n) or ("local0", "daemon", ...). */
static int
l_setsyslogfacility(lua_State *L)
{
	static const struct { const char *n; int f; } fac[] = {
		{ "kern", LOG_KERN }, { "user", LOG_USER },
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "auth", LOG_AUTH }, { "syslog", LOG_SYSLOG },
		{ "lpr", LOG_LPR }, { "news", LOG_NEWS }, { "uucp", LOG_UUCP },
		{ "cron", LOG_CRON }, { "authpriv", LOG_AUTHPRIV },
		{ "ftp", LOG_FTP }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	const char	*s;
	lua_Integer	 n;
	size_t		 i;

	if (lua_type(L, 1) == LUA_TNUMBER) {
		n = luaL_checkinteger(L, 1);
		if (n < 0 || n > 23)
			return luaL_error(L, "setSyslogFacility: bad facility "
			    "%d", (int)n);
		atomic_store(&settings_syslogfacility, (int)n << 3);
		return 0;
	}
	s = luaL_checkstring(L, 1);
	for (i = 0; i < sizeof(fac) / sizeof(fac[0]); i++)
		if (strcasecmp(s, fac[i].n) == 0 || (strncasecmp(s, "log_",
		    4) == 0 && strcasecmp(s + 4, fac[i].n) == 0)) {
			atomic_store(&settings_syslogfacility, fac[i].f);
			return 0;
		}
	return luaL_error(L, "setSyslogFacility: unknown facility '%s'", s);
}

/*
 * dnsdist's tunables of mechanisms this program does not have: the
 * argument is checked, and the first call logs why nothing changes.
 */
enum noeff_arg { NE_INT, NE_BOOL, NE_STRING, NE_NUMBER };

static struct noeffect {
	const char	*ne_name;
	enum noeff_arg	 ne_arg;
	const char	*ne_why;
	bool		 ne_logged;
} noeffects[] = {
	{ "setTCPInternalPipeBufferSize", NE_INT, "TCP connections are "
	    "handed to their worker threads without a pipe", false },
	{ "setUDPMultipleMessagesVectorSize", NE_INT, "the UDP loop reads "
	    "and writes batches of a fixed size", false },
	{ "setRingBuffersLockRetries", NE_INT, "a busy ring shard is "
	    "skipped, never waited for", false },
};

static int
l_noeffect(lua_State *L)
{
	struct noeffect	*ne = lua_touserdata(L, lua_upvalueindex(1));
	char		 msg[256];

	switch (ne->ne_arg) {
	case NE_INT:
		luaL_checkinteger(L, 1);
		break;
	case NE_NUMBER:
		luaL_checknumber(L, 1);
		break;
	case NE_BOOL:
		luaL_checktype(L, 1, LUA_TBOOLEAN);
		break;
	case NE_STRING:
		luaL_checkstring(L, 1);
		break;
	}
	/* Said when the daemon starts, not by --check-config. */
	if (!ne->ne_logged && !settings.st_configcheck) {
		ne->ne_logged = true;
		snprintf(msg, sizeof(msg), "%s has no effect here: %s",
		    ne->ne_name, ne->ne_why);
		misc_log(LOG_WARNING, msg);
	}
	return 0;
}

static const luaL_Reg globals[] = {
	{ "declareMetric", l_declaremetric },
	{ "setMetric", l_setmetric },
	{ "getMetric", l_getmetric },
	{ "newNetmask", l_newnetmask },
	{ "newQPSLimiter", l_newqpslimiter },
	{ "newNetworkEndpoint", l_newnetworkendpoint },
	{ "getCurrentTime", l_getcurrenttime },
	{ "getBind", l_getbind },
	{ "getBindCount", l_getbindcount },
	{ "inClientStartup", l_inclientstartup },
	{ "inConfigCheck", l_inconfigcheck },
	{ "getPoolNames", l_getpoolnames },
	{ "includeDirectory", l_includedirectory },
	{ "rmACL", l_rmacl },
	{ "setACLFromFile", l_setaclfromfile },
	{ "getResolvers", l_getresolvers },
	{ "getListOfNetworkInterfaces", l_getifnames },
	{ "getListOfAddressesOfNetworkInterface", l_getifaddrs },
	{ "getMACAddress", l_getmacaddress },
	{ "getListOfRangesOfNetworkInterface", l_getifranges },
	{ "newCAFromRaw", l_newcafromraw },
	{ "show", l_show },
	{ "help", l_help },
	{ "showSecurityStatus", l_showsecuritystatus },
	{ "requestTCPStatesDump", l_requesttcpstatesdump },
	{ "setRoundRobinFailOnNoServer", l_setroundrobinfailonnoserver },
	{ "setVerboseHealthChecks", l_setverbosehealthchecks },
	{ "fixupCase", l_fixupcase },
	{ "setSyslogFacility", l_setsyslogfacility },
	{ "setVerboseLogDestination", l_setverboselogdestination },
	{ NULL, NULL }
};

static void
misc_type(lua_State *L, const char *mt, const luaL_Reg *methods)
{
	luaL_newmetatable(L, mt);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

void
dlua_open_misc(lua_State *L)
{
	static const struct { const char *n; int pri; } logs[] = {
		{ "infolog", LOG_INFO }, { "warnlog", LOG_WARNING },
		{ "errlog", LOG_ERR }, { "vinfolog", LOG_DEBUG },
	};
	size_t	i;

	misc_type(L, NETMASK_MT, netmask_methods);
	luaL_getmetatable(L, NETMASK_MT);
	lua_pushcfunction(L, l_nm_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, l_nm_eq);
	lua_setfield(L, -2, "__eq");
	lua_pop(L, 1);
	misc_type(L, QPSLIMITER_MT, qps_methods);
	misc_type(L, BIND_MT, bind_methods);
	misc_type(L, ENDPOINT_MT, endpoint_methods);
	luaL_getmetatable(L, ENDPOINT_MT);
	lua_pushcfunction(L, l_ep_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_getmetatable(L, BIND_MT);
	lua_pushcfunction(L, l_bind_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_getfield(L, -1, "__index");
	lua_pushcclosure(L, l_bind_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_bind_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	for (i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		lua_pushinteger(L, logs[i].pri);
		lua_pushcclosure(L, l_log, 1);
		lua_setglobal(L, logs[i].n);
	}
	lua_pushboolean(L, 0);
	lua_pushcclosure(L, l_setbalancingfactor, 1);
	lua_setglobal(L, "setWeightedBalancingFactor");
	lua_pushboolean(L, 1);
	lua_pushcclosure(L, l_setbalancingfactor, 1);
	lua_setglobal(L, "setConsistentHashingBalancingFactor");
	lua_pushinteger(L, 1);
	lua_pushcclosure(L, l_incmetric, 1);
	lua_setglobal(L, "incMetric");
	lua_pushinteger(L, -1);
	lua_pushcclosure(L, l_incmetric, 1);
	lua_setglobal(L, "decMetric");
	lua_register(L, "requestDoHStatesDump", l_requestdohstatesdump);
#ifdef DNSDIST_TLS_OPENSSL
	lua_register(L, "getOutgoingTLSSessionCacheSize",
	    l_getoutgoingtlssessioncachesize);
#endif
	for (i = 0; i < sizeof(tcpknobs) / sizeof(tcpknobs[0]); i++) {
		lua_pushinteger(L, (lua_Integer)i);
		lua_pushcclosure(L, l_tcpknob, 1);
		lua_setglobal(L, tcpknobs[i].tn_name);
	}
	for (i = 0; i < sizeof(noeffects) / sizeof(noeffects[0]); i++) {
		lua_pushlightuserdata(L, &noeffects[i]);
		lua_pushcclosure(L, l_noeffect, 1);
		lua_setglobal(L, noeffects[i].ne_name);
	}
}
