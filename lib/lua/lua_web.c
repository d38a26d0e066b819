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

static const luaL_Reg globals[] = {
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
