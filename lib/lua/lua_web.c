/*
 * Lua bindings for statistics export: webserver(), setWebserverConfig(),
 * hashPassword() and carbonServer().  They store settings; the daemon's
 * web and carbon threads read them under the configuration lock.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "credentials.h"
#include "http.h"
#include "lua.h"
#include "netmask.h"
#include "settings.h"

#define CARBON_PORT	2003

/* A password or key as stored: hashed first when asked to. */
static void
set_credential(lua_State *L, char **dst, const char *text, const char *fn)
{
	char	hashed[CRED_MAXLEN];
	int	rc;

	if (settings.st_webhashplain && text[0] != '\0' &&
	    !cred_is_hashed(text)) {
		if (cred_hash(text, CRED_WORKFACTOR, hashed,
		    sizeof(hashed)) == -1)
			luaL_error(L, "%s: unable to hash a credential", fn);
		rc = settings_set_secret(dst, hashed);
		explicit_bzero(hashed, sizeof(hashed));
	} else
		rc = settings_set_secret(dst, text);
	if (rc == -1)
		luaL_error(L, "%s: out of memory", fn);
}

static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

static bool
header_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

/*
 * customHeaders: a table of name = value that replaces the previous one;
 * "" drops a default header.  Checked whole before anything changes.
 */
static void
web_headers(lua_State *L, int idx, const char *fn)
{
	const char	*name, *value;
	int		 pass;

	luaL_checktype(L, idx, LUA_TTABLE);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			settings_clear_web_headers();
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    lua_type(L, -1) != LUA_TSTRING)
				luaL_error(L, "%s: customHeaders must map "
				    "strings to strings", fn);
			name = lua_tostring(L, -2);
			value = lua_tostring(L, -1);
			if (!header_name_ok(name) || !header_value_ok(value))
				luaL_error(L, "%s: bad header '%s'", fn, name);
			if (pass == 1 &&
			    settings_set_web_header(name, value) == -1)
				luaL_error(L, "%s: out of memory", fn);
			lua_pop(L, 1);
		}
	}
}

static void
web_acl(lua_State *L, int idx, const char *fn)
{
	dlua_replace_nmg(L, idx, &settings.st_webacl, fn);
}

static int
l_webserver(lua_State *L)
{
	const char		*text = luaL_checkstring(L, 1);
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 buf[ADDR_MAXTEXT];

	if (addr_parse(text, 8083, &ss, &sslen) == -1)
		return luaL_error(L, "webserver: bad address '%s'", text);
	/* The older form: password, API key, headers and ACL follow. */
	if (lua_type(L, 2) == LUA_TSTRING)
		set_credential(L, &settings.st_webpassword,
		    lua_tostring(L, 2), "webserver");
	if (lua_type(L, 3) == LUA_TSTRING)
		set_credential(L, &settings.st_webapikey, lua_tostring(L, 3),
		    "webserver");
	if (lua_type(L, 4) == LUA_TTABLE)
		web_headers(L, 4, "webserver");
	if (lua_type(L, 5) == LUA_TSTRING || lua_type(L, 5) == LUA_TTABLE)
		web_acl(L, 5, "webserver");
	if (settings.st_running && settings.st_webaddrlen > 0)
		return luaL_error(L, "webserver: already listening on %s; the "
		    "address changes with a restart", addr_to_text(
		    (struct sockaddr *)&settings.st_webaddr, buf, sizeof(buf)));
	settings.st_webaddr = ss;
	settings.st_webaddrlen = sslen;
	if (settings.st_running && dlua_host.h_webserver != NULL &&
	    dlua_host.h_webserver() == -1) {
		settings.st_webaddrlen = 0;
		return luaL_error(L, "webserver: unable to listen on %s: %s",
		    text, strerror(errno));
	}
	return 0;
}

