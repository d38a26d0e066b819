/*
 * Asynchronous objects, as dnsdist 1.8 has them: getAsynchronousObject()
 * takes a query (or response) that dq:suspend() had held out of the
 * daemon's table, and its object gives it back (resume), drops it, or
 * answers it (setRCode).  An object that is collected unused drops its
 * query, as dnsdist's does.  The holding is the daemon's (dlua_host).
 */
#include <stdint.h>
#include <string.h>

#include "dnspacket.h"
#include "lua.h"
#include "rule.h"

#define ASYNC_MT	"dnsdist.AsynchronousObject"

struct async_ud {
	void		 *au_held;	/* NULL once resumed or dropped */
	struct dnsq	**au_dq;	/* getDQ()'s object, or NULL */
};

static struct async_ud *
check_async(lua_State *L)
{
	struct async_ud	*au = luaL_checkudata(L, 1, ASYNC_MT);

	if (au->au_held == NULL)
		luaL_error(L, "this asynchronous object was resumed or dropped");
	return au;
}

/* The query leaves the object: getDQ()'s object is no longer valid. */
static void *
async_release(struct async_ud *au)
{
	void	*held = au->au_held;

	au->au_held = NULL;
	if (au->au_dq != NULL)
		*au->au_dq = NULL;
	return held;
}

static int
l_getasyncobject(lua_State *L)
{
	lua_Integer	 aid = luaL_checkinteger(L, 1);
	lua_Integer	 qid = luaL_checkinteger(L, 2);
	struct async_ud	*au;
	void		*held = NULL;

	if (aid >= 0 && aid <= UINT16_MAX && qid >= 0 && qid <= UINT16_MAX &&
	    dlua_host.h_async_take != NULL)
		held = dlua_host.h_async_take((uint16_t)aid, (uint16_t)qid);
	if (held == NULL)
		return luaL_error(L, "Unable to find asynchronous object");
	au = lua_newuserdata(L, sizeof(*au));
	au->au_held = held;
	au->au_dq = NULL;
	luaL_setmetatable(L, ASYNC_MT);
	return 1;
}

/* getDQ() and getDR(): one object for the held query, made once. */
static int
l_async_getdq(lua_State *L)
{
	struct async_ud	*au = check_async(L);

	if (au->au_dq == NULL || lua_getuservalue(L, 1) == LUA_TNIL) {
		lua_settop(L, 1);
		au->au_dq = dlua_push_dq(L, dlua_host.h_async_dq(au->au_held));
		lua_pushvalue(L, -1);
		lua_setuservalue(L, 1);
	}
	return 1;
}

static int
l_async_resume(lua_State *L)
{
	dlua_host.h_async_resume(async_release(check_async(L)));
	lua_pushboolean(L, 1);
	return 1;
}

static int
l_async_drop(lua_State *L)
{
	dlua_host.h_async_free(async_release(check_async(L)));
	lua_pushboolean(L, 1);
	return 1;
}

/*
 * setRCode(rcode, clearAnswers): an answer with this rcode, RA as RD,
 * neither AA nor AD, and the question only (EDNS kept) when clearAnswers;
 * resume() sends it.
 */
static int
l_async_setrcode(lua_State *L)
{
	struct dnsq	*dq = dlua_host.h_async_dq(check_async(L)->au_held);
	lua_Integer	 rcode = luaL_checkinteger(L, 2);

	if (rcode < 0 || rcode > 15)
		return luaL_error(L, "setRCode: 0 to 15");
	/* The question, and the OPT record's size and DO bit if it had one. */
	if (lua_toboolean(L, 3)) {
		dq->dq_len = dnspacket_truncate(dq->dq_pkt, dq->dq_len,
		    dq->dq_q, true);
		dnspacket_set_tc(dq->dq_pkt, false);
	}
	dnspacket_set_qr(dq->dq_pkt, true);
	dnspacket_set_rcode(dq->dq_pkt, (int)rcode);
	dnspacket_set_aa(dq->dq_pkt, false);
	dnspacket_set_ad(dq->dq_pkt, false);
	dnspacket_set_ra(dq->dq_pkt, dnspacket_rd(dq->dq_pkt));
	lua_pushboolean(L, 1);
	return 1;
}

static int
l_async_gc(lua_State *L)
{
	struct async_ud	*au = luaL_checkudata(L, 1, ASYNC_MT);

	if (au->au_held != NULL)
		dlua_host.h_async_free(async_release(au));
	return 0;
}

void
dlua_open_async(lua_State *L)
{
	static const luaL_Reg	methods[] = {
		{ "getDQ", l_async_getdq },
		{ "getDR", l_async_getdq },
		{ "resume", l_async_resume },
		{ "drop", l_async_drop },
		{ "setRCode", l_async_setrcode },
		{ NULL, NULL }
	};

	luaL_newmetatable(L, ASYNC_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_async_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_register(L, "getAsynchronousObject", l_getasyncobject);
}
