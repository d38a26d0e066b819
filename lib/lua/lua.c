/*
 * The Lua state, its output buffer, and the console's way of running a line
 * and printing what it returns.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#include "lua.h"
#include "rule.h"

struct dlua_host	 dlua_host;
/* One Lua state: whoever runs Lua (console, hooks on any thread) holds this. */
pthread_mutex_t		 dlua_mutex = PTHREAD_MUTEX_INITIALIZER;
_Thread_local bool	 dlua_urgent;
/*
 * Urgent threads waiting for the lock: others wait at the gate until none
 * is, so that a thread whose wait holds up the UDP loop waits at most for
 * the hooks already running or queued, not for a stream of new ones.
 */
static _Atomic int	 urgent_waiting;
static pthread_mutex_t	 gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 gate_cond = PTHREAD_COND_INITIALIZER;

void
dlua_lock(void)
{
	if (dlua_urgent) {
		atomic_fetch_add(&urgent_waiting, 1);
		pthread_mutex_lock(&dlua_mutex);
		if (atomic_fetch_sub(&urgent_waiting, 1) == 1) {
			pthread_mutex_lock(&gate_lock);
			pthread_cond_broadcast(&gate_cond);
			pthread_mutex_unlock(&gate_lock);
		}
		return;
	}
	if (atomic_load(&urgent_waiting) > 0) {
		pthread_mutex_lock(&gate_lock);
		while (atomic_load(&urgent_waiting) > 0)
			pthread_cond_wait(&gate_cond, &gate_lock);
		pthread_mutex_unlock(&gate_lock);
	}
	pthread_mutex_lock(&dlua_mutex);
}

void
dlua_unlock(void)
{
	pthread_mutex_unlock(&dlua_mutex);
}
static struct sbuf	 scratch;
static int		 l_delta(lua_State *);
static int		 l_clearconsolehistory(lua_State *);
static struct sbuf	*output = &scratch;

struct sbuf *
dlua_output(void)
{
	return output;
}

void
dlua_printf(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	sbuf_vprintf(output, fmt, ap);
	va_end(ap);
}

static void
dlua_format_number(lua_State *L, int idx, struct sbuf *sb)
{
	lua_Number	n;

	if (lua_isinteger(L, idx)) {
		sbuf_printf(sb, "%lld", (long long)lua_tointeger(L, idx));
		return;
	}
	n = lua_tonumber(L, idx);
	if (isfinite(n) && n == floor(n) && fabs(n) < 1e15)
		sbuf_printf(sb, "%.0f", n);
	else
		sbuf_printf(sb, "%.14g", n);
}

void
dlua_format(lua_State *L, int idx, struct sbuf *sb, int depth)
{
	const char	*s;
	size_t		 len;
	int		 first = 1;

	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		dlua_format_number(L, idx, sb);
		return;
	case LUA_TTABLE:
		if (depth > 8) {
			sbuf_puts(sb, "{...}");
			return;
		}
		sbuf_puts(sb, "{");
		lua_pushnil(L);
		while (lua_next(L, idx) != 0) {
			sbuf_puts(sb, first ? "\"" : ", \"");
			first = 0;
			lua_pushvalue(L, -2);
			if (lua_type(L, -1) == LUA_TNUMBER)
				dlua_format_number(L, -1, sb);
			else
				sbuf_puts(sb, luaL_tolstring(L, -1, NULL)),
				    lua_pop(L, 1);
			lua_pop(L, 1);
			sbuf_puts(sb, "\": ");
			if (lua_type(L, -1) == LUA_TSTRING) {
				sbuf_printf(sb, "\"%s\"", lua_tostring(L, -1));
			} else
				dlua_format(L, -1, sb, depth + 1);
			lua_pop(L, 1);
		}
		sbuf_puts(sb, "}");
		return;
	default:
		s = luaL_tolstring(L, idx, &len);
		sbuf_add(sb, s, len);
		lua_pop(L, 1);
	}
}

