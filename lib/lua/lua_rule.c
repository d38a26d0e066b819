/*
 * Lua bindings for rules: selectors (*Rule), actions (*Action), the query
 * and response chains, name and netmask sets, DNSName and ComboAddress
 * objects, the constants tables, and the seed's convenience commands.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "addr.h"
#include "dnspacket.h"
#include "lua.h"
#include "netmask.h"
#include "policy.h"
#include "rule.h"

#define SELECTOR_MT	"dnsdist.DNSRule"
#define ACTION_MT	"dnsdist.DNSAction"
#define RULEPAIR_MT	"dnsdist.RuleAction"
#define SMN_MT		"dnsdist.SuffixMatchNode"
#define NMG_MT		"dnsdist.NetmaskGroup"
#define DNSNAME_MT	"dnsdist.DNSName"
#define CA_MT		"dnsdist.ComboAddress"
#define TIS_MT		"dnsdist.TimedIPSetRule"
#define NAMESET_MT	"dnsdist.DNSNameSet"

struct dnsname_ud {
	uint8_t	dn_name[DNSNAME_MAXLEN];
	size_t	dn_len;
};

struct rulepair {
	struct selector	*rp_sel;
	struct action	*rp_act;
	char		*rp_name;
};

/* Generic userdata holding one reference to a selector or an action. */

void
dlua_push_selector(lua_State *L, struct selector *se)
{
	struct selector	**u = lua_newuserdata(L, sizeof(*u));

	*u = se;
	luaL_setmetatable(L, SELECTOR_MT);
}

void
dlua_push_action(lua_State *L, struct action *ac)
{
	struct action	**u = lua_newuserdata(L, sizeof(*u));

	*u = ac;
	luaL_setmetatable(L, ACTION_MT);
}

static int
l_selector_gc(lua_State *L)
{
	struct selector	**u = luaL_checkudata(L, 1, SELECTOR_MT);

	selector_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_action_gc(lua_State *L)
{
	struct action	**u = luaL_checkudata(L, 1, ACTION_MT);

	action_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_selector_tostring(lua_State *L)
{
	struct selector	*se = *(struct selector **)luaL_checkudata(L, 1,
	    SELECTOR_MT);

	lua_pushstring(L, se->se_desc ? se->se_desc : "");
	return 1;
}

static int
l_action_tostring(lua_State *L)
{
	struct action	*ac = *(struct action **)luaL_checkudata(L, 1,
	    ACTION_MT);

	lua_pushstring(L, ac->ac_desc ? ac->ac_desc : "");
	return 1;
}

static struct selector *
sel_new(lua_State *L, int kind)
{
	struct selector	*se;

	if ((se = selector_new(kind)) == NULL)
		luaL_error(L, "out of memory");
	dlua_push_selector(L, se);	/* owned by Lua from here: errors free it */
	return se;
}

static struct action *
act_new(lua_State *L, int kind)
{
	struct action	*ac;

	if ((ac = action_new(kind)) == NULL)
		luaL_error(L, "out of memory");
	dlua_push_action(L, ac);
	return ac;
}

/* DNSName */

void
dlua_push_dnsname(lua_State *L, const uint8_t *name, size_t len)
{
	struct dnsname_ud	*dn = lua_newuserdata(L, sizeof(*dn));

	memcpy(dn->dn_name, name, len);
	dn->dn_len = len;
	luaL_setmetatable(L, DNSNAME_MT);
}

/* A name argument: a DNSName object or text. */
void
dlua_name_arg(lua_State *L, int idx, uint8_t *out, size_t *len)
{
	struct dnsname_ud	*dn;
	const char		*s;

	if ((dn = luaL_testudata(L, idx, DNSNAME_MT)) != NULL) {
		memcpy(out, dn->dn_name, dn->dn_len);
		*len = dn->dn_len;
		return;
	}
	s = luaL_checkstring(L, idx);
	if (dnsname_from_text(s, out, len) == -1)
		luaL_error(L, "bad name '%s'", s);
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
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);
	char			 text[DNSNAME_MAXTEXT];

	dnsname_to_text(dn->dn_name, dn->dn_len, text, sizeof(text));
	lua_pushstring(L, text);
	return 1;
}

static int
l_dnsname_tostringnodot(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);
	char			 text[DNSNAME_MAXTEXT];
	int			 n;

	n = dnsname_to_text(dn->dn_name, dn->dn_len, text, sizeof(text));
	if (n > 1 && text[n - 1] == '.')
		text[n - 1] = '\0';
	lua_pushstring(L, text);
	return 1;
}

static int
l_dnsname_countlabels(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);

	lua_pushinteger(L, dnsname_count_labels(dn->dn_name, dn->dn_len));
	return 1;
}

static int
l_dnsname_wirelength(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);

	lua_pushinteger(L, (lua_Integer)dn->dn_len);
	return 1;
}

static int
l_dnsname_ispartof(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);
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
	struct dnsname_ud	*a = luaL_checkudata(L, 1, DNSNAME_MT);
	uint8_t			 other[DNSNAME_MAXLEN];
	size_t			 olen;

	dlua_name_arg(L, 2, other, &olen);
	lua_pushboolean(L, dnsname_equal(a->dn_name, a->dn_len, other, olen));
	return 1;
}

static int
l_dnsname_makerelative(lua_State *L)
{
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);
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
	struct dnsname_ud	*dn = luaL_checkudata(L, 1, DNSNAME_MT);
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

/* ComboAddress */

void
dlua_push_ca(lua_State *L, const struct sockaddr *sa)
{
	struct sockaddr_storage	*ss = lua_newuserdata(L, sizeof(*ss));

	memset(ss, 0, sizeof(*ss));
	memcpy(ss, sa, addr_len(sa));
	luaL_setmetatable(L, CA_MT);
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

	lua_pushstring(L, addr_host_to_text(luaL_checkudata(L, 1, CA_MT), buf,
	    sizeof(buf)));
	return 1;
}

static int
l_ca_tostringwithport(lua_State *L)
{
	char	buf[ADDR_MAXTEXT];

	lua_pushstring(L, addr_to_text(luaL_checkudata(L, 1, CA_MT), buf,
	    sizeof(buf)));
	return 1;
}

static int
l_ca_isipv4(lua_State *L)
{
	struct sockaddr	*sa = luaL_checkudata(L, 1, CA_MT);

	lua_pushboolean(L, sa->sa_family == AF_INET);
	return 1;
}

static int
l_ca_isipv6(lua_State *L)
{
	struct sockaddr	*sa = luaL_checkudata(L, 1, CA_MT);

	lua_pushboolean(L, sa->sa_family == AF_INET6);
	return 1;
}

static int
l_ca_getport(lua_State *L)
{
	lua_pushinteger(L, addr_port(luaL_checkudata(L, 1, CA_MT)));
	return 1;
}

/* SuffixMatchNode and NetmaskGroup objects */

static int
l_newsuffixmatchnode(lua_State *L)
{
	struct suffix_set	**u = lua_newuserdata(L, sizeof(*u));

	*u = NULL;
	luaL_setmetatable(L, SMN_MT);
	if ((*u = suffix_new()) == NULL)
		return luaL_error(L, "out of memory");
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
static struct suffix_set *
set_check(lua_State *L, int idx, const char *mt, bool writing)
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
	return set_check(L, idx, SMN_MT, writing);
}

static void
smn_add_one(lua_State *L, struct suffix_set *ss, int idx)
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
			smn_add_one(L, ss, lua_gettop(L));
			lua_pop(L, 1);
		}
	} else
		smn_add_one(L, ss, 2);
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
	luaL_setmetatable(L, NAMESET_MT);
	if ((*u = suffix_new()) == NULL)
		return luaL_error(L, "out of memory");
	return 1;
}

static int
l_nameset_add(lua_State *L)
{
	smn_add_one(L, set_check(L, 1, NAMESET_MT, true), 2);
	return 0;
}

static int
l_nameset_check(lua_State *L)
{
	struct suffix_set	*ss = set_check(L, 1, NAMESET_MT, false);
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 len;

	dlua_name_arg(L, 2, name, &len);
	lua_pushboolean(L, suffix_has(ss, name, len));
	return 1;
}

static int
l_nameset_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)set_check(L, 1, NAMESET_MT,
	    false)->ss_count);
	return 1;
}

static int
l_nameset_empty(lua_State *L)
{
	lua_pushboolean(L, set_check(L, 1, NAMESET_MT, false)->ss_count == 0);
	return 1;
}

/* A new set for the object: the names of the old one but skip (if any). */
static void
nameset_replace(lua_State *L, const uint8_t *skip, size_t skiplen)
{
	struct suffix_set	**u = luaL_checkudata(L, 1, NAMESET_MT), *ns;
	const struct suffix_set	*os = set_check(L, 1, NAMESET_MT, false);
	size_t			 off = 0;

	if ((ns = suffix_new()) == NULL)
		luaL_error(L, "out of memory");
	while (skip != NULL && off < os->ss_arenalen) {
		if (!dnsname_equal(os->ss_arena + off + 1, os->ss_arena[off],
		    skip, skiplen) && suffix_add(ns, os->ss_arena + off + 1,
		    os->ss_arena[off]) == -1) {
			suffix_unref(ns);
			luaL_error(L, "out of memory");
		}
		off += (size_t)os->ss_arena[off] + 1;
	}
	suffix_unref(*u);
	*u = ns;
}

static int
l_nameset_clear(lua_State *L)
{
	nameset_replace(L, NULL, 0);
	return 0;
}

static int
l_nameset_delete(lua_State *L)
{
	struct suffix_set	*ss = set_check(L, 1, NAMESET_MT, false);
	uint8_t			 name[DNSNAME_MAXLEN];
	size_t			 len;
	bool			 had;

	dlua_name_arg(L, 2, name, &len);
	if ((had = suffix_has(ss, name, len)))
		nameset_replace(L, name, len);
	lua_pushinteger(L, had);
	return 1;
}

