/*
 * Service bindings (RFC 9460): newSVCRecordParameters() builds the data of
 * one SVCB or HTTPS record, and SpoofSVCAction() answers with such records
 * and the address hints of their targets as A and AAAA records in the
 * additional section, as dnsdist does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnspacket.h"
#include "lua.h"
#include "rule.h"

#define SVC_MT		"dnsdist.SVCRecordParameters"
#define SVC_MAXHINTS	16	/* addresses of each family in a record */
#define SVC_MAXEXTRA	32	/* keyNNNNN parameters of a record */

/* The SvcParamKeys with a name (RFC 9460, section 14.3.2). */
static const char *const svc_keynames[] = {
	"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech",
	"ipv6hint"
};
#define SVC_NKEYNAMES	7

struct svcparams {
	uint8_t		*sp_rdata;	/* the record's data */
	size_t		 sp_rdlen;
	size_t		 sp_rdcap;
	uint8_t		 sp_target[DNSNAME_MAXLEN];	/* root: the qname */
	size_t		 sp_targetlen;
	uint8_t		 sp_v4[SVC_MAXHINTS][4];
	size_t		 sp_nv4;
	uint8_t		 sp_v6[SVC_MAXHINTS][16];
	size_t		 sp_nv6;
};

static int
l_svc_gc(lua_State *L)
{
	struct svcparams	*sp = luaL_checkudata(L, 1, SVC_MT);

	free(sp->sp_rdata);
	sp->sp_rdata = NULL;
	return 0;
}

static void
svc_put(lua_State *L, struct svcparams *sp, const void *p, size_t n)
{
	uint8_t	*np;
	size_t	 cap;

	if (sp->sp_rdlen + n > UINT16_MAX)
		luaL_error(L, "newSVCRecordParameters: more than 65535 bytes");
	if (sp->sp_rdlen + n > sp->sp_rdcap) {
		cap = sp->sp_rdlen + n + 256;
		if ((np = realloc(sp->sp_rdata, cap)) == NULL)
			luaL_error(L, "out of memory");
		sp->sp_rdata = np;
		sp->sp_rdcap = cap;
	}
	memcpy(sp->sp_rdata + sp->sp_rdlen, p, n);
	sp->sp_rdlen += n;
}

static void
svc_put16(lua_State *L, struct svcparams *sp, uint16_t v)
{
	uint8_t	b[2];

	dnspacket_put16(b, v);
	svc_put(L, sp, b, 2);
}

/* A key by its name or as "keyNNNNN"; -1 when it is neither. */
static int
svc_key(const char *s)
{
	char	*end;
	long	 n;
	int	 i;

	for (i = 0; i < SVC_NKEYNAMES; i++)
		if (strcmp(s, svc_keynames[i]) == 0)
			return i;
	if (strncmp(s, "key", 3) != 0 || s[3] < '0' || s[3] > '9')
		return -1;
	n = strtol(s + 3, &end, 10);
	if (*end != '\0' || n > 65534)	/* 65535 is reserved */
		return -1;
	return (int)n;
}

/* The length of the array at idx (a table, or absent: 0) of a field. */
static size_t
svc_list(lua_State *L, int t, const char *field)
{
	size_t	n;

	if (lua_getfield(L, t, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "newSVCRecordParameters: %s: a table expected",
		    field);
	n = lua_rawlen(L, -1);
	lua_pop(L, 1);
	return n;
}

/* Element i of the array field of the table at t, as a string. */
static const char *
svc_item(lua_State *L, int t, const char *field, size_t i, size_t *len)
{
	const char	*s;

	lua_getfield(L, t, field);
	lua_rawgeti(L, -1, (lua_Integer)i);
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "newSVCRecordParameters: %s: strings expected",
		    field);
	s = lua_tolstring(L, -1, len);
	lua_pop(L, 2);		/* the table holds the string */
	return s;
}

static void
svc_hints(lua_State *L, int t, const char *field, int af, uint8_t *out,
    size_t *n)
{
	size_t		 i, cnt = svc_list(L, t, field);
	const char	*s;

	if (cnt > SVC_MAXHINTS)
		luaL_error(L, "newSVCRecordParameters: %s: at most %d "
		    "addresses", field, SVC_MAXHINTS);
	for (i = 1; i <= cnt; i++) {
		s = svc_item(L, t, field, i, NULL);
		if (inet_pton(af, s, out + (i - 1) * (af == AF_INET ? 4 : 16))
		    != 1)
			luaL_error(L, "newSVCRecordParameters: %s: bad address "
			    "'%s'", field, s);
	}
	*n = cnt;
}

