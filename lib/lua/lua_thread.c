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
 *
 * Network listeners (newNetworkListener) are threads too: each reads the
 * datagrams of its Unix sockets and queues them the same way, for the
 * callback of their socket, called from the main loop with (id, data,
 * sender).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
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

/* A thread's message, or (lm_fn set) a datagram for a listener's callback. */
struct lmessage {
	struct lmessage	*lm_next;
	lua_State	*lm_owner;
	char		*lm_cmd;	/* or the datagram */
	size_t		 lm_n;		/* key, value pairs; its length */
	char		**lm_kv;	/* or the sender */
	struct luafn	*lm_fn;
	int		 lm_id;
};

#define NL_MAXEP	64		/* sockets of a listener */
#define NL_DGRAMMAX	65536

struct nl_ep {
	int		 ep_fd;
	int		 ep_id;
	struct luafn	*ep_fn;
};

struct nlistener {
	struct nlistener *nl_next;
	lua_State	*nl_owner;
	struct nl_ep	 nl_eps[NL_MAXEP];
	size_t		 nl_n;
	int		 nl_wake[2];	/* stop: a byte, or the write end closed */
	pthread_t	 nl_tid;
	bool		 nl_started;
	bool		 nl_gone;	/* its owner closed: only the userdata */
};

#define NLISTENER_MT	"NetworkListener"

static pthread_mutex_t	 lt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lthread	*lthreads;
static struct nlistener	*nlisteners;	/* main thread only */

static void	nl_close(struct nlistener *);
static struct lmessage	*lm_head, **lm_tail = &lm_head;
static size_t		 lm_count;
static _Atomic size_t	 lm_pending;

static void
lmessage_free(struct lmessage *m)
{
	size_t	i;

	for (i = 0; m->lm_fn == NULL && i < 2 * m->lm_n; i++)
		free(m->lm_kv[i]);
	free(m->lm_kv);
	free(m->lm_cmd);
	free(m);
}

/* Queue m for the main loop; -1 (m freed) when the queue is full. */
static int
lmessage_put(struct lmessage *m)
{
	pthread_mutex_lock(&lt_lock);
	if (lm_count >= LTHREAD_QUEUEMAX) {
		pthread_mutex_unlock(&lt_lock);
		lmessage_free(m);
		return -1;
	}
	*lm_tail = m;
	lm_tail = &m->lm_next;
	lm_count++;
	atomic_store(&lm_pending, lm_count);
	pthread_mutex_unlock(&lt_lock);
	return 0;
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
	if (lmessage_put(m) == -1)
		return luaL_error(L, "submitToMainThread: %d messages are "
		    "waiting already", LTHREAD_QUEUEMAX);
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
	struct lthread		*lt;
	struct nlistener	**p, *nl;

	pthread_mutex_lock(&lt_lock);
	for (lt = lthreads; lt != NULL; lt = lt->lt_next)
		if (lt->lt_owner == owner)
			atomic_store(&lt->lt_stop, true);
	pthread_mutex_unlock(&lt_lock);
	/* The userdata of a closed state went with it: so do these. */
	for (p = &nlisteners; (nl = *p) != NULL; ) {
		if (nl->nl_owner != owner) {
			p = &nl->nl_next;
			continue;
		}
		nl_close(nl);
		*p = nl->nl_next;
		free(nl);
	}
}

bool
dlua_threads_pending(void)
{
	return atomic_load_explicit(&lm_pending, memory_order_relaxed) > 0;
}

/* A datagram to its callback(id, data, sender), if its state is L. */
static int
nl_deliver(lua_State *L, struct lmessage *m, int budget, struct sbuf *out)
{
	lua_State	*FL;

	if (m->lm_owner != L || (FL = dlua_fn_push(m->lm_fn)) == NULL)
		return 0;
	if (FL != L) {
		lua_pop(FL, 1);
		return 0;
	}
	lua_pushinteger(L, m->lm_id);
	lua_pushlstring(L, m->lm_cmd, m->lm_n);
	lua_pushstring(L, m->lm_kv != NULL ? (char *)m->lm_kv : "");
	dlua_budget(L, budget);
	if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
		sbuf_printf(out, "network listener callback: %s\n",
		    lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	dlua_budget(L, 0);
	return 1;
}

/* A listener's thread: its sockets' datagrams to the queue. */
static void *
nl_main(void *arg)
{
	struct nlistener	*nl = arg;
	struct pollfd		 pfd[NL_MAXEP + 1];
	struct sockaddr_un	 from;
	struct lmessage		*m;
	socklen_t		 fromlen;
	uint8_t			*buf;
	ssize_t			 r;
	size_t			 i;

	if ((buf = malloc(NL_DGRAMMAX)) == NULL)
		return NULL;
	pfd[0].fd = nl->nl_wake[0];
	pfd[0].events = POLLIN;
	for (i = 0; i < nl->nl_n; i++) {
		pfd[1 + i].fd = nl->nl_eps[i].ep_fd;
		pfd[1 + i].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, nl->nl_n + 1, -1) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		for (i = 0; i < nl->nl_n; i++) {
			if (!(pfd[1 + i].revents & POLLIN))
				continue;
			fromlen = sizeof(from);
			memset(&from, 0, sizeof(from));
			if ((r = recvfrom(pfd[1 + i].fd, buf, NL_DGRAMMAX,
			    MSG_DONTWAIT, (struct sockaddr *)&from,
			    &fromlen)) == -1)
				continue;
			if ((m = calloc(1, sizeof(*m))) == NULL ||
			    (m->lm_cmd = malloc((size_t)r + 1)) == NULL ||
			    (m->lm_kv = (char **)(void *)strndup(from.sun_path,
			    sizeof(from.sun_path))) == NULL) {
				if (m != NULL) {
					free(m->lm_cmd);
					free(m);
				}
				continue;
			}
			memcpy(m->lm_cmd, buf, (size_t)r);
			m->lm_n = (size_t)r;
			m->lm_owner = nl->nl_owner;
			m->lm_fn = nl->nl_eps[i].ep_fn;
			m->lm_id = nl->nl_eps[i].ep_id;
			(void)lmessage_put(m);
		}
	}
	free(buf);
	return NULL;
}

