/*
 * Lua threads, as dnsdist 1.8 has them: newThread(code) runs code in a
 * thread and a Lua state of its own (the standard libraries, and
 * submitToMainThread); submitToMainThread(cmd, table) queues cmd and the
 * table's keys and values, as strings, for the configuration's
 * threadmessage(cmd, data), which the daemon calls from its main loop
 * (dlua_threads_deliver).  A thread belongs to the configuration state
 * that started it: when that state is closed (a reload), the thread is
 * told to stop and does at its next Lua instructions; one blocked in a C
 * call stops when the call returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "lua.h"
#include "sbuf.h"
#include "settings.h"

#include <lauxlib.h>
#include <lualib.h>

#define LTHREAD_QUEUEMAX	10000	/* messages waiting for the loop */
#define LTHREAD_HOOKCOUNT	1000	/* instructions between stop checks */

struct lthread {
	struct lthread	*lt_next;
	lua_State	*lt_owner;	/* the configuration that started it */
	lua_State	*lt_L;
	char		*lt_code;
	_Atomic bool	 lt_stop;
};

struct lmessage {
	struct lmessage	*lm_next;
	lua_State	*lm_owner;
	char		*lm_cmd;
	size_t		 lm_n;		/* key, value pairs */
	char		**lm_kv;
};

static pthread_mutex_t	 lt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lthread	*lthreads;
static struct lmessage	*lm_head, **lm_tail = &lm_head;
static size_t		 lm_count;
static _Atomic size_t	 lm_pending;

static void
lmessage_free(struct lmessage *m)
{
	size_t	i;

	for (i = 0; i < 2 * m->lm_n; i++)
		free(m->lm_kv[i]);
	free(m->lm_kv);
	free(m->lm_cmd);
	free(m);
}

/* The thread's own state: which thread it is. */
static struct lthread *
lthread_of(lua_State *L)
{
	return *(struct lthread **)lua_getextraspace(L);
}

static char *
dup_or_null(lua_State *L, int idx)
{
	const char	*s;

	if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER)
		return NULL;
	s = lua_tostring(L, idx);
	return strdup(s);
}

/* submitToMainThread(cmd, table): string or number keys and values. */
static int
l_submit(lua_State *L)
{
	struct lthread	*lt = lthread_of(L);
	struct lmessage	*m;
	size_t		 n = 0;
	char		**kv;

	luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->lm_cmd = strdup(lua_tostring(L, 1))) == NULL) {
		free(m);
		return luaL_error(L, "submitToMainThread: out of memory");
	}
	m->lm_owner = lt->lt_owner;
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		if ((kv = realloc(m->lm_kv, (n + 1) * 2 * sizeof(*kv))) ==
		    NULL) {
			lua_pop(L, 2);
			lmessage_free(m);
			return luaL_error(L, "submitToMainThread: out of "
			    "memory");
		}
		m->lm_kv = kv;
		kv[2 * n] = dup_or_null(L, -2);
		kv[2 * n + 1] = dup_or_null(L, -1);
		m->lm_n = ++n;
		lua_pop(L, 1);
		if (kv[2 * n - 2] == NULL || kv[2 * n - 1] == NULL) {
			lua_pop(L, 1);
			lmessage_free(m);
			return luaL_error(L, "submitToMainThread: keys and "
			    "values must be strings or numbers");
		}
	}
	pthread_mutex_lock(&lt_lock);
	if (lm_count >= LTHREAD_QUEUEMAX) {
		pthread_mutex_unlock(&lt_lock);
		lmessage_free(m);
		return luaL_error(L, "submitToMainThread: %d messages are "
		    "waiting already", LTHREAD_QUEUEMAX);
	}
	*lm_tail = m;
	lm_tail = &m->lm_next;
	lm_count++;
	atomic_store(&lm_pending, lm_count);
	pthread_mutex_unlock(&lt_lock);
	return 0;
}

/* Every LTHREAD_HOOKCOUNT instructions: stop when told to. */
static void
lthread_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	if (atomic_load(&lthread_of(L)->lt_stop))
		luaL_error(L, "stopped: its configuration is gone");
}

static void
lthread_free(struct lthread *lt)
{
	if (lt->lt_L != NULL)
		lua_close(lt->lt_L);
	free(lt->lt_code);
	free(lt);
}

