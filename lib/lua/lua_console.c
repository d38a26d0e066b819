/*
 * Lua bindings for the remote console: its socket, its key, its ACL and
 * its limits.  The socket itself is the daemon's (dnsdist/control.c);
 * here the settings are recorded, and a new address is handed to the
 * daemon when it is already running.
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "ctlproto.h"
#include "lua.h"
#include "netmask.h"
#include "settings.h"

#define CONSOLE_MSGMIN	1024		/* a smaller limit locks everyone out */
#define CONSOLE_MSGMAX	(1 << 30)

static int
l_controlsocket(lua_State *L)
{
	const char		*text = luaL_checkstring(L, 1);
	struct sockaddr_storage	 ss, old;
	socklen_t		 sslen, oldlen;
	char			 buf[ADDR_MAXTEXT];
	int			 saved;

	if (addr_parse(text, CTLPROTO_PORT, &ss, &sslen) == -1)
		return luaL_error(L, "controlSocket: bad address '%s'", text);
	old = settings.st_ctladdr;
	oldlen = settings.st_ctladdrlen;
	settings.st_ctladdr = ss;
	settings.st_ctladdrlen = sslen;
	if (settings.st_running && dlua_host.h_control_socket != NULL &&
	    dlua_host.h_control_socket() == -1) {
		saved = errno;
		settings.st_ctladdr = old;
		settings.st_ctladdrlen = oldlen;
		return luaL_error(L, "controlSocket: unable to listen on %s: %s",
		    addr_to_text((struct sockaddr *)&ss, buf, sizeof(buf)),
		    strerror(saved));
	}
	return 0;
}

static int
l_getcontrolsocket(lua_State *L)
{
	char	buf[ADDR_MAXTEXT];

	if (settings.st_ctladdrlen == 0)
		return 0;
	lua_pushstring(L, addr_to_text((struct sockaddr *)&settings.st_ctladdr,
	    buf, sizeof(buf)));
	return 1;
}

static int
l_setkey(lua_State *L)
{
	const char	*text = luaL_checkstring(L, 1);

	/* A key given with -k beats the file's, not the console's. */
	if (settings.st_consolekeycmdline && !settings.st_running)
		return 0;
	if (settings_set_console_key(text) == -1)
		return luaL_error(L, "setKey: the key must be the base64 of 32 "
		    "bytes, as makeKey() prints");
	return 0;
}

static int
l_makekey(lua_State *L)
{
	char	buf[CTLPROTO_KEYTEXT];

	(void)L;
	ctlproto_key_make(buf);
	dlua_printf("setKey(\"%s\")\n", buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int
l_testcrypto(lua_State *L)
{
	const char	*why = NULL;

	(void)L;
	if (ctlproto_selftest(&why) == -1) {
		dlua_printf("Crypto failed: %s\n", why);
		return 0;
	}
	dlua_printf("Everything is ok!\n");
	if (!settings.st_consolekeyset)
		dlua_printf("No key is set: remote console connections are "
		    "refused until setKey() sets one\n");
	return 0;
}

static int
l_setconsoleacl(lua_State *L)
{
	dlua_replace_nmg(L, 1, &settings.st_consoleacl, "setConsoleACL");
	return 0;
}

static int
l_addconsoleacl(lua_State *L)
{
	const char	*s = luaL_checkstring(L, 1);

	if (netmask_group_add_text(&settings.st_consoleacl, s) == -1)
		return luaL_error(L, "addConsoleACL: bad netmask '%s'", s);
	return 0;
}

static int
l_showconsoleacl(lua_State *L)
{
	char	buf[NETMASK_MAXTEXT];
	size_t	i;

	(void)L;
	for (i = 0; i < settings.st_consoleacl.ng_count; i++)
		dlua_printf("%s\n", netmask_to_text(
		    &settings.st_consoleacl.ng_masks[i], buf, sizeof(buf)));
	return 0;
}

static int
l_setconsoleconnectionslogging(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_consolelog = lua_toboolean(L, 1);
	return 0;
}

static int
l_getconsoleconnectionslogging(lua_State *L)
{
	lua_pushboolean(L, settings.st_consolelog);
	return 1;
}

static int
l_setconsolemaxconns(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > 1 << 20)
		return luaL_error(L, "setConsoleMaximumConcurrentConnections: "
		    "%I is out of range 0..%d", n, 1 << 20);
	settings.st_consolemaxconns = (int)n;
	return 0;
}

static int
l_getconsolemaxconns(lua_State *L)
{
	lua_pushinteger(L, settings.st_consolemaxconns);
	return 1;
}

static int
l_setconsolemaxmsg(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < CONSOLE_MSGMIN || n > CONSOLE_MSGMAX)
		return luaL_error(L, "setConsoleOutputMaxMsgSize: %I is out "
		    "of range %d..%d", n, CONSOLE_MSGMIN,
		    CONSOLE_MSGMAX);
	settings.st_consolemaxmsg = (int)n;
	return 0;
}

static int
l_getconsolemaxmsg(lua_State *L)
{
	lua_pushinteger(L, settings.st_consolemaxmsg);
	return 1;
}

static const luaL_Reg globals[] = {
	{ "controlSocket", l_controlsocket },
	{ "getControlSocket", l_getcontrolsocket },
	{ "setKey", l_setkey },
	{ "makeKey", l_makekey },
	{ "testCrypto", l_testcrypto },
	{ "setConsoleACL", l_setconsoleacl },
	{ "addConsoleACL", l_addconsoleacl },
	{ "showConsoleACL", l_showconsoleacl },
	{ "setConsoleConnectionsLogging", l_setconsoleconnectionslogging },
	{ "getConsoleConnectionsLogging", l_getconsoleconnectionslogging },
	{ "setConsoleMaximumConcurrentConnections", l_setconsolemaxconns },
	{ "getConsoleMaximumConcurrentConnections", l_getconsolemaxconns },
	{ "setConsoleOutputMaxMsgSize", l_setconsolemaxmsg },
	{ "getConsoleOutputMaxMsgSize", l_getconsolemaxmsg },
	{ NULL, NULL }
};

void
dlua_open_console(lua_State *L)
{
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
