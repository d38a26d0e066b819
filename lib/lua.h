/*
 * The Lua state that runs the configuration and the console: traceback
 * pcall, the output buffer that print() and show*() write to, and how
 * results are shown.
 */
#ifndef DLUA_H
#define DLUA_H

#include <lua.h>
#include <lauxlib.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct local;

/* What the bindings need from the daemon. */
struct dnsq;
struct dlua_host {
	void	(*h_shutdown)(void);
	void	(*h_show_binds)(struct sbuf *);
	void	(*h_show_tcp_stats)(struct sbuf *);
	/* A Lua hook failed: the daemon logs it (rate-limited). */
	void	(*h_hook_error)(const char *);
	/* Listen on settings.st_ctladdr instead; 0, or -1 with errno. */
	int	(*h_control_socket)(void);
	/* Start the web server or the carbon sender at run time; 0 or -1. */
	int	(*h_webserver)(void);
	int	(*h_carbon)(void);
	/* reloadConfig(): read the file again once the call returns. */
	void	(*h_reload)(void);
	/* infolog() and friends: a syslog priority and the message. */
	void	(*h_log)(int, const char *);
	/* setVerboseLogDestination(): 0, or -1 with errno. */
	int	(*h_verbose_log)(const char *);
	/*
	 * The TLS of a listener (DNS over TLS or HTTPS; NULL: all of them):
	 * reload the certificates and keys, rotate the ticket keys, load
	 * them from a file (NULL: ticketKeyFile).  0, or -1 with the reason
	 * in err.  NULL before the listeners exist.
	 */
	int	(*h_tls_reload)(const struct local *, char *err, size_t errlen);
	int	(*h_tls_rotate)(const struct local *, char *err, size_t errlen);
	int	(*h_tls_load_keys)(const struct local *, const char *file,
		    char *err, size_t errlen);
	/* showTLSContexts() (false) and showTLSErrorCounters() (true). */
	void	(*h_tls_show)(struct sbuf *, bool errors);
	/*
	 * Asynchronous objects (main thread, Lua lock held): take the query
	 * held as (asyncID, queryID) out of the daemon's table (NULL: none);
	 * its dnsq; give it back to the packet path, or free it (a drop).
	 * Resumed or freed, it is no longer the caller's.
	 */
	void	*(*h_async_take)(uint16_t asyncid, uint16_t queryid);
	struct dnsq *(*h_async_dq)(void *);
	void	(*h_async_resume)(void *);
	void	(*h_async_free)(void *);
};
extern struct dlua_host dlua_host;

/*
 * A new state with the standard libraries and every binding.  NULL on
 * ENOMEM.  dlua_close() (Lua lock held) closes it, and dlua_retire() (any
 * thread; done at the next release under the lock) closes it once no
 * rule of the configuration it ran can be used any more.
 */
lua_State	*dlua_open(void);
void		 dlua_close(lua_State *);
void		 dlua_retire(lua_State *);
/*
 * A Lua function held by a rule, an action or a policy, with the state it
 * lives in.  dlua_fn_new() references the function at idx of L (Lua lock
 * held); dlua_fn_push() pushes it on its own state and returns that state,
 * or NULL when the state is closed.
 */
struct luafn {
	struct dlua_st	*fn_st;
	int		 fn_ref;
};
struct luafn	*dlua_fn_new(lua_State *, int idx);
lua_State	*dlua_fn_push(const struct luafn *);
/* Whether fn lives in the state of L (or of one of its coroutines). */
bool		 dlua_fn_in(const struct luafn *, lua_State *);
/* Give fn up (any thread; done at the next release under the lock). */
void		 dlua_fn_release(struct luafn *);
/* Release the references queued from threads without the Lua lock. */
void		 dlua_release_pending(void);
/* A state's owner lets go: release the Lua policies it defined. */
void		 dlua_policies_forget(lua_State *);

/* Output of print() and show*() goes here during a run. */
struct sbuf	*dlua_output(void);
void		 dlua_printf(const char *, ...)
		    __attribute__((__format__(__printf__, 1, 2)));

/*
 * Run a configuration file.  0, or -1 with the reason ("FILE:LINE: what")
 * in err.  Output of the chunk is appended to out.  The state's hooks
 * (blockFilter) become the live ones with dlua_activate().
 */