/* Stop its thread, close its sockets, let its callbacks go. */
static void
nl_close(struct nlistener *nl)
{
	struct lmessage	*m;
	size_t		 i;

	if (nl->nl_gone)
		return;
	nl->nl_gone = true;
	if (nl->nl_started) {
		(void)write(nl->nl_wake[1], "", 1);
		pthread_join(nl->nl_tid, NULL);
	}
	/* Its datagrams still queued name callbacks released here. */
	pthread_mutex_lock(&lt_lock);
	for (m = lm_head; m != NULL; m = m->lm_next)
		if (m->lm_owner == nl->nl_owner)
			m->lm_owner = NULL;
	pthread_mutex_unlock(&lt_lock);
	for (i = 0; i < nl->nl_n; i++) {
		close(nl->nl_eps[i].ep_fd);
		dlua_fn_release(nl->nl_eps[i].ep_fn);
	}
	nl->nl_n = 0;
	close(nl->nl_wake[0]);
	close(nl->nl_wake[1]);
}

static struct nlistener *
check_nl(lua_State *L)
{
	return *(struct nlistener **)luaL_checkudata(L, 1, NLISTENER_MT);
}

/* newNetworkListener(): sockets added, then start(). */
static int
l_newnetworklistener(lua_State *L)
{
	struct nlistener	*nl, **u;

	if ((nl = calloc(1, sizeof(*nl))) == NULL)
		return luaL_error(L, "newNetworkListener: out of memory");
	if (pipe(nl->nl_wake) == -1) {
		free(nl);
		return luaL_error(L, "newNetworkListener: %s",
		    strerror(errno));
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
	nl->nl_owner = lua_tothread(L, -1);
	lua_pop(L, 1);
	nl->nl_next = nlisteners;
	nlisteners = nl;
	u = lua_newuserdata(L, sizeof(*u));
	*u = nl;
	luaL_setmetatable(L, NLISTENER_MT);
	return 1;
}

/*
 * listener:addUnixListeningEndpoint(path, id, callback): a datagram
 * socket bound to path (a socket there already is replaced); false when
 * it cannot be, after start(), or in the console client.
 */
static int
l_nl_addunix(lua_State *L)
{
	struct nlistener	*nl = check_nl(L);
	const char		*path = luaL_checkstring(L, 2);
	int			 id = (int)luaL_checkinteger(L, 3);
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd;

	luaL_checktype(L, 4, LUA_TFUNCTION);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (settings.st_clientmode || nl->nl_started || nl->nl_gone ||
	    nl->nl_n == NL_MAXEP || strlcpy(sun.sun_path, path,
	    sizeof(sun.sun_path)) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		lua_pushboolean(L, 0);
		return 1;
	}
	nl->nl_eps[nl->nl_n].ep_fd = fd;
	nl->nl_eps[nl->nl_n].ep_id = id;
	nl->nl_eps[nl->nl_n].ep_fn = dlua_fn_new(L, 4);
	nl->nl_n++;
	lua_pushboolean(L, 1);
	return 1;
}

/* listener:start(): nothing when checking the configuration or a client. */
static int
l_nl_start(lua_State *L)
{
	struct nlistener	*nl = check_nl(L);

	if (settings.st_configcheck || settings.st_clientmode ||
	    nl->nl_started || nl->nl_gone)
		return 0;
	if (pthread_create(&nl->nl_tid, NULL, nl_main, nl) != 0)
		return luaL_error(L, "NetworkListener:start: cannot start a "
		    "thread");
	nl->nl_started = true;
	return 0;
}

static int
l_nl_addunixffi(lua_State *L)
{
	return luaL_error(L, "addUnixListeningEndpointFFI: "
	    "LuaJIT's FFI is not supported: this is Lua 5.3");
}

static const luaL_Reg nl_methods[] = {
	{ "addUnixListeningEndpoint", l_nl_addunix },
	{ "addUnixListeningEndpointFFI", l_nl_addunixffi },
	{ "start", l_nl_start },
	{ NULL, NULL }
};

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
		if (m->lm_fn != NULL) {
			n += nl_deliver(L, m, budget, out);
			lmessage_free(m);
			continue;
		}
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
	luaL_newmetatable(L, NLISTENER_MT);
	lua_newtable(L);
	luaL_setfuncs(L, nl_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_register(L, "newNetworkListener", l_newnetworklistener);
	lua_register(L, "newThread", l_newthread);
	lua_register(L, "submitToMainThread", l_submit_main);
}
