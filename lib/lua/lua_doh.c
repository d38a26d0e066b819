/*
 * Lua bindings for DNS over HTTPS frontends: addDOHLocal(), the
 * functions that show and reach them, their responses maps and the HTTP
 * rules.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "doh.h"
#include "lua.h"
#include "rule.h"
#include "settings.h"

#define DLUA_DOH_MT	"dnsdist.DOHFrontend"
#define DLUA_DOHMAP_MT	"dnsdist.DOHResponseMapEntry"

static const char *const doh_keys[] = {
	"reusePort", "tcpFastOpenQueueSize", "idleTimeout", "serverTokens",
	"customResponseHeaders", "sendCacheControlHeaders",
	"exactPathMatching", "maxConcurrentTCPConnections",
	"trustForwardedForHeader", "maxInFlight", "library",
	"keepIncomingHeaders", "ocspResponses", "interface", "cpus",
	/* TLS only: refused below with the reason */
	"ciphers", "ciphersTLS13", "minTLSVersion", "numberOfTicketsKeys",
	"ticketKeyFile", "ticketsKeysRotationDelay", "numberOfStoredSessions",
	"preferServerCiphers", "keyLogFile", "sessionTimeout",
	"sessionTickets", "tlsAsyncMode", "enableRenegotiation",
	"releaseBuffers", "readAhead", "proxyProtocolOutsideTLS", NULL
};
#define DOH_NTLSKEYS	16
#define DOH_TLSKEY0	(sizeof(doh_keys) / sizeof(doh_keys[0]) - 1 - \
			    DOH_NTLSKEYS)	/* the first of them */

/* The n-th DoH frontend (from 0) of the running listeners, or NULL. */
static struct local *
doh_local(size_t n)
{
	size_t	i;

	for (i = 0; i < settings.st_nlocals; i++)
		if (settings.st_locals[i].lc_doh != NULL && n-- == 0)
			return &settings.st_locals[i];
	return NULL;
}

static int
doh_url_add(void *df, const char *s)
{
	return doh_frontend_add_url(df, s);
}

/* A table of header names to values at idx, into h and n. */
static void
doh_header_table(lua_State *L, int idx, struct web_header **h, size_t *n,
    const char *fn)
{
	const char	*k, *v;

	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		k = lua_tostring(L, -2);
		v = lua_tostring(L, -1);
		if (lua_type(L, -2) != LUA_TSTRING || v == NULL || k[0] == '\0' ||
		    strpbrk(k, ":\r\n \t") != NULL || strpbrk(v, "\r\n") != NULL)
			luaL_error(L, "%s: the headers must map header names "
			    "to values", fn);
		if (doh_header_add(h, n, k, v) == -1)
			luaL_error(L, "%s: out of memory", fn);
		lua_pop(L, 1);
	}
}

static void
doh_headers(lua_State *L, int t, struct doh_frontend *df)
{
	if (lua_getfield(L, t, "customResponseHeaders") != LUA_TNIL)
		doh_header_table(L, lua_gettop(L), &df->df_headers,
		    &df->df_nheaders, "addDOHLocal");
	lua_pop(L, 1);
}