static int
l_setwebserverconfig(lua_State *L)
{
	const char	*fn = "setWebserverConfig";
	lua_Integer	 n;

	luaL_checktype(L, 1, LUA_TTABLE);
	/* First, so that it applies to the credentials of this call. */
	settings.st_webhashplain = dlua_opt_bool(L, 1,
	    "hashPlaintextCredentials", settings.st_webhashplain);
	if (lua_getfield(L, 1, "password") == LUA_TSTRING)
		set_credential(L, &settings.st_webpassword, lua_tostring(L, -1),
		    fn);
	lua_pop(L, 1);
	if (lua_getfield(L, 1, "apiKey") == LUA_TSTRING)
		set_credential(L, &settings.st_webapikey, lua_tostring(L, -1),
		    fn);
	lua_pop(L, 1);
	if (lua_getfield(L, 1, "acl") != LUA_TNIL)
		web_acl(L, lua_gettop(L), fn);
	lua_settop(L, 1);
	if (lua_getfield(L, 1, "customHeaders") != LUA_TNIL)
		web_headers(L, lua_gettop(L), fn);
	lua_pop(L, 1);
	settings.st_webstatsauth = dlua_opt_bool(L, 1,
	    "statsRequireAuthentication", settings.st_webstatsauth);
	settings.st_webapiauth = dlua_opt_bool(L, 1,
	    "apiRequiresAuthentication", settings.st_webapiauth);
	settings.st_webdashauth = dlua_opt_bool(L, 1,
	    "dashboardRequiresAuthentication", settings.st_webdashauth);
	n = dlua_opt_int(L, 1, "maxConcurrentConnections",
	    settings.st_webmaxconns);
	if (n < 1 || n > 10000)
		return luaL_error(L, "%s: maxConcurrentConnections must be in "
		    "1..10000", fn);
	settings.st_webmaxconns = (int)n;
	return 0;
}

/* setAPIWritable(allow[, dir]): PUT on the API, saved in dir. */
static int
l_setapiwritable(lua_State *L)
{
	const char	*dir;
	char		*d = NULL;

	luaL_checktype(L, 1, LUA_TBOOLEAN);
	dir = luaL_optstring(L, 2, NULL);
	if (dir != NULL && dir[0] != '\0' && (d = strdup(dir)) == NULL)
		return luaL_error(L, "setAPIWritable: out of memory");
	settings.st_apiwritable = lua_toboolean(L, 1);
	if (dir != NULL) {
		free(settings.st_apiconfdir);
		settings.st_apiconfdir = d;
	}
	return 0;
}

static int
l_hashpassword(lua_State *L)
{
	const char	*pw = luaL_checkstring(L, 1);
	lua_Integer	 wf = luaL_optinteger(L, 2, CRED_WORKFACTOR);
	char		 out[CRED_MAXLEN];

	if (wf < 2 || wf > CRED_MAXWORKFACTOR || (wf & (wf - 1)) != 0)
		return luaL_error(L, "hashPassword: the work factor must be a "
		    "power of two in 2..%d", CRED_MAXWORKFACTOR);
	if (cred_hash(pw, (uint64_t)wf, out, sizeof(out)) == -1)
		return luaL_error(L, "hashPassword: hashing failed");
	lua_pushstring(L, out);
	return 1;
}

static int
l_carbonserver(lua_State *L)
{
	const char		*text = luaL_checkstring(L, 1);
	const char		*ourname = luaL_optstring(L, 2, NULL);
	lua_Integer		 interval = luaL_optinteger(L, 3, 30);
	const char		*ns = luaL_optstring(L, 4, "dnsdist");
	const char		*instance = luaL_optstring(L, 5, "main");
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	if (addr_parse(text, CARBON_PORT, &ss, &sslen) == -1)
		return luaL_error(L, "carbonServer: bad address '%s'", text);
	if (interval < 1 || interval > 86400)
		return luaL_error(L, "carbonServer: the interval must be in "
		    "1..86400 seconds");
	if (ourname != NULL && ourname[0] == '\0')
		ourname = NULL;
	if (ns[0] == '\0' || instance[0] == '\0')
		return luaL_error(L, "carbonServer: empty namespace or "
		    "instance");
	if (settings_add_carbon(&ss, sslen, ourname, (int)interval, ns,
	    instance) == -1)
		return luaL_error(L, "carbonServer: out of memory");
	if (settings.st_running && dlua_host.h_carbon != NULL &&
	    dlua_host.h_carbon() == -1)
		return luaL_error(L, "carbonServer: unable to start the carbon "
		    "thread");
	return 0;
}