int		 dlua_run_file(lua_State *, const char *path, struct sbuf *out,
		    struct sbuf *err);
void		 dlua_activate(lua_State *);
/*
 * Run one console line as dnsdist does: first as "return <line>", then as
 * a statement; results are printed into out, an error as "Error: ...".
 * Returns 0 or -1 (error).
 */
int		 dlua_run_line(lua_State *, const char *line, struct sbuf *out);
/*
 * Call the global function name() when the configuration defines one,
 * within budget instructions: 0, or -1 with the error in out (where its
 * output goes too).
 */
int		 dlua_call_global(lua_State *, const char *name, int budget,
		    struct sbuf *out);
/* Lua's memory: the cap (setLuaMemoryLimit()) and what is in use. */
extern size_t	 dlua_mem_limit;
size_t		 dlua_mem_usage(void);
/* Limit what Lua may run before it fails (VM instructions); 0: no limit. */
void		 dlua_budget(lua_State *, int instructions);

/* Append a value as the console shows it (integral numbers as integers). */
void		 dlua_format(lua_State *, int idx, struct sbuf *, int depth);

/*
 * A request for a function of registerWebHandler(), as the web server
 * read it, and what the function answered.
 */
struct dlua_webreq {
	const char	*wr_path;
	const char	*wr_method;
	const char	*wr_query;	/* after '?', raw */
	const char	*wr_head;	/* the request line and headers */
	size_t		 wr_headlen;
	const char	*wr_body;
	size_t		 wr_bodylen;
	int		 wr_version;	/* 10 or 11 */
};
struct dlua_webresp {
	int		 rp_status;
	struct sbuf	 rp_body;
	struct sbuf	 rp_headers;	/* "Name: value\r\n" each */
	char		 rp_ctype[128];	/* its Content-Type, "" if none */
};
/*
 * Call the handler of rq's path in L, with the Lua lock held, as a packet
 * hook is called (it may not change the configuration; a budget of
 * instructions).  1 with rp filled in (rp's sbufs initialized by the
 * caller), 0 when the path has no handler, -1 with the error in err.
 */
int		 dlua_web_call(lua_State *, const struct dlua_webreq *,
		    struct dlua_webresp *, struct sbuf *err);

/* Registration of the binding files. */
void		 dlua_open_server(lua_State *);
void		 dlua_open_config(lua_State *);
void		 dlua_open_names(lua_State *);
void		 dlua_open_rules(lua_State *);
void		 dlua_open_actions(lua_State *);
void		 dlua_open_respactions(lua_State *);
void		 dlua_open_chains(lua_State *);
void		 dlua_open_svc(lua_State *);
void		 dlua_open_hooks(lua_State *);
void		 dlua_open_packet(lua_State *);
void		 dlua_open_async(lua_State *);
/*
 * A DNSQuestion object for dq; the pointer it returns is set to NULL
 * when dq goes away, after which the object's methods fail.
 */
struct dnsq	**dlua_push_dq(lua_State *, struct dnsq *);
/* A copy of a DNS header (DNS_HDRLEN bytes) with dq.dh's methods. */
void		 dlua_push_header(lua_State *, const uint8_t *hdr);
/* After the configuration or a console line: look for blockFilter. */
void		 dlua_hooks_changed(lua_State *);
/*
 * Held by whoever runs Lua: the console, and hooks on any thread; taken
 * with dlua_lock(), which lets a thread that set dlua_urgent (the UDP
 * loop's) in ahead of threads that did not.
 */
extern pthread_mutex_t	dlua_mutex;
extern _Thread_local bool dlua_urgent;
void		 dlua_lock(void);
void		 dlua_unlock(void);
/*
 * blockFilter, when the configuration defines it: true when the query
 * must be dropped.  Takes the Lua lock.
 */
