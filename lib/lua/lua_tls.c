/*
 * Lua bindings for DNS over TLS frontends: addTLSLocal() records what a
 * frontend is made of (the daemon loads the files when it binds), the
 * TLSContext and TLSFrontend objects reload certificates and ticket keys
 * through the daemon's hooks, and SNIRule() matches the name a client
 * asked for.  Without TLS (make TLS=no) none of this is registered and
 * lua_absent.c refuses the names.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "rule.h"
#include "settings.h"
#include "ossl.h"

#ifndef DNSDIST_NO_TLS

#define TLSCTX_MT	"dnsdist.TLSContext"
#define TLSFRONT_MT	"dnsdist.TLSFrontend"
#define TLSCERT_MT	"dnsdist.TLSCertificate"

/* newTLSCertificate(): a certificate file and how to open it. */
struct tls_cert {
	char	*tk_cert;
	char	*tk_key;	/* "": in the certificate's file */
	char	*tk_pass;	/* NULL: none */
};

/*
 * dnsdist's options, and those that libtls cannot honour with the reason.
 * Anything else is a misspelling and an error.
 */
static const char *const tls_keys[] = {
	"provider", "minTLSVersion", "ciphers", "ciphersTLS13",
	"sessionTickets", "numberOfTicketsKeys", "ticketKeyFile",
	"ticketsKeysRotationDelay", "numberOfStoredSessions", "ocspResponses",
	"keyLogFile", "maxConcurrentTCPConnections", "reusePort",
	"tcpFastOpenQueueSize", "interface", "cpus", "tcpListenQueueSize",
	"preferServerCiphers", "sessionTimeout", "maxInFlight",
	"releaseBuffers", "enableRenegotiation", "ktls", "tlsAsyncMode",
	"additionalAddresses", "ignoreTLSConfigurationErrors",
	"enableProxyProtocol", "proxyProtocolOutsideTLS", "readAhead", NULL
};

static const struct {
	const char	*r_key;
	const char	*r_why;
} tls_refused[] = {
#ifndef DNSDIST_TLS_OPENSSL
	{ "ciphersTLS13", "libtls has no separate list of TLS 1.3 cipher "
	    "suites" },
	{ "keyLogFile", "libtls does not expose the session secrets" },
	{ "sessionTimeout", "libtls ties the session lifetime to the ticket "
	    "keys (ticketsKeysRotationDelay)" },
#endif
	{ "ktls", "kernel TLS is not used by libtls" },
	{ "tlsAsyncMode", "libtls has no asynchronous engine mode" },
	{ "additionalAddresses", "one address per addTLSLocal()" },
	{ "enableRenegotiation", "libtls never renegotiates" },
	{ "readAhead", "libtls chooses its own reads" },
	{ "ignoreTLSConfigurationErrors", "a frontend whose certificate does "
	    "not load is an error" },
};

/*
 * A string or a table of strings into a fresh vector ending in NULL, in
 * *out as it fills (its owner frees it after an error); its length.
 */
static size_t
str_list(lua_State *L, int idx, char ***out, const char *what)
{
	char	**v;
	size_t	  i, n;

	if (lua_type(L, idx) == LUA_TSTRING) {
		if ((v = calloc(2, sizeof(*v))) == NULL ||
		    (v[0] = strdup(lua_tostring(L, idx))) == NULL) {
			free(v);
			luaL_error(L, "addTLSLocal: out of memory");
		}
		*out = v;
		return 1;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L, "addTLSLocal: %s must be a file name or a table "
		    "of them", what);
	n = lua_rawlen(L, idx);
	if (n == 0)
		luaL_error(L, "addTLSLocal: no %s", what);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		luaL_error(L, "addTLSLocal: out of memory");
	*out = v;
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i + 1);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    (v[i] = strdup(lua_tostring(L, -1))) == NULL)
			luaL_error(L, "addTLSLocal: %s must be file names",
			    what);
		lua_pop(L, 1);
	}
	return n;
}

/* The TLS frontend made by the n-th addTLSLocal(), or NULL. */
static struct local *
tls_nth(size_t n)
{
	size_t	i;

	for (i = 0; i < settings.st_nlocals; i++)
		if (settings.st_locals[i].lc_tls != NULL &&
		    settings.st_locals[i].lc_doh == NULL && n-- == 0)
			return &settings.st_locals[i];
	return NULL;
}

