/*
 * Lua objects for names and addresses: DNSName, ComboAddress,
 * SuffixMatchNode, DNSNameSet and NetmaskGroup.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>

#include "addr.h"
#include "dnsname.h"
#include "ipcipher.h"
#include "lua.h"
#include "netmask.h"
#include "suffix.h"

struct dnsname_ud {
	uint8_t	dn_name[DNSNAME_MAXLEN];
	size_t	dn_len;
};

/* DNSName */

void
dlua_push_dnsname(lua_State *L, const uint8_t *name, size_t len)
{
	struct dnsname_ud	*dn = lua_newuserdata(L, sizeof(*dn));

	memcpy(dn->dn_name, name, len);
	dn->dn_len = len;
	luaL_setmetatable(L, DLUA_DNSNAME_MT);
}

/* A name argument: a DNSName object or text. */
void
dlua_name_arg(lua_State *L, int idx, uint8_t *out, size_t *len)
{
	struct dnsname_ud	*dn;
	const char		*s;

	if ((dn = luaL_testudata(L, idx, DLUA_DNSNAME_MT)) != NULL) {
		memcpy(out, dn->dn_name, dn->dn_len);
		*len = dn->dn_len;
		return;
	}
	s = luaL_checkstring(L, idx);
	if (dnsname_from_text(s, out, len) == -1)
		luaL_error(L, "bad name '%s'", s);
}

/* An address argument: a ComboAddress object or text; fn names the caller. */
void
dlua_addr_arg(lua_State *L, int idx, struct sockaddr_storage *ss,
    const char *fn)
{
	struct sockaddr_storage	*sp;
	socklen_t		 len;

	if ((sp = luaL_testudata(L, idx, DLUA_CA_MT)) != NULL)
		*ss = *sp;
	else if (addr_parse(luaL_checkstring(L, idx), 0, ss, &len) == -1)
		luaL_error(L, "%s%sbad address", fn != NULL ? fn : "",
		    fn != NULL ? ": " : "");
}

static int
l_newdnsname(lua_State *L)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	len;

	dlua_name_arg(L, 1, name, &len);
	dlua_push_dnsname(L, name, len);
	return 1;
}

static int
l_dnsname_tostring(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	char			 text[DNSNAME_MAXTEXT];

	dnsname_to_text(dn->dn_name, dn->dn_len, text, sizeof(text));
	lua_pushstring(L, text);
	return 1;
}

static int
l_dnsname_tostringnodot(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	char			 text[DNSNAME_MAXTEXT];
	int			 n;

	n = dnsname_to_text(dn->dn_name, dn->dn_len, text, sizeof(text));
	if (n > 1 && text[n - 1] == '.')
		text[n - 1] = '\0';
	lua_pushstring(L, text);
	return 1;
}

static int
l_dnsname_todnsstring(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);

	lua_pushlstring(L, (const char *)dn->dn_name, dn->dn_len);
	return 1;
}

static int
l_dnsname_countlabels(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);

	lua_pushinteger(L, dnsname_count_labels(dn->dn_name, dn->dn_len));
	return 1;
}

static int
l_dnsname_wirelength(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);

	lua_pushinteger(L, (lua_Integer)dn->dn_len);
	return 1;
}

static int
l_dnsname_ispartof(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	uint8_t			 other[DNSNAME_MAXLEN];
	size_t			 olen;

	dlua_name_arg(L, 2, other, &olen);
	lua_pushboolean(L, dnsname_is_part_of(dn->dn_name, dn->dn_len, other,
	    olen));
	return 1;
}

static int
l_dnsname_equal(lua_State *L)
{
	struct dnsname_ud	*a = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	uint8_t			 other[DNSNAME_MAXLEN];
	size_t			 olen;

	dlua_name_arg(L, 2, other, &olen);
	lua_pushboolean(L, dnsname_equal(a->dn_name, a->dn_len, other, olen));
	return 1;
}

static int
l_dnsname_makerelative(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	uint8_t			 zone[DNSNAME_MAXLEN], rel[DNSNAME_MAXLEN];
	size_t			 zlen;
	size_t			 keep;

	dlua_name_arg(L, 2, zone, &zlen);
	if (!dnsname_is_part_of(dn->dn_name, dn->dn_len, zone, zlen)) {
		dlua_push_dnsname(L, dn->dn_name, dn->dn_len);
		return 1;
	}
	/* The labels before the zone, made absolute again by a root. */
	keep = dn->dn_len - zlen;
	memcpy(rel, dn->dn_name, keep);
	rel[keep] = 0;
	dlua_push_dnsname(L, rel, keep + 1);
	return 1;
}