/* print() writes to the output buffer, numbers shown as the console shows them. */
static int
l_print(lua_State *L)
{
	int	i, n = lua_gettop(L);

	for (i = 1; i <= n; i++) {
		if (i > 1)
			sbuf_puts(output, "\t");
		if (lua_type(L, i) == LUA_TNUMBER)
			dlua_format_number(L, i, output);
		else {
			sbuf_puts(output, luaL_tolstring(L, i, NULL));
			lua_pop(L, 1);
		}
	}
	sbuf_puts(output, "\n");
	return 0;
}

static int
dlua_traceback(lua_State *L)
{
	const char	*msg = lua_tostring(L, 1);

	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") &&
		    lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)",
		    luaL_typename(L, 1));
	}
	/* Keep the message alone: the console and the config show that. */
	lua_pushstring(L, msg);
	return 1;
}

static int
dlua_pcall(lua_State *L, int nargs, int nres)
{
	int	base = lua_gettop(L) - nargs, rc;

	lua_pushcfunction(L, dlua_traceback);
	lua_insert(L, base);
	rc = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	return rc;
}

/*
 * All of Lua's memory goes through here, under the Lua lock, so that a
 * configuration or a hook that allocates without end gets "not enough
 * memory" (an error like any other) instead of taking the host down.
 */
static size_t	lua_mem_used;
size_t		dlua_mem_limit = (size_t)512 << 20;

static void *
dlua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	void	*p;

	(void)ud;
	if (ptr == NULL)
		osize = 0;	/* it tells the type of the new object */
	if (nsize == 0) {
		free(ptr);
		lua_mem_used -= osize;
		return NULL;
	}
	if (nsize > osize && lua_mem_used + (nsize - osize) > dlua_mem_limit)
		return NULL;
	if ((p = realloc(ptr, nsize)) == NULL)
		return NULL;
	lua_mem_used = lua_mem_used - osize + nsize;
	return p;
}

size_t
dlua_mem_usage(void)
{
	return lua_mem_used;
}

static int
dlua_panic(lua_State *L)
{
	fprintf(stderr, "dnsdist: unprotected Lua error: %s\n",
	    lua_tostring(L, -1) != NULL ? lua_tostring(L, -1) : "?");
	return 0;	/* Lua aborts */
}

/*
 * A state's bookkeeping, in its extra space: the owner (the daemon, while
 * the state runs the configuration) holds one reference, and each luafn
 * one more.  Several states live at once after a reload, until the old
 * one's owner lets go, which it does once no packet thread can hold the
 * old configuration: the state is closed then (its objects collected,
 * which releases the rules they held), and the bookkeeping goes with the
 * last luafn.
 */
struct dlua_st {
	lua_State	*ls_L;		/* NULL once closed */
	int		 ls_refs;
};

static struct dlua_st *
dlua_st_of(lua_State *L)
{
	return *(struct dlua_st **)lua_getextraspace(L);
}

/* With the Lua lock held. */
static void
dlua_st_unref(struct dlua_st *st)
{
	if (--st->ls_refs > 0)
		return;
	if (st->ls_L != NULL)
		lua_close(st->ls_L);
	free(st);
}

/* The owner lets go: close the state (Lua lock held). */
static void
dlua_st_close(struct dlua_st *st)
{
	lua_State	*L = st->ls_L;

	if (L != NULL) {
		dlua_policies_forget(L);
		dlua_threads_stop(L);
		st->ls_L = NULL;
		lua_close(L);
	}
	dlua_st_unref(st);
}

/*
 * References to give up the next time the Lua lock is held (the last
 * release of a rule may come from any thread, with or without it); a
 * LUA_NOREF entry gives up the owner's reference.
 */
struct dlua_release {
	struct dlua_st	*rl_st;
	int		 rl_ref;
};
static pthread_mutex_t		 release_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dlua_release	*releases;
static size_t			 release_n, release_cap;