static size_t
tls_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < settings.st_nlocals; i++)
		n += settings.st_locals[i].lc_tls != NULL &&
		    settings.st_locals[i].lc_doh == NULL;
	return n;
}

static void
tls_options(lua_State *L, struct tls_local *tl, size_t *maxconns,
    int *reuseport, int *tfo, int *queue, int *pp, int *inflight)
{
	const char	*s;
	lua_Integer	 v;
	size_t		 i;

	dlua_check_keys(L, 4, (const char **)(uintptr_t)tls_keys,
	    "addTLSLocal");
	for (i = 0; i < sizeof(tls_refused) / sizeof(tls_refused[0]); i++) {
		if (lua_getfield(L, 4, tls_refused[i].r_key) != LUA_TNIL &&
		    !(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)))
			luaL_error(L, "addTLSLocal: %s is not supported: %s",
			    tls_refused[i].r_key, tls_refused[i].r_why);
		lua_pop(L, 1);
	}
	s = dlua_opt_string(L, 4, "provider", "openssl");
	if (strcmp(s, "openssl") != 0 && strcmp(s, "gnutls") != 0)
		luaL_error(L, "addTLSLocal: unknown provider '%s'", s);
	free(tl->tl_provider);
	if ((tl->tl_provider = strdup(s)) == NULL)
		luaL_error(L, "addTLSLocal: out of memory");
	s = dlua_opt_string(L, 4, "minTLSVersion", "tls1.0");
	if (strncmp(s, "tls1.", 5) != 0 || s[5] < '0' || s[5] > '3' ||
	    s[6] != '\0')
		luaL_error(L, "addTLSLocal: minTLSVersion must be tls1.0, "
		    "tls1.1, tls1.2 or tls1.3, not '%s'", s);
	tl->tl_minver = 10 + s[5] - '0';
	if ((s = dlua_opt_string(L, 4, "ciphers", NULL)) != NULL &&
	    (tl->tl_ciphers = strdup(s)) == NULL)
		luaL_error(L, "addTLSLocal: out of memory");
	if ((s = dlua_opt_string(L, 4, "ticketKeyFile", NULL)) != NULL &&
	    (tl->tl_keyfile = strdup(s)) == NULL)
		luaL_error(L, "addTLSLocal: out of memory");
	tl->tl_tickets = dlua_opt_bool(L, 4, "sessionTickets", 1);
	v = dlua_opt_int(L, 4, "numberOfTicketsKeys", TLS_MAXKEYS);
	if (v < 1 || v > TLS_MAXKEYS)
		luaL_error(L, "addTLSLocal: numberOfTicketsKeys is 1 to %d: "
		    "libtls keeps at most %d ticket keys", TLS_MAXKEYS,
		    TLS_MAXKEYS);
	tl->tl_nkeys = (int)v;
	v = dlua_opt_int(L, 4, "ticketsKeysRotationDelay", 43200);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addTLSLocal: bad ticketsKeysRotationDelay");
	tl->tl_rotation = (int)v;
#ifdef DNSDIST_TLS_OPENSSL
	v = dlua_opt_int(L, 4, "numberOfStoredSessions", 20000);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addTLSLocal: bad numberOfStoredSessions");
	tl->tl_nsessions = (int)v;
	v = dlua_opt_int(L, 4, "sessionTimeout", 0);
	if (v < 0 || v > TLS_MAXLIFE)
		luaL_error(L, "addTLSLocal: sessionTimeout is 0 to %d "
		    "seconds", TLS_MAXLIFE);
	tl->tl_timeout = (int)v;
	if (((s = dlua_opt_string(L, 4, "ciphersTLS13", NULL)) != NULL &&
	    (tl->tl_ciphers13 = strdup(s)) == NULL) ||
	    ((s = dlua_opt_string(L, 4, "keyLogFile", NULL)) != NULL &&
	    (tl->tl_keylog = strdup(s)) == NULL))
		luaL_error(L, "addTLSLocal: out of memory");
#else
	if (dlua_opt_int(L, 4, "numberOfStoredSessions", 0) != 0)
		luaL_error(L, "addTLSLocal: numberOfStoredSessions is not "
		    "supported: libtls keeps no session cache on the server "
		    "side, sessions resume through tickets only (set it to 0)");
