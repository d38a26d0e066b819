/*
 * The Lua state that runs the configuration and the console: traceback
 * pcall, the output buffer that print() and show*() write to, and how
 * results are shown.
 */
#ifndef DLUA_H
#define DLUA_H

#include <lua.h>
#include <lauxlib.h>

#include "sbuf.h"

/* What the bindings need from the daemon. */
struct dlua_host {
	void	(*h_shutdown)(void);
	void	(*h_show_binds)(struct sbuf *);
};
extern struct dlua_host dlua_host;

/* A new state with the standard libraries and every binding.  NULL on ENOMEM. */
lua_State	*dlua_open(void);
void		 dlua_close(lua_State *);

/* Output of print() and show*() goes here during a run. */
struct sbuf	*dlua_output(void);
void		 dlua_printf(const char *, ...)
		    __attribute__((__format__(__printf__, 1, 2)));

/*
 * Run a configuration file.  0, or -1 with the reason ("FILE:LINE: what")
 * in err.  Output of the chunk is appended to out.
 */
int		 dlua_run_file(lua_State *, const char *path, struct sbuf *out,
		    struct sbuf *err);
/*
 * Run one console line as dnsdist does: first as "return <line>", then as
 * a statement; results are printed into out, an error as "Error: ...".
 * Returns 0 or -1 (error).
 */
int		 dlua_run_line(lua_State *, const char *line, struct sbuf *out);

/* Append a value as the console shows it (integral numbers as integers). */
void		 dlua_format(lua_State *, int idx, struct sbuf *, int depth);

/* Registration of the binding files. */
void		 dlua_open_server(lua_State *);
void		 dlua_open_config(lua_State *);

/* Helpers for bindings. */
int		 dlua_opt_bool(lua_State *, int tidx, const char *, int def);
lua_Integer	 dlua_opt_int(lua_State *, int tidx, const char *,
		    lua_Integer def);
const char	*dlua_opt_string(lua_State *, int tidx, const char *,
		    const char *def);
/* The names of every global function, sorted; for completion and tests. */
void		 dlua_global_names(lua_State *, struct sbuf *);

#endif /* DLUA_H */