static int
l_dnsname_chopoff(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);
	size_t			 skip;

	if (dn->dn_len <= 1) {
		lua_pushboolean(L, 0);
		return 1;
	}
	skip = (size_t)dn->dn_name[0] + 1;
	memmove(dn->dn_name, dn->dn_name + skip, dn->dn_len - skip);
	dn->dn_len -= skip;
	lua_pushboolean(L, 1);
	return 1;
}

/*
 * name:hash(): SipHash-2-4 of the lowercased wire name under an all-zero
 * key, cut to 32 bits: the same for a name in every run and every build.
 */
static int
l_dnsname_hash(lua_State *L)
{
	static const uint8_t	 zero[16];
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DLUA_DNSNAME_MT);

	lua_pushinteger(L, (lua_Integer)(dnsname_hash(dn->dn_name, dn->dn_len,
	    zero) & UINT32_MAX));
	return 1;
}

/* ComboAddress */

void
dlua_push_ca(lua_State *L, const struct sockaddr *sa)
{
	struct sockaddr_storage	*ss = lua_newuserdata(L, sizeof(*ss));

	memset(ss, 0, sizeof(*ss));
	memcpy(ss, sa, addr_len(sa));
	luaL_setmetatable(L, DLUA_CA_MT);
}

static int
l_newca(lua_State *L)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	const char		*s = luaL_checkstring(L, 1);

	if (addr_parse(s, (uint16_t)luaL_optinteger(L, 2, 0), &ss, &len) == -1)
		return luaL_error(L, "bad address '%s'", s);
	dlua_push_ca(L, (struct sockaddr *)&ss);
	return 1;
}

static int
l_ca_tostring(lua_State *L)
{
	char	buf[ADDR_MAXTEXT];

	lua_pushstring(L, addr_host_to_text(luaL_checkudata(L, 1, DLUA_CA_MT),
	    buf, sizeof(buf)));
	return 1;
}

static int
l_ca_tostringwithport(lua_State *L)
{
	char	buf[ADDR_MAXTEXT];

	lua_pushstring(L, addr_to_text(luaL_checkudata(L, 1, DLUA_CA_MT), buf,
	    sizeof(buf)));
	return 1;
}

/* ca:truncate(bits): keep the first bits of the address, clear the rest. */
static int
l_ca_truncate(lua_State *L)
{
	struct sockaddr	*sa = luaL_checkudata(L, 1, DLUA_CA_MT);
	lua_Integer	 bits = luaL_checkinteger(L, 2);

	if (bits < 0)
		return luaL_error(L, "truncate: bad number of bits");
	if (sa->sa_family == AF_INET6)
		netmask_clear_host((uint8_t *)&((struct sockaddr_in6 *)sa)->
		    sin6_addr, 16, bits > 128 ? 128 : (unsigned int)bits);
	else if (sa->sa_family == AF_INET)
		netmask_clear_host((uint8_t *)&((struct sockaddr_in *)sa)->
		    sin_addr, 4, bits > 32 ? 32 : (unsigned int)bits);
	return 0;
}

static int
l_ca_isipv4(lua_State *L)
{
	struct sockaddr	*sa = luaL_checkudata(L, 1, DLUA_CA_MT);

	lua_pushboolean(L, sa->sa_family == AF_INET);
	return 1;
}

static int
l_ca_isipv6(lua_State *L)
{
	struct sockaddr	*sa = luaL_checkudata(L, 1, DLUA_CA_MT);

	lua_pushboolean(L, sa->sa_family == AF_INET6);
	return 1;
}

static int
l_ca_getport(lua_State *L)
{
	lua_pushinteger(L, addr_port(luaL_checkudata(L, 1, DLUA_CA_MT)));
	return 1;
}

/* An IPv4 address mapped into IPv6 (::ffff:a.b.c.d). */
static bool
ca_mapped(const struct sockaddr *sa)
{
	static const uint8_t	 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	return sa->sa_family == AF_INET6 && memcmp(((const struct
	    sockaddr_in6 *)sa)->sin6_addr.s6_addr, prefix, 12) == 0;
}