#endif
	if (!dlua_opt_bool(L, 4, "releaseBuffers", 1))
		luaL_error(L, "addTLSLocal: releaseBuffers=false is not "
		    "supported: libtls manages its buffers");
	if (!dlua_opt_bool(L, 4, "preferServerCiphers", 1))
		luaL_error(L, "addTLSLocal: preferServerCiphers=false is not "
		    "supported: libtls servers prefer their own order");
	v = dlua_opt_int(L, 4, "maxInFlight", 0);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addTLSLocal: bad maxInFlight");
	*inflight = (int)v;
	v = dlua_opt_int(L, 4, "maxConcurrentTCPConnections", 0);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addTLSLocal: bad maxConcurrentTCPConnections");
	*maxconns = (size_t)v;
	*reuseport = dlua_opt_bool(L, 4, "reusePort", 0);
	*tfo = (int)dlua_opt_int(L, 4, "tcpFastOpenQueueSize", 0);
	v = dlua_opt_int(L, 4, "tcpListenQueueSize", 0);
	if (v < 0 || v > INT_MAX)
		luaL_error(L, "addTLSLocal: bad tcpListenQueueSize");
	*queue = (int)v;
	/* dnsdist 1.9's: the PROXY header expected at all, and where. */
	*pp = (dlua_opt_bool(L, 4, "enableProxyProtocol", 1) ? 0 : 1) |
	    (dlua_opt_bool(L, 4, "proxyProtocolOutsideTLS", 0) ? 2 : 0);
	dlua_tls_ocsp(L, 4, tl, "addTLSLocal");
}

static int
tls_gc(lua_State *L)
{
	struct tls_local	**tlp = lua_touserdata(L, 1);

	tls_local_free(*tlp);
	*tlp = NULL;
	return 0;
}