static int
cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/*
 * newSVCRecordParameters(priority, target[, params]): the data of one
 * record, its parameters in the order of their keys.
 */
static int
l_newsvcrecordparameters(lua_State *L)
{
	lua_Integer		 prio = luaL_checkinteger(L, 1), port;
	struct svcparams	*sp;
	struct {
		uint16_t	 key;
		const char	*name;
	}			 extra[SVC_MAXEXTRA];
	uint16_t		 mand[SVC_MAXEXTRA + SVC_NKEYNAMES];
	size_t			 nextra = 0, nmand, i, len, alpnlen = 0;
	const char		*s;
	uint8_t			 b;
	int			 t = 3, k, isnum;

	if (prio < 0 || prio > 65535)
		return luaL_error(L, "newSVCRecordParameters: priority out of "
		    "range 0..65535");
	lua_settop(L, 3);
	if (lua_isnil(L, t)) {
		lua_newtable(L);
		lua_replace(L, t);
	}
	luaL_checktype(L, t, LUA_TTABLE);
	sp = lua_newuserdata(L, sizeof(*sp));
	memset(sp, 0, sizeof(*sp));
	luaL_setmetatable(L, SVC_MT);
	dlua_name_arg(L, 2, sp->sp_target, &sp->sp_targetlen);
	/* Every key known: the named ones and keyNNNNN with a string. */
	lua_pushnil(L);
	while (lua_next(L, t) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING)
			return luaL_error(L, "newSVCRecordParameters: option "
			    "names must be strings");
		s = lua_tostring(L, -2);
		if (strcmp(s, "mandatory") != 0 && strcmp(s, "alpn") != 0 &&
		    strcmp(s, "noDefaultAlpn") != 0 && strcmp(s, "port") != 0 &&
		    strcmp(s, "ipv4hint") != 0 && strcmp(s, "ech") != 0 &&
		    strcmp(s, "ipv6hint") != 0) {
			if ((k = svc_key(s)) < SVC_NKEYNAMES)
				return luaL_error(L, "newSVCRecordParameters: "
				    "unknown option '%s'", s);
			if (lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "newSVCRecordParameters: "
				    "%s: a string expected", s);
			for (i = 0; i < nextra; i++)
				if (extra[i].key == k)
					return luaL_error(L, "newSVCRecord"
					    "Parameters: key%d given twice", k);
			if (nextra == SVC_MAXEXTRA)
				return luaL_error(L, "newSVCRecordParameters: "
				    "at most %d keyNNNNN", SVC_MAXEXTRA);
			extra[nextra].key = (uint16_t)k;
			extra[nextra++].name = s;
		}
		lua_pop(L, 1);
	}
	qsort(extra, nextra, sizeof(extra[0]), cmp_u16);
	svc_hints(L, t, "ipv4hint", AF_INET, sp->sp_v4[0], &sp->sp_nv4);
	svc_hints(L, t, "ipv6hint", AF_INET6, sp->sp_v6[0], &sp->sp_nv6);
	if ((nmand = svc_list(L, t, "mandatory")) > sizeof(mand) /
	    sizeof(mand[0]))
		return luaL_error(L, "newSVCRecordParameters: mandatory: too "
		    "many keys");
	for (i = 0; i < nmand; i++) {
		s = svc_item(L, t, "mandatory", i + 1, NULL);
		if ((k = svc_key(s)) < 0)
			return luaL_error(L, "newSVCRecordParameters: "
			    "mandatory: unknown key '%s'", s);
		mand[i] = (uint16_t)k;
	}
	qsort(mand, nmand, sizeof(mand[0]), cmp_u16);
	for (i = 1; i < nmand; i++)
		if (mand[i] == mand[i - 1])
			return luaL_error(L, "newSVCRecordParameters: "
			    "mandatory: a key given twice");

	svc_put16(L, sp, (uint16_t)prio);
	svc_put(L, sp, sp->sp_target, sp->sp_targetlen);
	if (nmand > 0) {
		svc_put16(L, sp, 0);
		svc_put16(L, sp, (uint16_t)(2 * nmand));
		for (i = 0; i < nmand; i++)
			svc_put16(L, sp, mand[i]);
	}
	for (i = 1; i <= svc_list(L, t, "alpn"); i++) {
		(void)svc_item(L, t, "alpn", i, &len);
		if (len == 0 || len > 255)
			return luaL_error(L, "newSVCRecordParameters: alpn: "
			    "1 to 255 bytes each");
		alpnlen += 1 + len;
	}
	if (alpnlen > 0) {
		svc_put16(L, sp, 1);
		svc_put16(L, sp, (uint16_t)alpnlen);	/* svc_put checks */
		for (i = 1; i <= svc_list(L, t, "alpn"); i++) {
			s = svc_item(L, t, "alpn", i, &len);
			b = (uint8_t)len;
			svc_put(L, sp, &b, 1);
			svc_put(L, sp, s, len);
		}
	}
	if (dlua_opt_bool(L, t, "noDefaultAlpn", 0)) {
		svc_put16(L, sp, 2);
		svc_put16(L, sp, 0);
	}
	if (lua_getfield(L, t, "port") != LUA_TNIL) {
		port = lua_tointegerx(L, -1, &isnum);
		if (!isnum || port < 0 || port > 65535)
			return luaL_error(L, "newSVCRecordParameters: port: "
			    "0 to 65535");
		svc_put16(L, sp, 3);
		svc_put16(L, sp, 2);
		svc_put16(L, sp, (uint16_t)port);
	}
	lua_pop(L, 1);
	if (sp->sp_nv4 > 0) {
		svc_put16(L, sp, 4);
		svc_put16(L, sp, (uint16_t)(4 * sp->sp_nv4));
		svc_put(L, sp, sp->sp_v4, 4 * sp->sp_nv4);
	}
	if (lua_getfield(L, t, "ech") != LUA_TNIL) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "newSVCRecordParameters: ech: a "
			    "string expected");
		s = lua_tolstring(L, -1, &len);
		svc_put16(L, sp, 5);
		svc_put16(L, sp, (uint16_t)len);
		svc_put(L, sp, s, len);
	}
	lua_pop(L, 1);
	if (sp->sp_nv6 > 0) {
		svc_put16(L, sp, 6);
		svc_put16(L, sp, (uint16_t)(16 * sp->sp_nv6));
		svc_put(L, sp, sp->sp_v6, 16 * sp->sp_nv6);
	}
	for (i = 0; i < nextra; i++) {
		lua_getfield(L, t, extra[i].name);
		s = lua_tolstring(L, -1, &len);
		svc_put16(L, sp, extra[i].key);
		svc_put16(L, sp, (uint16_t)len);
		svc_put(L, sp, s, len);
		lua_pop(L, 1);
	}
	return 1;
}