/* showWebserverConfig(): the settings, as dnsdist prints them. */
static int
l_showwebserverconfig(lua_State *L)
{
	char	buf[NETMASK_MAXTEXT];
	size_t	i;

	(void)L;
	dlua_printf("Current web server configuration:\nACL: ");
	for (i = 0; i < settings.st_webacl.ng_count; i++)
		dlua_printf("%s%s", i > 0 ? ", " : "", netmask_to_text(
		    &settings.st_webacl.ng_masks[i], buf, sizeof(buf)));
	dlua_printf("\nCustom headers: %s\n", settings.st_nwebheaders > 0 ?
	    "" : "None");
	for (i = 0; i < settings.st_nwebheaders; i++)
		dlua_printf(" - %s: %s\n", settings.st_webheaders[i].wh_name,
		    settings.st_webheaders[i].wh_value);
	dlua_printf("API requires authentication: %s\n"
	    "Dashboard requires authentication: %s\n"
	    "Statistics require authentication: %s\n"
	    "Password: %s\nAPI key: %s\nAPI writable: %s\n"
	    "API configuration directory: %s\n"
	    "Maximum concurrent connections: %d\n",
	    settings.st_webapiauth ? "yes" : "no",
	    settings.st_webdashauth ? "yes" : "no",
	    settings.st_webstatsauth ? "yes" : "no",
	    settings.st_webpassword != NULL && settings.st_webpassword[0] !=
	    '\0' ? "set" : "unset",
	    settings.st_webapikey != NULL && settings.st_webapikey[0] != '\0' ?
	    "set" : "unset", settings.st_apiwritable ? "yes" : "no",
	    settings.st_apiconfdir != NULL ? settings.st_apiconfdir : "",
	    settings.st_webmaxconns);
	return 0;
}

#define WEBLUA_KEY	"dnsdist.webhandlers"

/*
 * registerWebHandler(path, function[, requiresAuthentication]): the
 * function is kept in this state's registry, the path in the settings,
 * where the web thread looks it up.
 */
static int
l_registerwebhandler(lua_State *L)
{
	const char	*path = luaL_checkstring(L, 1);

	luaL_checktype(L, 2, LUA_TFUNCTION);
	if (path[0] != '/' || strlen(path) >= HTTP_PATHMAX ||
	    strpbrk(path, "?# \t\r\n") != NULL)
		return luaL_error(L, "registerWebHandler: bad path '%s'", path);
	if (lua_getfield(L, LUA_REGISTRYINDEX, WEBLUA_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, WEBLUA_KEY);
	}
	lua_pushvalue(L, 2);
	lua_setfield(L, -2, path);
	if (settings_add_web_lua(path, lua_isnone(L, 3) ||
	    lua_toboolean(L, 3)) == -1)
		return luaL_error(L, "registerWebHandler: out of memory");
	return 0;
}

/* A table of the name=value pairs of a query or form body. */
static void
push_vars(lua_State *L, const char *s, size_t len)
{
	const char	*end = s + len, *amp, *eq;
	char		 name[HTTP_PATHMAX], value[HTTP_HEADMAX];

	lua_newtable(L);
	while (s < end) {
		if ((amp = memchr(s, '&', (size_t)(end - s))) == NULL)
			amp = end;
		if ((eq = memchr(s, '=', (size_t)(amp - s))) == NULL)
			eq = amp;
		if (http_decode(s, (size_t)(eq - s), name, sizeof(name)) > 0 &&
		    http_decode(eq < amp ? eq + 1 : amp, (size_t)(amp - (eq <
		    amp ? eq + 1 : amp)), value, sizeof(value)) != -1) {
			lua_pushstring(L, value);
			lua_setfield(L, -2, name);
		}
		s = amp < end ? amp + 1 : end;
	}
}

/* The headers of the request head, names in lower case. */
static void
push_headers(lua_State *L, const char *head, size_t len)
{
	const char	*end = head + len, *p, *eol, *colon;
	luaL_Buffer	 b;

	lua_newtable(L);
	if ((p = memchr(head, '\n', len)) == NULL)
		return;
	for (p++; p < end; p = eol + 1) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			continue;
		luaL_buffinit(L, &b);
		for (; p < colon; p++)
			luaL_addchar(&b, tolower((unsigned char)*p));
		luaL_pushresult(&b);
		for (p = colon + 1; p < eol && (*p == ' ' || *p == '\t'); p++)
			;
		colon = eol;
		while (colon > p && isspace((unsigned char)colon[-1]))
			colon--;
		lua_pushlstring(L, p, (size_t)(colon - p));
		lua_rawset(L, -3);
	}
}