/* A tls_local held by a new userdata until it is in place. */
static struct tls_local **
tls_hold(lua_State *L)
{
	struct tls_local	**tlp;

	tlp = lua_newuserdata(L, sizeof(*tlp));
	*tlp = NULL;
	lua_newtable(L);
	lua_pushcfunction(L, tls_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	if ((*tlp = calloc(1, sizeof(**tlp))) == NULL)
		luaL_error(L, "out of memory");
	return tlp;
}

/* The TLSCertificate at idx, or in the table at idx first, or NULL. */
static struct tls_cert *
tls_cert_at(lua_State *L, int idx)
{
	struct tls_cert	*tk;

	if (lua_type(L, idx) != LUA_TTABLE)
		return luaL_testudata(L, idx, TLSCERT_MT);
	lua_rawgeti(L, idx, 1);
	tk = luaL_testudata(L, -1, TLSCERT_MT);
	lua_pop(L, 1);
	return tk;
}

/*
 * The certificates at cidx, file names or newTLSCertificate() objects (a
 * table of either, or one), and the key files at kidx for file names
 * (ignored for objects, which know their keys), into tl.
 */
static void
tls_files(lua_State *L, int cidx, int kidx, struct tls_local *tl,
    const char *fn)
{
	struct tls_cert	*tk;
	size_t		 i, n;

	if (tls_cert_at(L, cidx) == NULL) {
		tl->tl_npairs = str_list(L, cidx, &tl->tl_certs,
		    "certificates");
		n = str_list(L, kidx, &tl->tl_keys, "keys");
		if (n != tl->tl_npairs)
			luaL_error(L, "%s: %d certificates and %d keys", fn,
			    (int)tl->tl_npairs, (int)n);
		return;
	}
	n = lua_type(L, cidx) == LUA_TTABLE ? lua_rawlen(L, cidx) : 1;
	if ((tl->tl_certs = calloc(n + 1, sizeof(char *))) == NULL ||
	    (tl->tl_keys = calloc(n + 1, sizeof(char *))) == NULL ||
	    (tl->tl_pass = calloc(n, sizeof(char *))) == NULL)
		luaL_error(L, "%s: out of memory", fn);
	tl->tl_npairs = n;
	for (i = 0; i < n; i++) {
		if (lua_type(L, cidx) == LUA_TTABLE)
			lua_rawgeti(L, cidx, (lua_Integer)i + 1);
		else
			lua_pushvalue(L, cidx);
		if ((tk = luaL_testudata(L, -1, TLSCERT_MT)) == NULL)
			luaL_error(L, "%s: the certificates must be all file "
			    "names or all newTLSCertificate() objects", fn);
		lua_pop(L, 1);
		if ((tl->tl_certs[i] = strdup(tk->tk_cert)) == NULL ||
		    (tl->tl_keys[i] = strdup(tk->tk_key)) == NULL ||
		    (tk->tk_pass != NULL &&
		    (tl->tl_pass[i] = strdup(tk->tk_pass)) == NULL))
			luaL_error(L, "%s: out of memory", fn);
	}
}

/*
 * The certificates and keys at cidx and kidx, with addTLSLocal()'s
 * defaults, held by a userdata pushed on the stack until the caller takes
 * *tlp; addDOHLocal() makes its TLS this way too.
 */
struct tls_local **
dlua_tls_pairs(lua_State *L, int cidx, int kidx, const char *fn)
{
	struct tls_local	**tlp, *tl;

	tlp = tls_hold(L);
	tl = *tlp;
	tls_files(L, cidx, kidx, tl, fn);
	tl->tl_minver = 10;
	if ((tl->tl_provider = strdup("openssl")) == NULL)
		luaL_error(L, "%s: out of memory", fn);
	tl->tl_tickets = true;
	tl->tl_nkeys = TLS_MAXKEYS;
	tl->tl_rotation = 43200;
#ifdef DNSDIST_TLS_OPENSSL
	tl->tl_nsessions = 20000;
#endif
	return tlp;
}

/* ocspResponses at t, one file per certificate in tl. */
void
dlua_tls_ocsp(lua_State *L, int t, struct tls_local *tl, const char *fn)
{
	size_t	n;

	if (lua_getfield(L, t, "ocspResponses") != LUA_TNIL) {
		n = str_list(L, lua_gettop(L), &tl->tl_ocsp, "ocspResponses");
		if (n != tl->tl_npairs)
			luaL_error(L, "%s: one OCSP response per certificate "
			    "(%d, not %d)", fn, (int)tl->tl_npairs, (int)n);
	}
	lua_pop(L, 1);
}

/* addTLSLocal(address, certFile(s), keyFile(s)[, options]) */
static int
l_addtlslocal(lua_State *L)
{
	const char		*addr = luaL_checkstring(L, 1);
	struct tls_local	*tl, **tlp;
	struct local		*lc;
	size_t			 maxconns = 0;
	int			 reuseport = 0, tfo = 0, queue = 0, pp = 0;
	int			 inflight = 0;
	struct local		 place;

	if (settings.st_running) {
		dlua_printf("addTLSLocal cannot be used at runtime!\n");
		return 0;
	}
	lua_settop(L, 4);
	tlp = dlua_tls_pairs(L, 2, 3, "addTLSLocal");
	tl = *tlp;
	memset(&place, 0, sizeof(place));
	if (lua_type(L, 4) == LUA_TTABLE) {
		tls_options(L, tl, &maxconns, &reuseport, &tfo, &queue, &pp,
		    &inflight);
		dlua_local_place(L, 4, &place, "addTLSLocal", false);
	} else if (!lua_isnoneornil(L, 4))
		return luaL_error(L, "addTLSLocal: the options must be a "
		    "table");
	/* 853 unless the address says: dnsdist's port for DNS over TLS. */
	if ((lc = settings_add_local(addr, 853, reuseport, tfo)) == NULL)
		return luaL_error(L, "addTLSLocal: bad address '%s'", addr);
	lc->lc_udp = false;
	lc->lc_maxtcpconns = (int)maxconns;
	if (queue > 0)
		lc->lc_tcplistenqueue = queue;
	lc->lc_tls = tl;
	lc->lc_maxinflight = inflight;
	lc->lc_ppoff = (pp & 1) != 0;
	lc->lc_ppoutside = (pp & 2) != 0;
	settings_local_place(lc, &place);
	*tlp = NULL;
	settings.st_locals_from_config = true;
	return 0;
}

/* The TLS frontend number of the object at 1. */
static size_t
tls_arg(lua_State *L, const char *mt)
{
	size_t	n = *(size_t *)luaL_checkudata(L, 1, mt);

	if (tls_nth(n) == NULL)
		luaL_error(L, "the TLS frontend is gone");
	return n;
}

static int
tls_push(lua_State *L, const char *mt, const char *fn)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || (size_t)n >= tls_count())
		return luaL_error(L, "%s: no TLS frontend %d "
		    "(getTLSFrontendCount() is %d)", fn, (int)n,
		    (int)tls_count());
	*(size_t *)lua_newuserdata(L, sizeof(size_t)) = (size_t)n;
	luaL_setmetatable(L, mt);
	return 1;
}