static int
l_nameset_tostring(lua_State *L)
{
	struct suffix_set	*ss = set_check(L, 1, NAMESET_MT, false);
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
	luaL_setmetatable(L, NMG_MT);
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
	netmask_group_clear(luaL_checkudata(L, 1, NMG_MT));
	return 0;
}

static int
l_nmg_addmask(lua_State *L)
{
	struct netmask_group	*ng = luaL_checkudata(L, 1, NMG_MT);
	const char		*s = luaL_checkstring(L, 2);

	if (netmask_group_add_text(ng, s) == -1)
		return luaL_error(L, "bad netmask '%s'", s);
	return 0;
}

static int
l_nmg_match(lua_State *L)
{
	struct netmask_group	*ng = luaL_checkudata(L, 1, NMG_MT);
	struct sockaddr_storage	 ss, *sp;
	socklen_t		 len;

	if ((sp = luaL_testudata(L, 2, CA_MT)) == NULL) {
		if (addr_parse(luaL_checkstring(L, 2), 0, &ss, &len) == -1)
			return luaL_error(L, "bad address");
		sp = &ss;
	}
	lua_pushboolean(L, netmask_group_match(ng,
	    (struct sockaddr *)sp) == 1);
	return 1;
}

static int
l_nmg_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)((struct netmask_group *)
	    luaL_checkudata(L, 1, NMG_MT))->ng_count);
	return 1;
}

/* Descriptions of name and netmask lists, cut short for big sets. */
static void
desc_names(struct sbuf *sb, const struct suffix_set *ss)
{
	char	 text[DNSNAME_MAXTEXT];
	size_t	 off = 0, n = 0;

	while (off < ss->ss_arenalen && n < 5) {
		dnsname_to_text(ss->ss_arena + off + 1, ss->ss_arena[off],
		    text, sizeof(text));
		sbuf_printf(sb, "%s%s", n ? ", " : "", text);
		off += (size_t)ss->ss_arena[off] + 1;
		n++;
	}
	if (ss->ss_count > n)
		sbuf_printf(sb, ", ... (%zu names)", ss->ss_count);
}

static void
desc_masks(struct sbuf *sb, const struct netmask_group *ng)
{
	char	buf[NETMASK_MAXTEXT];
	size_t	i;

	for (i = 0; i < ng->ng_count && i < 8; i++)
		sbuf_printf(sb, "%s%s", i ? ", " : "",
		    netmask_to_text(&ng->ng_masks[i], buf, sizeof(buf)));
	if (ng->ng_count > 8)
		sbuf_printf(sb, ", ... (%zu netmasks)", ng->ng_count);
}

static void
sel_desc_sbuf(lua_State *L, struct selector *se, struct sbuf *sb)
{
	if (sb->sb_failed || selector_set_desc(se, "%s", sbuf_text(sb)) == -1) {
		sbuf_free(sb);
		luaL_error(L, "out of memory");
	}
	sbuf_free(sb);
}

/* A selector that shares the set (a reference is taken). */
static struct selector *
smn_selector(lua_State *L, struct suffix_set *set, int kind)
{
	struct selector	*se = sel_new(L, kind);
	struct sbuf	 sb;

	suffix_ref(set);
	se->se_u.names = set;
	sbuf_init(&sb);
	sbuf_puts(&sb, kind == SEL_SUFFIX ? "qname in " : "qname in set ");
	desc_names(&sb, set);
	sel_desc_sbuf(L, se, &sb);
	return se;
}

static struct selector *
nmg_selector(lua_State *L, const struct netmask_group *src, bool dst)
{
	struct selector	*se = sel_new(L, SEL_NMG);
	struct sbuf	 sb;

	if (netmask_group_copy(&se->se_u.nmg, src) == -1)
		luaL_error(L, "out of memory");
	se->se_dst = dst;
	sbuf_init(&sb);
	sbuf_puts(&sb, dst ? "Dst: " : "Src: ");
	desc_masks(&sb, &se->se_u.nmg);
	sel_desc_sbuf(L, se, &sb);
	return se;
}

/*
 * A selector argument: a rule object, or as dnsdist allows, a string or a
 * table of strings, each a netmask or else a name (suffix match).  The
 * selector is left on the stack (it owns the reference) and returned.
 */
static struct selector *
selector_arg(lua_State *L, int idx)
{
	struct selector		**u, *a = NULL, *b = NULL, *se;
	struct dnsname_ud	 *dn;
	struct suffix_set	 *names;
	struct netmask_group	  masks;
	struct netmask		  nm;
	uint8_t			  name[DNSNAME_MAXLEN];
	size_t			  i, n, len;
	const char		 *s;

	idx = lua_absindex(L, idx);
	if ((u = luaL_testudata(L, idx, SELECTOR_MT)) != NULL) {
		lua_pushvalue(L, idx);
		return *u;
	}
	if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TTABLE &&
	    luaL_testudata(L, idx, DNSNAME_MT) == NULL)
		luaL_error(L, "a rule, a string or a table of strings expected");
	if ((names = suffix_new()) == NULL)
		luaL_error(L, "out of memory");
	netmask_group_init(&masks);
	n = lua_type(L, idx) == LUA_TTABLE ? lua_rawlen(L, idx) : 1;
	for (i = 1; i <= n; i++) {
		if (lua_type(L, idx) == LUA_TTABLE)
			lua_rawgeti(L, idx, (lua_Integer)i);
		else
			lua_pushvalue(L, idx);
		s = lua_tostring(L, -1);
		if ((dn = luaL_testudata(L, -1, DNSNAME_MT)) != NULL) {
			if (suffix_add(names, dn->dn_name, dn->dn_len) == -1) {
				suffix_unref(names);
				netmask_group_clear(&masks);
				luaL_error(L, "out of memory");
			}
		} else if (s != NULL && netmask_parse(s, &nm) == 0)
			netmask_group_add(&masks, &nm);
		else if (s == NULL || dnsname_from_text(s, name, &len) == -1 ||
		    suffix_add(names, name, len) == -1) {
			suffix_unref(names);
			netmask_group_clear(&masks);
			luaL_error(L, "bad name or netmask '%s'", s ? s : "?");
		}
		lua_pop(L, 1);
	}
	if (masks.ng_count > 0)
		a = nmg_selector(L, &masks, false);
	if (names->ss_count > 0)
		b = smn_selector(L, names, SEL_SUFFIX);
	suffix_unref(names);
	netmask_group_clear(&masks);
	if (a != NULL && b != NULL) {
		/* Both kinds: either matches. */
		se = sel_new(L, SEL_OR);
		if ((se->se_u.list.subs = calloc(2, sizeof(*se))) == NULL)
			luaL_error(L, "out of memory");
		selector_ref(a);
		selector_ref(b);
		se->se_u.list.subs[0] = a;
		se->se_u.list.subs[1] = b;
		se->se_u.list.n = 2;
		selector_set_desc(se, "(%s) || (%s)", a->se_desc, b->se_desc);
		lua_replace(L, -3);
		lua_pop(L, 1);
		return se;
	}
	if (a == NULL && b == NULL)
		luaL_error(L, "empty list of names or netmasks");
	return a != NULL ? a : b;
}

static struct action *
action_arg(lua_State *L, int idx)
{
	return *(struct action **)luaL_checkudata(L, idx, ACTION_MT);
}

/* Selector constructors */

static int
l_allrule(lua_State *L)
{
	selector_set_desc(sel_new(L, SEL_ALL), "All");
	return 1;
}

static int
l_qnamerule(lua_State *L)
{
	uint8_t		 name[DNSNAME_MAXLEN];
	size_t		 len;
	char		 text[DNSNAME_MAXTEXT];
	struct selector	*se;

	dlua_name_arg(L, 1, name, &len);
	se = sel_new(L, SEL_QNAME);
	memcpy(se->se_u.qname.name, name, len);
	se->se_u.qname.len = len;
	dnsname_to_text(name, len, text, sizeof(text));
	selector_set_desc(se, "qname==%s", text);
	return 1;
}

static int
l_qnamesetrule(lua_State *L)
{
	struct suffix_set	*set;
	size_t			 i, n;

	if (luaL_testudata(L, 1, NAMESET_MT) != NULL) {
		smn_selector(L, set_check(L, 1, NAMESET_MT, false),
		    SEL_QNAMESET);
		return 1;
	}
	/* Or a table of names. */
	luaL_checktype(L, 1, LUA_TTABLE);
	l_newsuffixmatchnode(L);
	set = smn_check(L, -1, true);
	n = lua_rawlen(L, 1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		smn_add_one(L, set, lua_gettop(L));
		lua_pop(L, 1);
	}
	smn_selector(L, set, SEL_QNAMESET);
	return 1;
}

static int
l_suffixmatchnoderule(lua_State *L)
{
	smn_selector(L, smn_check(L, 1, false), SEL_SUFFIX);
	return 1;
}

static int
l_netmaskgrouprule(lua_State *L)
{
	struct netmask_group	tmp, *ng;
	const char		*s;
	bool			 src = lua_isnoneornil(L, 2) ||
				    lua_toboolean(L, 2);

	if ((ng = luaL_testudata(L, 1, NMG_MT)) != NULL) {
		nmg_selector(L, ng, !src);
		return 1;
	}
	netmask_group_init(&tmp);
	s = luaL_checkstring(L, 1);
	if (netmask_group_add_text(&tmp, s) == -1)
		return luaL_error(L, "bad netmask '%s'", s);
	nmg_selector(L, &tmp, !src);
	netmask_group_clear(&tmp);
	return 1;
}

static uint16_t
qtype_arg(lua_State *L, int idx)
{
	int	t;

	if (lua_isinteger(L, idx))
		t = (int)lua_tointeger(L, idx);
	else
		t = dnspacket_type_from_text(luaL_checkstring(L, idx));
	if (t < 0 || t > 65535)
		luaL_error(L, "bad query type");
	return (uint16_t)t;
}

