/*
 * Lua bindings for DNSCrypt: addDNSCryptBind(), the key and certificate
 * generators, getDNSCryptBind() and the DNSCryptContext, DNSCryptCert and
 * DNSCryptCertificatePair objects, with dnsdist's names and output.
 *
 * A DNSCryptContext object holds the bind's number, not the context: the
 * listeners a reload keeps are the running ones, so an object made while
 * a configuration ran names the live context whenever it is used.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dnscrypt.h"
#include "lua.h"
#include "settings.h"

#define CTX_MT		"dnsdist.DNSCryptContext"
#define CERT_MT		"dnsdist.DNSCryptCert"
#define PAIR_MT		"dnsdist.DNSCryptCertificatePair"

static const char *bind_options[] = {
	"reusePort", "tcpFastOpenQueueSize", "tcpListenQueueSize",
	"maxInFlight", "maxConcurrentTCPConnections", "interface", "cpus",
	NULL
};

/* The n-th DNSCrypt listener (from 0), or NULL. */
static struct local *
dnscrypt_local(lua_Integer n)
{
	size_t	i;

	for (i = 0; i < settings.st_nlocals; i++)
		if (settings.st_locals[i].lc_dnscrypt != NULL && n-- == 0)
			return &settings.st_locals[i];
	return NULL;
}

static struct dnscrypt_ctx *
check_ctx(lua_State *L)
{
	lua_Integer	 n = *(lua_Integer *)luaL_checkudata(L, 1, CTX_MT);
	struct local	*lc;

	/* luaL_error() does not return: a loop says so to the analyzers. */
	while ((lc = dnscrypt_local(n)) == NULL)
		luaL_error(L, "DNSCryptContext: no DNSCrypt bind %d", (int)n);
	return lc->lc_dnscrypt;
}

static void
push_cert(lua_State *L, const uint8_t *cert)
{
	memcpy(lua_newuserdata(L, DNSCRYPT_CERT_LEN), cert, DNSCRYPT_CERT_LEN);
	luaL_setmetatable(L, CERT_MT);
}

static void
push_pair(lua_State *L, const struct dnscrypt_pair *p)
{
	uint8_t	*u = lua_newuserdata(L, DNSCRYPT_CERT_LEN + 1);

	memcpy(u, p->dp_cert, DNSCRYPT_CERT_LEN);
	u[DNSCRYPT_CERT_LEN] = p->dp_active;
	luaL_setmetatable(L, PAIR_MT);
}

static uint32_t
check_u32(lua_State *L, int idx, const char *what)
{
	lua_Integer	v = luaL_checkinteger(L, idx);

	if (v < 0 || v > UINT32_MAX)
		luaL_error(L, "%s: out of range", what);
	return (uint32_t)v;
}

/* dnsdist's DNSCryptExchangeVersion: VERSION1 (0) or VERSION2 (1). */
static int
check_version(lua_State *L, int idx)
{
	lua_Integer	v = luaL_optinteger(L, idx, 0);

	if (v != 0 && v != 1)
		return -1;
	return v == 0 ? DNSCRYPT_ES_XSALSA : DNSCRYPT_ES_XCHACHA;
}

/* One string or a table of them at idx; the count, or -1. */
static int
files_arg(lua_State *L, int idx, const char **out, int max)
{
	int	i, n;

	if (lua_type(L, idx) == LUA_TSTRING) {
		out[0] = lua_tostring(L, idx);
		return 1;
	}
	if (lua_type(L, idx) != LUA_TTABLE)
		return -1;
	n = (int)lua_rawlen(L, idx);
	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		lua_rawgeti(L, idx, i + 1);
		/* The table keeps the string. */
		if ((out[i] = lua_tostring(L, -1)) == NULL)
			return -1;
		lua_pop(L, 1);
	}
	return n;
}