static int
l_gettlscontext(lua_State *L)
{
	return tls_push(L, TLSCTX_MT, "getTLSContext");
}

static int
l_gettlsfrontend(lua_State *L)
{
	return tls_push(L, TLSFRONT_MT, "getTLSFrontend");
}

static int
l_gettlsfrontendcount(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)tls_count());
	return 1;
}

/* Report a hook's failure as an error of the call. */
static int
tls_hook_result(lua_State *L, int r, const char *fn, const char *err)
{
	if (r == -1)
		return luaL_error(L, "%s: %s", fn, err);
	return 0;
}

static int
tls_reload(lua_State *L, const struct local *lc, const char *fn)
{
	char	err[256];

	if (dlua_host.h_tls_reload == NULL)
		return luaL_error(L, "%s: the frontends are not running yet",
		    fn);
	return tls_hook_result(L, dlua_host.h_tls_reload(lc, err,
	    sizeof(err)), fn, err);
}

static int
l_reloadallcertificates(lua_State *L)
{
	return tls_reload(L, NULL, "reloadAllCertificates");
}

static int
tls_rotate(lua_State *L, const struct local *lc)
{
	char	err[256];

	if (dlua_host.h_tls_rotate == NULL)
		return luaL_error(L, "rotateTicketsKey: the frontends are not "
		    "running yet");
	return tls_hook_result(L, dlua_host.h_tls_rotate(lc, err,
	    sizeof(err)), "rotateTicketsKey", err);
}

static int
tls_loadkeys(lua_State *L, const struct local *lc)
{
	const char	*file = luaL_checkstring(L, 2);
	char		 err[256];

	if (dlua_host.h_tls_load_keys == NULL)
		return luaL_error(L, "loadTicketsKeys: the frontends are not "
		    "running yet");
	return tls_hook_result(L, dlua_host.h_tls_load_keys(lc, file, err,
	    sizeof(err)), "loadTicketsKeys", err);
}

/*
 * loadNewCertificatesAndKeys(certFile(s), keyFile(s)): the new files
 * replace the old ones if they load, else nothing changes.
 */
static int
tls_loadnew(lua_State *L, const struct local *lc)
{
	struct tls_local	 *tl = lc->lc_tls, **tlp, t;
	char			  err[256];
	int			  r;

	if (dlua_host.h_tls_reload == NULL)
		return luaL_error(L, "loadNewCertificatesAndKeys: the "
		    "frontends are not running yet");
	if (tl->tl_ocsp != NULL)
		return luaL_error(L, "loadNewCertificatesAndKeys: the frontend "
		    "staples OCSP responses for its present certificates");
	lua_settop(L, 3);
	tlp = tls_hold(L);
	tls_files(L, 2, 3, *tlp, "loadNewCertificatesAndKeys");
	/* Swap the files in; swap back when they do not load. */
	t = *tl;
	tl->tl_certs = (*tlp)->tl_certs;
	tl->tl_keys = (*tlp)->tl_keys;
	tl->tl_pass = (*tlp)->tl_pass;
	tl->tl_npairs = (*tlp)->tl_npairs;
	(*tlp)->tl_certs = t.tl_certs;
	(*tlp)->tl_keys = t.tl_keys;
	(*tlp)->tl_pass = t.tl_pass;
	(*tlp)->tl_npairs = t.tl_npairs;
	if ((r = dlua_host.h_tls_reload(lc, err, sizeof(err))) == -1) {
		(*tlp)->tl_certs = tl->tl_certs;
		(*tlp)->tl_keys = tl->tl_keys;
		(*tlp)->tl_pass = tl->tl_pass;
		(*tlp)->tl_npairs = tl->tl_npairs;
		*tl = t;
	}
	return tls_hook_result(L, r, "loadNewCertificatesAndKeys", err);
}