/* Options into df, kept in a Lua object until it is the listener's. */
static void
doh_options(lua_State *L, int t, struct doh_frontend *df, struct local *lc)
{
	const char	*s;
	lua_Integer	 v;
	size_t		 i;

	if (lua_getfield(L, t, "internalPipeBufferSize") != LUA_TNIL)
		luaL_error(L, "addDOHLocal: internalPipeBufferSize has no "
		    "meaning here: queries are not handed over through a pipe");
	lua_pop(L, 1);
	dlua_check_keys(L, t, (const char **)(uintptr_t)doh_keys,
	    "addDOHLocal");
	for (i = 0; i < DOH_NTLSKEYS; i++)
		if (lua_getfield(L, t, doh_keys[DOH_TLSKEY0 + i]) != LUA_TNIL)
			luaL_error(L, "addDOHLocal: option '%s' is for TLS, "
			    "whose options are not built in yet for DNS over "
			    "HTTPS: addTLSLocal's defaults apply",
			    doh_keys[DOH_TLSKEY0 + i]);
		else
			lua_pop(L, 1);
	s = dlua_opt_string(L, t, "library", "nghttp2");
	if (strcmp(s, "nghttp2") != 0)
		luaL_error(L, "addDOHLocal: library '%s' is not supported: "
		    "only nghttp2", s);
	lc->lc_reuseport = dlua_opt_bool(L, t, "reusePort", 0);
	lc->lc_tcpfastopen = (int)dlua_opt_int(L, t, "tcpFastOpenQueueSize",
	    0);
	v = dlua_opt_int(L, t, "maxConcurrentTCPConnections", 0);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addDOHLocal: bad maxConcurrentTCPConnections");
	lc->lc_maxtcpconns = (int)v;
	v = dlua_opt_int(L, t, "idleTimeout", df->df_idletimeout);
	if (v < 1 || v > 86400)
		luaL_error(L, "addDOHLocal: idleTimeout must be 1 to 86400 "
		    "seconds");
	df->df_idletimeout = (int)v;
	v = dlua_opt_int(L, t, "maxInFlight", df->df_maxinflight);
	if (v < 1 || v > 65535)
		luaL_error(L, "addDOHLocal: maxInFlight must be 1 to 65535");
	df->df_maxinflight = (int)v;
	s = dlua_opt_string(L, t, "serverTokens", df->df_servertokens);
	if (strpbrk(s, "\r\n") != NULL)
		luaL_error(L, "addDOHLocal: bad serverTokens");
	if ((s = strdup(s)) == NULL)
		luaL_error(L, "addDOHLocal: out of memory");
	free(df->df_servertokens);
	df->df_servertokens = (char *)(uintptr_t)s;
	df->df_cachecontrol = dlua_opt_bool(L, t, "sendCacheControlHeaders",
	    df->df_cachecontrol);
	df->df_exactpath = dlua_opt_bool(L, t, "exactPathMatching",
	    df->df_exactpath);
	df->df_trustxff = dlua_opt_bool(L, t, "trustForwardedForHeader", 0);
	df->df_keepheaders = dlua_opt_bool(L, t, "keepIncomingHeaders", 0);
	doh_headers(L, t, df);
}

static int
doh_gc(lua_State *L)
{
	struct doh_frontend	**u = lua_touserdata(L, 1);

	doh_frontend_free(*u);
	*u = NULL;
	return 0;
}

/*
 * addDOHLocal(address[, certs, keys[, urls[, options]]]): a TCP listener
 * that speaks HTTP/1.1 and HTTP/2 (prior knowledge) in clear text.
 */