static int
l_ca_ismappedipv4(lua_State *L)
{
	lua_pushboolean(L, ca_mapped(luaL_checkudata(L, 1, DLUA_CA_MT)));
	return 1;
}

/* dnsdist's makeIPCipherKey(passphrase): the 16 bytes of an ipcipher key. */
static int
l_makeipcipherkey(lua_State *L)
{
	size_t		 len;
	const char	*pass = luaL_checklstring(L, 1, &len);
	uint8_t		 key[IPCIPHER_KEYLEN];

	if (!ipcipher_available())
		return luaL_error(L, "makeIPCipherKey: ipcipher needs libcrypto, "
		    "which a build without TLS does not have");
	if (ipcipher_key(pass, len, key) == -1)
		return luaL_error(L, "makeIPCipherKey: key derivation failed");
	lua_pushlstring(L, (const char *)key, sizeof(key));
	return 1;
}

/*
 * A ipcipher key from Lua: the 16 bytes of makeIPCipherKey(), as dnsdist
 * takes them.
 */
const uint8_t *
dlua_ipcipher_key(lua_State *L, int idx, const char *fn)
{
	size_t		 len;
	const char	*key = luaL_checklstring(L, idx, &len);

	if (!ipcipher_available())
		luaL_error(L, "%s: ipcipher needs libcrypto, which a build "
		    "without TLS does not have", fn);
	if (len != IPCIPHER_KEYLEN)
		luaL_error(L, "%s: an ipcipher key has %d bytes "
		    "(makeIPCipherKey), not %d", fn, IPCIPHER_KEYLEN, (int)len);
	return (const uint8_t *)key;
}

static int
ca_ipcipher(lua_State *L, bool decrypt)
{
	struct sockaddr		*sa = luaL_checkudata(L, 1, DLUA_CA_MT);
	struct sockaddr_storage	 ss;
	const uint8_t		*key = dlua_ipcipher_key(L, 2, decrypt ?
	    "ipdecrypt" : "ipencrypt");

	memcpy(&ss, sa, addr_len(sa));
	if (ipcipher_apply(key, (struct sockaddr *)&ss, decrypt) == -1)
		return luaL_error(L, "%s failed", decrypt ? "ipdecrypt" :
		    "ipencrypt");
	dlua_push_ca(L, (struct sockaddr *)&ss);
	return 1;
}

static int
l_ca_ipencrypt(lua_State *L)
{
	return ca_ipcipher(L, false);
}

static int
l_ca_ipdecrypt(lua_State *L)
{
	return ca_ipcipher(L, true);
}

/* The IPv4 address an IPv4-mapped one carries, with its port. */
static int
l_ca_maptoipv4(lua_State *L)
{
	struct sockaddr		*sa = luaL_checkudata(L, 1, DLUA_CA_MT);
	struct sockaddr_in	 sin;

	if (!ca_mapped(sa))
		return luaL_error(L, "mapToIPv4: not an IPv4-mapped address");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = ((struct sockaddr_in6 *)sa)->sin6_port;
	memcpy(&sin.sin_addr, ((struct sockaddr_in6 *)sa)->sin6_addr.s6_addr +
	    12, 4);
	dlua_push_ca(L, (struct sockaddr *)&sin);
	return 1;
}

/* SuffixMatchNode and NetmaskGroup objects */

struct suffix_set *
dlua_push_smn(lua_State *L)
{
	struct suffix_set	**u = lua_newuserdata(L, sizeof(*u));

	*u = NULL;
	luaL_setmetatable(L, DLUA_SMN_MT);
	if ((*u = suffix_new()) == NULL)
		luaL_error(L, "out of memory");
	return *u;
}

static int
l_newsuffixmatchnode(lua_State *L)
{
	dlua_push_smn(L);
	return 1;
}

static int
l_smn_gc(lua_State *L)
{
	struct suffix_set	**u = lua_touserdata(L, 1);

	suffix_unref(*u);
	*u = NULL;
	return 0;
}