struct dnsq;
extern bool	dlua_blockfilter_set;
/* setQueryCount(true): count the query, through the filter if one is set. */
void		 dlua_query_count(struct dnsq *);
bool		 dlua_blockfilter(struct dnsq *);
void		 dlua_open_console(lua_State *);
void		 dlua_open_ring(lua_State *);
void		 dlua_open_web(lua_State *);
/* dnsdist's functions for features not built in: each fails, saying why. */
void		 dlua_open_absent(lua_State *);
void		 dlua_open_doh(lua_State *);
size_t		 dlua_doh_count(void);	/* addDOHLocal() frontends */
void		 dlua_open_misc(lua_State *);
void		 dlua_open_threads(lua_State *);
/*
 * newThread()'s threads: stop those a configuration state started (it is
 * being closed); whether messages wait; deliver them to L's
 * threadmessage() with the Lua lock held (errors in out).
 */
void		 dlua_threads_stop(lua_State *);
bool		 dlua_threads_pending(void);
int		 dlua_threads_deliver(lua_State *, int budget, struct sbuf *);
void		 dlua_open_tls(lua_State *);	/* absent without TLS */
/* addTLSLocal()'s certificate and key lists, held on the stack. */
struct tls_local;
struct tls_local **dlua_tls_pairs(lua_State *, int cidx, int kidx,
		    const char *fn);
/* The ocspResponses option of the table at t, into tl. */
void		 dlua_tls_ocsp(lua_State *, int t, struct tls_local *tl,
		    const char *fn);
/*
 * rotateTicketsKey, loadTicketsKeys, reloadCertificates or
 * loadNewCertificatesAndKeys (name) on the TLS of listener lc, with the
 * method's arguments from index 2.
 */
int		 dlua_tls_method(lua_State *, const struct local *lc,
		    const char *name);

/* Objects shared between binding files (one reference moves to Lua). */
struct selector;
struct action;
struct sockaddr;
void		 dlua_push_selector(lua_State *, struct selector *);
void		 dlua_push_action(lua_State *, struct action *);
void		 dlua_push_dnsname(lua_State *, const uint8_t *, size_t);
/* getPool()'s objects: a userdata holding the pool's name. */
#define DLUA_POOL_MT	"dnsdist.ServerPool"
#define DLUA_SERVER_MT	"dnsdist.Server"

/* A name argument, DNSName or text, into out (DNSNAME_MAXLEN bytes). */
void		 dlua_name_arg(lua_State *, int idx, uint8_t *out, size_t *len);
/* An address argument, ComboAddress or text; the error names fn. */
struct sockaddr_storage;
void		 dlua_addr_arg(lua_State *, int idx, struct sockaddr_storage *,
		    const char *fn);
void		 dlua_open_cache(lua_State *);
void		 dlua_open_kvs(lua_State *);
void		 dlua_open_dynblock(lua_State *);
void		 dlua_open_dnscrypt(lua_State *);
void		 dlua_push_ca(lua_State *, const struct sockaddr *);
/* The ipcipher key (makeIPCipherKey's 16 bytes) at idx, or an error. */
const uint8_t	*dlua_ipcipher_key(lua_State *, int idx, const char *fn);
/* A new, empty NetmaskGroup object; the collector frees its masks. */
/* A string or a table of them at idx, each to add(arg, s); -1 fails. */
void		 dlua_each_string(lua_State *, int idx,
		    int (*add)(void *, const char *), void *arg,
		    const char *fn, const char *what);
struct netmask_group;
struct netmask_group *dlua_push_nmg(lua_State *);

/*
 * Shared by the binding files of names (lua_names.c), selectors
 * (lua_rule.c), actions (lua_action.c, lua_respaction.c) and chains
 * (lua_chain.c).  The constructors push the new object, which owns the
 * reference, and return it; the *_arg functions raise a Lua error on a
 * bad argument.  dlua_selector_arg() leaves the selector on the stack.
 */
#define DLUA_SELECTOR_MT	"dnsdist.DNSRule"
#define DLUA_ACTION_MT		"dnsdist.DNSAction"
#define DLUA_SMN_MT		"dnsdist.SuffixMatchNode"
#define DLUA_NMG_MT		"dnsdist.NetmaskGroup"
#define DLUA_DNSNAME_MT		"dnsdist.DNSName"
#define DLUA_CA_MT		"dnsdist.ComboAddress"
#define DLUA_NAMESET_MT		"dnsdist.DNSNameSet"
struct suffix_set;
struct selector	*dlua_sel_new(lua_State *, int kind);
struct selector	*dlua_selector_arg(lua_State *, int idx);
struct action	*dlua_act_new(lua_State *, int kind);
/*
 * PROXY protocol values from the table at idx, { [type] = value } with
 * types 0-255 as numbers or strings, in order of type; raises an error
 * naming fn when it is not one.  NULL for an empty table.  The caller
 * frees the list (pp_tlvs_free), which a Lua error may not leave behind:
 * nothing else may raise while it is held.
 */