static int
l_adddohlocal(lua_State *L)
{
	const char		 *addr = luaL_checkstring(L, 1);
	struct doh_frontend	**u;
	struct tls_local	**tlp = NULL;
	struct local		 *lc, tmp;

	if (settings.st_running) {
		dlua_printf("addDOHLocal cannot be used at runtime!\n");
		return 0;
	}
	/* Built aside, so that an error leaves nothing half made. */
	lua_settop(L, 5);
	/* With certificates: HTTPS, over DNS over TLS's connections. */
	if (!lua_isnoneornil(L, 2) || !lua_isnoneornil(L, 3))
		tlp = dlua_tls_pairs(L, 2, 3, "addDOHLocal");
	u = lua_newuserdata(L, sizeof(*u));
	*u = NULL;
	lua_newtable(L);
	lua_pushcfunction(L, doh_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	if ((*u = doh_frontend_new()) == NULL)
		return luaL_error(L, "addDOHLocal: out of memory");
	if (!lua_isnoneornil(L, 4))
		dlua_each_string(L, 4, doh_url_add, *u, "addDOHLocal",
		    "URL path");
	else if (doh_frontend_add_url(*u, "/dns-query") == -1)
		return luaL_error(L, "addDOHLocal: out of memory");
	memset(&tmp, 0, sizeof(tmp));
	if (lua_type(L, 5) == LUA_TTABLE) {
		doh_options(L, 5, *u, &tmp);
		dlua_local_place(L, 5, &tmp, "addDOHLocal", false);
		if (tlp != NULL)
			dlua_tls_ocsp(L, 5, *tlp, "addDOHLocal");
		else if (lua_getfield(L, 5, "ocspResponses") != LUA_TNIL)
			return luaL_error(L, "addDOHLocal: ocspResponses "
			    "without certificates");
	} else if (!lua_isnoneornil(L, 5))
		return luaL_error(L, "addDOHLocal: the options must be a "
		    "table");
	if ((lc = settings_add_local(addr, 443, tmp.lc_reuseport,
	    tmp.lc_tcpfastopen)) == NULL)
		return luaL_error(L, "addDOHLocal: bad address '%s'", addr);
	lc->lc_udp = false;
	lc->lc_maxtcpconns = tmp.lc_maxtcpconns;
	settings_local_place(lc, &tmp);
	lc->lc_doh = *u;
	*u = NULL;
	settings.st_locals_from_config = true;
	if (tlp != NULL) {
		lc->lc_tls = *tlp;
		*tlp = NULL;
		return 0;
	}
	dlua_printf("No certificate provided for DoH endpoint %s, running in "
	    "DNS over HTTP mode instead of DNS over HTTPS\n", lc->lc_text);
	return 0;
}

/* HTTPPathRule(path), HTTPPathRegexRule(regex), HTTPHeaderRule(name, regex) */
static int
http_rule(lua_State *L, int kind, const char *fn)
{
	const char	*str = luaL_checkstring(L, 1);
	const char	*re = kind == SEL_HTTPHEADER ? luaL_checkstring(L, 2) :
			    str;
	struct selector	*se = dlua_sel_new(L, kind);
	char		 err[128];
	int		 rc;

	se->se_kind = SEL_ALL;	/* nothing to free until made */
	if (kind != SEL_HTTPPATHREGEX &&
	    (se->se_u.http.str = strdup(str)) == NULL)
		return luaL_error(L, "%s: out of memory", fn);
	if (kind != SEL_HTTPPATH && (rc = regcomp(&se->se_u.http.re, re,
	    REG_EXTENDED | REG_NOSUB)) != 0) {
		free(se->se_u.http.str);
		regerror(rc, &se->se_u.http.re, err, sizeof(err));
		return luaL_error(L, "%s: bad expression '%s': %s", fn, re,
		    err);
	}
	se->se_kind = kind;
	if (kind == SEL_HTTPHEADER)
		selector_set_desc(se, "HTTP header '%s' matches '%s'", str, re);
	else
		selector_set_desc(se, kind == SEL_HTTPPATH ?
		    "HTTP path equals %s" : "HTTP path matches %s", str);
	return 1;
}

static int
l_httppathrule(lua_State *L)
{
	return http_rule(L, SEL_HTTPPATH, "HTTPPathRule");
}

static int
l_httppathregexrule(lua_State *L)
{
	return http_rule(L, SEL_HTTPPATHREGEX, "HTTPPathRegexRule");
}

static int
l_httpheaderrule(lua_State *L)
{
	return http_rule(L, SEL_HTTPHEADER, "HTTPHeaderRule");
}

/*
 * HTTPStatusAction(status, body[, contentType]): a DoH query gets this
 * HTTP answer; for a 3xx the body is the Location.
 */
static int
l_httpstatusaction(lua_State *L)
{
	lua_Integer	 status = luaL_checkinteger(L, 1);
	size_t		 len;
	const char	*body = luaL_checklstring(L, 2, &len);
	const char	*ctype = luaL_optstring(L, 3, "");
	struct action	*ac;

	if (status < 100 || status > 599)
		return luaL_error(L, "HTTPStatusAction: bad status %lld",
		    (long long)status);
	if (!lua_isnoneornil(L, 4))
		return luaL_error(L, "HTTPStatusAction: options are not "
		    "supported");
	if (strpbrk(ctype, "\r\n") != NULL || (status / 100 == 3 &&
	    strpbrk(body, "\r\n") != NULL))
		return luaL_error(L, "HTTPStatusAction: bad header value");
	ac = dlua_act_new(L, ACT_NONE);
	if ((ac->ac_u.http.body = malloc(len + 1)) == NULL ||
	    (ac->ac_u.http.ctype = strdup(ctype)) == NULL) {
		free(ac->ac_u.http.body);
		return luaL_error(L, "HTTPStatusAction: out of memory");
	}
	memcpy(ac->ac_u.http.body, body, len + 1);
	ac->ac_u.http.len = len;
	ac->ac_u.http.status = (int)status;
	ac->ac_kind = ACT_HTTPSTATUS;
	action_set_desc(ac, "return an HTTP status of %lld",
	    (long long)status);
	return 1;
}

static int
map_gc(lua_State *L)
{
	struct doh_map	**u = lua_touserdata(L, 1);

	doh_map_free(*u);
	*u = NULL;
	return 0;
}

/* A map of n entries owned by a userdata on the stack until taken. */
static struct doh_map **
map_push(lua_State *L, size_t n, const char *fn)
{
	struct doh_map	**u;

	u = lua_newuserdata(L, sizeof(*u));
	*u = NULL;
	luaL_setmetatable(L, DLUA_DOHMAP_MT);
	if ((*u = doh_map_new(n)) == NULL)
		luaL_error(L, "%s: out of memory", fn);
	return u;
}

/*
 * newDOHResponseMapEntry(regex, status, content[, headers]): requests
 * whose path matches get this answer; for a 3xx the content is the
 * Location.
 */
static int
l_newdohresponsemapentry(lua_State *L)
{
	const char		*re = luaL_checkstring(L, 1);
	lua_Integer		 status = luaL_checkinteger(L, 2);
	size_t			 len;
	const char		*content = luaL_checklstring(L, 3, &len);
	struct doh_mapentry	*e;
	struct doh_map		**u;
	char			 err[128];

	if (status < 100 || status > 599)
		return luaL_error(L, "newDOHResponseMapEntry: bad status "
		    "%lld", (long long)status);
	if (status / 100 == 3 && strpbrk(content, "\r\n") != NULL)
		return luaL_error(L, "newDOHResponseMapEntry: bad location");
	lua_settop(L, 4);
	u = map_push(L, 1, "newDOHResponseMapEntry");
	e = &(*u)->dm_e[0];
	if (doh_map_set(e, re, (int)status, content, len,
	    !lua_isnoneornil(L, 4), NULL, 0, err, sizeof(err)) == -1)
		return luaL_error(L, "newDOHResponseMapEntry: bad expression "
		    "'%s': %s", re, err);
	if (e->me_hasheaders)
		doh_header_table(L, 4, &e->me_headers, &e->me_nheaders,
		    "newDOHResponseMapEntry");
	return 1;
}

static struct local *
doh_check(lua_State *L)
{
	struct local	*lc;

	lc = doh_local((size_t)*(lua_Integer *)luaL_checkudata(L, 1,
	    DLUA_DOH_MT));
	if (lc == NULL)
		luaL_error(L, "DOHFrontend: the frontend is gone");
	return lc;
}

static int
l_getdohfrontend(lua_State *L)
{
	lua_Integer	 n = luaL_checkinteger(L, 1), *u;

	if (n < 0 || doh_local((size_t)n) == NULL) {
		dlua_printf("Error: trying to get DOH frontend with index %lld "
		    "but we only have %zu frontend(s)\n", (long long)n,
		    dlua_doh_count());
		lua_pushnil(L);
		return 1;
	}
	u = lua_newuserdata(L, sizeof(*u));
	*u = n;
	luaL_setmetatable(L, DLUA_DOH_MT);
	return 1;
}

size_t
dlua_doh_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < settings.st_nlocals; i++)
		if (settings.st_locals[i].lc_doh != NULL)
			n++;
	return n;
}