/* addDNSCryptBind(address, provider, certFile(s), keyFile(s)[, options]) */
static int
l_adddnscryptbind(lua_State *L)
{
	const char		*addr = luaL_checkstring(L, 1);
	const char		*provider = luaL_checkstring(L, 2);
	const char		*certs[64], *keys[64], *why;
	struct dnscrypt_ctx	*dc;
	struct local		*lc, place;
	lua_Integer		 maxconns = 0, qsize = 64, inflight = 0;
	int			 reuseport = 0, tfo = 0, nc, i;

	if (settings.st_clientmode)
		return 0;
	if (settings.st_running) {
		dlua_printf("addDNSCryptBind cannot be used at runtime!\n");
		return 0;
	}
	memset(&place, 0, sizeof(place));
	if ((nc = files_arg(L, 3, certs, 64)) <= 0 ||
	    files_arg(L, 4, keys, 64) != nc)
		return luaL_error(L, "addDNSCryptBind: the certificate and key "
		    "files must be two strings or two lists of the same length");
	if (lua_type(L, 5) == LUA_TTABLE) {
		dlua_check_keys(L, 5, bind_options, "addDNSCryptBind");
		dlua_local_place(L, 5, &place, "addDNSCryptBind", true);
		reuseport = dlua_opt_bool(L, 5, "reusePort", 0);
		tfo = (int)dlua_opt_int(L, 5, "tcpFastOpenQueueSize", 0);
		qsize = dlua_opt_int(L, 5, "tcpListenQueueSize", 64);
		inflight = dlua_opt_int(L, 5, "maxInFlight", 0);
		maxconns = dlua_opt_int(L, 5, "maxConcurrentTCPConnections",
		    0);
		if (maxconns < 0 || maxconns > INT_MAX || qsize <= 0 ||
		    qsize > INT_MAX || inflight < 0 || inflight > 65535 ||
		    tfo < 0)
			return luaL_error(L, "addDNSCryptBind: an option is "
			    "out of range");
	} else if (!lua_isnoneornil(L, 5))
		return luaL_error(L, "addDNSCryptBind: the fifth argument must "
		    "be a table");
	if ((dc = dnscrypt_ctx_new(provider)) == NULL)
		return luaL_error(L, "addDNSCryptBind: bad provider name '%s'",
		    provider);
	for (i = 0; i < nc; i++)
		if (dnscrypt_load(dc, certs[i], keys[i], true, &why) == -1) {
			dnscrypt_ctx_free(dc);
			return luaL_error(L, "addDNSCryptBind: %s (%s, %s)", why,
			    certs[i], keys[i]);
		}
	if ((lc = settings_add_local(addr, 443, reuseport, tfo)) == NULL) {
		dnscrypt_ctx_free(dc);
		return luaL_error(L, "addDNSCryptBind: bad address '%s'", addr);
	}
	lc->lc_maxtcpconns = (int)maxconns;
	lc->lc_tcplistenqueue = (int)qsize;
	lc->lc_dnscrypt = dc;
	settings_local_place(lc, &place);
	settings.st_locals_from_config = true;
	return 0;
}

static int
l_getdnscryptbind(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (dnscrypt_local(n) == NULL) {
		lua_pushnil(L);
		return 1;
	}
	*(lua_Integer *)lua_newuserdata(L, sizeof(n)) = n;
	luaL_setmetatable(L, CTX_MT);
	return 1;
}

static int
l_getdnscryptbindcount(lua_State *L)
{
	lua_Integer	n = 0;

	while (dnscrypt_local(n) != NULL)
		n++;
	lua_pushinteger(L, n);
	return 1;
}

static int
l_showdnscryptbinds(lua_State *L)
{
	struct local	*lc;
	lua_Integer	 n;

	(void)L;
	dlua_printf("%-3s %-21s %s\n", "#", "Address", "Provider Name");
	for (n = 0; (lc = dnscrypt_local(n)) != NULL; n++)
		dlua_printf("%-3d %-21s %s\n", (int)n, lc->lc_text,
		    lc->lc_dnscrypt->dc_providertext);
	return 0;
}