static void
dlua_release_queue(struct dlua_st *st, int ref)
{
	struct dlua_release	*nr;

	pthread_mutex_lock(&release_lock);
	if (release_n == release_cap) {
		if ((nr = reallocarray(releases, release_cap ?
		    release_cap * 2 : 16, sizeof(*nr))) == NULL) {
			pthread_mutex_unlock(&release_lock);
			return;		/* kept for good, rather than lost */
		}
		releases = nr;
		release_cap = release_cap ? release_cap * 2 : 16;
	}
	releases[release_n].rl_st = st;
	releases[release_n++].rl_ref = ref;
	pthread_mutex_unlock(&release_lock);
}

void
dlua_fn_release(struct luafn *fn)
{
	dlua_release_queue(fn->fn_st, fn->fn_ref);
	free(fn);
}

/*
 * With the Lua lock held.  One entry at a time, without release_lock
 * held: closing a state runs finalizers that may queue more.
 */
void
dlua_release_pending(void)
{
	struct dlua_release	r;

	for (;;) {
		pthread_mutex_lock(&release_lock);
		if (release_n == 0) {
			pthread_mutex_unlock(&release_lock);
			return;
		}
		r = releases[--release_n];
		pthread_mutex_unlock(&release_lock);
		if (r.rl_ref == LUA_NOREF)
			dlua_st_close(r.rl_st);
		else {
			if (r.rl_st->ls_L != NULL)
				luaL_unref(r.rl_st->ls_L, LUA_REGISTRYINDEX,
				    r.rl_ref);
			dlua_st_unref(r.rl_st);
		}
	}
}

struct luafn *
dlua_fn_new(lua_State *L, int idx)
{
	struct luafn	*fn;

	if ((fn = malloc(sizeof(*fn))) == NULL)
		return NULL;
	fn->fn_st = dlua_st_of(L);
	lua_pushvalue(L, idx);
	fn->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	fn->fn_st->ls_refs++;
	return fn;
}

bool
dlua_fn_in(const struct luafn *fn, lua_State *L)
{
	return fn->fn_st == dlua_st_of(L);
}

lua_State *
dlua_fn_push(const struct luafn *fn)
{
	lua_State	*L = fn->fn_st->ls_L;

	if (L != NULL)
		lua_rawgeti(L, LUA_REGISTRYINDEX, fn->fn_ref);
	return L;
}

lua_State *
dlua_open(void)
{
	struct dlua_st	*st;
	lua_State	*L;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((L = lua_newstate(dlua_alloc, NULL)) == NULL) {
		free(st);
		return NULL;
	}
	st->ls_L = L;
	st->ls_refs = 1;
	*(struct dlua_st **)lua_getextraspace(L) = st;
	lua_atpanic(L, dlua_panic);
	rule_lua_release = dlua_fn_release;
	luaL_openlibs(L);
	lua_register(L, "print", l_print);
	lua_register(L, "delta", l_delta);
	lua_register(L, "clearConsoleHistory", l_clearconsolehistory);
	dlua_open_server(L);
	dlua_open_config(L);
	dlua_open_names(L);
	dlua_open_rules(L);
	dlua_open_actions(L);
	dlua_open_respactions(L);
	dlua_open_chains(L);
	dlua_open_svc(L);
	dlua_open_hooks(L);
	dlua_open_packet(L);
	dlua_open_async(L);
	dlua_open_console(L);
	dlua_open_ring(L);
	dlua_open_cache(L);
	dlua_open_kvs(L);
	dlua_open_dynblock(L);
	dlua_open_dnscrypt(L);
	dlua_open_web(L);
	dlua_open_misc(L);
	dlua_open_threads(L);
	dlua_open_remotelog(L);
	dlua_open_doh(L);
	dlua_open_tls(L);
	dlua_open_absent(L);
	dlua_guard_config(L);
	return L;
}