static int
l_getdohfrontendcount(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)dlua_doh_count());
	return 1;
}

#define LD(x)	((unsigned long long)atomic_load_explicit(&(x), \
		    memory_order_relaxed))

static int
l_showdohfrontends(lua_State *L)
{
	struct doh_stats	*ds;
	struct local		*lc;
	size_t			 n;

	(void)L;
	dlua_printf("%-3s %-20s %-15s %-15s %-15s %-15s %-15s %-15s %-15s "
	    "%-15s %-15s %-15s\n", "#", "Address", "HTTP", "HTTP/1", "HTTP/2",
	    "GET", "POST", "Bad", "Errors", "Redirects", "Valid", "Closed");
	for (n = 0; (lc = doh_local(n)) != NULL; n++) {
		ds = &lc->lc_doh->df_stats;
		dlua_printf("%-3zu %-20s %-15llu %-15llu %-15llu %-15llu "
		    "%-15llu %-15llu %-15llu %-15llu %-15llu %-15llu\n", n,
		    lc->lc_text, LD(ds->ds_connects), LD(ds->ds_http1),
		    LD(ds->ds_http2), LD(ds->ds_get), LD(ds->ds_post),
		    LD(ds->ds_bad), LD(ds->ds_errors), LD(ds->ds_redirects),
		    LD(ds->ds_valid),
		    LD(ds->ds_resets));
	}
	return 0;
}