static int
l_qtyperule(lua_State *L)
{
	struct selector	*se;
	char		 name[16];
	uint16_t	 t = qtype_arg(L, 1);

	se = sel_new(L, SEL_QTYPE);
	se->se_u.num = t;
	selector_set_desc(se, "qtype==%s", dnspacket_type_name(t, name,
	    sizeof(name)));
	return 1;
}

static int
num_rule(lua_State *L, int kind, const char *prefix, lua_Integer max)
{
	lua_Integer	 v = luaL_checkinteger(L, 1);
	struct selector	*se;

	if (v < 0 || v > max)
		return luaL_error(L, "value %d out of range", (int)v);
	se = sel_new(L, kind);
	se->se_u.num = (uint32_t)v;
	selector_set_desc(se, "%s%d", prefix, (int)v);
	return 1;
}

static int
l_qclassrule(lua_State *L)
{
	return num_rule(L, SEL_QCLASS, "qclass==", 65535);
}

static int
l_opcoderule(lua_State *L)
{
	return num_rule(L, SEL_OPCODE, "opcode==", 15);
}

static int
l_dstportrule(lua_State *L)
{
	return num_rule(L, SEL_DSTPORT, "dst port==", 65535);
}

static int
l_rcoderule(lua_State *L)
{
	return num_rule(L, SEL_RCODE, "rcode==", 15);
}

static int
l_ercoderule(lua_State *L)
{
	return num_rule(L, SEL_ERCODE, "ercode==", 4095);
}

static int
l_ednsversionrule(lua_State *L)
{
	return num_rule(L, SEL_EDNSVERSION, "edns version > ", 255);
}

static int
l_ednsoptionrule(lua_State *L)
{
	return num_rule(L, SEL_EDNSOPTION, "edns option present: ", 65535);
}

static int
l_regexrule(lua_State *L)
{
	const char	*re = luaL_checkstring(L, 1);
	struct selector	*se = sel_new(L, SEL_REGEX);
	char		 err[128];
	int		 rc;

	se->se_kind = SEL_ALL;	/* nothing to free until compiled */
	if ((rc = regcomp(&se->se_u.regex.re, re,
	    REG_EXTENDED | REG_ICASE | REG_NOSUB)) != 0) {
		regerror(rc, &se->se_u.regex.re, err, sizeof(err));
		return luaL_error(L, "RegexRule: bad expression '%s': %s", re,
		    err);
	}
	se->se_kind = SEL_REGEX;
	selector_set_desc(se, "Regex: %s", re);
	return 1;
}

static int
l_rdrule(lua_State *L)
{
	selector_set_desc(sel_new(L, SEL_RD), "rd==1");
	return 1;
}

static int
l_tcprule(lua_State *L)
{
	struct selector	*se;
	bool		 tcp = lua_toboolean(L, 1);

	se = sel_new(L, SEL_TCP);
	se->se_u.flag = tcp;
	selector_set_desc(se, "%s", tcp ? "TCP" : "UDP");
	return 1;
}

static int
l_dnssecrule(lua_State *L)
{
	selector_set_desc(sel_new(L, SEL_DNSSEC), "DNSSEC");
	return 1;
}

static int
l_trailingdatarule(lua_State *L)
{
	selector_set_desc(sel_new(L, SEL_TRAILINGDATA), "trailing data");
	return 1;
}

static int
range_rule(lua_State *L, int kind, const char *what)
{
	lua_Integer	 min = luaL_checkinteger(L, 1);
	lua_Integer	 max = luaL_checkinteger(L, 2);
	struct selector	*se = sel_new(L, kind);

	se->se_u.range.min = (int)min;
	se->se_u.range.max = (int)max;
	selector_set_desc(se, "%s < %d || %s > %d", what, (int)min, what,
	    (int)max);
	return 1;
}

static int
l_qnamelabelscountrule(lua_State *L)
{
	return range_rule(L, SEL_QNAMELABELS, "labels count");
}

static int
l_qnamewirelengthrule(lua_State *L)
{
	return range_rule(L, SEL_QNAMEWIRELEN, "qname wire length");
}

static int
l_recordscountrule(lua_State *L)
{
	lua_Integer	 sec = luaL_checkinteger(L, 1);
	struct selector	*se;

	if (sec < 0 || sec > 3)
		return luaL_error(L, "section must be 0 to 3");
	se = sel_new(L, SEL_RECORDSCOUNT);
	se->se_u.range.section = (int)sec;
	se->se_u.range.min = (int)luaL_checkinteger(L, 2);
	se->se_u.range.max = (int)luaL_checkinteger(L, 3);
	selector_set_desc(se, "records count in section %d in [%d, %d]",
	    (int)sec, se->se_u.range.min, se->se_u.range.max);
	return 1;
}

static int
l_recordstypecountrule(lua_State *L)
{
	lua_Integer	 sec = luaL_checkinteger(L, 1);
	uint16_t	 type = qtype_arg(L, 2);
	struct selector	*se;
	char		 name[16];

	if (sec < 0 || sec > 3)
		return luaL_error(L, "section must be 0 to 3");
	se = sel_new(L, SEL_RECORDSTYPECOUNT);
	se->se_u.range.section = (int)sec;
	se->se_u.range.type = type;
	se->se_u.range.min = (int)luaL_checkinteger(L, 3);
	se->se_u.range.max = (int)luaL_checkinteger(L, 4);
	selector_set_desc(se, "%s records count in section %d in [%d, %d]",
	    dnspacket_type_name(type, name, sizeof(name)), (int)sec,
	    se->se_u.range.min, se->se_u.range.max);
	return 1;
}

static int
l_probarule(lua_State *L)
{
	double		 p = luaL_checknumber(L, 1);
	struct selector	*se = sel_new(L, SEL_PROBA);

	se->se_u.proba = p;
	selector_set_desc(se, "match with prob. %.2f", p);
	return 1;
}

static int
l_tagrule(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*value = luaL_optstring(L, 2, NULL);
	struct selector	*se = sel_new(L, SEL_TAG);

	se->se_kind = SEL_ALL;
	if ((se->se_u.tag.name = strdup(name)) == NULL ||
	    (value != NULL && (se->se_u.tag.value = strdup(value)) == NULL))
		return luaL_error(L, "out of memory");
	se->se_kind = SEL_TAG;
	if (value != NULL)
		selector_set_desc(se, "tag '%s' is set to '%s'", name, value);
	else
		selector_set_desc(se, "tag '%s' is set", name);
	return 1;
}