/* The set of an SMN object, copied first if a rule shares it. */
struct suffix_set *
dlua_set_check(lua_State *L, int idx, const char *mt, bool writing)
{
	struct suffix_set	**u = luaL_checkudata(L, idx, mt), *c;

	if (*u == NULL)
		luaL_error(L, "bad name set");
	if (writing && atomic_load(&(*u)->ss_refs) > 1) {
		if ((c = suffix_clone(*u)) == NULL)
			luaL_error(L, "out of memory");
		suffix_unref(*u);
		*u = c;
	}
	return *u;
}

static struct suffix_set *
smn_check(lua_State *L, int idx, bool writing)
{
	return dlua_set_check(L, idx, DLUA_SMN_MT, writing);
}

static struct suffix_set *
nameset_check(lua_State *L, bool writing)
{
	return dlua_set_check(L, 1, DLUA_NAMESET_MT, writing);
}

void
dlua_set_add(lua_State *L, struct suffix_set *ss, int idx)
{
	uint8_t	name[DNSNAME_MAXLEN];
	size_t	len;

	dlua_name_arg(L, idx, name, &len);
	if (suffix_add(ss, name, len) == -1)
		luaL_error(L, "out of memory");
}

static int
l_smn_add(lua_State *L)
{
	struct suffix_set	*ss = smn_check(L, 1, true);
	size_t			 i, n;

	if (lua_type(L, 2) == LUA_TTABLE) {
		n = lua_rawlen(L, 2);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, 2, (lua_Integer)i);
			dlua_set_add(L, ss, lua_gettop(L));
			lua_pop(L, 1);
		}
	} else
		dlua_set_add(L, ss, 2);
	return 0;
}

static int
l_smn_check(lua_State *L)
{
	struct suffix_set	*ss = smn_check(L, 1, false);
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 len;

	dlua_name_arg(L, 2, name, &len);
	lua_pushboolean(L, suffix_match(ss, name, len, NULL));
	return 1;
}

/* DNSNameSet: exact names, a set shared with the rules made of it. */
static int
l_newdnsnameset(lua_State *L)
{
	struct suffix_set	**u = lua_newuserdata(L, sizeof(*u));

	*u = NULL;
	luaL_setmetatable(L, DLUA_NAMESET_MT);
	if ((*u = suffix_new()) == NULL)
		return luaL_error(L, "out of memory");
	return 1;
}

static int
l_nameset_add(lua_State *L)
{
	dlua_set_add(L, nameset_check(L, true), 2);
	return 0;
}

static int
l_nameset_check(lua_State *L)
{
	struct suffix_set	*ss = nameset_check(L, false);
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 len;

	dlua_name_arg(L, 2, name, &len);
	lua_pushboolean(L, suffix_has(ss, name, len));
	return 1;
}

static int
l_nameset_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)dlua_set_check(L, 1, DLUA_NAMESET_MT,
	    false)->ss_count);
	return 1;
}

static int
l_nameset_empty(lua_State *L)
{
	lua_pushboolean(L, nameset_check(L, false)->ss_count == 0);
	return 1;
}

/*
 * A new set for the object at idx (of metatable mt): the names of the old
 * one but those in skip, none when skip is NULL.
 */
static void
set_replace(lua_State *L, int idx, const char *mt,
    const struct suffix_set *skip)
{
	struct suffix_set	**u = luaL_checkudata(L, idx, mt);
	struct suffix_set	 *ns;
	const struct suffix_set	*os = dlua_set_check(L, idx, mt, false);
	size_t			 off = 0;

	if ((ns = suffix_new()) == NULL)
		luaL_error(L, "out of memory");
	while (skip != NULL && off < os->ss_arenalen) {
		if (!suffix_has(skip, os->ss_arena + off + 1,
		    os->ss_arena[off]) && suffix_add(ns, os->ss_arena + off + 1,
		    os->ss_arena[off]) == -1) {
			suffix_unref(ns);
			luaL_error(L, "out of memory");
		}
		off += (size_t)os->ss_arena[off] + 1;
	}
	suffix_unref(*u);
	*u = ns;
}

/*
 * The names at idx (a name, text or an array of them) into a new set
 * left on the stack, where the garbage collector frees it.
 */