struct pp_tlvs	*dlua_pp_values(lua_State *, int idx, const char *fn);
struct action	*dlua_action_arg(lua_State *, int idx);
/* An action of kind with the description desc; returns 1 (one result). */
int		 dlua_simple_action(lua_State *, int kind, const char *desc);
/* The options of answering actions (aa, ad, ra, ttl) at idx, if a table. */
void		 dlua_spoof_options(lua_State *, int idx, struct action *,
		    const char *what);
/* A query type, as a number or a name ("AAAA"). */
uint16_t	 dlua_qtype_arg(lua_State *, int idx);
/* A new, empty SuffixMatchNode object. */
struct suffix_set *dlua_push_smn(lua_State *);
/* The set of the SMN or DNSNameSet (mt) at idx, copied first for writing. */
struct suffix_set *dlua_set_check(lua_State *, int idx, const char *mt,
		    bool writing);
/* Add the name (DNSName or text) at idx to the set. */
void		 dlua_set_add(lua_State *, struct suffix_set *, int idx);
/* A metatable mt with methods as __index, and __tostring and __gc. */
void		 dlua_new_type(lua_State *, const char *mt,
		    const luaL_Reg *methods, lua_CFunction tostring,
		    lua_CFunction gc);

/* Helpers for bindings. */
/* The monotonic clock, in nanoseconds. */
uint64_t	 dlua_mono_ns(void);
/* Reject the keys of the table at t not in keys (NULL-terminated). */
/*
 * A listener's interface and cpus options from the table at index t,
 * into lc; cpus only where the listener has a UDP loop of its own (udp).
 */
struct local;
void		 dlua_local_place(lua_State *, int t, struct local *lc,
		    const char *fn, bool udp);
void		 dlua_check_keys(lua_State *, int t, const char **keys,
		    const char *what);
int		 dlua_opt_bool(lua_State *, int tidx, const char *, int def);
lua_Integer	 dlua_opt_int(lua_State *, int tidx, const char *,
		    lua_Integer def);
const char	*dlua_opt_string(lua_State *, int tidx, const char *,
		    const char *def);
struct netmask_group;
/* Add the netmask or table of netmasks at idx to ng; a Lua error names fn. */
void		 dlua_netmask_group(lua_State *, int idx,
		    struct netmask_group *ng, const char *fn);
/* Replace *target with the netmasks at idx; an error keeps the old list. */
void		 dlua_replace_nmg(lua_State *, int idx, struct netmask_group *,
		    const char *fn);
/*
 * Packet hooks must not change the configuration.  dlua_guard_config()
 * notes the functions that change it, once the state is made; a hook runs
 * between dlua_hook_begin() and dlua_hook_end() (under dlua_mutex), which
 * make those functions fail and limit the hook to budget instructions.
 * dlua_in_hook is above zero meanwhile.
 */
#define DLUA_HOOK_BUDGET	1000000	/* VM instructions per call */
extern int		dlua_in_hook;
extern _Atomic uint64_t	dlua_hook_errors;	/* hooks that failed */
void		 dlua_guard_config(lua_State *);
void		 dlua_hook_begin(lua_State *, int budget);
void		 dlua_hook_end(lua_State *);
/*
 * Call the alter function fn(dq, obj) of a logging action: obj is a
 * userdata of metatable mt whose first member is the pointer obj, NULL
 * once the call returned.  Takes the Lua lock.
 */
void		 dlua_hook_alter(const struct luafn *, struct dnsq *,
		    const char *mt, void *obj);
void		 dlua_open_remotelog(lua_State *);
/* The names of every global function, sorted; for completion and tests. */
void		 dlua_global_names(lua_State *, struct sbuf *);

#endif /* DLUA_H */
