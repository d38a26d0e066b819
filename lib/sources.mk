# Sources of libdnsdist.a, shared by Makefile (GNU make) and Makefile.bsd.
LIB_SRCS = \
	lib/addr.c \
	lib/dnsname.c \
	lib/dnspacket.c \
	lib/netmask.c \
	lib/qps.c \
	lib/suffix.c \
	lib/rule.c \
	lib/action.c \
	lib/server.c \
	lib/policy.c \
	lib/cache.c \
	lib/inflight.c \
	lib/dynblock.c \
	lib/edns.c \
	lib/sbuf.c \
	lib/ctlproto.c \
	lib/stats.c \
	lib/metrics.c \
	lib/http.c \
	lib/credentials.c \
	lib/ring.c \
	lib/settings.c \
	lib/lua.c \
	lib/lua_server.c \
	lib/lua_config.c \
	lib/lua_console.c \
	lib/lua_rule.c \
	lib/lua_dq.c \
	lib/lua_ring.c \
	lib/lua_cache.c \
	lib/lua_dynblock.c \
	lib/lua_web.c \
	lib/compat/nonlocal.c \
	lib/compat/pktinfo.c \
	lib/compat/mmsg.c \
	lib/compat/sandbox.c