void
dlua_close(lua_State *L)
{
	if (L != NULL)
		dlua_st_close(dlua_st_of(L));
}

void
dlua_retire(lua_State *L)
{
	dlua_release_queue(dlua_st_of(L), LUA_NOREF);
}

void
dlua_activate(lua_State *L)
{
	dlua_lock();
	dlua_hooks_changed(L);
	dlua_unlock();
}

int
dlua_run_file(lua_State *L, const char *path, struct sbuf *out,
    struct sbuf *err)
{
	FILE		*f;
	struct sbuf	*saved = output;
	int		 rc;

	if ((f = fopen(path, "r")) == NULL) {
		sbuf_printf(err, "unable to read configuration from '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	fclose(f);
	if (luaL_loadfile(L, path) != LUA_OK) {
		sbuf_puts(err, lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	dlua_lock();
	output = out;
	rc = dlua_pcall(L, 0, 0);
	output = saved;
	dlua_unlock();
	if (rc != LUA_OK) {
		sbuf_puts(err, lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	return 0;
}

static int	dlua_run_line_locked(lua_State *, const char *, struct sbuf *);

/*
 * delta(): the console lines that changed something since the start, with
 * their time, ready to paste into the configuration.  Lines that only look
 * (show*, top*, get*, dump*, grep*) are left out; the last DELTA_MAX kept.
 */
#define DELTA_MAX	1000

static char	*deltas[DELTA_MAX];
static size_t	 ndeltas, deltahead;

static void
delta_record(const char *line)
{
	static const char *looks[] = { "show", "top", "get", "dump", "grep",
	    "delta", "print", "help", "testCrypto", "makeKey", NULL };
	char		 when[64];
	time_t		 now = time(NULL);
	struct tm	 tm;
	size_t		 i;
	char		*d;

	while (*line == ' ' || *line == '\t')
		line++;
	for (i = 0; looks[i] != NULL; i++)
		if (strncmp(line, looks[i], strlen(looks[i])) == 0)
			return;
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
	if (asprintf(&d, "-- %s\n%s", when, line) == -1)
		return;
	if (ndeltas == DELTA_MAX) {
		free(deltas[deltahead]);
		deltas[deltahead] = d;
		deltahead = (deltahead + 1) % DELTA_MAX;
	} else
		deltas[ndeltas++] = d;
}

static int
l_delta(lua_State *L)
{
	size_t	i;

	(void)L;
	for (i = 0; i < ndeltas; i++)
		dlua_printf("%s\n", deltas[(deltahead + i) % DELTA_MAX]);
	return 0;
}

/* clearConsoleHistory(): forget the lines that delta() shows. */
static int
l_clearconsolehistory(lua_State *L)
{
	size_t	i;

	(void)L;
	for (i = 0; i < ndeltas; i++)
		free(deltas[i]);
	ndeltas = deltahead = 0;
	return 0;
}

static void
budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	luaL_error(L, "instruction budget exceeded");
}

void
dlua_budget(lua_State *L, int instructions)
{
	if (instructions > 0)
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, instructions);
	else
		lua_sethook(L, NULL, 0, 0);
}

int
dlua_call_global(lua_State *L, const char *name, int budget,
    struct sbuf *out)
{
	struct sbuf	*saved;
	int		 rc = 0;

	dlua_lock();
	dlua_release_pending();
	if (lua_getglobal(L, name) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		dlua_unlock();
		return 0;
	}
	saved = output;
	output = out;
	dlua_budget(L, budget);
	if (dlua_pcall(L, 0, 0) != LUA_OK) {
		sbuf_printf(out, "%s", lua_tostring(L, -1));
		lua_pop(L, 1);
		rc = -1;
	}
	dlua_budget(L, 0);
	output = saved;
	dlua_hooks_changed(L);
	dlua_unlock();
	return rc;
}

int
dlua_run_line(lua_State *L, const char *line, struct sbuf *out)
{
	int	rc;

	dlua_lock();
	dlua_release_pending();
	rc = dlua_run_line_locked(L, line, out);
	if (rc == 0)
		delta_record(line);
	dlua_hooks_changed(L);
	dlua_unlock();
	return rc;
}

static int
dlua_run_line_locked(lua_State *L, const char *line, struct sbuf *out)
{
	struct sbuf	 code, *saved = output;
	int		 top = lua_gettop(L), i, n, rc;

	sbuf_init(&code);
	sbuf_printf(&code, "return %s", line);
	rc = luaL_loadbuffer(L, sbuf_text(&code), code.sb_len, "console");
	sbuf_free(&code);
	if (rc != LUA_OK) {
		lua_pop(L, 1);
		rc = luaL_loadbuffer(L, line, strlen(line), "console");
	}
	if (rc == LUA_OK) {
		output = out;
		rc = dlua_pcall(L, 0, LUA_MULTRET);
		output = saved;
	}
	if (rc != LUA_OK) {
		sbuf_printf(out, "Error: %s\n", lua_tostring(L, -1));
		lua_settop(L, top);
		return -1;
	}
	n = lua_gettop(L);
	for (i = top + 1; i <= n; i++) {
		if (lua_isnil(L, i))
			continue;
		dlua_format(L, i, out, 0);
		sbuf_puts(out, "\n");
	}
	lua_settop(L, top);
	return 0;
}

void
dlua_new_type(lua_State *L, const char *mt, const luaL_Reg *methods,
    lua_CFunction tostring, lua_CFunction gc)
{
	luaL_newmetatable(L, mt);
	lua_newtable(L);
	if (methods != NULL)
		luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	if (tostring != NULL) {
		lua_pushcfunction(L, tostring);
		lua_setfield(L, -2, "__tostring");
	}
	if (gc != NULL) {
		lua_pushcfunction(L, gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
}

void
dlua_check_keys(lua_State *L, int t, const char **keys, const char *what)
{
	const char	*k;
	size_t		 i;

	t = lua_absindex(L, t);
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			luaL_error(L, "%s: option names must be strings", what);
		}
		k = lua_tostring(L, -1);
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL)
			luaL_error(L, "%s: unknown option '%s'", what, k);
	}
}

uint64_t
dlua_mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
dlua_opt_bool(lua_State *L, int t, const char *key, int def)
{
	int	v = def;

	if (lua_getfield(L, t, key) != LUA_TNIL)
		v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

lua_Integer
dlua_opt_int(lua_State *L, int t, const char *key, lua_Integer def)
{
	lua_Integer	v = def;
	int		isnum;

	if (lua_getfield(L, t, key) != LUA_TNIL) {
		v = lua_tointegerx(L, -1, &isnum);
		if (!isnum) {
			lua_pop(L, 1);
			return luaL_error(L, "'%s' must be an integer", key);
		}
	}
	lua_pop(L, 1);
	return v;
}

const char *
dlua_opt_string(lua_State *L, int t, const char *key, const char *def)
{
	const char	*v = def;

	/* The string stays alive: it is a field of the table at t. */
	if (lua_getfield(L, t, key) != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TSTRING &&
		    lua_type(L, -1) != LUA_TNUMBER) {
			lua_pop(L, 1);
			luaL_error(L, "'%s' must be a string", key);
			return def;
		}
		v = lua_tostring(L, -1);
	}
	lua_pop(L, 1);
	return v;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
dlua_global_names(lua_State *L, struct sbuf *sb)
{
	char	**names = NULL, **nn;
	size_t	  n = 0, i;

	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    lua_type(L, -1) == LUA_TFUNCTION &&
		    (nn = realloc(names, (n + 1) * sizeof(*nn))) != NULL) {
			names = nn;
			names[n++] = strdup(lua_tostring(L, -2));
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (names[i] != NULL)
			sbuf_printf(sb, "%s\n", names[i]);
		free(names[i]);
	}
	free(names);
}