static void *
lthread_main(void *arg)
{
	struct lthread	*lt = arg, **p;
	lua_State	*L = lt->lt_L;
	char		 msg[512];

	if (luaL_loadbuffer(L, lt->lt_code, strlen(lt->lt_code),
	    "=newThread") != LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK) {
		snprintf(msg, sizeof(msg), "Lua thread exited: %s",
		    lua_tostring(L, -1) != NULL ? lua_tostring(L, -1) :
		    "an error");
		if (dlua_host.h_log != NULL && !atomic_load(&lt->lt_stop))
			dlua_host.h_log(LOG_WARNING, msg);
	}
	pthread_mutex_lock(&lt_lock);
	for (p = &lthreads; *p != NULL; p = &(*p)->lt_next)
		if (*p == lt) {
			*p = lt->lt_next;
			break;
		}
	pthread_mutex_unlock(&lt_lock);
	lthread_free(lt);
	return NULL;
}

/* newThread(code): nothing when checking the configuration or a client. */
static int
l_newthread(lua_State *L)
{
	struct lthread	*lt;
	pthread_attr_t	 attr;
	const char	*code = luaL_checkstring(L, 1);
	int		 rc;

	if (settings.st_configcheck || settings.st_clientmode)
		return 0;
	if ((lt = calloc(1, sizeof(*lt))) == NULL ||
	    (lt->lt_code = strdup(code)) == NULL ||
	    (lt->lt_L = luaL_newstate()) == NULL) {
		if (lt != NULL)
			lthread_free(lt);
		return luaL_error(L, "newThread: out of memory");
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
	lt->lt_owner = lua_tothread(L, -1);
	lua_pop(L, 1);
	*(struct lthread **)lua_getextraspace(lt->lt_L) = lt;
	luaL_openlibs(lt->lt_L);
	lua_register(lt->lt_L, "submitToMainThread", l_submit);
	lua_sethook(lt->lt_L, lthread_hook, LUA_MASKCOUNT, LTHREAD_HOOKCOUNT);
	pthread_mutex_lock(&lt_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if ((rc = pthread_create(&(pthread_t){ 0 }, &attr, lthread_main,
	    lt)) == 0) {
		lt->lt_next = lthreads;
		lthreads = lt;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&lt_lock);
	if (rc != 0) {
		lthread_free(lt);
		return luaL_error(L, "newThread: cannot start a thread");
	}
	return 0;
}

/* A thread of its own calls this one; the configuration cannot. */
static int
l_submit_main(lua_State *L)
{
	return luaL_error(L, "submitToMainThread: only a thread of newThread "
	    "can call it");
}

void
dlua_threads_stop(lua_State *owner)
{
	struct lthread	*lt;

	pthread_mutex_lock(&lt_lock);
	for (lt = lthreads; lt != NULL; lt = lt->lt_next)
		if (lt->lt_owner == owner)
			atomic_store(&lt->lt_stop, true);
	pthread_mutex_unlock(&lt_lock);
}

bool
dlua_threads_pending(void)
{
	return atomic_load_explicit(&lm_pending, memory_order_relaxed) > 0;
}

/*
 * The messages so far, each to L's threadmessage(cmd, data) with budget
 * instructions (Lua lock held); those of threads of another state are
 * dropped.  Errors go to out.  Returns how many were delivered.
 */
int
dlua_threads_deliver(lua_State *L, int budget, struct sbuf *out)
{
	struct lmessage	*m, *next;
	size_t		 i;
	int		 n = 0;

	pthread_mutex_lock(&lt_lock);
	m = lm_head;
	lm_head = NULL;
	lm_tail = &lm_head;
	lm_count = 0;
	atomic_store(&lm_pending, 0);
	pthread_mutex_unlock(&lt_lock);
	for (; m != NULL; m = next) {
		next = m->lm_next;
		if (m->lm_owner == L &&
		    lua_getglobal(L, "threadmessage") == LUA_TFUNCTION) {
			lua_pushstring(L, m->lm_cmd);
			lua_createtable(L, 0, (int)m->lm_n);
			for (i = 0; i < m->lm_n; i++) {
				lua_pushstring(L, m->lm_kv[2 * i + 1]);
				lua_setfield(L, -2, m->lm_kv[2 * i]);
			}
			dlua_budget(L, budget);
			if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
				sbuf_printf(out, "threadmessage: %s\n",
				    lua_tostring(L, -1));
				lua_pop(L, 1);
			}
			dlua_budget(L, 0);
			n++;
		} else if (m->lm_owner == L)
			lua_pop(L, 1);
		lmessage_free(m);
	}
	return n;
}

void
dlua_open_threads(lua_State *L)
{
	lua_register(L, "newThread", l_newthread);
	lua_register(L, "submitToMainThread", l_submit_main);
}