static struct suffix_set *
names_arg(lua_State *L, int idx)
{
	struct suffix_set	*ss = dlua_push_smn(L);
	size_t			 i, n;

	if (lua_type(L, idx) != LUA_TTABLE) {
		dlua_set_add(L, ss, idx);
		return ss;
	}
	n = lua_rawlen(L, idx);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, (lua_Integer)i);
		dlua_set_add(L, ss, lua_gettop(L));
		lua_pop(L, 1);
	}
	return ss;
}

static int
l_nameset_clear(lua_State *L)
{
	set_replace(L, 1, DLUA_NAMESET_MT, NULL);
	return 0;
}

static int
l_nameset_delete(lua_State *L)
{
	struct suffix_set	*ss = nameset_check(L, false);
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 len;
	bool			 had;

	dlua_name_arg(L, 2, name, &len);
	if ((had = suffix_has(ss, name, len))) {
		lua_settop(L, 2);
		set_replace(L, 1, DLUA_NAMESET_MT, names_arg(L, 2));
	}
	lua_pushinteger(L, had);
	return 1;
}

static int
l_nameset_tostring(lua_State *L)
{
	struct suffix_set	*ss = nameset_check(L, false);
	char			 text[DNSNAME_MAXTEXT];
	luaL_Buffer		 b;
	size_t			 off = 0;

	luaL_buffinit(L, &b);
	while (off < ss->ss_arenalen) {
		dnsname_to_text(ss->ss_arena + off + 1, ss->ss_arena[off], text,
		    sizeof(text));
		luaL_addstring(&b, text);
		luaL_addchar(&b, ' ');
		off += (size_t)ss->ss_arena[off] + 1;
	}
	luaL_pushresult(&b);
	return 1;
}

/* newDNSNameFromRaw(): a name in wire format, compression not allowed. */
static int
l_newdnsnamefromraw(lua_State *L)
{
	size_t		 len, off = 0, nlen;
	const char	*raw = luaL_checklstring(L, 1, &len);
	uint8_t		 name[DNSNAME_MAXLEN];

	if (dnsname_parse((const uint8_t *)raw, len, &off, name, &nlen) == -1 ||
	    off != nlen)
		return luaL_error(L, "newDNSNameFromRaw: not a name in wire "
		    "format");
	dlua_push_dnsname(L, name, nlen);
	return 1;
}

struct netmask_group *
dlua_push_nmg(lua_State *L)
{
	struct netmask_group	*ng = lua_newuserdata(L, sizeof(*ng));

	netmask_group_init(ng);
	luaL_setmetatable(L, DLUA_NMG_MT);
	return ng;
}

static int
l_newnmg(lua_State *L)
{
	dlua_push_nmg(L);
	return 1;
}

static int
l_nmg_gc(lua_State *L)
{
	netmask_group_clear(luaL_checkudata(L, 1, DLUA_NMG_MT));
	return 0;
}

static int
l_nmg_addmask(lua_State *L)
{
	struct netmask_group	*ng = luaL_checkudata(L, 1, DLUA_NMG_MT);
	const char		*s = luaL_checkstring(L, 2);

	if (netmask_group_add_text(ng, s) == -1)
		return luaL_error(L, "bad netmask '%s'", s);
	return 0;
}

/* addMasks({mask, ...}) or addMasks({[mask] = true, ...}), as dnsdist. */
static int
l_nmg_addmasks(lua_State *L)
{
	struct netmask_group	*ng = luaL_checkudata(L, 1, DLUA_NMG_MT);
	const char		*s;

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		s = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) :
		    lua_tostring(L, -1);
		if (s == NULL || netmask_group_add_text(ng, s) == -1)
			return luaL_error(L, "addMasks: bad netmask '%s'",
			    s != NULL ? s : "?");
		lua_pop(L, 1);
	}
	return 0;
}

static int
l_nmg_match(lua_State *L)
{
	struct netmask_group	*ng = luaL_checkudata(L, 1, DLUA_NMG_MT);
	struct sockaddr_storage	 ss;

	dlua_addr_arg(L, 2, &ss, NULL);
	lua_pushboolean(L, netmask_group_match(ng,
	    (struct sockaddr *)&ss) == 1);
	return 1;
}

static int
l_nmg_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)((struct netmask_group *)
	    luaL_checkudata(L, 1, DLUA_NMG_MT))->ng_count);
	return 1;
}