static int
l_showdohresponsecodes(lua_State *L)
{
	struct doh_stats	*ds;
	struct local		*lc;
	size_t			 n;
	int			 v, c;

	(void)L;
	for (n = 0; (lc = doh_local(n)) != NULL; n++) {
		ds = &lc->lc_doh->df_stats;
		dlua_printf("%zu %s\n", n, lc->lc_text);
		dlua_printf("%-10s %-10s %-10s %-10s %-10s %-10s %-10s\n",
		    "", "200", "400", "403", "500", "502", "Others");
		for (v = 0; v < 2; v++) {
			dlua_printf("%-10s", v == 0 ? "HTTP/1" : "HTTP/2");
			for (c = 0; c < DOH_NCODES; c++)
				dlua_printf(" %-10llu", LD(ds->ds_codes[v][c]));
			dlua_printf("\n");
		}
	}
	return 0;
}

static int
l_doh_getaddressandport(lua_State *L)
{
	lua_pushstring(L, doh_check(L)->lc_text);
	return 1;
}

/* The TLS methods, named by upvalue 1, of an HTTPS frontend. */
static int
l_doh_tls(lua_State *L)
{
	struct local	*lc = doh_check(L);
	const char	*name = lua_tostring(L, lua_upvalueindex(1));

	if (lc->lc_tls == NULL)
		return luaL_error(L, "%s: %s serves cleartext HTTP: it has no "
		    "certificate", name, lc->lc_text);
	return dlua_tls_method(L, lc, name);
}

/*
 * setResponsesMap({entries}): a new map, copied from the entries, takes
 * the place of the old one for the requests that start after it.
 */
static int
l_doh_responsesmap(lua_State *L)
{
	struct local			*lc = doh_check(L);
	const struct doh_mapentry	*e;
	struct doh_mapentry		*ne;
	struct doh_map			**u, **nu;
	size_t				 i, n;
	char				 err[128];

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	n = (size_t)luaL_len(L, 2);
	nu = map_push(L, n, "setResponsesMap");
	for (i = 0; i < n; i++) {
		lua_geti(L, 2, (lua_Integer)i + 1);
		u = luaL_testudata(L, -1, DLUA_DOHMAP_MT);
		if (u == NULL || *u == NULL || (*u)->dm_n != 1)
			return luaL_error(L, "setResponsesMap: entry %d is not "
			    "a newDOHResponseMapEntry()", (int)i + 1);
		e = &(*u)->dm_e[0];
		ne = &(*nu)->dm_e[i];
		if (doh_map_set(ne, e->me_regex, e->me_status, e->me_content,
		    e->me_len, e->me_hasheaders, e->me_headers,
		    e->me_nheaders, err, sizeof(err)) == -1)
			return luaL_error(L, "setResponsesMap: %s", err);
		lua_pop(L, 1);
	}
	doh_frontend_set_map(lc->lc_doh, n > 0 ? *nu : NULL);
	if (n > 0)
		*nu = NULL;
	return 0;
}

static const luaL_Reg doh_methods[] = {
	{ "getAddressAndPort", l_doh_getaddressandport },
	{ "setResponsesMap", l_doh_responsesmap },
	{ NULL, NULL }
};

static const luaL_Reg doh_funcs[] = {
	{ "addDOHLocal", l_adddohlocal },
	{ "getDOHFrontend", l_getdohfrontend },
	{ "newDOHResponseMapEntry", l_newdohresponsemapentry },
	{ "getDOHFrontendCount", l_getdohfrontendcount },
	{ "showDOHFrontends", l_showdohfrontends },
	{ "showDOHResponseCodes", l_showdohresponsecodes },
	{ "HTTPPathRule", l_httppathrule },
	{ "HTTPPathRegexRule", l_httppathregexrule },
	{ "HTTPHeaderRule", l_httpheaderrule },
	{ "HTTPStatusAction", l_httpstatusaction },
	{ NULL, NULL }
};

void
dlua_open_doh(lua_State *L)
{
	static const char *const tls[] = { "loadNewCertificatesAndKeys",
	    "loadTicketsKeys", "reloadCertificates", "rotateTicketsKey" };
	size_t	i;

	dlua_new_type(L, DLUA_DOH_MT, doh_methods, NULL, NULL);
	luaL_getmetatable(L, DLUA_DOH_MT);
	lua_getfield(L, -1, "__index");
	for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
		lua_pushstring(L, tls[i]);
		lua_pushcclosure(L, l_doh_tls, 1);
		lua_setfield(L, -2, tls[i]);
	}
	lua_pop(L, 2);
	dlua_new_type(L, DLUA_DOHMAP_MT, NULL, NULL, map_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, doh_funcs, 0);
	lua_pop(L, 1);
}