static int
l_svc_tostring(lua_State *L)
{
	struct svcparams	*sp = luaL_checkudata(L, 1, SVC_MT);
	char			 text[DNSNAME_MAXTEXT];

	dnsname_to_text(sp->sp_target, sp->sp_targetlen, text, sizeof(text));
	lua_pushfstring(L, "SVCRecordParameters(%d, %s)",
	    (int)dnspacket_get16(sp->sp_rdata), text);
	return 1;
}

/* An address hint for the additional section: name, type, address. */
struct svc_hint {
	const uint8_t	*h_name;
	size_t		 h_namelen;
	uint16_t	 h_type;
	const uint8_t	*h_addr;
};

/* The canonical order of names (RFC 4034, 6.1): labels from the right. */
static int
name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t	 la[128], lb[128], na = 0, nb = 0, off, i, n;
	int	 c;
	uint8_t	 x, y;

	for (off = 0; off < alen && a[off] != 0 && na < 128;
	    off += (size_t)a[off] + 1)
		la[na++] = off;
	for (off = 0; off < blen && b[off] != 0 && nb < 128;
	    off += (size_t)b[off] + 1)
		lb[nb++] = off;
	while (na > 0 && nb > 0) {
		const uint8_t *p = a + la[--na], *q = b + lb[--nb];

		n = p[0] < q[0] ? p[0] : q[0];
		for (i = 1; i <= n; i++) {
			x = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
			y = q[i] >= 'A' && q[i] <= 'Z' ? q[i] + 32 : q[i];
			if (x != y)
				return (int)x - (int)y;
		}
		if ((c = (int)p[0] - (int)q[0]) != 0)
			return c;
	}
	return (int)na - (int)nb;
}

