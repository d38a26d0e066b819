/*
 * Lua bindings for selectors, which dnsdist calls rules (*Rule):
 * constructors, TimedIPSetRule, makeRule() and benchRule().
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
#include "proxyproto.h"
#include "re2ere.h"
#include "rule.h"
#include "settings.h"

#define TIS_MT		"dnsdist.TimedIPSetRule"

/* Userdata holding one reference to a selector. */

void
dlua_push_selector(lua_State *L, struct selector *se)
{
	struct selector	**u = lua_newuserdata(L, sizeof(*u));

	*u = se;
	luaL_setmetatable(L, DLUA_SELECTOR_MT);
}

static int
l_selector_gc(lua_State *L)
{
	struct selector	**u = luaL_checkudata(L, 1, DLUA_SELECTOR_MT);

	selector_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_selector_tostring(lua_State *L)
{
	struct selector	*se = *(struct selector **)luaL_checkudata(L, 1,
	    DLUA_SELECTOR_MT);

	lua_pushstring(L, se->se_desc ? se->se_desc : "");
	return 1;
}

struct selector *
dlua_sel_new(lua_State *L, int kind)
{
	struct selector	*se;

	if ((se = selector_new(kind)) == NULL)
		luaL_error(L, "out of memory");
	dlua_push_selector(L, se);	/* owned by Lua from here: errors free it */
	return se;
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
	struct selector	*se = dlua_sel_new(L, kind);
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
	struct selector	*se = dlua_sel_new(L, SEL_NMG);
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
struct selector *
dlua_selector_arg(lua_State *L, int idx)
{
	struct selector		**u, *a = NULL, *b = NULL, *se;
	struct suffix_set	 *names;
	struct netmask_group	  masks;
	struct netmask		  nm;
	uint8_t			  name[DNSNAME_MAXLEN];
	size_t			  i, n, len;
	const char		 *s;

	idx = lua_absindex(L, idx);
	if ((u = luaL_testudata(L, idx, DLUA_SELECTOR_MT)) != NULL) {
		lua_pushvalue(L, idx);
		return *u;
	}
	if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TTABLE &&
	    luaL_testudata(L, idx, DLUA_DNSNAME_MT) == NULL)
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
		if (luaL_testudata(L, -1, DLUA_DNSNAME_MT) != NULL) {
			dlua_name_arg(L, -1, name, &len);
			if (suffix_add(names, name, len) == -1) {
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
		se = dlua_sel_new(L, SEL_OR);
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

/* Selector constructors */

static int
l_allrule(lua_State *L)
{
	selector_set_desc(dlua_sel_new(L, SEL_ALL), "All");
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
	se = dlua_sel_new(L, SEL_QNAME);
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

	if (luaL_testudata(L, 1, DLUA_NAMESET_MT) != NULL) {
		smn_selector(L, dlua_set_check(L, 1, DLUA_NAMESET_MT, false),
		    SEL_QNAMESET);
		return 1;
	}
	/* Or a table of names. */
	luaL_checktype(L, 1, LUA_TTABLE);
	set = dlua_push_smn(L);
	n = lua_rawlen(L, 1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		dlua_set_add(L, set, lua_gettop(L));
		lua_pop(L, 1);
	}
	smn_selector(L, set, SEL_QNAMESET);
	return 1;
}

static int
l_suffixmatchnoderule(lua_State *L)
{
	smn_selector(L, dlua_set_check(L, 1, DLUA_SMN_MT, false), SEL_SUFFIX);
	return 1;
}

static int
l_netmaskgrouprule(lua_State *L)
{
	struct netmask_group	tmp, *ng;
	const char		*s;
	bool			 src = lua_isnoneornil(L, 2) ||
				    lua_toboolean(L, 2);

	if ((ng = luaL_testudata(L, 1, DLUA_NMG_MT)) != NULL) {
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

uint16_t
dlua_qtype_arg(lua_State *L, int idx)
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
	uint16_t	 t = dlua_qtype_arg(L, 1);

	se = dlua_sel_new(L, SEL_QTYPE);
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
	se = dlua_sel_new(L, kind);
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

/*
 * A rule matching the name against extended expression ere (what the
 * user gave as re, to fn), shown as desc followed by re.
 */
static int
regex_rule(lua_State *L, const char *fn, const char *re, const char *ere,
    int flags, const char *desc)
{
	struct selector	*se = dlua_sel_new(L, SEL_REGEX);
	char		 err[128];
	int		 rc;

	se->se_kind = SEL_ALL;	/* nothing to free until compiled */
	if ((rc = regcomp(&se->se_u.regex.re, ere,
	    REG_EXTENDED | REG_NOSUB | flags)) != 0) {
		regerror(rc, &se->se_u.regex.re, err, sizeof(err));
		return luaL_error(L, "%s: bad expression '%s': %s", fn, re,
		    err);
	}
	se->se_kind = SEL_REGEX;
	selector_set_desc(se, "%s%s", desc, re);
	return 1;
}

static int
l_regexrule(lua_State *L)
{
	const char	*re = luaL_checkstring(L, 1);

	return regex_rule(L, "RegexRule", re, re, REG_ICASE, "Regex: ");
}

/*
 * RE2Rule(regex): the whole name (as asked, without its final dot) in
 * RE2's syntax, case counting unless (?i) starts it; rewritten as POSIX
 * (lib/re2ere.c), and refused where POSIX cannot say the same.
 */
static int
l_re2rule(lua_State *L)
{
	const char	*re = luaL_checkstring(L, 1);
	char		 ere[4096], err[128];

	if (re2_to_ere(re, ere, sizeof(ere), err, sizeof(err)) == -1)
		return luaL_error(L, "RE2Rule: bad expression '%s': %s", re,
		    err);
	return regex_rule(L, "RE2Rule", re, ere, 0, "RE2 match: ");
}

static int
l_rdrule(lua_State *L)
{
	selector_set_desc(dlua_sel_new(L, SEL_RD), "rd==1");
	return 1;
}

static int
l_tcprule(lua_State *L)
{
	struct selector	*se;
	bool		 tcp = lua_toboolean(L, 1);

	se = dlua_sel_new(L, SEL_TCP);
	se->se_u.flag = tcp;
	selector_set_desc(se, "%s", tcp ? "TCP" : "UDP");
	return 1;
}

static int
l_dnssecrule(lua_State *L)
{
	selector_set_desc(dlua_sel_new(L, SEL_DNSSEC), "DNSSEC");
	return 1;
}

static int
l_trailingdatarule(lua_State *L)
{
	selector_set_desc(dlua_sel_new(L, SEL_TRAILINGDATA), "trailing data");
	return 1;
}

static int
range_rule(lua_State *L, int kind, const char *what)
{
	lua_Integer	 min = luaL_checkinteger(L, 1);
	lua_Integer	 max = luaL_checkinteger(L, 2);
	struct selector	*se = dlua_sel_new(L, kind);

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
	se = dlua_sel_new(L, SEL_RECORDSCOUNT);
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
	uint16_t	 type = dlua_qtype_arg(L, 2);
	struct selector	*se;
	char		 name[16];

	if (sec < 0 || sec > 3)
		return luaL_error(L, "section must be 0 to 3");
	se = dlua_sel_new(L, SEL_RECORDSTYPECOUNT);
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
	struct selector	*se = dlua_sel_new(L, SEL_PROBA);

	se->se_u.proba = p;
	selector_set_desc(se, "match with prob. %.2f", p);
	return 1;
}

static int
l_tagrule(lua_State *L)
{
	const char	*name = luaL_checkstring(L, 1);
	const char	*value = luaL_optstring(L, 2, NULL);
	struct selector	*se = dlua_sel_new(L, SEL_TAG);

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
l_ppvaluerule(lua_State *L)
{
	lua_Integer	 t = luaL_checkinteger(L, 1);
	size_t		 len = 0;
	const char	*v = luaL_optlstring(L, 2, NULL, &len);
	struct selector	*se;

	if (t < 0 || t > 255)
		return luaL_error(L, "ProxyProtocolValueRule: type %I is not "
		    "from 0 to 255", t);
	se = dlua_sel_new(L, SEL_PPVALUE);
	se->se_u.ppv.type = (uint8_t)t;
	se->se_u.ppv.any = v == NULL;
	if (v != NULL && (se->se_u.ppv.value = malloc(len + 1)) == NULL)
		return luaL_error(L, "out of memory");
	if (v != NULL)
		memcpy(se->se_u.ppv.value, v, len);
	se->se_u.ppv.len = len;
	if (v != NULL)
		selector_set_desc(se, "proxy protocol value of type %d "
		    "matches", (int)t);
	else
		selector_set_desc(se, "proxy protocol value of type %d is "
		    "present", (int)t);
	return 1;
}

static int
l_poolavailablerule(lua_State *L)
{
	const char	*pool = luaL_checkstring(L, 1);
	struct selector	*se = dlua_sel_new(L, SEL_POOLAVAILABLE);

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
	struct selector	*se = dlua_sel_new(L, SEL_MAXQPS);

	qps_init(&se->se_u.maxqps.bucket, qps, burst, 0);
	selector_set_desc(se, "Max %g qps", qps);
	return 1;
}

/*
 * MaxQPSIPRule(qps, v4Mask, v6Mask, burst, expiration, cleanupDelay,
 * scanFraction, shards).
 */
static int
l_maxqpsiprule(lua_State *L)
{
	static bool	 said;
	double		 qps = luaL_checknumber(L, 1);
	lua_Integer	 shards = luaL_optinteger(L, 8, 10);
	struct selector	*se;

	if (luaL_optinteger(L, 6, 60) < 0 || luaL_optinteger(L, 7, 10) < 1)
		return luaL_error(L, "MaxQPSIPRule: bad cleanupDelay or "
		    "scanFraction");
	if (shards < 1 || shards > 1024)
		return luaL_error(L, "MaxQPSIPRule: shards must be 1 to 1024");
	if ((!lua_isnoneornil(L, 6) || !lua_isnoneornil(L, 7)) && !said &&
	    !settings.st_configcheck) {
		said = true;
		dlua_printf("MaxQPSIPRule: cleanupDelay and scanFraction have "
		    "no use here: an expired entry is taken over by the next "
		    "client that needs room, no sweep is needed\n");
	}
	se = selector_maxqpsip(qps, (int)luaL_optinteger(L, 2, 32),
	    (int)luaL_optinteger(L, 3, 64), luaL_optnumber(L, 4, qps),
	    (int)luaL_optinteger(L, 5, 300), 65536, (size_t)shards);
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
	se = dlua_sel_new(L, kind);
	if ((se->se_u.list.subs = calloc(n, sizeof(sub))) == NULL)
		return luaL_error(L, "out of memory");
	sbuf_init(&sb);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, (lua_Integer)i);
		sub = dlua_selector_arg(L, -1);
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
	struct selector	*inner = dlua_selector_arg(L, 1), *se;

	se = dlua_sel_new(L, SEL_NOT);
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
	se = dlua_sel_new(L, SEL_POOLOUTSTANDING);
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
	struct sockaddr_storage	 ss;
	lua_Integer		 secs = luaL_checkinteger(L, 3);

	dlua_addr_arg(L, 2, &ss, "TimedIPSetRule:add()");
	if (secs < 0 || secs > INT32_MAX)
		return luaL_error(L, "TimedIPSetRule:add(): seconds out of "
		    "range");
	if (timedipset_add(se->se_u.tis, (struct sockaddr *)&ss, dlua_mono_ns() +
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
	struct selector	*se = dlua_selector_arg(L, 1);

	/* dlua_selector_arg() ORs both kinds, the netmasks first. */
	if (se->se_kind == SEL_OR &&
	    luaL_testudata(L, 1, DLUA_SELECTOR_MT) == NULL) {
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
	struct selector		*se = dlua_selector_arg(L, 1);
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

static const luaL_Reg tis_methods[] = {
	{ "add", l_tis_add },
	{ "cleanup", l_tis_cleanup },
	{ "clear", l_tis_clear },
	{ "slice", l_tis_slice },
	{ "toString", l_tis_tostring },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "AllRule", l_allrule },
	{ "QNameRule", l_qnamerule },
	{ "QNameSetRule", l_qnamesetrule },
	{ "SuffixMatchNodeRule", l_suffixmatchnoderule },
	{ "NetmaskGroupRule", l_netmaskgrouprule },
	{ "QTypeRule", l_qtyperule },
	{ "QClassRule", l_qclassrule },
	{ "RegexRule", l_regexrule },
	{ "RE2Rule", l_re2rule },
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
	{ "ProxyProtocolValueRule", l_ppvaluerule },
	{ "PoolAvailableRule", l_poolavailablerule },
	{ "MaxQPSRule", l_maxqpsrule },
	{ "MaxQPSIPRule", l_maxqpsiprule },
	{ "AndRule", l_andrule },
	{ "OrRule", l_orrule },
	{ "NotRule", l_notrule },
	{ "makeRule", l_makerule },
	{ "benchRule", l_benchrule },
	{ "PoolOutstandingRule", l_pooloutstandingrule },
	{ "TimedIPSetRule", l_timedipsetrule },
	{ NULL, NULL }
};

void
dlua_open_rules(lua_State *L)
{
	dlua_new_type(L, DLUA_SELECTOR_MT, NULL, l_selector_tostring,
	    l_selector_gc);
	dlua_new_type(L, TIS_MT, tis_methods, l_tis_tostring, l_tis_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