/* The handler's resp: what the web thread answers. */
static void
read_resp(lua_State *L, int idx, struct dlua_webresp *rp)
{
	const char	*name, *value;
	size_t		 len;

	if (lua_getfield(L, idx, "status") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 100 ||
		    lua_tointeger(L, -1) > 599)
			luaL_error(L, "resp.status must be in 100..599");
		rp->rp_status = (int)lua_tointeger(L, -1);
	}
	if (lua_getfield(L, idx, "body") != LUA_TNIL) {
		if ((value = lua_tolstring(L, -1, &len)) == NULL)
			luaL_error(L, "resp.body must be a string");
		sbuf_add(&rp->rp_body, value, len);
	}
	if (lua_getfield(L, idx, "headers") == LUA_TNIL)
		return;
	if (!lua_istable(L, -1))
		luaL_error(L, "resp.headers must be a table");
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "resp.headers must map strings to strings");
		name = lua_tostring(L, -2);
		value = lua_tostring(L, -1);
		if (!header_name_ok(name) || !header_value_ok(value))
			luaL_error(L, "resp.headers: bad header '%s'", name);
		if (strcasecmp(name, "Content-Type") == 0)
			strlcpy(rp->rp_ctype, value, sizeof(rp->rp_ctype));
		else if (strcasecmp(name, "Content-Length") != 0 &&
		    strcasecmp(name, "Connection") != 0)
			sbuf_printf(&rp->rp_headers, "%s: %s\r\n", name, value);
		lua_pop(L, 1);
	}
}

/* Under lua_pcall: the handler at 1, the request at 2, the answer at 3. */
static int
web_call(lua_State *L)
{
	const struct dlua_webreq	*rq = lua_touserdata(L, 2);
	struct dlua_webresp		*rp = lua_touserdata(L, 3);
	bool				 form;

	lua_settop(L, 1);
	lua_newtable(L);
	lua_pushstring(L, rq->wr_path);
	lua_setfield(L, 2, "path");
	lua_pushstring(L, rq->wr_method);
	lua_setfield(L, 2, "method");
	lua_pushinteger(L, rq->wr_version);
	lua_setfield(L, 2, "version");
	lua_pushlstring(L, rq->wr_body, rq->wr_bodylen);
	lua_setfield(L, 2, "body");
	push_vars(L, rq->wr_query, strlen(rq->wr_query));
	lua_setfield(L, 2, "getvars");
	push_headers(L, rq->wr_head, rq->wr_headlen);
	form = lua_getfield(L, -1, "content-type") == LUA_TSTRING &&
	    strncasecmp(lua_tostring(L, -1),
	    "application/x-www-form-urlencoded", 33) == 0;
	lua_pop(L, 1);
	lua_setfield(L, 2, "headers");
	push_vars(L, rq->wr_body, form ? rq->wr_bodylen : 0);
	lua_setfield(L, 2, "postvars");
	lua_newtable(L);
	lua_pushinteger(L, 200);
	lua_setfield(L, 3, "status");
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_call(L, 2, 0);
	read_resp(L, 3, rp);
	return 0;
}

int
dlua_web_call(lua_State *L, const struct dlua_webreq *rq,
    struct dlua_webresp *rp, struct sbuf *err)
{
	int	rc;

	rp->rp_status = 200;
	rp->rp_ctype[0] = '\0';
	if (lua_getfield(L, LUA_REGISTRYINDEX, WEBLUA_KEY) != LUA_TTABLE ||
	    lua_getfield(L, -1, rq->wr_path) != LUA_TFUNCTION) {
		lua_settop(L, 0);
		return 0;
	}
	lua_pushcfunction(L, web_call);
	lua_insert(L, -2);
	lua_pushlightuserdata(L, (void *)(uintptr_t)rq);
	lua_pushlightuserdata(L, rp);
	dlua_hook_begin(L, DLUA_HOOK_BUDGET);
	rc = lua_pcall(L, 3, 0, 0);
	dlua_hook_end(L);
	if (rc != LUA_OK) {
		sbuf_puts(err, lua_tostring(L, -1) != NULL ?
		    lua_tostring(L, -1) : "error");
		atomic_fetch_add(&dlua_hook_errors, 1);
	}
	lua_settop(L, 0);
	return rc == LUA_OK ? 1 : -1;
}

static const luaL_Reg globals[] = {
	{ "registerWebHandler", l_registerwebhandler },
	{ "showWebserverConfig", l_showwebserverconfig },
	{ "webserver", l_webserver },
	{ "setWebserverConfig", l_setwebserverconfig },
	{ "setAPIWritable", l_setapiwritable },
	{ "hashPassword", l_hashpassword },
	{ "carbonServer", l_carbonserver },
	{ NULL, NULL }
};

void
dlua_open_web(lua_State *L)
{
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