/* The TLS methods of a frontend on the listener lc, by name. */
int
dlua_tls_method(lua_State *L, const struct local *lc, const char *name)
{
	if (strcmp(name, "rotateTicketsKey") == 0)
		return tls_rotate(L, lc);
	if (strcmp(name, "loadTicketsKeys") == 0)
		return tls_loadkeys(L, lc);
	if (strcmp(name, "reloadCertificates") == 0)
		return tls_reload(L, lc, name);
	return tls_loadnew(L, lc);
}

/* TLSContext and TLSFrontend methods: the name as upvalue 2. */
static int
l_tls_method(lua_State *L)
{
	size_t	n = tls_arg(L, lua_touserdata(L, lua_upvalueindex(1)));

	return dlua_tls_method(L, tls_nth(n),
	    lua_tostring(L, lua_upvalueindex(2)));
}

static int
tls_cert_gc(lua_State *L)
{
	struct tls_cert	*tk = lua_touserdata(L, 1);

	free(tk->tk_cert);
	free(tk->tk_key);
	if (tk->tk_pass != NULL)
		explicit_bzero(tk->tk_pass, strlen(tk->tk_pass));
	free(tk->tk_pass);
	memset(tk, 0, sizeof(*tk));
	return 0;
}

/*
 * newTLSCertificate(path[, {key=, password=}]): with a key, a PEM
 * certificate and its key file; without, a PKCS#12 file, or a PEM file
 * holding both.  A PKCS#12 file is opened now, so that a wrong password
 * is an error of this line, and again whenever it is loaded.
 */
static int
l_newtlscertificate(lua_State *L)
{
	static const char *const keys[] = { "key", "password", NULL };
	const char	*path = luaL_checkstring(L, 1), *key = "", *pass = NULL;
	struct tls_cert	*tk;
	uint8_t		*cb, *kb;
	size_t		 cl, kl;
	char		 err[512];

	if (lua_type(L, 2) == LUA_TTABLE) {
		dlua_check_keys(L, 2, (const char **)(uintptr_t)keys,
		    "newTLSCertificate");
		key = dlua_opt_string(L, 2, "key", "");
		pass = dlua_opt_string(L, 2, "password", NULL);
	} else if (!lua_isnoneornil(L, 2))
		return luaL_error(L, "newTLSCertificate: the options must be "
		    "a table");
	tk = lua_newuserdata(L, sizeof(*tk));
	memset(tk, 0, sizeof(*tk));
	luaL_setmetatable(L, TLSCERT_MT);
	if ((tk->tk_cert = strdup(path)) == NULL ||
	    (tk->tk_key = strdup(key)) == NULL ||
	    (pass != NULL && (tk->tk_pass = strdup(pass)) == NULL))
		return luaL_error(L, "newTLSCertificate: out of memory");
	if (key[0] == '\0') {
		if (ossl_pkcs12(path, pass, &cb, &cl, &kb, &kl, err,
		    sizeof(err)) == -1)
			return luaL_error(L, "newTLSCertificate: %s", err);
		if (cb != NULL) {
			explicit_bzero(kb, kl);
			free(kb);
			free(cb);
		}
	}
	return 1;
}

/*
 * generateOCSPResponse(cert, caCert, caKey, outFile, days, minutes): a
 * signed OCSP response saying "good" for cert, as dnsdist makes for its
 * tests.
 */
static int
l_generateocspresponse(lua_State *L)
{
	const char	*cert = luaL_checkstring(L, 1);
	const char	*cacert = luaL_checkstring(L, 2);
	const char	*cakey = luaL_checkstring(L, 3);
	const char	*out = luaL_checkstring(L, 4);
	lua_Integer	 days = luaL_checkinteger(L, 5);
	lua_Integer	 minutes = luaL_checkinteger(L, 6);
	char		 err[512];

	if (days < 0 || days > 36500 || minutes < 0 || minutes > 525600 ||
	    days + minutes == 0)
		return luaL_error(L, "generateOCSPResponse: the validity must "
		    "be 0 to 36500 days and 0 to 525600 minutes, not both 0");
	if (ossl_ocsp(cert, cacert, cakey, out, (int)days, (int)minutes,
	    err, sizeof(err)) == -1)
		return luaL_error(L, "generateOCSPResponse: %s", err);
	return 0;
}