/* The hints go out as dnsdist sends them: A first, by name, by address. */
static int
hint_cmp(const void *va, const void *vb)
{
	const struct svc_hint	*a = va, *b = vb;
	int			 c;

	if (a->h_type != b->h_type)
		return a->h_type == DNS_TYPE_A ? -1 : 1;
	if ((c = name_cmp(a->h_name, a->h_namelen, b->h_name,
	    b->h_namelen)) != 0)
		return c;
	return memcmp(a->h_addr, b->h_addr, a->h_type == DNS_TYPE_A ? 4 : 16);
}

/*
 * SpoofSVCAction(params[, options]): the records of the table params
 * (SVCRecordParameters), of the query's type, and their hints.
 */
static int
l_spoofsvcaction(lua_State *L)
{
	static const char	*keys[] = { "aa", "ad", "ra", "ttl", NULL };
	struct svcparams	*sp;
	struct svc_hint		*h;
	struct action		*ac;
	size_t			 i, j, n, nh = 0, len, off = 0;
	uint8_t			*p;

	lua_settop(L, 2);
	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		dlua_check_keys(L, 2, keys, "SpoofSVCAction");
	}
	if ((n = lua_rawlen(L, 1)) == 0 || n > SPOOF_MAX)
		return luaL_error(L, "SpoofSVCAction: 1 to %d records",
		    SPOOF_MAX);
	ac = dlua_act_new(L, ACT_SPOOFSVC);
	dlua_spoof_options(L, 2, ac, "SpoofSVCAction");
	h = lua_newuserdata(L, n * 2 * SVC_MAXHINTS * sizeof(*h));
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		sp = luaL_checkudata(L, -1, SVC_MT);
		lua_pop(L, 1);		/* the table keeps it */
		if ((ac->ac_u.spoof.raw[i - 1] = malloc(sp->sp_rdlen)) == NULL)
			return luaL_error(L, "out of memory");
		memcpy(ac->ac_u.spoof.raw[i - 1], sp->sp_rdata, sp->sp_rdlen);
		ac->ac_u.spoof.rawlen[ac->ac_u.spoof.n++] = sp->sp_rdlen;
		for (j = 0; j < sp->sp_nv4 + sp->sp_nv6; j++, nh++) {
			h[nh].h_name = sp->sp_target;
			h[nh].h_namelen = sp->sp_targetlen;
			h[nh].h_type = j < sp->sp_nv4 ? DNS_TYPE_A :
			    DNS_TYPE_AAAA;
			h[nh].h_addr = j < sp->sp_nv4 ? sp->sp_v4[j] :
			    sp->sp_v6[j - sp->sp_nv4];
		}
	}
	qsort(h, nh, sizeof(*h), hint_cmp);
	/* Each distinct hint: name length, name, type, address. */
	if (nh > 0 && (ac->ac_u.spoof.extra = malloc(nh * (1 +
	    DNSNAME_MAXLEN + 2 + 16))) == NULL)
		return luaL_error(L, "out of memory");
	for (i = 0; i < nh; i++) {
		if (i > 0 && hint_cmp(&h[i], &h[i - 1]) == 0)
			continue;
		p = ac->ac_u.spoof.extra + off;
		len = h[i].h_type == DNS_TYPE_A ? 4 : 16;
		p[0] = (uint8_t)h[i].h_namelen;
		memcpy(p + 1, h[i].h_name, h[i].h_namelen);
		dnspacket_put16(p + 1 + h[i].h_namelen, h[i].h_type);
		memcpy(p + 3 + h[i].h_namelen, h[i].h_addr, len);
		off += 3 + h[i].h_namelen + len;
	}
	ac->ac_u.spoof.extralen = off;
	lua_pop(L, 1);
	action_set_desc(ac, "spoof SVC record (%zu)", n);
	return 1;
}

static const luaL_Reg globals[] = {
	{ "newSVCRecordParameters", l_newsvcrecordparameters },
	{ "SpoofSVCAction", l_spoofsvcaction },
	{ NULL, NULL }
};

void
dlua_open_svc(lua_State *L)
{
	dlua_new_type(L, SVC_MT, NULL, l_svc_tostring, l_svc_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