static const luaL_Reg dnsname_methods[] = {
	{ "toString", l_dnsname_tostring },
	{ "tostring", l_dnsname_tostring },
	{ "toStringNoDot", l_dnsname_tostringnodot },
	{ "countLabels", l_dnsname_countlabels },
	{ "wirelength", l_dnsname_wirelength },
	{ "toDNSString", l_dnsname_todnsstring },
	{ "isPartOf", l_dnsname_ispartof },
	{ "equal", l_dnsname_equal },
	{ "makeRelative", l_dnsname_makerelative },
	{ "chopOff", l_dnsname_chopoff },
	{ "hash", l_dnsname_hash },
	{ NULL, NULL }
};

static const luaL_Reg ca_methods[] = {
	{ "toString", l_ca_tostring },
	{ "tostring", l_ca_tostring },
	{ "toStringWithPort", l_ca_tostringwithport },
	{ "tostringWithPort", l_ca_tostringwithport },
	{ "isMappedIPv4", l_ca_ismappedipv4 },
	{ "mapToIPv4", l_ca_maptoipv4 },
	{ "truncate", l_ca_truncate },
	{ "ipencrypt", l_ca_ipencrypt },
	{ "ipdecrypt", l_ca_ipdecrypt },
	{ "isIPv4", l_ca_isipv4 },
	{ "isIPv6", l_ca_isipv6 },
	{ "getPort", l_ca_getport },
	{ NULL, NULL }
};

static const luaL_Reg nameset_methods[] = {
	{ "add", l_nameset_add },
	{ "check", l_nameset_check },
	{ "size", l_nameset_size },
	{ "empty", l_nameset_empty },
	{ "clear", l_nameset_clear },
	{ "delete", l_nameset_delete },
	{ "toString", l_nameset_tostring },
	{ NULL, NULL }
};

/* smn:remove(name or array of names): the names, not what is below them. */
static int
l_smn_remove(lua_State *L)
{
	smn_check(L, 1, false);
	lua_settop(L, 2);
	set_replace(L, 1, DLUA_SMN_MT, names_arg(L, 2));
	return 0;
}

/*
 * smn:getBestMatch(name): the longest suffix of name in the set, or nil;
 * in lower case, as the set keeps its names.
 */
static int
l_smn_getbestmatch(lua_State *L)
{
	struct suffix_set	*ss = smn_check(L, 1, false);
	uint8_t			 name[DNSNAME_MAXLEN], best[DNSNAME_MAXLEN];
	size_t			 len, mlen;

	dlua_name_arg(L, 2, name, &len);
	if (suffix_match(ss, name, len, &mlen)) {
		dnsname_lower(name + len - mlen, mlen, best);
		dlua_push_dnsname(L, best, mlen);
	}
	else
		lua_pushnil(L);
	return 1;
}

static const luaL_Reg smn_methods[] = {
	{ "add", l_smn_add },
	{ "check", l_smn_check },
	{ "remove", l_smn_remove },
	{ "getBestMatch", l_smn_getbestmatch },
	{ NULL, NULL }
};

static const luaL_Reg nmg_methods[] = {
	{ "addMask", l_nmg_addmask },
	{ "addMasks", l_nmg_addmasks },
	{ "match", l_nmg_match },
	{ "size", l_nmg_size },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "newDNSName", l_newdnsname },
	{ "newCA", l_newca },
	{ "makeIPCipherKey", l_makeipcipherkey },
	{ "newSuffixMatchNode", l_newsuffixmatchnode },
	{ "newNMG", l_newnmg },
	{ "newDNSNameSet", l_newdnsnameset },
	{ "newDNSNameFromRaw", l_newdnsnamefromraw },
	{ NULL, NULL }
};

void
dlua_open_names(lua_State *L)
{
	dlua_new_type(L, DLUA_SMN_MT, smn_methods, NULL, l_smn_gc);
	dlua_new_type(L, DLUA_NMG_MT, nmg_methods, NULL, l_nmg_gc);
	dlua_new_type(L, DLUA_DNSNAME_MT, dnsname_methods, l_dnsname_tostring,
	    NULL);
	dlua_new_type(L, DLUA_CA_MT, ca_methods, l_ca_tostring, NULL);
	dlua_new_type(L, DLUA_NAMESET_MT, nameset_methods, l_nameset_tostring,
	    l_smn_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