static int
l_snirule(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	struct selector	*se = dlua_sel_new(L, SEL_SNI);

	if ((se->se_u.pool = strdup(name)) == NULL)
		return luaL_error(L, "SNIRule: out of memory");
	selector_set_desc(se, "TLS SNI matches %s", name);
	return 1;
}

static int
l_showtls(lua_State *L)
{
	if (dlua_host.h_tls_show != NULL)
		dlua_host.h_tls_show(dlua_output(),
		    lua_toboolean(L, lua_upvalueindex(1)));
	return 0;
}

#ifdef DNSDIST_TLS_OPENSSL
static int
l_loadtlsengine(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*defstr = luaL_optstring(L, 2, NULL);
	char		 err[256];

	if (ossl_load_engine(name, defstr, err, sizeof(err)) == -1)
		return luaL_error(L, "loadTLSEngine: %s", err);
	return 0;
}

static int
l_loadtlsprovider(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	char		 err[256];

	if (ossl_load_provider(name, err, sizeof(err)) == -1)
		return luaL_error(L, "loadTLSProvider: %s", err);
	return 0;
}
#endif

static const luaL_Reg tls_globals[] = {
	{ "addTLSLocal", l_addtlslocal },
	{ "getTLSContext", l_gettlscontext },
	{ "getTLSFrontend", l_gettlsfrontend },
	{ "getTLSFrontendCount", l_gettlsfrontendcount },
	{ "reloadAllCertificates", l_reloadallcertificates },
	{ "SNIRule", l_snirule },
	{ "newTLSCertificate", l_newtlscertificate },
	{ "generateOCSPResponse", l_generateocspresponse },
#ifdef DNSDIST_TLS_OPENSSL
	{ "loadTLSEngine", l_loadtlsengine },
	{ "loadTLSProvider", l_loadtlsprovider },
#endif
	{ NULL, NULL }
};

void
dlua_open_tls(lua_State *L)
{
	static const char *const mts[] = { TLSCTX_MT, TLSFRONT_MT };

	static const char *const methods[] = { "rotateTicketsKey",
	    "loadTicketsKeys", "reloadCertificates",
	    "loadNewCertificatesAndKeys" };
	size_t	i, j;

	for (i = 0; i < 2; i++) {
		luaL_newmetatable(L, mts[i]);
		lua_newtable(L);
		/* TLSContext has no loadNewCertificatesAndKeys. */
		for (j = 0; j < 4 - (i == 0); j++) {
			lua_pushlightuserdata(L, (void *)(uintptr_t)mts[i]);
			lua_pushstring(L, methods[j]);
			lua_pushcclosure(L, l_tls_method, 2);
			lua_setfield(L, -2, methods[j]);
		}
		lua_setfield(L, -2, "__index");
		lua_pop(L, 1);
	}
	luaL_newmetatable(L, TLSCERT_MT);
	lua_pushcfunction(L, tls_cert_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, tls_globals, 0);
	lua_pop(L, 1);
	lua_pushboolean(L, 0);
	lua_pushcclosure(L, l_showtls, 1);
	lua_setglobal(L, "showTLSContexts");
	lua_pushboolean(L, 1);
	lua_pushcclosure(L, l_showtls, 1);
	lua_setglobal(L, "showTLSErrorCounters");
}

#else /* DNSDIST_NO_TLS */

void
dlua_open_tls(lua_State *L)
{
	(void)L;
}

struct tls_local **
dlua_tls_pairs(lua_State *L, int cidx, int kidx, const char *fn)
{
	(void)cidx;
	(void)kidx;
	luaL_error(L, "%s: TLS is not built in (built with TLS=no); give no "
	    "certificate to serve cleartext HTTP", fn);
	return NULL;
}

void
dlua_tls_ocsp(lua_State *L, int t, struct tls_local *tl, const char *fn)
{
	(void)L;
	(void)t;
	(void)tl;
	(void)fn;
}

int
dlua_tls_method(lua_State *L, const struct local *lc, const char *name)
{
	(void)lc;
	return luaL_error(L, "%s: TLS is not built in (built with TLS=no)",
	    name);
}

#endif /* DNSDIST_NO_TLS */