static int
l_generateproviderkeys(lua_State *L)
{
	const char	*pubf = luaL_checkstring(L, 1);
	const char	*privf = luaL_checkstring(L, 2);
	uint8_t		 pk[DNSCRYPT_PROVIDER_PK], sk[DNSCRYPT_PROVIDER_SK];
	char		 fp[80];

	if (settings.st_clientmode)
		return 0;
	if (dnscrypt_provider_keys(pk, sk) != 0 ||
	    dnscrypt_write_file(pubf, pk, sizeof(pk)) == -1 ||
	    dnscrypt_write_file(privf, sk, sizeof(sk)) == -1)
		dlua_printf("Error: unable to write the DNSCrypt provider "
		    "keys to %s and %s\n", pubf, privf);
	else {
		dnscrypt_fingerprint(pk, fp);
		dlua_printf("Provider fingerprint is: %s\n", fp);
	}
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static int
l_printproviderfingerprint(lua_State *L)
{
	const char	*pubf = luaL_checkstring(L, 1);
	uint8_t		 pk[DNSCRYPT_PROVIDER_PK];
	char		 fp[80];

	if (dnscrypt_read_file(pubf, pk, sizeof(pk)) == -1) {
		dlua_printf("Error: Invalid dnscrypt provider public key file "
		    "%s\n", pubf);
		return 0;
	}
	dnscrypt_fingerprint(pk, fp);
	dlua_printf("Provider fingerprint is: %s\n", fp);
	return 0;
}

/*
 * A certificate from the provider's private key file at pidx and the
 * serial, start, end and version from idx on; 0, or -1 with "Error: ..."
 * printed.
 */
static int
make_cert(lua_State *L, int pidx, int idx, uint8_t *cert, uint8_t *sk)
{
	const char	*pskf = luaL_checkstring(L, pidx);
	uint32_t	 serial = check_u32(L, idx, "serial");
	uint32_t	 from = check_u32(L, idx + 1, "validFrom");
	uint32_t	 until = check_u32(L, idx + 2, "validUntil");
	uint8_t		 psk[DNSCRYPT_PROVIDER_SK];
	int		 es = check_version(L, idx + 3), rv = -1;

	if (es == -1)
		dlua_printf("Error: Unknown DNSCrypt exchange version\n");
	else if (dnscrypt_read_file(pskf, psk, sizeof(psk)) == -1)
		dlua_printf("Error: Invalid DNSCrypt provider key file %s\n",
		    pskf);
	else if (dnscrypt_cert_make(psk, serial, from, until, es, cert,
	    sk) == -1)
		dlua_printf("Error: Error generating DNSCrypt certificate\n");
	else
		rv = 0;
	sodium_memzero(psk, sizeof(psk));
	return rv;
}

/* (providerKey, certFile, keyFile, serial, validFrom, validUntil[, v]) */
static int
l_generatecertificate(lua_State *L)
{
	const char	*certf = luaL_checkstring(L, 2);
	const char	*keyf = luaL_checkstring(L, 3);
	uint8_t		 cert[DNSCRYPT_CERT_LEN], sk[DNSCRYPT_KEY];

	if (settings.st_clientmode)
		return 0;
	if (make_cert(L, 1, 4, cert, sk) == 0 &&
	    (dnscrypt_write_file(keyf, sk, sizeof(sk)) == -1 ||
	    dnscrypt_write_file(certf, cert, sizeof(cert)) == -1))
		dlua_printf("Error: unable to write %s or %s\n", certf, keyf);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static int
ctx_result(lua_State *L, int rv, const char *why)
{
	if (rv == -1)
		return luaL_error(L, "%s", why);
	return 0;
}

static int
l_ctx_getprovidername(lua_State *L)
{
	struct dnscrypt_ctx	*dc = check_ctx(L);
	size_t			 n = strlen(dc->dc_providertext);

	/* Without its final dot, as dnsdist shows it. */
	lua_pushlstring(L, dc->dc_providertext, n > 1 ? n - 1 : n);
	return 1;
}

static int
ctx_mark(lua_State *L, bool active)
{
	const char	*why = NULL;
	int		 rv = dnscrypt_mark(check_ctx(L), check_u32(L, 2,
			    "serial"), active, &why);

	return ctx_result(L, rv, why);
}

static int
l_ctx_markactive(lua_State *L)
{
	return ctx_mark(L, true);
}

static int
l_ctx_markinactive(lua_State *L)
{
	return ctx_mark(L, false);
}

static int
l_ctx_removeinactive(lua_State *L)
{
	const char	*why = NULL;
	int		 rv = dnscrypt_remove(check_ctx(L), check_u32(L, 2,
			    "serial"), &why);

	return ctx_result(L, rv, why);
}

static int
l_ctx_reload(lua_State *L)
{
	const char	*why = NULL;
	int		 rv = dnscrypt_reload(check_ctx(L), &why);

	return ctx_result(L, rv, why);
}

static int
l_ctx_loadnew(lua_State *L)
{
	struct dnscrypt_ctx	*dc = check_ctx(L);
	const char		*why = NULL;
	int			 rv;

	rv = dnscrypt_load(dc, luaL_checkstring(L, 2), luaL_checkstring(L, 3),
	    lua_isnoneornil(L, 4) ? true : lua_toboolean(L, 4), &why);
	return ctx_result(L, rv, why);
}

/* generateAndLoadInMemoryCertificate(providerKey, serial, begin, end[, v]) */
static int
l_ctx_generateandload(lua_State *L)
{
	struct dnscrypt_ctx	*dc = check_ctx(L);
	uint8_t			 cert[DNSCRYPT_CERT_LEN], sk[DNSCRYPT_KEY];
	const char		*why;

	if (make_cert(L, 2, 3, cert, sk) == 0 &&
	    dnscrypt_add(dc, cert, sk, true, &why) == -1)
		dlua_printf("Error: %s\n", why);
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static const struct dnscrypt_pair *
ctx_pair(lua_State *L, struct dnscrypt_ctx *dc)
{
	const struct dnscrypt_set	*s = dnscrypt_set(dc);
	lua_Integer			 i = luaL_checkinteger(L, 2);

	return i >= 0 && (size_t)i < s->ds_n ? &s->ds_pairs[i] : NULL;
}

static int
l_ctx_getcertificate(lua_State *L)
{
	const struct dnscrypt_pair	*p = ctx_pair(L, check_ctx(L));

	if (p == NULL)
		return luaL_error(L, "This DNSCrypt context has no certificate "
		    "at index %d", (int)lua_tointeger(L, 2));
	push_cert(L, p->dp_cert);
	return 1;
}

static int
l_ctx_getcertificatepair(lua_State *L)
{
	const struct dnscrypt_pair	*p = ctx_pair(L, check_ctx(L));

	if (p == NULL)
		lua_pushnil(L);
	else
		push_pair(L, p);
	return 1;
}

static int
l_ctx_getcertificatepairs(lua_State *L)
{
	const struct dnscrypt_set	*s = dnscrypt_set(check_ctx(L));
	size_t				 i;

	lua_createtable(L, (int)s->ds_n, 0);
	for (i = 0; i < s->ds_n; i++) {
		push_pair(L, &s->ds_pairs[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static void
cert_date(uint32_t t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static int
l_ctx_printcertificates(lua_State *L)
{
	const struct dnscrypt_set	*s = dnscrypt_set(check_ctx(L));
	luaL_Buffer			 b;
	char				 line[160], from[32], to[32];
	size_t				 i;

	luaL_buffinit(L, &b);
	snprintf(line, sizeof(line), "%-3s %-8s %-9s %-20s %-21s\n", "#",
	    "Serial", "Version", "From", "To");
	luaL_addstring(&b, line);
	for (i = 0; i < s->ds_n; i++) {
		const uint8_t *c = s->ds_pairs[i].dp_cert;

		cert_date(dnscrypt_cert_start(c), from, sizeof(from));
		cert_date(dnscrypt_cert_end(c), to, sizeof(to));
		snprintf(line, sizeof(line), "%-3zu %-8u %-9d %-20s %-21s\n",
		    i + 1, dnscrypt_cert_serial(c), dnscrypt_cert_es(c), from,
		    to);
		luaL_addstring(&b, line);
	}
	luaL_pushresult(&b);
	return 1;
}

static int
l_ctx_tostring(lua_State *L)
{
	lua_pushfstring(L, "DNSCryptContext(%s)",
	    check_ctx(L)->dc_providertext);
	return 1;
}

static const uint8_t *
cert_at(lua_State *L, int idx)
{
	void	*u;

	if ((u = luaL_testudata(L, idx, PAIR_MT)) == NULL)
		u = luaL_checkudata(L, idx, CERT_MT);
	return u;
}

static const uint8_t *
check_cert(lua_State *L)
{
	return cert_at(L, 1);
}

/*
 * ctx:addNewCertificate(cert, key[, active]): cert a DNSCryptCert (or a
 * pair, or the certificate's bytes), key the resolver's secret key as the
 * bytes of a key file; they must belong together.
 */
static int
l_ctx_addnewcert(lua_State *L)
{
	struct dnscrypt_ctx	*dc = check_ctx(L);
	const uint8_t		*cert, *sk;
	const char		*why = NULL;
	size_t			 len;
	int			 rv;

	if (lua_type(L, 2) == LUA_TSTRING) {
		cert = (const uint8_t *)lua_tolstring(L, 2, &len);
		if (len != DNSCRYPT_CERT_LEN)
			return luaL_error(L, "addNewCertificate: a certificate "
			    "is %d bytes, not %d", DNSCRYPT_CERT_LEN, (int)len);
	} else
		cert = cert_at(L, 2);
	sk = (const uint8_t *)luaL_checklstring(L, 3, &len);
	if (len != DNSCRYPT_KEY)
		return luaL_error(L, "addNewCertificate: a private key is %d "
		    "bytes, not %d", DNSCRYPT_KEY, (int)len);
	rv = dnscrypt_add(dc, cert, sk, lua_isnoneornil(L, 4) ||
	    lua_toboolean(L, 4), &why);
	return ctx_result(L, rv, why);
}

#define CERT_BYTES(fn, off, len)					\
static int								\
fn(lua_State *L)							\
{									\
	lua_pushlstring(L, (const char *)check_cert(L) + (off), (len));	\
	return 1;							\
}
CERT_BYTES(l_cert_getmagic, 0, 4)
CERT_BYTES(l_cert_getesversion, 4, 2)
CERT_BYTES(l_cert_getminor, 6, 2)
CERT_BYTES(l_cert_getsignature, 8, 64)
CERT_BYTES(l_cert_getresolverpk, 72, 32)
CERT_BYTES(l_cert_getclientmagic, 104, 8)

static int
l_cert_getserial(lua_State *L)
{
	lua_pushinteger(L, dnscrypt_cert_serial(check_cert(L)));
	return 1;
}

static int
l_cert_gettsstart(lua_State *L)
{
	lua_pushinteger(L, dnscrypt_cert_start(check_cert(L)));
	return 1;
}

static int
l_cert_gettsend(lua_State *L)
{
	lua_pushinteger(L, dnscrypt_cert_end(check_cert(L)));
	return 1;
}

static int
l_cert_tostring(lua_State *L)
{
	lua_pushfstring(L, "DNSCryptCert(serial %d)",
	    (int)dnscrypt_cert_serial(check_cert(L)));
	return 1;
}

static int
l_pair_getcertificate(lua_State *L)
{
	push_cert(L, luaL_checkudata(L, 1, PAIR_MT));
	return 1;
}

static int
l_pair_isactive(lua_State *L)
{
	const uint8_t	*u = luaL_checkudata(L, 1, PAIR_MT);

	lua_pushboolean(L, u[DNSCRYPT_CERT_LEN]);
	return 1;
}

static const luaL_Reg ctx_methods[] = {
	{ "getProviderName", l_ctx_getprovidername },
	{ "markActive", l_ctx_markactive },
	{ "markInactive", l_ctx_markinactive },
	{ "removeInactiveCertificate", l_ctx_removeinactive },
	{ "reloadCertificates", l_ctx_reload },
	{ "loadNewCertificate", l_ctx_loadnew },
	{ "addNewCertificate", l_ctx_addnewcert },
	{ "generateAndLoadInMemoryCertificate", l_ctx_generateandload },
	{ "getCertificate", l_ctx_getcertificate },
	{ "getCertificatePair", l_ctx_getcertificatepair },
	{ "getCertificatePairs", l_ctx_getcertificatepairs },
	{ "printCertificates", l_ctx_printcertificates },
	{ NULL, NULL }
};

static const luaL_Reg cert_methods[] = {
	{ "getMagic", l_cert_getmagic },
	{ "getEsVersion", l_cert_getesversion },
	{ "getProtocolMinorVersion", l_cert_getminor },
	{ "getSignature", l_cert_getsignature },
	{ "getResolverPublicKey", l_cert_getresolverpk },
	{ "getClientMagic", l_cert_getclientmagic },
	{ "getSerial", l_cert_getserial },
	{ "getTSStart", l_cert_gettsstart },
	{ "getTSEnd", l_cert_gettsend },
	{ NULL, NULL }
};

static const luaL_Reg pair_methods[] = {
	{ "getCertificate", l_pair_getcertificate },
	{ "isActive", l_pair_isactive },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "addDNSCryptBind", l_adddnscryptbind },
	{ "getDNSCryptBind", l_getdnscryptbind },
	{ "getDNSCryptBindCount", l_getdnscryptbindcount },
	{ "showDNSCryptBinds", l_showdnscryptbinds },
	{ "generateDNSCryptProviderKeys", l_generateproviderkeys },
	{ "printDNSCryptProviderFingerprint", l_printproviderfingerprint },
	{ "generateDNSCryptCertificate", l_generatecertificate },
	{ NULL, NULL }
};

void
dlua_open_dnscrypt(lua_State *L)
{
	dlua_new_type(L, CTX_MT, ctx_methods, l_ctx_tostring, NULL);
	dlua_new_type(L, CERT_MT, cert_methods, l_cert_tostring, NULL);
	dlua_new_type(L, PAIR_MT, pair_methods, NULL, NULL);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