static int
l_poolavailablerule(lua_State *L)
{
	const char	*pool = luaL_checkstring(L, 1);
	struct selector	*se = sel_new(L, SEL_POOLAVAILABLE);

	se->se_kind = SEL_ALL;
	if ((se->se_u.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	se->se_kind = SEL_POOLAVAILABLE;
	selector_set_desc(se, "pool '%s' is available", pool);
	return 1;
}

static int
l_maxqpsrule(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	double		 burst = luaL_optnumber(L, 2, qps);
	struct selector	*se = sel_new(L, SEL_MAXQPS);

	qps_init(&se->se_u.maxqps.bucket, qps, burst, 0);
	selector_set_desc(se, "Max %g qps", qps);
	return 1;
}

static int
l_maxqpsiprule(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	struct selector	*se;

	se = selector_maxqpsip(qps, (int)luaL_optinteger(L, 2, 32),
	    (int)luaL_optinteger(L, 3, 64), luaL_optnumber(L, 4, qps),
	    (int)luaL_optinteger(L, 5, 300), 65536);
	if (se == NULL)
		return luaL_error(L, "MaxQPSIPRule: bad arguments");
	dlua_push_selector(L, se);
	return 1;
}

static int
list_rule(lua_State *L, int kind, const char *op)
{
	struct selector	*se, *sub;
	struct sbuf	 sb;
	size_t		 i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = lua_rawlen(L, 1);
	if (n == 0)
		return luaL_error(L, "an empty list of rules");
	se = sel_new(L, kind);
	if ((se->se_u.list.subs = calloc(n, sizeof(sub))) == NULL)
		return luaL_error(L, "out of memory");
	sbuf_init(&sb);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		sub = selector_arg(L, -1);
		selector_ref(sub);
		se->se_u.list.subs[se->se_u.list.n++] = sub;
		sbuf_printf(&sb, "%s(%s)", i > 1 ? op : "",
		    sub->se_desc ? sub->se_desc : "");
		lua_pop(L, 2);
	}
	sel_desc_sbuf(L, se, &sb);
	return 1;
}

static int
l_andrule(lua_State *L)
{
	return list_rule(L, SEL_AND, " && ");
}

static int
l_orrule(lua_State *L)
{
	return list_rule(L, SEL_OR, " || ");
}

static int
l_notrule(lua_State *L)
{
	struct selector	*inner = selector_arg(L, 1), *se;

	se = sel_new(L, SEL_NOT);
	selector_ref(inner);
	se->se_u.inner = inner;
	selector_set_desc(se, "!(%s)", inner->se_desc ? inner->se_desc : "");
	return 1;
}


static int
l_pooloutstandingrule(lua_State *L)
{
	const char	*pool = luaL_checkstring(L, 1);
	lua_Integer	 limit = luaL_checkinteger(L, 2);
	struct selector	*se;

	if (limit < 0)
		return luaL_error(L, "PoolOutstandingRule: a negative limit");
	se = sel_new(L, SEL_POOLOUTSTANDING);
	se->se_kind = SEL_ALL;
	if ((se->se_u.outstanding.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	se->se_kind = SEL_POOLOUTSTANDING;
	se->se_u.outstanding.limit = (uint64_t)limit;
	selector_set_desc(se, "pool '%s' outstanding > %lld", pool,
	    (long long)limit);
	return 1;
}

/* TimedIPSetRule: the object holds the selector; slice() hands it out. */
static int
l_timedipsetrule(lua_State *L)
{
	struct selector	**u = lua_newuserdata(L, sizeof(*u));

	*u = NULL;
	luaL_setmetatable(L, TIS_MT);
	if ((*u = selector_timedipset()) == NULL)
		return luaL_error(L, "out of memory");
	return 1;
}

static struct selector *
tis_check(lua_State *L)
{
	struct selector	**u = luaL_checkudata(L, 1, TIS_MT);

	if (*u == NULL)
		luaL_error(L, "bad TimedIPSetRule");
	return *u;
}

static int
l_tis_gc(lua_State *L)
{
	struct selector	**u = luaL_checkudata(L, 1, TIS_MT);

	selector_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_tis_add(lua_State *L)
{
	struct selector		*se = tis_check(L);
	struct sockaddr_storage	 ss, *sp;
	socklen_t		 len;
	lua_Integer		 secs = luaL_checkinteger(L, 3);

	if ((sp = luaL_testudata(L, 2, CA_MT)) == NULL) {
		if (addr_parse(luaL_checkstring(L, 2), 0, &ss, &len) == -1)
			return luaL_error(L, "TimedIPSetRule:add(): bad "
			    "address");
		sp = &ss;
	}
	if (secs < 0 || secs > INT32_MAX)
		return luaL_error(L, "TimedIPSetRule:add(): seconds out of "
		    "range");
	if (timedipset_add(se->se_u.tis, (struct sockaddr *)sp, dlua_mono_ns() +
	    (uint64_t)secs * 1000000000ULL) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_tis_cleanup(lua_State *L)
{
	if (timedipset_cleanup(tis_check(L)->se_u.tis, dlua_mono_ns()) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_tis_clear(lua_State *L)
{
	timedipset_clear(tis_check(L)->se_u.tis);
	return 0;
}

static int
l_tis_slice(lua_State *L)
{
	struct selector	*se = tis_check(L);

	selector_ref(se);
	dlua_push_selector(L, se);
	return 1;
}

static int
l_tis_tostring(lua_State *L)
{
	lua_pushstring(L, tis_check(L)->se_desc);
	return 1;
}

/*
 * makeRule(): as dnsdist, netmasks make a NetmaskGroupRule (and names
 * given beside them are ignored), names a SuffixMatchNodeRule.
 */
static int
l_makerule(lua_State *L)
{
	struct selector	*se = selector_arg(L, 1);

	/* selector_arg() ORs both kinds, the netmasks first. */
	if (se->se_kind == SEL_OR && luaL_testudata(L, 1, SELECTOR_MT) == NULL) {
		se = se->se_u.list.subs[0];
		selector_ref(se);
		dlua_push_selector(L, se);
	}
	return 1;
}


static bool
selector_has_lua(const struct selector *se)
{
	size_t	i;

	if (se->se_kind == SEL_LUA)
		return true;
	if (se->se_kind == SEL_NOT)
		return selector_has_lua(se->se_u.inner);
	if (se->se_kind == SEL_AND || se->se_kind == SEL_OR)
		for (i = 0; i < se->se_u.list.n; i++)
			if (selector_has_lua(se->se_u.list.subs[i]))
				return true;
	return false;
}

#define BENCH_QUERIES	1000

/*
 * benchRule(rule[, times[, suffix]]): as dnsdist, the rule against 1000
 * queries for random names under suffix, of random types, from random
 * IPv4 clients, times times in all.
 */
static int
l_benchrule(lua_State *L)
{
	lua_Integer		 times = luaL_optinteger(L, 2, 100000);
	const char		*suffix = luaL_optstring(L, 3, "powerdns.com");
	struct selector		*se = selector_arg(L, 1);
	struct bench_query {
		uint8_t			pkt[DNS_HDRLEN + DNSNAME_MAXLEN + 4];
		size_t			len;
		struct dnsquestion	q;
		struct sockaddr_in	sin;
	}			*bq;
	struct dnsq		 dq;
	uint8_t			 sname[DNSNAME_MAXLEN], name[DNSNAME_MAXLEN];
	size_t			 slen, i;
	uint64_t		 rnd, t0, matches = 0;
	double			 us;

	if (times <= 0)
		return luaL_error(L, "benchRule: times must be above 0");
	if (selector_has_lua(se))
		return luaL_error(L, "benchRule: a rule with a LuaRule would "
		    "wait for the Lua state it runs in");
	if (dnsname_from_text(suffix, sname, &slen) == -1 || slen > 200)
		return luaL_error(L, "benchRule: bad suffix '%s'", suffix);
	if ((bq = calloc(BENCH_QUERIES, sizeof(*bq))) == NULL)
		return luaL_error(L, "out of memory");
	randombytes_buf(&rnd, sizeof(rnd));
	for (i = 0; i < BENCH_QUERIES; i++) {
		uint32_t r = (uint32_t)policy_random(&rnd);
		int	 n = snprintf((char *)name + 1, 11, "%u", r);

		name[0] = (uint8_t)n;
		memcpy(name + 1 + n, sname, slen);
		bq[i].len = dnspacket_make_query(bq[i].pkt, sizeof(bq[i].pkt),
		    (uint16_t)r, name, (size_t)n + 1 + slen,
		    (uint16_t)(policy_random(&rnd) % 0xff), DNS_CLASS_IN, true);
		(void)dnspacket_question(bq[i].pkt, bq[i].len, &bq[i].q);
		bq[i].sin.sin_family = AF_INET;
		bq[i].sin.sin_addr.s_addr = (uint32_t)policy_random(&rnd);
	}
	t0 = dlua_mono_ns();
	for (i = 0; i < (size_t)times; i++) {
		struct bench_query *b = &bq[i % BENCH_QUERIES];

		dnsq_init(&dq, b->pkt, b->len, b->len, &b->q,
		    (struct sockaddr *)&b->sin, t0, &rnd);
		if (selector_match(se, &dq))
			matches++;
	}
	us = (double)(dlua_mono_ns() - t0) / 1000.0;
	free(bq);
	dlua_printf("Had %llu matches out of %lld, %.1f qps, in %.1f us\n",
	    (unsigned long long)matches, (long long)times,
	    us > 0 ? 1000000.0 * (double)times / us : 0.0, us);
	return 0;
}

/* Action constructors */

static int
simple_action(lua_State *L, int kind, const char *desc)
{
	action_set_desc(act_new(L, kind), "%s", desc);
	return 1;
}

static int
l_dropaction(lua_State *L)
{
	return simple_action(L, ACT_DROP, "drop");
}

static int
l_allowaction(lua_State *L)
{
	return simple_action(L, ACT_ALLOW, "allow");
}

static int
l_noneaction(lua_State *L)
{
	return simple_action(L, ACT_NONE, "no op");
}

static int
l_tcaction(lua_State *L)
{
	return simple_action(L, ACT_TC, "tc=1 answer");
}

static int
l_norecurseaction(lua_State *L)
{
	return simple_action(L, ACT_NORECURSE, "set rd=0");
}

static int
l_disablevalidationaction(lua_State *L)
{
	return simple_action(L, ACT_DISABLEVALIDATION, "set cd=1");
}

static int
l_setskipcacheaction(lua_State *L)
{
	return simple_action(L, ACT_SKIPCACHE, "skip cache");
}

/* SetECSAction(v4[, v6]): the subnet sent instead of the client's. */
static int
l_setecsaction(lua_State *L)
{
	const char	*v4 = luaL_checkstring(L, 1);
	const char	*v6 = luaL_optstring(L, 2, NULL);
	struct netmask	 n4, n6;
	struct action	*ac;

	memset(&n6, 0, sizeof(n6));
	if (netmask_parse(v4, &n4) == -1)
		return luaL_error(L, "SetECSAction: bad netmask '%s'", v4);
	if (v6 != NULL && netmask_parse(v6, &n6) == -1)
		return luaL_error(L, "SetECSAction: bad netmask '%s'", v6);
	ac = act_new(L, ACT_SETECS);
	ac->ac_u.ecs.v4 = n4;
	ac->ac_u.ecs.v6 = n6;
	action_set_desc(ac, "set ECS to %s%s%s", v4, v6 ? " / " : "",
	    v6 ? v6 : "");
	return 1;
}

static int
l_setecsprefixlengthaction(lua_State *L)
{
	lua_Integer	v4 = luaL_checkinteger(L, 1), v6 = luaL_checkinteger(L, 2);
	struct action	*ac;

	if (v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128)
		return luaL_error(L, "SetECSPrefixLengthAction: v4 takes 0-32, "
		    "v6 0-128");
	ac = act_new(L, ACT_ECSPREFIX);
	ac->ac_u.ecsprefix.v4 = (int)v4;
	ac->ac_u.ecsprefix.v6 = (int)v6;
	action_set_desc(ac, "set ECS prefix length to %d/%d", (int)v4, (int)v6);
	return 1;
}

static int
l_setdisableecsaction(lua_State *L)
{
	return simple_action(L, ACT_DISABLEECS, "disable ECS");
}

static int
l_setecsoverrideaction(lua_State *L)
{
	struct action	*ac;
	bool		 on;

	luaL_checktype(L, 1, LUA_TBOOLEAN);
	on = lua_toboolean(L, 1);
	ac = act_new(L, ACT_ECSOVERRIDE);
	ac->ac_u.flag = on;
	action_set_desc(ac, "set ECS override to %s", on ? "true" : "false");
	return 1;
}

static int
l_allowresponseaction(lua_State *L)
{
	return simple_action(L, ACT_RALLOW, "allow");
}

static int
l_dropresponseaction(lua_State *L)
{
	return simple_action(L, ACT_RDROP, "drop");
}

/* The options table of answering actions: aa, ad, ra (and ttl). */
static void
answer_options(lua_State *L, int idx, struct action *ac)
{
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	ac->ac_aa = (int8_t)dlua_opt_bool(L, idx, "aa", ac->ac_aa);
	ac->ac_ad = (int8_t)dlua_opt_bool(L, idx, "ad", ac->ac_ad);
	ac->ac_ra = (int8_t)dlua_opt_bool(L, idx, "ra", ac->ac_ra);
}

static void
spoof_options(lua_State *L, int idx, struct action *ac)
{
	ac->ac_u.spoof.ttl = 60;
	if (lua_type(L, idx) == LUA_TTABLE)
		ac->ac_u.spoof.ttl = (uint32_t)dlua_opt_int(L, idx, "ttl", 60);
	answer_options(L, idx, ac);
}

static int
l_rcodeaction(lua_State *L)
{
	lua_Integer	 rc = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (rc < 0 || rc > 15)
		return luaL_error(L, "RCodeAction: rcode out of range");
	ac = act_new(L, ACT_RCODE);
	ac->ac_u.rcode = (int)rc;
	answer_options(L, 2, ac);
	action_set_desc(ac, "set rcode %d", (int)rc);
	return 1;
}

static int
l_ercodeaction(lua_State *L)
{
	lua_Integer	 rc = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (rc < 0 || rc > 4095)
		return luaL_error(L, "ERCodeAction: rcode out of range");
	ac = act_new(L, ACT_ERCODE);
	ac->ac_u.rcode = (int)rc;
	answer_options(L, 2, ac);
	action_set_desc(ac, "set ercode %d", (int)rc);
	return 1;
}

static int
l_poolaction(lua_State *L)
{
	const char	*pool = luaL_checkstring(L, 1);
	struct action	*ac = act_new(L, ACT_POOL);

	ac->ac_kind = ACT_NONE;
	if ((ac->ac_u.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	ac->ac_kind = ACT_POOL;
	action_set_desc(ac, "to pool %s", pool);
	return 1;
}

static int
l_qpsaction(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	struct action	*ac = act_new(L, ACT_QPS);

	qps_init(&ac->ac_u.qps.bucket, qps, qps, 0);
	action_set_desc(ac, "qps limit to %g", qps);
	return 1;
}

static int
l_qpspoolaction(lua_State *L)
{
	double		 qps = luaL_checknumber(L, 1);
	const char	*pool = luaL_checkstring(L, 2);
	struct action	*ac = act_new(L, ACT_QPSPOOL);

	qps_init(&ac->ac_u.qps.bucket, qps, qps, 0);
	if ((ac->ac_u.qps.pool = strdup(pool)) == NULL)
		return luaL_error(L, "out of memory");
	action_set_desc(ac, "max %g to pool %s", qps, pool);
	return 1;
}

static void
spoof_add_addr(lua_State *L, struct action *ac, int idx, struct sbuf *sb)
{
	socklen_t	 len;
	const char	*s;

	if ((s = lua_tostring(L, idx)) == NULL)
		luaL_error(L, "SpoofAction: an address expected");
	if (ac->ac_u.spoof.n == SPOOF_MAX)
		luaL_error(L, "SpoofAction: at most %d addresses", SPOOF_MAX);
	if (addr_parse(s, 0, &ac->ac_u.spoof.addrs[ac->ac_u.spoof.n],
	    &len) == -1)
		luaL_error(L, "SpoofAction: bad address '%s'", s);
	ac->ac_u.spoof.n++;
	sbuf_printf(sb, "%s ", s);
}

static int
l_spoofaction(lua_State *L)
{
	struct action	*ac = act_new(L, ACT_SPOOF);
	struct sbuf	 sb;
	size_t		 i, n;
	int		 opt = 2;

	sbuf_init(&sb);
	sbuf_puts(&sb, "spoof in ");
	if (lua_type(L, 1) == LUA_TTABLE) {
		n = lua_rawlen(L, 1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, 1, (lua_Integer)i);
			spoof_add_addr(L, ac, lua_gettop(L), &sb);
			lua_pop(L, 1);
		}
	} else {
		spoof_add_addr(L, ac, 1, &sb);
		/* SpoofAction(v4, v6[, options]) */
		if (lua_type(L, 2) == LUA_TSTRING) {
			spoof_add_addr(L, ac, 2, &sb);
			opt = 3;
		}
	}
	spoof_options(L, opt, ac);
	action_set_desc(ac, "%s", sbuf_text(&sb));
	sbuf_free(&sb);
	return 1;
}

static int
l_spoofcnameaction(lua_State *L)
{
	struct action	*ac;
	uint8_t		 name[DNSNAME_MAXLEN];
	size_t		 len;
	char		 text[DNSNAME_MAXTEXT];

	dlua_name_arg(L, 1, name, &len);
	ac = act_new(L, ACT_SPOOFCNAME);
	memcpy(ac->ac_u.spoof.cname, name, len);
	ac->ac_u.spoof.cnamelen = len;
	spoof_options(L, 2, ac);
	dnsname_to_text(name, len, text, sizeof(text));
	action_set_desc(ac, "spoof in CNAME %s", text);
	return 1;
}

static void
spoofraw_add(lua_State *L, struct action *ac, int idx)
{
	const char	*s;
	size_t		 len;

	s = luaL_checklstring(L, idx, &len);
	if (ac->ac_u.spoof.n == SPOOF_MAX || len > 65535)
		luaL_error(L, "SpoofRawAction: too many or too long");
	if ((ac->ac_u.spoof.raw[ac->ac_u.spoof.n] = malloc(len + 1)) == NULL)
		luaL_error(L, "out of memory");
	memcpy(ac->ac_u.spoof.raw[ac->ac_u.spoof.n], s, len);
	ac->ac_u.spoof.rawlen[ac->ac_u.spoof.n++] = len;
}

static int
l_spoofrawaction(lua_State *L)
{
	struct action	*ac = act_new(L, ACT_SPOOFRAW);
	size_t		 i, n;

	if (lua_type(L, 1) == LUA_TTABLE) {
		n = lua_rawlen(L, 1);
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, 1, (lua_Integer)i);
			spoofraw_add(L, ac, lua_gettop(L));
			lua_pop(L, 1);
		}
	} else
		spoofraw_add(L, ac, 1);
	spoof_options(L, 2, ac);
	action_set_desc(ac, "spoof in raw records (%zu)", ac->ac_u.spoof.n);
	return 1;
}

static int
delay_action(lua_State *L, int kind)
{
	lua_Integer	 ms = luaL_checkinteger(L, 1);
	struct action	*ac;

	if (ms < 0 || ms > 60000)
		return luaL_error(L, "delay out of range 0..60000 ms");
	ac = act_new(L, kind);
	ac->ac_u.delayms = (int)ms;
	action_set_desc(ac, "delay by %d ms", (int)ms);
	return 1;
}

static int
l_delayaction(lua_State *L)
{
	return delay_action(L, ACT_DELAY);
}

static int
l_delayresponseaction(lua_State *L)
{
	return delay_action(L, ACT_RDELAY);
}

static int
set_tag(lua_State *L, int kind)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*value = luaL_checkstring(L, 2);
	struct action	*ac = act_new(L, kind);

	ac->ac_kind = ACT_NONE;
	if ((ac->ac_u.tag.name = strdup(name)) == NULL ||
	    (ac->ac_u.tag.value = strdup(value)) == NULL)
		return luaL_error(L, "out of memory");
	ac->ac_kind = kind;
	action_set_desc(ac, "set tag '%s' to value '%s'", name, value);
	return 1;
}

static int
l_settagaction(lua_State *L)
{
	return set_tag(L, ACT_SETTAG);
}

static int
l_settagresponseaction(lua_State *L)
{
	return set_tag(L, ACT_RSETTAG);
}

/*
 * LogAction(file, binary, append, buffered) and, as in dnsdist, without
 * the binary argument LogResponseAction(file, append, buffered).
 */
static int
log_action(lua_State *L, int kind)
{
	int		 a = kind == ACT_LOG ? 3 : 2;
	const char	*path = luaL_optstring(L, 1, "");
	bool		 append = lua_toboolean(L, a);
	bool		 buffered = lua_isnoneornil(L, a + 1) ||
			    lua_toboolean(L, a + 1);
	struct action	*ac = act_new(L, kind);

	ac->ac_u.log.buffered = buffered;
	ac->ac_u.log.binary = kind == ACT_LOG && lua_toboolean(L, 2);
	if (ac->ac_u.log.binary)
		dlua_printf("Warning: LogAction: the binary format is not "
		    "supported, %s gets text lines\n", *path ? path : "nothing");
	if (*path != '\0' && action_log_open(ac, path, append) == -1)
		return luaL_error(L, "LogAction: unable to open '%s'", path);
	action_set_desc(ac, "log to %s", path);
	return 1;
}

static int
l_logaction(lua_State *L)
{
	return log_action(L, ACT_LOG);
}

static int
l_logresponseaction(lua_State *L)
{
	return log_action(L, ACT_RLOG);
}

static int
l_teeaction(lua_State *L)
{
	const char	*s = luaL_checkstring(L, 1);
	struct action	*ac = act_new(L, ACT_TEE);
	socklen_t	 len;
	char		 buf[ADDR_MAXTEXT];

	if (addr_parse(s, 53, &ac->ac_u.tee.addr, &len) == -1)
		return luaL_error(L, "TeeAction: bad address '%s'", s);
	action_set_desc(ac, "tee to %s", addr_to_text((struct sockaddr *)
	    &ac->ac_u.tee.addr, buf, sizeof(buf)));
	return 1;
}

static int
l_continueaction(lua_State *L)
{
	struct action	*inner = action_arg(L, 1), *ac;

	ac = act_new(L, ACT_CONTINUE);
	action_ref(inner);
	ac->ac_u.inner = inner;
	action_set_desc(ac, "continue after: %s",
	    inner->ac_desc ? inner->ac_desc : "");
	return 1;
}

static int
l_negativeandsoaaction(lua_State *L)
{
	struct action	*ac;
	char		 text[DNSNAME_MAXTEXT];
	bool		 nxd = lua_toboolean(L, 1);

	ac = act_new(L, ACT_NEGATIVESOA);
	ac->ac_u.soa.nxd = nxd;
	dlua_name_arg(L, 2, ac->ac_u.soa.zone, &ac->ac_u.soa.zonelen);
	ac->ac_u.soa.ttl = (uint32_t)luaL_checkinteger(L, 3);
	dlua_name_arg(L, 4, ac->ac_u.soa.mname, &ac->ac_u.soa.mnamelen);
	dlua_name_arg(L, 5, ac->ac_u.soa.rname, &ac->ac_u.soa.rnamelen);
	ac->ac_u.soa.serial = (uint32_t)luaL_checkinteger(L, 6);
	ac->ac_u.soa.refresh = (uint32_t)luaL_checkinteger(L, 7);
	ac->ac_u.soa.retry = (uint32_t)luaL_checkinteger(L, 8);
	ac->ac_u.soa.expire = (uint32_t)luaL_checkinteger(L, 9);
	ac->ac_u.soa.minimum = (uint32_t)luaL_checkinteger(L, 10);
	answer_options(L, 11, ac);
	dnsname_to_text(ac->ac_u.soa.zone, ac->ac_u.soa.zonelen, text,
	    sizeof(text));
	action_set_desc(ac, "negative answer (%s) with SOA of %s",
	    nxd ? "NXDOMAIN" : "NODATA", text);
	return 1;
}


/* A TTL, or a count of seconds: 0 to 2^31 - 1. */
static uint32_t
ttl_arg(lua_State *L, int idx, const char *fn)
{
	lua_Integer	v = luaL_checkinteger(L, idx);

	if (v < 0 || v > INT32_MAX)
		luaL_error(L, "%s: %d out of range", fn, (int)v);
	return (uint32_t)v;
}

/* A type or a table of types (integers or names), into ac's list. */
static void
types_arg(lua_State *L, int idx, struct action *ac, const char *fn)
{
	size_t	i, n = 1;

	if (lua_type(L, idx) == LUA_TTABLE)
		n = lua_rawlen(L, idx);
	if (n == 0)
		return;
	if ((ac->ac_u.rrs.types = calloc(n, sizeof(uint16_t))) == NULL)
		luaL_error(L, "out of memory");
	for (i = 1; i <= n; i++) {
		if (lua_type(L, idx) == LUA_TTABLE)
			lua_rawgeti(L, idx, (lua_Integer)i);
		else
			lua_pushvalue(L, idx);
		if (!lua_isinteger(L, -1) && lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: record types expected", fn);
		ac->ac_u.rrs.types[ac->ac_u.rrs.ntypes++] = qtype_arg(L, -1);
		lua_pop(L, 1);
	}
}

static int
l_clearrecordtypesresponseaction(lua_State *L)
{
	struct action	*ac = act_new(L, ACT_RCLEARTYPES);

	types_arg(L, 1, ac, "ClearRecordTypesResponseAction");
	if (ac->ac_u.rrs.ntypes == 0)
		return luaL_error(L, "ClearRecordTypesResponseAction: no type");
	action_set_desc(ac, "clear record types (%zu)", ac->ac_u.rrs.ntypes);
	return 1;
}

static struct action *
limit_ttl(lua_State *L, uint32_t min, uint32_t max)
{
	struct action	*ac = act_new(L, ACT_RLIMITTTL);

	ac->ac_u.rrs.min = min;
	ac->ac_u.rrs.max = max;
	action_set_desc(ac, "limit ttl (%u - %u)", min, max);
	return ac;
}

static int
l_limitttlresponseaction(lua_State *L)
{
	const char	*fn = "LimitTTLResponseAction";
	uint32_t	 min = ttl_arg(L, 1, fn);
	uint32_t	 max = lua_isnoneornil(L, 2) ? UINT32_MAX :
			    ttl_arg(L, 2, fn);
	bool		 types = !lua_isnoneornil(L, 3);
	struct action	*ac;

	if (types)
		luaL_checktype(L, 3, LUA_TTABLE);
	ac = limit_ttl(L, min, max);
	if (types)
		types_arg(L, 3, ac, fn);
	return 1;
}

static int
l_setminttlresponseaction(lua_State *L)
{
	limit_ttl(L, ttl_arg(L, 1, "SetMinTTLResponseAction"), UINT32_MAX);
	return 1;
}

static int
l_setmaxttlresponseaction(lua_State *L)
{
	limit_ttl(L, 0, ttl_arg(L, 1, "SetMaxTTLResponseAction"));
	return 1;
}

static int
l_setreducedttlresponseaction(lua_State *L)
{
	lua_Integer	 pct = luaL_checkinteger(L, 1);
	struct action	*ac;

	/* A uint8_t in dnsdist: above 100 raises the TTLs. */
	if (pct < 0 || pct > 255)
		return luaL_error(L, "SetReducedTTLResponseAction: percentage "
		    "between 0 and 255");
	ac = act_new(L, ACT_RREDUCETTL);
	ac->ac_u.rrs.pct = (uint32_t)pct;
	action_set_desc(ac, "reduce ttl to %d percent of its value", (int)pct);
	return 1;
}

static int
max_returned_ttl(lua_State *L, int kind, const char *fn)
{
	uint32_t	 max = ttl_arg(L, 1, fn);
	struct action	*ac = act_new(L, kind);

	ac->ac_u.rrs.max = max;
	action_set_desc(ac, "cap the TTL of the returned response to %u", max);
	return 1;
}

static int
l_setmaxreturnedttlaction(lua_State *L)
{
	return max_returned_ttl(L, ACT_MAXRETTTL, "SetMaxReturnedTTLAction");
}

static int
l_setmaxreturnedttlresponseaction(lua_State *L)
{
	return max_returned_ttl(L, ACT_RMAXRETTTL,
	    "SetMaxReturnedTTLResponseAction");
}

static int
l_settempfailurecachettlaction(lua_State *L)
{
	uint32_t	 ttl = ttl_arg(L, 1, "SetTempFailureCacheTTLAction");
	struct action	*ac = act_new(L, ACT_TEMPFAILTTL);

	ac->ac_u.rrs.max = ttl;
	action_set_desc(ac, "set tempfailure cache ttl to %u", ttl);
	return 1;
}

static int
l_setskipcacheresponseaction(lua_State *L)
{
	return simple_action(L, ACT_RSKIPCACHE, "skip cache");
}

static int
l_spoofpacketaction(lua_State *L)
{
	size_t		 rawlen;
	const char	*raw = luaL_checklstring(L, 1, &rawlen);
	lua_Integer	 len = luaL_checkinteger(L, 2);
	struct action	*ac;

	if (len < DNS_HDRLEN || (size_t)len > rawlen || len > 65535)
		return luaL_error(L, "SpoofPacketAction: the length must be "
		    "that of a DNS message, at most the string's");
	ac = act_new(L, ACT_SPOOFPACKET);
	if ((ac->ac_u.raw.data = malloc((size_t)len)) == NULL)
		return luaL_error(L, "out of memory");
	memcpy(ac->ac_u.raw.data, raw, (size_t)len);
	ac->ac_u.raw.len = (uint16_t)len;
	action_set_desc(ac, "spoof a raw answer of %d bytes", (int)len);
	return 1;
}

/* Chains */

static struct rule_chain *
chain_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static bool
is_response_chain(const struct rule_chain *rc)
{
	return rc != &rules_query;
}

static int
chain_add(lua_State *L, struct rule_chain *rc, int selidx, int actidx,
    int optidx)
{
	struct selector	*se = selector_arg(L, selidx);
	struct action	*ac = action_arg(L, actidx);
	const char	*name = NULL, *uuid = NULL;
	bool		 resp = ac->ac_kind >= ACT_RALLOW;

	if (resp != is_response_chain(rc) && ac->ac_kind != ACT_DROP &&
	    ac->ac_kind != ACT_ALLOW)
		return luaL_error(L, "%s action in the %s chain",
		    resp ? "a response" : "a query",
		    resp ? "query" : "response");
	if (lua_type(L, optidx) == LUA_TTABLE) {
		name = dlua_opt_string(L, optidx, "name", NULL);
		uuid = dlua_opt_string(L, optidx, "uuid", NULL);
	}
	if (rule_add(rc, se, ac, name, uuid) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_addaction(lua_State *L)
{
	return chain_add(L, chain_of(L), 1, 2, 3);
}

static int
l_showrules(lua_State *L)
{
	bool	uuids = false;

	if (lua_type(L, 1) == LUA_TTABLE)
		uuids = dlua_opt_bool(L, 1, "showUUIDs", 0);
	rule_show(chain_of(L), dlua_output(), uuids, -1, (size_t)-1, false);
	return 0;
}

static int
l_toprules(lua_State *L)
{
	static const char *keys[] = { "showUUIDs", NULL };
	bool	uuids = false;

	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		dlua_check_keys(L, 2, keys, "top rules");
		uuids = dlua_opt_bool(L, 2, "showUUIDs", 0);
	}
	rule_show(chain_of(L), dlua_output(), uuids, -1,
	    (size_t)luaL_optinteger(L, 1, 10), true);
	return 0;
}

static void	push_rulepair(lua_State *, const struct rule *);

/* getTopRules() and friends: the rules that matched most, as pairs. */
static int
l_gettoprules(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	lua_Integer		 top = luaL_optinteger(L, 1, 10);
	struct rule		**list;
	size_t			 i;

	lua_newtable(L);
	if (top <= 0 || rc->rc_count == 0)
		return 1;
	if ((list = calloc(rc->rc_count, sizeof(*list))) == NULL)
		return luaL_error(L, "out of memory");
	memcpy(list, rc->rc_rules, rc->rc_count * sizeof(*list));
	qsort(list, rc->rc_count, sizeof(*list), rule_matches_cmp);
	for (i = 0; i < rc->rc_count && i < (size_t)top; i++) {
		push_rulepair(L, list[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(list);
	return 1;
}

static int
rule_arg(lua_State *L, struct rule_chain *rc, int idx)
{
	int	pos;

	if (lua_isinteger(L, idx))
		pos = (int)lua_tointeger(L, idx);
	else
		pos = rule_find(rc, luaL_checkstring(L, idx));
	if (pos < 0 || (size_t)pos >= rc->rc_count)
		luaL_error(L, "no such rule");
	return pos;
}

static int
l_rmrule(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);

	rule_remove(rc, (size_t)rule_arg(L, rc, 1));
	return 0;
}

static int
l_mvrule(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	lua_Integer		 to = luaL_checkinteger(L, 2);

	if (to < 0 || rule_move(rc, (size_t)rule_arg(L, rc, 1), (size_t)to)
	    == -1)
		return luaL_error(L, "no such position");
	return 0;
}

static int
l_mvruletotop(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);

	if (rc->rc_count > 0)
		rule_move(rc, rc->rc_count - 1, 0);
	return 0;
}

static int
l_clearrules(lua_State *L)
{
	rule_clear(chain_of(L));
	return 0;
}

static int
l_getaction(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	struct action		*ac;

	ac = rc->rc_rules[rule_arg(L, rc, 1)]->ru_act;
	action_ref(ac);
	dlua_push_action(L, ac);
	return 1;
}

static int
l_newruleaction(lua_State *L)
{
	struct rulepair	*rp;
	struct selector	*se = selector_arg(L, 1);
	struct action	*ac = action_arg(L, 2);
	const char	*name = NULL;

	if (lua_type(L, 3) == LUA_TTABLE)
		name = dlua_opt_string(L, 3, "name", NULL);
	rp = lua_newuserdata(L, sizeof(*rp));
	memset(rp, 0, sizeof(*rp));
	luaL_setmetatable(L, RULEPAIR_MT);
	if (name != NULL && (rp->rp_name = strdup(name)) == NULL)
		return luaL_error(L, "out of memory");
	selector_ref(se);
	action_ref(ac);
	rp->rp_sel = se;
	rp->rp_act = ac;
	return 1;
}

/* A RuleAction pair for a rule of a chain, as newRuleAction() makes. */
static void
push_rulepair(lua_State *L, const struct rule *ru)
{
	struct rulepair	*rp = lua_newuserdata(L, sizeof(*rp));

	memset(rp, 0, sizeof(*rp));
	luaL_setmetatable(L, RULEPAIR_MT);
	if (ru->ru_name != NULL && (rp->rp_name = strdup(ru->ru_name)) == NULL)
		luaL_error(L, "out of memory");
	selector_ref(ru->ru_sel);
	action_ref(ru->ru_act);
	rp->rp_sel = ru->ru_sel;
	rp->rp_act = ru->ru_act;
}

static int
l_rulepair_gc(lua_State *L)
{
	struct rulepair	*rp = luaL_checkudata(L, 1, RULEPAIR_MT);

	selector_unref(rp->rp_sel);
	action_unref(rp->rp_act);
	free(rp->rp_name);
	memset(rp, 0, sizeof(*rp));
	return 0;
}

static int
l_setrules(lua_State *L)
{
	struct rule_chain	*rc = chain_of(L);
	struct rulepair		*rp;
	size_t			 i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = lua_rawlen(L, 1);
	/* Check everything first: an error keeps the old chain. */
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		luaL_checkudata(L, -1, RULEPAIR_MT);
		lua_pop(L, 1);
	}
	rule_clear(rc);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		rp = lua_touserdata(L, -1);
		if (rule_add(rc, rp->rp_sel, rp->rp_act, rp->rp_name, NULL) == -1)
			return luaL_error(L, "out of memory");
		lua_pop(L, 1);
	}
	return 0;
}

/* The seed's commands, each one rule in the chain. */

/* The action is on top of the stack; the selector is argument selidx. */
static int
seed_add(lua_State *L, int selidx)
{
	struct selector	*se = selector_arg(L, selidx);

	if (rule_add(&rules_query, se, action_arg(L, -2), NULL, NULL) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_adddomainblock(lua_State *L)
{
	l_dropaction(L);
	return seed_add(L, 1);
}

static int
l_addqpslimit(lua_State *L)
{
	lua_pushcfunction(L, l_qpsaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_addpoolrule(lua_State *L)
{
	lua_pushcfunction(L, l_poolaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_addqpspoolrule(lua_State *L)
{
	lua_pushcfunction(L, l_qpspoolaction);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_call(L, 2, 1);
	return seed_add(L, 1);
}

static int
l_addnorecurserule(lua_State *L)
{
	l_norecurseaction(L);
	return seed_add(L, 1);
}

static int
l_adddisablevalidationrule(lua_State *L)
{
	l_disablevalidationaction(L);
	return seed_add(L, 1);
}

static int
l_adddelay(lua_State *L)
{
	lua_pushcfunction(L, l_delayaction);
	lua_pushvalue(L, 2);
	lua_call(L, 1, 1);
	return seed_add(L, 1);
}

static int
l_adddomainspoof(lua_State *L)
{
	lua_pushcfunction(L, l_spoofaction);
	lua_pushvalue(L, 2);
	if (lua_isnoneornil(L, 3))
		lua_call(L, 1, 1);
	else {
		lua_pushvalue(L, 3);
		lua_call(L, 2, 1);
	}
	return seed_add(L, 1);
}

static int
l_addanytcrule(lua_State *L)
{
	lua_settop(L, 0);
	if (luaL_dostring(L, "return AndRule{QTypeRule(255), "
	    "NotRule(TCPRule(true))}") != LUA_OK)
		return lua_error(L);
	l_tcaction(L);
	if (rule_add(&rules_query, *(struct selector **)luaL_checkudata(L, 1,
	    SELECTOR_MT), action_arg(L, 2), NULL, NULL) == -1)
		return luaL_error(L, "out of memory");
	return 0;
}

static int
l_showpoolrules(lua_State *L)
{
	(void)L;
	rule_show(&rules_query, dlua_output(), false, ACT_POOL, (size_t)-1,
	    false);
	return 0;
}

static int
l_showqpslimiters(lua_State *L)
{
	(void)L;
	rule_show(&rules_query, dlua_output(), false, ACT_QPS, (size_t)-1,
	    false);
	return 0;
}

/* Registration */

static const luaL_Reg globals[] = {
	{ "newDNSName", l_newdnsname },
	{ "newCA", l_newca },
	{ "newSuffixMatchNode", l_newsuffixmatchnode },
	{ "newNMG", l_newnmg },
	{ "AllRule", l_allrule },
	{ "QNameRule", l_qnamerule },
	{ "QNameSetRule", l_qnamesetrule },
	{ "SuffixMatchNodeRule", l_suffixmatchnoderule },
	{ "NetmaskGroupRule", l_netmaskgrouprule },
	{ "QTypeRule", l_qtyperule },
	{ "QClassRule", l_qclassrule },
	{ "RegexRule", l_regexrule },
	{ "OpcodeRule", l_opcoderule },
	{ "RDRule", l_rdrule },
	{ "TCPRule", l_tcprule },
	{ "DSTPortRule", l_dstportrule },
	{ "DNSSECRule", l_dnssecrule },
	{ "EDNSVersionRule", l_ednsversionrule },
	{ "EDNSOptionRule", l_ednsoptionrule },
	{ "RCodeRule", l_rcoderule },
	{ "ERCodeRule", l_ercoderule },
	{ "QNameLabelsCountRule", l_qnamelabelscountrule },
	{ "QNameWireLengthRule", l_qnamewirelengthrule },
	{ "RecordsCountRule", l_recordscountrule },
	{ "RecordsTypeCountRule", l_recordstypecountrule },
	{ "TrailingDataRule", l_trailingdatarule },
	{ "ProbaRule", l_probarule },
	{ "TagRule", l_tagrule },
	{ "PoolAvailableRule", l_poolavailablerule },
	{ "MaxQPSRule", l_maxqpsrule },
	{ "MaxQPSIPRule", l_maxqpsiprule },
	{ "AndRule", l_andrule },
	{ "OrRule", l_orrule },
	{ "NotRule", l_notrule },
	{ "DropAction", l_dropaction },
	{ "AllowAction", l_allowaction },
	{ "NoneAction", l_noneaction },
	{ "RCodeAction", l_rcodeaction },
	{ "ERCodeAction", l_ercodeaction },
	{ "TCAction", l_tcaction },
	{ "PoolAction", l_poolaction },
	{ "QPSAction", l_qpsaction },
	{ "QPSPoolAction", l_qpspoolaction },
	{ "SpoofAction", l_spoofaction },
	{ "SpoofCNAMEAction", l_spoofcnameaction },
	{ "SpoofRawAction", l_spoofrawaction },
	{ "DelayAction", l_delayaction },
	{ "SetNoRecurseAction", l_norecurseaction },
	{ "NoRecurseAction", l_norecurseaction },
	{ "DisableValidationAction", l_disablevalidationaction },
	{ "SetDisableValidationAction", l_disablevalidationaction },
	{ "SetSkipCacheAction", l_setskipcacheaction },
	{ "SetECSAction", l_setecsaction },
	{ "SetECSPrefixLengthAction", l_setecsprefixlengthaction },
	{ "SetDisableECSAction", l_setdisableecsaction },
	{ "DisableECSAction", l_setdisableecsaction },
	{ "SetECSOverrideAction", l_setecsoverrideaction },
	{ "ECSOverrideAction", l_setecsoverrideaction },
	{ "ECSPrefixLengthAction", l_setecsprefixlengthaction },
	{ "SkipCacheAction", l_setskipcacheaction },
	{ "SetTagAction", l_settagaction },
	{ "TagAction", l_settagaction },
	{ "LogAction", l_logaction },
	{ "ContinueAction", l_continueaction },
	{ "TeeAction", l_teeaction },
	{ "NegativeAndSOAAction", l_negativeandsoaaction },
	{ "AllowResponseAction", l_allowresponseaction },
	{ "DropResponseAction", l_dropresponseaction },
	{ "DelayResponseAction", l_delayresponseaction },
	{ "LogResponseAction", l_logresponseaction },
	{ "newRuleAction", l_newruleaction },
	{ "makeRule", l_makerule },
	{ "benchRule", l_benchrule },
	{ "newDNSNameSet", l_newdnsnameset },
	{ "newDNSNameFromRaw", l_newdnsnamefromraw },
	{ "PoolOutstandingRule", l_pooloutstandingrule },
	{ "TimedIPSetRule", l_timedipsetrule },
	{ "ClearRecordTypesResponseAction", l_clearrecordtypesresponseaction },
	{ "LimitTTLResponseAction", l_limitttlresponseaction },
	{ "SetMinTTLResponseAction", l_setminttlresponseaction },
	{ "SetMaxTTLResponseAction", l_setmaxttlresponseaction },
	{ "SetReducedTTLResponseAction", l_setreducedttlresponseaction },
	{ "SetMaxReturnedTTLAction", l_setmaxreturnedttlaction },
	{ "SetMaxReturnedTTLResponseAction", l_setmaxreturnedttlresponseaction },
	{ "SetTempFailureCacheTTLAction", l_settempfailurecachettlaction },
	{ "SetSkipCacheResponseAction", l_setskipcacheresponseaction },
	{ "SetTagResponseAction", l_settagresponseaction },
	{ "SpoofPacketAction", l_spoofpacketaction },
	{ "addDomainBlock", l_adddomainblock },
	{ "addQPSLimit", l_addqpslimit },
	{ "addPoolRule", l_addpoolrule },
	{ "newPoolRule", l_addpoolrule },
	{ "addQPSPoolRule", l_addqpspoolrule },
	{ "addAnyTCRule", l_addanytcrule },
	{ "addDelay", l_adddelay },
	{ "addNoRecurseRule", l_addnorecurserule },
	{ "addDisableValidationRule", l_adddisablevalidationrule },
	{ "addDomainSpoof", l_adddomainspoof },
	{ "showPoolRules", l_showpoolrules },
	{ "showQPSLimiters", l_showqpslimiters },
	{ NULL, NULL }
};

/* The chain functions, registered once per chain with the chain as upvalue. */
struct chain_fn {
	const char	*name;
	lua_CFunction	 fn;
};

static const struct chain_fn query_fns[] = {
	{ "addAction", l_addaction }, { "showRules", l_showrules },
	{ "topRules", l_toprules }, { "getTopRules", l_gettoprules },
	{ "rmRule", l_rmrule },
	{ "mvRule", l_mvrule }, { "mvRuleToTop", l_mvruletotop },
	{ "clearRules", l_clearrules }, { "getAction", l_getaction },
	{ "setRules", l_setrules }, { NULL, NULL }
};

static const struct chain_fn response_fns[] = {
	{ "addResponseAction", l_addaction },
	{ "showResponseRules", l_showrules },
	{ "topResponseRules", l_toprules },
	{ "getTopResponseRules", l_gettoprules },
	{ "rmResponseRule", l_rmrule },
	{ "mvResponseRule", l_mvrule },
	{ "mvResponseRuleToTop", l_mvruletotop },
	{ "clearResponseRules", l_clearrules },
	{ "getResponseAction", l_getaction }, { NULL, NULL }
};

static const struct chain_fn cachehit_fns[] = {
	{ "addCacheHitResponseAction", l_addaction },
	{ "showCacheHitResponseRules", l_showrules },
	{ "topCacheHitResponseRules", l_toprules },
	{ "getTopCacheHitResponseRules", l_gettoprules },
	{ "rmCacheHitResponseRule", l_rmrule },
	{ "mvCacheHitResponseRule", l_mvrule },
	{ "mvCacheHitResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static const struct chain_fn cacheinserted_fns[] = {
	{ "addCacheInsertedResponseAction", l_addaction },
	{ "showCacheInsertedResponseRules", l_showrules },
	{ "topCacheInsertedResponseRules", l_toprules },
	{ "getTopCacheInsertedResponseRules", l_gettoprules },
	{ "rmCacheInsertedResponseRule", l_rmrule },
	{ "mvCacheInsertedResponseRule", l_mvrule },
	{ "mvCacheInsertedResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static const struct chain_fn selfanswered_fns[] = {
	{ "addSelfAnsweredResponseAction", l_addaction },
	{ "showSelfAnsweredResponseRules", l_showrules },
	{ "topSelfAnsweredResponseRules", l_toprules },
	{ "getTopSelfAnsweredResponseRules", l_gettoprules },
	{ "rmSelfAnsweredResponseRule", l_rmrule },
	{ "mvSelfAnsweredResponseRule", l_mvrule },
	{ "mvSelfAnsweredResponseRuleToTop", l_mvruletotop }, { NULL, NULL }
};

static void
register_chain(lua_State *L, struct rule_chain *rc, const struct chain_fn *f)
{
	for (; f->name != NULL; f++) {
		lua_pushlightuserdata(L, rc);
		lua_pushcclosure(L, f->fn, 1);
		lua_setglobal(L, f->name);
	}
}

static void
new_type(lua_State *L, const char *mt, const luaL_Reg *methods,
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

static const luaL_Reg dnsname_methods[] = {
	{ "toString", l_dnsname_tostring },
	{ "tostring", l_dnsname_tostring },
	{ "toStringNoDot", l_dnsname_tostringnodot },
	{ "countLabels", l_dnsname_countlabels },
	{ "wirelength", l_dnsname_wirelength },
	{ "isPartOf", l_dnsname_ispartof },
	{ "equal", l_dnsname_equal },
	{ "makeRelative", l_dnsname_makerelative },
	{ "chopOff", l_dnsname_chopoff },
	{ NULL, NULL }
};

static const luaL_Reg ca_methods[] = {
	{ "toString", l_ca_tostring },
	{ "tostring", l_ca_tostring },
	{ "toStringWithPort", l_ca_tostringwithport },
	{ "isIPv4", l_ca_isipv4 },
	{ "isIPv6", l_ca_isipv6 },
	{ "getPort", l_ca_getport },
	{ NULL, NULL }
};

static const luaL_Reg tis_methods[] = {
	{ "add", l_tis_add },
	{ "cleanup", l_tis_cleanup },
	{ "clear", l_tis_clear },
	{ "slice", l_tis_slice },
	{ "toString", l_tis_tostring },
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

static const luaL_Reg smn_methods[] = {
	{ "add", l_smn_add },
	{ "check", l_smn_check },
	{ NULL, NULL }
};

static const luaL_Reg nmg_methods[] = {
	{ "addMask", l_nmg_addmask },
	{ "match", l_nmg_match },
	{ "size", l_nmg_size },
	{ NULL, NULL }
};

static void
constants(lua_State *L, const char *table, const char *const *names,
    const int *values)
{
	lua_newtable(L);
	for (; *names != NULL; names++, values++) {
		lua_pushinteger(L, *values);
		lua_setfield(L, -2, *names);
	}
	lua_setglobal(L, table);
}

void
dlua_open_rules(lua_State *L)
{
	static const char *const actions[] = { "Drop", "Nxdomain", "Refused",
	    "Spoof", "Allow", "HeaderModify", "Pool", "Delay", "Truncate",
	    "ServFail", "None", "NoOp", "NoRecurse", "SpoofRaw", NULL };
	static const int avals[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13 };
	static const char *const ractions[] = { "Allow", "Delay", "Drop",
	    "HeaderModify", "ServFail", "None", NULL };
	static const int ravals[] = { 0, 1, 2, 3, 4, 5 };
	static const char *const qtypes[] = { "A", "NS", "CNAME", "SOA", "PTR",
	    "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "RRSIG", "NSEC",
	    "DNSKEY", "NSEC3", "TLSA", "SVCB", "HTTPS", "CAA", "IXFR", "AXFR",
	    "ANY", "OPT", NULL };
	static const int qtvals[] = { 1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43,
	    46, 47, 48, 50, 52, 64, 65, 257, 251, 252, 255, 41 };
	static const char *const rcodes[] = { "NOERROR", "FORMERR",
	    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	    "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "BADVERS", NULL };
	static const int rcvals[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16 };
	static const char *const classes[] = { "IN", "CHAOS", "NONE", "ANY",
	    NULL };
	static const int clvals[] = { 1, 3, 254, 255 };

	new_type(L, SELECTOR_MT, NULL, l_selector_tostring, l_selector_gc);
	new_type(L, ACTION_MT, NULL, l_action_tostring, l_action_gc);
	new_type(L, RULEPAIR_MT, NULL, NULL, l_rulepair_gc);
	new_type(L, SMN_MT, smn_methods, NULL, l_smn_gc);
	new_type(L, NMG_MT, nmg_methods, NULL, l_nmg_gc);
	new_type(L, DNSNAME_MT, dnsname_methods, l_dnsname_tostring, NULL);
	new_type(L, CA_MT, ca_methods, l_ca_tostring, NULL);
	new_type(L, TIS_MT, tis_methods, l_tis_tostring, l_tis_gc);
	new_type(L, NAMESET_MT, nameset_methods, l_nameset_tostring, l_smn_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
	register_chain(L, &rules_query, query_fns);
	register_chain(L, &rules_response, response_fns);
	register_chain(L, &rules_cachehit, cachehit_fns);
	register_chain(L, &rules_selfanswered, selfanswered_fns);
	register_chain(L, &rules_cacheinserted, cacheinserted_fns);
	constants(L, "DNSAction", actions, avals);
	constants(L, "DNSResponseAction", ractions, ravals);
	constants(L, "DNSQType", qtypes, qtvals);
	constants(L, "DNSRCode", rcodes, rcvals);
	constants(L, "DNSClass", classes, clvals);
}
