/*
 * Lua on the packet path: the dq object that hooks see, LuaRule,
 * LuaAction, LuaResponseAction and blockFilter.  Hooks run under the Lua
 * lock with an instruction budget; one that fails or runs too long is
 * reported through the host, counted, and taken as "no match" or "no
 * action": the query goes on.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "dnsname.h"
#include "edns.h"
#include "dnspacket.h"
#include "lua.h"
#include "proxyproto.h"
#include "qcount.h"
#include "rule.h"
#include "settings.h"

#define DQ_MT		"dnsdist.DNSQuestion"
#define DH_MT		"dnsdist.DNSHeader"
#define OPTVIEW_MT	"dnsdist.EDNSOptionView"
#define HDRCOPY_MT	"dnsdist.DNSHeaderCopy"

bool			dlua_blockfilter_set;
static struct luafn	*blockfilter_fn;
static void		 qcount_filter_changed(lua_State *);
static int		 blockfilter_nparams;
_Atomic uint64_t	 dlua_hook_errors;
/* Pool names and tags set from Lua live until the query is routed. */
static _Thread_local char	hook_pool[256];
static _Thread_local char	hook_tags[DQ_MAXTAGS][2][64];
/* ... and dq.requestorID, deviceID and deviceName, for protobuf. */
#define HOOK_PBIDMAX	256
static _Thread_local char	hook_pbid[DQ_PBIDS][HOOK_PBIDMAX];
static const char *const	pbid_names[DQ_PBIDS] = {
	[DQ_PB_REQUESTORID] = "requestorID",
	[DQ_PB_DEVICEID] = "deviceID",
	[DQ_PB_DEVICENAME] = "deviceName",
};
/* ... and an HTTP answer set by dq:setHTTPResponse() till it is sent. */
#define HOOK_HTTPMAX	8192
static _Thread_local char	hook_httpbody[HOOK_HTTPMAX];
static _Thread_local char	hook_httpctype[128];

struct dq_ud {
	struct dnsq	*du_dq;		/* NULL once the hook returned */
};

static struct dnsq *
check_dq(lua_State *L, int idx, const char *mt)
{
	struct dq_ud	*du = luaL_checkudata(L, idx, mt);

	if (du->du_dq == NULL)
		luaL_error(L, "this query object is no longer valid");
	return du->du_dq;
}

static void
hook_failed(lua_State *L)
{
	atomic_fetch_add(&dlua_hook_errors, 1);
	if (dlua_host.h_hook_error != NULL)
		dlua_host.h_hook_error(lua_tostring(L, -1) != NULL ?
		    lua_tostring(L, -1) : "(error object)");
	lua_pop(L, 1);
}

/*
 * Header objects: dq.dh, the query's own header, and copies of a header
 * (a packet overlay's dh), with the same methods.
 */

void
dlua_push_header(lua_State *L, const uint8_t *hdr)
{
	memcpy(lua_newuserdata(L, DNS_HDRLEN), hdr, DNS_HDRLEN);
	luaL_setmetatable(L, HDRCOPY_MT);
}

static uint8_t *
dh_pkt(lua_State *L)
{
	uint8_t	*h;

	if ((h = luaL_testudata(L, 1, HDRCOPY_MT)) != NULL)
		return h;
	return check_dq(L, 1, DH_MT)->dq_pkt;
}

static int
l_dh_get(lua_State *L)
{
	int		 bit = (int)lua_tointeger(L, lua_upvalueindex(1));
	const uint8_t	*p = dh_pkt(L);

	switch (bit) {
	case 0: lua_pushboolean(L, dnspacket_rd(p)); break;
	case 1: lua_pushboolean(L, dnspacket_cd(p)); break;
	case 2: lua_pushboolean(L, dnspacket_qr(p)); break;
	case 3: lua_pushboolean(L, dnspacket_tc(p)); break;
	case 4: lua_pushboolean(L, dnspacket_aa(p)); break;
	case 5: lua_pushboolean(L, dnspacket_ad(p)); break;
	case 6: lua_pushboolean(L, dnspacket_ra(p)); break;
	case 7: lua_pushinteger(L, dnspacket_rcode(p)); break;
	default: lua_pushinteger(L, dnspacket_id(p)); break;
	}
	return 1;
}

static int
l_dh_set(lua_State *L)
{
	int		 bit = (int)lua_tointeger(L, lua_upvalueindex(1));
	uint8_t		*p = dh_pkt(L);
	bool		 on = lua_toboolean(L, 2);

	switch (bit) {
	case 0: dnspacket_set_rd(p, on); break;
	case 1: dnspacket_set_cd(p, on); break;
	case 2: dnspacket_set_qr(p, on); break;
	case 3: dnspacket_set_tc(p, on); break;
	case 4: dnspacket_set_aa(p, on); break;
	case 5: dnspacket_set_ad(p, on); break;
	case 6: dnspacket_set_ra(p, on); break;
	case 7: dnspacket_set_rcode(p, (int)luaL_checkinteger(L, 2) & 0xf);
		break;
	}
	return 0;
}

static const char *const dh_bits[] = { "RD", "CD", "QR", "TC", "AA", "AD",
    "RA", "RCODE", "ID", NULL };

/* dq fields and methods */

static void	push_dq(lua_State *, struct dnsq *, const char *);

static int
l_dq_gettag(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const char	*name = luaL_checkstring(L, 2);
	int		 i;

	for (i = 0; i < dq->dq_ntags; i++)
		if (strcmp(dq->dq_tags[i].t_name, name) == 0) {
			lua_pushstring(L, dq->dq_tags[i].t_value);
			return 1;
		}
	lua_pushstring(L, "");
	return 1;
}

static int
l_dq_settag(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const char	*name = luaL_checkstring(L, 2);
	const char	*value = luaL_checkstring(L, 3);
	int		 i;

	for (i = 0; i < dq->dq_ntags; i++)
		if (strcmp(dq->dq_tags[i].t_name, name) == 0)
			break;
	if (i == DQ_MAXTAGS)
		return luaL_error(L, "too many tags");
	snprintf(hook_tags[i][0], sizeof(hook_tags[i][0]), "%s", name);
	snprintf(hook_tags[i][1], sizeof(hook_tags[i][1]), "%s", value);
	dq->dq_tags[i].t_name = hook_tags[i][0];
	dq->dq_tags[i].t_value = hook_tags[i][1];
	if (i == dq->dq_ntags)
		dq->dq_ntags++;
	return 0;
}

/* dq:setTagArray({name = value, ...}) */
static int
l_dq_settagarray(lua_State *L)
{
	check_dq(L, 1, DQ_MT);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		lua_pushcfunction(L, l_dq_settag);
		lua_pushvalue(L, 1);
		lua_pushvalue(L, -4);
		lua_pushvalue(L, -4);
		lua_call(L, 3, 0);
		lua_pop(L, 1);
	}
	return 0;
}

static int
l_dq_gettagarray(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	int		 i;

	lua_createtable(L, 0, dq->dq_ntags);
	for (i = 0; i < dq->dq_ntags; i++) {
		lua_pushstring(L, dq->dq_tags[i].t_value);
		lua_setfield(L, -2, dq->dq_tags[i].t_name);
	}
	return 1;
}

/* What follows the last record: where it starts, or -1 (malformed). */
static long
trailing_start(const struct dnsq *dq)
{
	return dnspacket_walk(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end, NULL,
	    NULL);
}

static int
l_dq_gettrailingdata(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	long		 end = trailing_start(dq);

	if (end == -1)
		lua_pushliteral(L, "");
	else
		lua_pushlstring(L, (const char *)dq->dq_pkt + end,
		    dq->dq_len - (size_t)end);
	return 1;
}

/* Replace the trailing data; false when the message is malformed or full. */
static int
l_dq_settrailingdata(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	size_t		 n;
	const char	*s = luaL_checklstring(L, 2, &n);
	long		 end = trailing_start(dq);

	/* As dnsdist: up to 4096 bytes over UDP, a whole TCP message. */
	if (end == -1 || (dq->dq_size - (size_t)end < n &&
	    (dq->dq_grow == NULL || n > DNS_MAXUDP - (size_t)end ||
	    !dq->dq_grow(dq, (size_t)end + n)))) {
		lua_pushboolean(L, 0);
		return 1;
	}
	memcpy(dq->dq_pkt + end, s, n);
	dq->dq_len = (size_t)end + n;
	lua_pushboolean(L, 1);
	return 1;
}

/*
 * dq:getEDNSOptions(): option code -> view, whose count() and getValues()
 * give the values of the options with that code, as dnsdist's do.
 */
static int
l_dq_getednsoptions(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct dnsopt	 o;
	size_t		 pos, data;
	uint16_t	 code, len;

	lua_newtable(L);
	if (dnspacket_find_opt(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end,
	    &o) != 1)
		return 1;
	pos = o.o_rdoff;
	while (dnspacket_opt_next(dq->dq_pkt, &o, &pos, &code, &len,
	    &data) == 1) {
		if (lua_rawgeti(L, -1, code) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_newtable(L);
			luaL_setmetatable(L, OPTVIEW_MT);
			lua_pushvalue(L, -1);
			lua_rawseti(L, -3, code);
		}
		lua_pushlstring(L, (const char *)dq->dq_pkt + data, len);
		lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
		lua_pop(L, 1);
	}
	return 1;
}

static int
l_optview_count(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushinteger(L, (lua_Integer)lua_rawlen(L, 1));
	return 1;
}

static int
l_optview_getvalues(lua_State *L)
{
	lua_Integer	i, n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = (lua_Integer)lua_rawlen(L, 1);
	lua_createtable(L, (int)n, 0);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, 1, i);
		lua_rawseti(L, -2, i);
	}
	return 1;
}

struct ttl_edit {
	lua_State	*L;
	uint8_t		*pkt;
	int		 fn;
	bool		 failed;
};

static void
edit_ttl(void *arg, const struct dnsrr *rr)
{
	struct ttl_edit	*te = arg;
	lua_Integer	 ttl;
	int		 isnum;

	if (rr->rr_type == DNS_TYPE_OPT || te->failed)
		return;
	lua_pushvalue(te->L, te->fn);
	lua_pushinteger(te->L, rr->rr_section);
	lua_pushinteger(te->L, rr->rr_class);
	lua_pushinteger(te->L, rr->rr_type);
	lua_pushinteger(te->L, rr->rr_ttl);
	if (lua_pcall(te->L, 4, 1, 0) != LUA_OK) {
		te->failed = true;
		return;
	}
	ttl = lua_tointegerx(te->L, -1, &isnum);
	lua_pop(te->L, 1);
	if (!isnum || ttl < 0 || ttl > UINT32_MAX)
		return;		/* nothing said: the TTL stays */
	te->pkt[rr->rr_ttloff] = (uint8_t)(ttl >> 24);
	te->pkt[rr->rr_ttloff + 1] = (uint8_t)(ttl >> 16);
	te->pkt[rr->rr_ttloff + 2] = (uint8_t)(ttl >> 8);
	te->pkt[rr->rr_ttloff + 3] = (uint8_t)ttl;
}

/*
 * dr:editTTLs(function(section, qclass, qtype, ttl) return ttl end): each
 * record's TTL (the OPT record aside) becomes what the function returns.
 */
static int
l_dq_editttls(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct ttl_edit	 te;

	luaL_checktype(L, 2, LUA_TFUNCTION);
	te.L = L;
	te.pkt = dq->dq_pkt;
	te.fn = 2;
	te.failed = false;
	if (dnspacket_walk(dq->dq_pkt, dq->dq_len, dq->dq_q->q_end, edit_ttl,
	    &te) == -1)
		return luaL_error(L, "editTTLs: the message does not parse");
	if (te.failed)
		return lua_error(L);
	return 0;
}

struct pp_tlvs *
dlua_pp_values(lua_State *L, int idx, const char *fn)
{
	const char	*val[256] = { NULL };
	size_t		 len[256];
	struct pp_tlvs	*l = NULL;
	lua_Integer	 t;
	int		 i, isnum;

	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pushvalue(L, -2);
		t = lua_tointegerx(L, -1, &isnum);
		if (!isnum || t < 0 || t > 255 || lua_type(L, -2) !=
		    LUA_TSTRING)
			luaL_error(L, "%s: values must be { [type] = \"value\" }"
			    " with types from 0 to 255", fn);
		val[t] = lua_tolstring(L, -2, &len[t]);
		lua_pop(L, 2);
	}
	/* The strings stay in the table while it is on the stack. */
	for (i = 0; i < 256; i++)
		if (val[i] != NULL && pp_tlvs_add(&l, (uint8_t)i, val[i],
		    len[i]) == -1) {
			pp_tlvs_free(l);
			luaL_error(L, "%s: values too long for a header", fn);
		}
	return l;
}

/* dq:getProxyProtocolValues(): { [type] = value } */
static int
l_dq_getppvalues(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const uint8_t	*v;
	size_t		 off = 0;
	uint16_t	 vlen;
	uint8_t		 t;

	lua_newtable(L);
	while (dq->dq_pp != NULL && proxyproto_tlv_next(dq->dq_pp->pt_buf,
	    dq->dq_pp->pt_len, &off, &t, &v, &vlen)) {
		lua_pushlstring(L, (const char *)v, vlen);
		lua_rawseti(L, -2, t);
	}
	return 1;
}

/* dq:getHTTPPath() and its siblings: nil for a query not over DoH. */
static int
l_dq_gethttp(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const char	*what = lua_tostring(L, lua_upvalueindex(1));
	size_t		 i;

	if (dq->dq_http == NULL) {
		lua_pushnil(L);
		return 1;
	}
	switch (what[0]) {
	case 'p':
		lua_pushstring(L, dq->dq_http->dr_path);
		break;
	case 'q':
		lua_pushstring(L, dq->dq_http->dr_query);
		break;
	case 'h':
		lua_pushstring(L, dq->dq_http->dr_host);
		break;
	case 's':
		lua_pushstring(L, dq->dq_http->dr_scheme);
		break;
	default:
		lua_createtable(L, 0, (int)dq->dq_http->dr_nheaders);
		for (i = 0; i < dq->dq_http->dr_nheaders; i++) {
			lua_pushstring(L, dq->dq_http->dr_headers[i].h_value);
			lua_setfield(L, -2, dq->dq_http->dr_headers[i].h_name);
		}
	}
	return 1;
}

static int
l_dq_addppvalue(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	lua_Integer	 t = luaL_checkinteger(L, 2);
	size_t		 len;
	const char	*v = luaL_checklstring(L, 3, &len);

	if (t < 0 || t > 255)
		return luaL_error(L, "addProxyProtocolValue: type %I is not "
		    "from 0 to 255", t);
	if (pp_tlvs_add(&dq->dq_pp, (uint8_t)t, v, len) == -1)
		return luaL_error(L, "addProxyProtocolValue: too long for a "
		    "header");
	return 0;
}

static int
l_dq_setppvalues(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct pp_tlvs	*l = dlua_pp_values(L, 2, "setProxyProtocolValues");

	pp_tlvs_free(dq->dq_pp);
	dq->dq_pp = l;
	return 0;
}

/* dq:getServerNameIndication(): the client's TLS SNI, or "". */
static int
l_dq_getsni(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);

	lua_pushstring(L, dq->dq_sni != NULL ? dq->dq_sni : "");
	return 1;
}

static int
l_dq_getdo(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct dnsopt	 o;

	lua_pushboolean(L, dnspacket_find_opt(dq->dq_pkt, dq->dq_len,
	    dq->dq_q->q_end, &o) == 1 && o.o_do);
	return 1;
}

static int
l_dq_getprotocol(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);

	if (dq->dq_http != NULL)
		lua_pushstring(L, "DNS over HTTPS");
	else if (dq->dq_dnscrypt != NULL)
		lua_pushstring(L, dq->dq_tcp ? "DNSCrypt TCP" : "DNSCrypt UDP");
	else
		lua_pushstring(L, !dq->dq_tcp ? "Do53 UDP" : dq->dq_tls ?
		    "DNS over TLS" : "Do53 TCP");
	return 1;
}

static int
l_dq_getcontent(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);

	lua_pushlstring(L, (const char *)dq->dq_pkt, dq->dq_len);
	return 1;
}

/*
 * The whole message replaced, its ID kept.  The question must stay as it
 * is (answers are matched on it): a different one is an error.
 */
static int
l_dq_setcontent(lua_State *L)
{
	struct dnsq		*dq = check_dq(L, 1, DQ_MT);
	size_t			 n;
	const char		*s = luaL_checklstring(L, 2, &n);
	struct dnsquestion	 q;
	uint16_t		 id = dnspacket_id(dq->dq_pkt);

	if (n > dq->dq_size)
		return luaL_error(L, "setContent: %zu bytes, room for %zu", n,
		    dq->dq_size);
	/* A held query is matched to nothing any more: any question goes. */
	if (dnspacket_question((const uint8_t *)s, n, &q) != 0 ||
	    (dq->dq_qown == NULL && (q.q_end != dq->dq_q->q_end ||
	    q.q_type != dq->dq_q->q_type || q.q_class != dq->dq_q->q_class ||
	    memcmp(s + DNS_HDRLEN, dq->dq_pkt + DNS_HDRLEN,
	    q.q_end - DNS_HDRLEN - 4) != 0)))
		return luaL_error(L, "setContent: the message must carry the "
		    "question of the query");
	if (dq->dq_qown != NULL)
		*dq->dq_qown = q;
	memcpy(dq->dq_pkt, s, n);
	dq->dq_len = n;
	dnspacket_set_id(dq->dq_pkt, id);
	return 0;
}

static int
l_dq_setednsoption(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	lua_Integer	 code = luaL_checkinteger(L, 2);
	size_t		 n;
	const char	*data = luaL_checklstring(L, 3, &n);
	bool		 hadopt;

	if (code < 0 || code > 65535 || n > 65535)
		return luaL_error(L, "setEDNSOption: bad code or data");
	if (edns_set_option(dq->dq_pkt, &dq->dq_len, dq->dq_size, dq->dq_q,
	    (uint16_t)code, (const uint8_t *)data, n, EDNS_QUERY_PAYLOAD,
	    true, &hadopt) > 0 && !hadopt)
		dq->dq_optadded = true;
	return 0;
}

/* dq:spoof(ComboAddress | {ComboAddress...} | raw | {raw...}) */
static int
l_dq_spoof(lua_State *L)
{
	struct dnsq		*dq = check_dq(L, 1, DQ_MT);
	struct sockaddr_storage	 ss[SPOOF_MAX];
	const uint8_t		*raw[SPOOF_MAX];
	size_t			 rawlen[SPOOF_MAX], n = 0, i, count = 1;
	bool			 one = lua_type(L, 2) != LUA_TTABLE;
	int			 idx, kind = -1;

	if (!one)
		count = lua_rawlen(L, 2);
	if (count > SPOOF_MAX)
		return luaL_error(L, "spoof: at most %d records", SPOOF_MAX);
	for (i = 1; i <= count; i++) {
		if (one)
			lua_pushvalue(L, 2);
		else
			lua_rawgeti(L, 2, (lua_Integer)i);
		idx = lua_gettop(L);
		if (lua_type(L, idx) == LUA_TSTRING) {
			if (kind == 0)
				return luaL_error(L, "spoof: addresses or raw "
				    "records, not both");
			kind = 1;
			raw[n] = (const uint8_t *)lua_tolstring(L, idx,
			    &rawlen[n]);
		} else {
			if (kind == 1)
				return luaL_error(L, "spoof: addresses or raw "
				    "records, not both");
			kind = 0;
			memset(&ss[n], 0, sizeof(ss[n]));
			memcpy(&ss[n], luaL_checkudata(L, idx, DLUA_CA_MT),
			    sizeof(ss[n]));
		}
		n++;
		/* The strings stay referenced by the argument. */
		lua_pop(L, 1);
	}
	if (kind == 1)
		(void)dnsq_spoof_raws(dq, raw, rawlen, n);
	else if (kind == 0)
		(void)dnsq_spoof_addrs(dq, ss, n);
	return 0;
}

static int
l_dq_setnegativesoa(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct action	*ac;
	int		 top;

	/* NegativeAndSOAAction(nxd, zone, ttl, ...), applied at once */
	top = lua_gettop(L);
	lua_getglobal(L, "NegativeAndSOAAction");
	lua_rotate(L, 2, 1);
	lua_call(L, top - 1, 1);
	ac = dlua_action_arg(L, -1);
	(void)action_apply(ac, dq);
	lua_pop(L, 1);
	return 0;
}

/*
 * dq:suspend(asyncID, queryID, timeoutMs): the query (or response) as it
 * is now leaves the packet path, held until getAsynchronousObject()
 * takes it or the timeout resumes it; false when it could not be held
 * (too many, or those IDs taken): it is dropped.
 */
static int
l_dq_suspend(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	lua_Integer	 aid = luaL_checkinteger(L, 2);
	lua_Integer	 qid = luaL_checkinteger(L, 3);
	lua_Integer	 ms = luaL_checkinteger(L, 4);

	if (aid < 0 || aid > UINT16_MAX || qid < 0 || qid > UINT16_MAX)
		return luaL_error(L, "suspend: IDs are 0 to 65535");
	if (ms <= 0 || ms > UINT32_MAX)
		return luaL_error(L, "suspend: the timeout is 1 to %u ms",
		    UINT32_MAX);
	if (dq->dq_hold == NULL)
		return luaL_error(L, "suspend: only in the query, cache-hit "
		    "and response rules: not in the self-answered or "
		    "cache-inserted ones");
	if (dq->dq_suspend) {
		lua_pushboolean(L, 0);	/* held already */
		return 1;
	}
	dq->dq_suspend = true;
	dq->dq_asyncid = (uint16_t)aid;
	dq->dq_asyncqid = (uint16_t)qid;
	dq->dq_asyncms = (uint32_t)ms;
	dq->dq_asyncheld = dq->dq_hold(dq, dq->dq_holdarg);
	lua_pushboolean(L, dq->dq_asyncheld);
	return 1;
}

static int
l_dq_getquerytime(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	struct timespec	 ts;
	uint64_t	 ago = dlua_mono_ns() - dq->dq_now, ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - ago;
	lua_createtable(L, 0, 2);
	lua_pushinteger(L, (lua_Integer)(ns / 1000000000ULL));
	lua_setfield(L, -2, "tv_sec");
	lua_pushinteger(L, (lua_Integer)(ns % 1000000000ULL));
	lua_setfield(L, -2, "tv_nsec");
	return 1;
}

static int
l_dq_getelapsedus(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);

	lua_pushnumber(L, (double)(dlua_mono_ns() - dq->dq_now) / 1000.0);
	return 1;
}

/*
 * dq:setRestartable(): keep the query as it is now, so that a response
 * rule may send it again (dr:restart()); a second call takes a new copy.
 */
static int
l_dq_setrestartable(lua_State *L)
{
	struct dnsq		*dq = check_dq(L, 1, DQ_MT);
	struct dq_restart	*rs;

	if (dq->dq_len > UINT16_MAX ||
	    (rs = malloc(sizeof(*rs) + dq->dq_len)) == NULL) {
		lua_pushboolean(L, false);
		return 1;
	}
	memset(rs, 0, sizeof(*rs));
	rs->rs_len = (uint16_t)dq->dq_len;
	memcpy(rs->rs_pkt, dq->dq_pkt, dq->dq_len);
	free(dq->dq_restart);
	dq->dq_restart = rs;
	lua_pushboolean(L, true);
	return 1;
}

/*
 * dr:restart(): the backend's answer is dropped and the query goes again,
 * as setRestartable() kept it, through server selection (dr.pool's
 * pool).  False, as dnsdist's, when the query was not made restartable;
 * an error after DQ_MAXRESTARTS restarts, which leaves the answer as it
 * is.
 */
static int
l_dr_restart(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);

	if (!dq->dq_canrestart || dq->dq_restart == NULL) {
		lua_pushboolean(L, false);
		return 1;
	}
	if (dq->dq_restart->rs_count >= DQ_MAXRESTARTS)
		return luaL_error(L, "restart: the query was restarted %d "
		    "times already, its answer goes on", DQ_MAXRESTARTS);
	dq->dq_restarting = true;
	lua_pushboolean(L, true);
	return 1;
}

/*
 * dq:changeName(name): the question, and the owner of every record named
 * as it is, renamed in the message, as dnsdist's; later rules, the
 * cache and the backend see the new name, and the answer keeps it unless
 * a response rule changes it back.  False when the message cannot be
 * rewritten (see dnspacket_rename()).
 */
static int
l_dq_changename(lua_State *L)
{
	struct dnsq		*dq = check_dq(L, 1, DQ_MT);
	/* The question is the caller's own, parsed from this message. */
	struct dnsquestion	*q = (struct dnsquestion *)(uintptr_t)dq->dq_q;
	uint8_t			 to[DNSNAME_MAXLEN];
	size_t			 tolen, n;

	dlua_name_arg(L, 2, to, &tolen);
	n = dnspacket_rename(dq->dq_pkt, dq->dq_len, dq->dq_size, q->q_name,
	    q->q_namelen, to, tolen);
	/* A TCP message may grow to what TCP carries. */
	if (n == 0 && dq->dq_grow != NULL && dq->dq_grow(dq, 65535))
		n = dnspacket_rename(dq->dq_pkt, dq->dq_len, dq->dq_size,
		    q->q_name, q->q_namelen, to, tolen);
	if (n == 0 || dnspacket_question(dq->dq_pkt, n, q) == -1) {
		lua_pushboolean(L, false);
		return 1;
	}
	dq->dq_len = n;
	lua_pushboolean(L, true);
	return 1;
}

/* Methods of dnsdist's object that this program does not offer. */
static int
l_dq_absent(lua_State *L)
{
	return luaL_error(L, "%s", lua_tostring(L, lua_upvalueindex(1)));
}

static const luaL_Reg dq_methods[] = {
	{ "getTag", l_dq_gettag },
	{ "setTag", l_dq_settag },
	{ "getTagArray", l_dq_gettagarray },
	{ "setTagArray", l_dq_settagarray },
	{ "getEDNSOptions", l_dq_getednsoptions },
	{ "setEDNSOption", l_dq_setednsoption },
	{ "getTrailingData", l_dq_gettrailingdata },
	{ "setTrailingData", l_dq_settrailingdata },
	{ "getDO", l_dq_getdo },
	{ "getProtocol", l_dq_getprotocol },
	{ "getContent", l_dq_getcontent },
	{ "setContent", l_dq_setcontent },
	{ "getQueryTime", l_dq_getquerytime },
	{ "getElapsedUs", l_dq_getelapsedus },
	{ "changeName", l_dq_changename },
	{ "getProxyProtocolValues", l_dq_getppvalues },
	{ "getServerNameIndication", l_dq_getsni },
	{ "suspend", l_dq_suspend },
	{ NULL, NULL }
};

/* Only on a question. */
static const luaL_Reg dq_qmethods[] = {
	{ "spoof", l_dq_spoof },
	{ "setNegativeAndAdditionalSOA", l_dq_setnegativesoa },
	/* Values go with the query to its backend, not with an answer. */
	{ "addProxyProtocolValue", l_dq_addppvalue },
	{ "setProxyProtocolValues", l_dq_setppvalues },
	{ "setRestartable", l_dq_setrestartable },
	{ NULL, NULL }
};

static const struct {
	const char	*name;
	const char	*why;
} dq_absent[] = {
	{ "sendTrap", "sendTrap: SNMP is not supported" },
	{ NULL, NULL }
};

static bool
dq_push_method(lua_State *L, const struct dnsq *dq, const char *k)
{
	const luaL_Reg	*r;
	size_t		 i;

	for (r = dq_methods; r->name != NULL; r++)
		if (strcmp(r->name, k) == 0) {
			lua_pushcfunction(L, r->func);
			return true;
		}
	for (r = dq_qmethods; !dq->dq_response && r->name != NULL; r++)
		if (strcmp(r->name, k) == 0) {
			lua_pushcfunction(L, r->func);
			return true;
		}
	for (i = 0; dq_absent[i].name != NULL; i++)
		if (strcmp(dq_absent[i].name, k) == 0) {
			lua_pushstring(L, dq_absent[i].why);
			lua_pushcclosure(L, l_dq_absent, 1);
			return true;
		}
	return false;
}

/*
 * dq:setHTTPResponse(status, body[, contentType]): a DoH query gets this
 * HTTP answer once the hook returns (a 3xx: the body is the Location).
 */
static int
l_dq_sethttpresponse(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	lua_Integer	 status = luaL_checkinteger(L, 2);
	size_t		 len;
	const char	*body = luaL_optlstring(L, 3, "", &len);
	const char	*ctype = luaL_optstring(L, 4, "");

	if (status < 100 || status > 599)
		return luaL_error(L, "setHTTPResponse: bad status %lld",
		    (long long)status);
	if (len >= HOOK_HTTPMAX || strlen(ctype) >= sizeof(hook_httpctype) ||
	    strpbrk(ctype, "\r\n") != NULL ||
	    (status / 100 == 3 && strpbrk(body, "\r\n") != NULL))
		return luaL_error(L, "setHTTPResponse: body or content type "
		    "too long or bad");
	if (dq->dq_http == NULL || dq->dq_response)
		return 0;
	memcpy(hook_httpbody, body, len);
	hook_httpbody[len] = '\0';
	strlcpy(hook_httpctype, ctype, sizeof(hook_httpctype));
	dq->dq_httpstatus = (int)status;
	dq->dq_httpbody = hook_httpbody;
	dq->dq_httpbodylen = len;
	dq->dq_httpctype = hook_httpctype;
	return 0;
}

static const char *const dq_http_getters[][2] = {
	{ "getHTTPPath", "p" }, { "getHTTPQueryString", "q" },
	{ "getHTTPHost", "h" }, { "getHTTPScheme", "s" },
	{ "getHTTPHeaders", "H" }
};

/* The slot of dq.requestorID and its siblings, or -1. */
static int
pbid_slot(const char *k)
{
	int	i;

	for (i = 0; i < DQ_PBIDS; i++)
		if (strcmp(k, pbid_names[i]) == 0)
			return i;
	return -1;
}

static int
l_dq_index(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const char	*k = luaL_checkstring(L, 2);
	size_t		 i;
	int		 n;

	if (strcmp(k, "qname") == 0)
		dlua_push_dnsname(L, dq->dq_q->q_name, dq->dq_q->q_namelen);
	else if (strcmp(k, "qtype") == 0)
		lua_pushinteger(L, dq->dq_q->q_type);
	else if (strcmp(k, "qclass") == 0)
		lua_pushinteger(L, dq->dq_q->q_class);
	else if (strcmp(k, "remoteaddr") == 0)
		dlua_push_ca(L, dq->dq_remote);
	else if (strcmp(k, "localaddr") == 0) {
		if (dq->dq_local != NULL)
			dlua_push_ca(L, dq->dq_local);
		else
			lua_pushnil(L);
	} else if (strcmp(k, "len") == 0)
		lua_pushinteger(L, (lua_Integer)dq->dq_len);
	else if (strcmp(k, "size") == 0)
		lua_pushinteger(L, (lua_Integer)dq->dq_size);
	else if (strcmp(k, "tcp") == 0)
		lua_pushboolean(L, dq->dq_tcp);
	else if (strcmp(k, "rcode") == 0)
		lua_pushinteger(L, dnspacket_rcode(dq->dq_pkt));
	else if (strcmp(k, "skipCache") == 0)
		lua_pushboolean(L, dq->dq_skipcache);
	else if (strcmp(k, "useECS") == 0)
		lua_pushboolean(L, !dq->dq_noecs);
	else if (strcmp(k, "ecsOverride") == 0)
		lua_pushboolean(L, dq->dq_ecsoverride >= 0 ?
		    dq->dq_ecsoverride : settings.st_ecsoverride);
	else if (strcmp(k, "ecsPrefixLength") == 0)
		lua_pushinteger(L, dq->dq_remote->sa_family == AF_INET6 ?
		    (dq->dq_ecsv6 >= 0 ? dq->dq_ecsv6 : settings.st_ecsv6) :
		    (dq->dq_ecsv4 >= 0 ? dq->dq_ecsv4 : settings.st_ecsv4));
	else if (strcmp(k, "pool") == 0)
		lua_pushstring(L, dq->dq_pool);
	else if (strcmp(k, "dh") == 0)
		push_dq(L, dq, DH_MT);
	else if (strcmp(k, "opcode") == 0)
		lua_pushinteger(L, (dq->dq_pkt[2] >> 3) & 0xf);
	else if ((n = pbid_slot(k)) != -1)
		lua_pushlstring(L, dq->dq_pbid[n] != NULL ? dq->dq_pbid[n] : "",
		    dq->dq_pbidlen[n]);
	else if (strcmp(k, "tempFailureTTL") == 0 && !dq->dq_response) {
		if (dq->dq_tempfailttl >= 0)
			lua_pushinteger(L, dq->dq_tempfailttl);
		else
			lua_pushnil(L);
	} else if (strcmp(k, "editTTLs") == 0 && dq->dq_response)
		lua_pushcfunction(L, l_dq_editttls);
	else if (strcmp(k, "restart") == 0 && dq->dq_response)
		lua_pushcfunction(L, l_dr_restart);
	else if (strcmp(k, "setHTTPResponse") == 0 && !dq->dq_response)
		lua_pushcfunction(L, l_dq_sethttpresponse);
	else if (!dq_push_method(L, dq, k)) {
		for (i = 0; i < sizeof(dq_http_getters) /
		    sizeof(dq_http_getters[0]); i++)
			if (strcmp(k, dq_http_getters[i][0]) == 0) {
				lua_pushstring(L, dq_http_getters[i][1]);
				lua_pushcclosure(L, l_dq_gethttp, 1);
				return 1;
			}
		lua_pushnil(L);
	}
	return 1;
}

static int
l_dq_newindex(lua_State *L)
{
	struct dnsq	*dq = check_dq(L, 1, DQ_MT);
	const char	*k = luaL_checkstring(L, 2);
	const char	*v;
	size_t		 len;
	int		 slot;

	if ((slot = pbid_slot(k)) != -1) {
		v = luaL_checklstring(L, 3, &len);
		if (len > HOOK_PBIDMAX)
			return luaL_error(L, "%s: at most %d bytes", k,
			    HOOK_PBIDMAX);
		dq->dq_pbid[slot] = memcpy(hook_pbid[slot], v, len);
		dq->dq_pbidlen[slot] = len;
	} else if (strcmp(k, "skipCache") == 0)
		dq->dq_skipcache = lua_toboolean(L, 3);
	else if (strcmp(k, "useECS") == 0)
		dq->dq_noecs = !lua_toboolean(L, 3);
	else if (strcmp(k, "ecsOverride") == 0)
		dq->dq_ecsoverride = lua_toboolean(L, 3);
	else if (strcmp(k, "ecsPrefixLength") == 0) {
		lua_Integer n = luaL_checkinteger(L, 3);

		if (n < 0 || n > 128)
			return luaL_error(L, "ecsPrefixLength: 0 to 128");
		if (dq->dq_remote->sa_family == AF_INET6)
			dq->dq_ecsv6 = (int16_t)n;
		else
			dq->dq_ecsv4 = (int16_t)(n > 32 ? 32 : n);
	}
	else if (strcmp(k, "pool") == 0) {
		snprintf(hook_pool, sizeof(hook_pool), "%s",
		    luaL_checkstring(L, 3));
		dq->dq_pool = hook_pool;
	} else if (strcmp(k, "rcode") == 0)
		dnspacket_set_rcode(dq->dq_pkt,
		    (int)luaL_checkinteger(L, 3) & 0xf);
	else if (strcmp(k, "tempFailureTTL") == 0 && !dq->dq_response) {
		lua_Integer n = lua_isnil(L, 3) ? -1 : luaL_checkinteger(L, 3);

		if (n < -1 || n > INT32_MAX)
			return luaL_error(L, "tempFailureTTL: out of range");
		dq->dq_tempfailttl = (int32_t)n;
	}
	else
		return luaL_error(L, "dq.%s cannot be set", k);
	return 0;
}

static void
push_dq(lua_State *L, struct dnsq *dq, const char *mt)
{
	struct dq_ud	*du = lua_newuserdata(L, sizeof(*du));

	du->du_dq = dq;
	luaL_setmetatable(L, mt);
}

/* See lua.h. */
struct dnsq **
dlua_push_dq(lua_State *L, struct dnsq *dq)
{
	push_dq(L, dq, DQ_MT);
	return &((struct dq_ud *)lua_touserdata(L, -1))->du_dq;
}

/*
 * Call fn with dq (or with the seed's four arguments); nres results stay
 * on the stack of the state it returns.  NULL after reporting the error.
 */
static lua_State *
hook_call(const struct luafn *fn, struct dnsq *dq, int nres, bool seedform)
{
	lua_State	*L = dlua_fn_push(fn);
	struct dq_ud	*du;
	int		 rc, nargs = 1;

	if (L == NULL)
		return NULL;
	if (seedform) {
		dlua_push_ca(L, dq->dq_remote);
		dlua_push_dnsname(L, dq->dq_q->q_name, dq->dq_q->q_namelen);
		lua_pushinteger(L, dq->dq_q->q_type);
		push_dq(L, dq, DH_MT);
		nargs = 4;
	} else
		push_dq(L, dq, DQ_MT);
	du = lua_touserdata(L, -1);
	dlua_hook_begin(L, DLUA_HOOK_BUDGET);
	rc = lua_pcall(L, nargs, nres, 0);
	dlua_hook_end(L);
	/* The object must not outlive the query. */
	du->du_dq = NULL;
	if (rc != LUA_OK) {
		hook_failed(L);
		return NULL;
	}
	return L;
}

void
dlua_hook_alter(const struct luafn *fn, struct dnsq *dq, const char *mt,
    void *obj)
{
	lua_State	*L;
	struct dq_ud	*du, *ou;
	int		 rc;

	dlua_lock();
	if ((L = dlua_fn_push(fn)) == NULL) {
		dlua_unlock();
		return;
	}
	push_dq(L, dq, DQ_MT);
	du = lua_touserdata(L, -1);
	ou = lua_newuserdata(L, sizeof(*ou));
	ou->du_dq = obj;
	luaL_setmetatable(L, mt);
	dlua_hook_begin(L, DLUA_HOOK_BUDGET);
	rc = lua_pcall(L, 2, 0, 0);
	dlua_hook_end(L);
	du->du_dq = NULL;
	ou->du_dq = NULL;
	if (rc != LUA_OK)
		hook_failed(L);
	dlua_unlock();
}

static bool
hook_match(struct luafn *fn, struct dnsq *dq)
{
	lua_State	*L;
	bool		 r = false;

	dlua_lock();
	if ((L = hook_call(fn, dq, 1, false)) != NULL) {
		r = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	dlua_unlock();
	return r;
}

/* The delay a hook asked for, in ms; over TCP there is none. */
static void
hook_delay(struct dnsq *dq, const char *arg)
{
	long	ms = arg != NULL ? strtol(arg, NULL, 10) : 0;

	if (!dq->dq_tcp && ms > 0 && ms <= INT32_MAX)
		dq->dq_delayms = (int)ms;
}

/* DNSResponseAction.*: the code a LuaResponseAction returned. */
static int
hook_response_verdict(struct dnsq *dq, lua_Integer code, const char *arg)
{
	switch (code) {
	case 0:	/* Allow */
	case 3:	/* HeaderModify */
		return VERDICT_ALLOW;
	case 1:	/* Delay */
		hook_delay(dq, arg);
		return VERDICT_NONE;
	case 2:	/* Drop */
		return VERDICT_DROP;
	case 4:	/* ServFail */
		dnspacket_set_rcode(dq->dq_pkt, DNS_RCODE_SERVFAIL);
		return VERDICT_ALLOW;
	case 5:	/* Truncate: over UDP, the question only, with TC */
		if (!dq->dq_tcp) {
			dq->dq_len = dnspacket_truncate(dq->dq_pkt, dq->dq_len,
			    dq->dq_q, false);
			dnspacket_set_tc(dq->dq_pkt, true);
		}
		return VERDICT_ALLOW;
	}
	return VERDICT_NONE;	/* None, or not a code */
}

/* DNSAction.*: the code a LuaAction returned, with its text. */
static int
hook_query_verdict(struct dnsq *dq, lua_Integer code, const char *arg,
    size_t arglen)
{
	uint16_t	id;

	switch (code) {
	case 0:	/* Drop */
		return VERDICT_DROP;
	case 1:	/* Nxdomain */
		dnsq_turn_response(dq, DNS_RCODE_NXDOMAIN);
		return VERDICT_ANSWER;
	case 2:	/* Refused */
		dnsq_turn_response(dq, DNS_RCODE_REFUSED);
		return VERDICT_ANSWER;
	case 3:	/* Spoof */
	case 13: /* SpoofRaw */
		return arg == NULL ? VERDICT_NONE :
		    dnsq_spoof_text(dq, arg, arglen, code == 13);
	case 4:	/* Allow */
		return VERDICT_ALLOW;
	case 5:	/* HeaderModify: whatever the hook made of it, as a response */
		dnsq_turn_response(dq, dnspacket_rcode(dq->dq_pkt));
		return VERDICT_ANSWER;
	case 6:	/* Pool */
		if (arg != NULL) {
			snprintf(hook_pool, sizeof(hook_pool), "%s", arg);
			dq->dq_pool = hook_pool;
		}
		return VERDICT_POOL;
	case 7:	/* Delay */
		hook_delay(dq, arg);
		return VERDICT_NONE;
	case 8:	/* Truncate */
		if (dq->dq_tcp)
			return VERDICT_NONE;
		dnsq_answer_truncated(dq);
		return VERDICT_ANSWER;
	case 9:	/* ServFail */
		dnsq_turn_response(dq, DNS_RCODE_SERVFAIL);
		return VERDICT_ANSWER;
	case 12: /* NoRecurse */
		dnspacket_set_rd(dq->dq_pkt, false);
		return VERDICT_NONE;
	case 14: /* SpoofPacket: the whole answer, the query's ID kept */
		if (arg == NULL || arglen < DNS_HDRLEN ||
		    arglen > dq->dq_size)
			return VERDICT_NONE;
		id = dnspacket_id(dq->dq_pkt);
		memcpy(dq->dq_pkt, arg, arglen);
		dq->dq_len = arglen;
		dnspacket_set_id(dq->dq_pkt, id);
		return VERDICT_ANSWER;
	}
	return VERDICT_NONE;	/* None, NoOp, SetTag, or not a code */
}

static int
hook_action(struct luafn *fn, struct dnsq *dq)
{
	lua_State	*L;
	lua_Integer	 code;
	const char	*arg;
	size_t		 arglen;
	int		 v;

	dlua_lock();
	if ((L = hook_call(fn, dq, 2, false)) == NULL) {
		dlua_unlock();
		return VERDICT_NONE;
	}
	code = lua_tointeger(L, -2);
	arg = lua_tolstring(L, -1, &arglen);
	v = dq->dq_response ? hook_response_verdict(dq, code, arg) :
	    hook_query_verdict(dq, code, arg, arglen);
	/* dq:setHTTPResponse() wins over what the hook returned. */
	if (!dq->dq_response && dq->dq_httpstatus != 0 && v != VERDICT_DROP)
		v = VERDICT_HTTP;
	/* dr:restart(): this answer goes no further. */
	if (dq->dq_restarting)
		v = VERDICT_DROP;
	lua_pop(L, 2);
	dlua_unlock();
	return v;
}

bool
dlua_blockfilter(struct dnsq *dq)
{
	lua_State	*L;
	bool		 drop = false;

	dlua_lock();
	if (blockfilter_fn != NULL && (L = hook_call(blockfilter_fn, dq, 1,
	    blockfilter_nparams >= 2)) != NULL) {
		drop = lua_toboolean(L, -1);
		lua_pop(L, 1);
	}
	dlua_unlock();
	return drop;
}

/* Called with the lock held after the configuration or a console line. */
void
dlua_hooks_changed(lua_State *L)
{
	lua_Debug	ar;

	qcount_filter_changed(L);
	if (blockfilter_fn != NULL)
		dlua_fn_release(blockfilter_fn);
	blockfilter_fn = NULL;
	dlua_blockfilter_set = false;
	if (lua_getglobal(L, "blockFilter") != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return;
	}
	lua_pushvalue(L, -1);
	lua_getinfo(L, ">u", &ar);
	blockfilter_nparams = ar.nparams;
	blockfilter_fn = dlua_fn_new(L, -1);
	lua_pop(L, 1);
	dlua_blockfilter_set = blockfilter_fn != NULL;
}

static int
l_luarule(lua_State *L)
{
	struct selector	*se;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	if ((se = selector_new(SEL_ALL)) == NULL)
		return luaL_error(L, "out of memory");
	if ((se->se_u.luafn = dlua_fn_new(L, 1)) == NULL) {
		selector_unref(se);
		return luaL_error(L, "out of memory");
	}
	se->se_kind = SEL_LUA;
	selector_set_desc(se, "Lua function");
	dlua_push_selector(L, se);
	return 1;
}

static int
lua_action(lua_State *L, int kind)
{
	struct action	*ac;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	if ((ac = action_new(ACT_NONE)) == NULL)
		return luaL_error(L, "out of memory");
	if ((ac->ac_u.luafn = dlua_fn_new(L, 1)) == NULL) {
		action_unref(ac);
		return luaL_error(L, "out of memory");
	}
	ac->ac_kind = kind;
	action_set_desc(ac, "Lua script");
	dlua_push_action(L, ac);
	return 1;
}

static int
l_luaaction(lua_State *L)
{
	return lua_action(L, ACT_LUA);
}

static int
l_luaresponseaction(lua_State *L)
{
	return lua_action(L, ACT_RLUA);
}

/*
 * Query counting: setQueryCount(), setQueryCountFilter(filter), where
 * filter(dq) returns whether to count the query and under which key.  The
 * filter is kept in its state's registry and becomes the live one with
 * the state's hooks (dlua_hooks_changed), so that a reload that fails
 * leaves the running one.
 */
#define QCOUNT_FILTER_KEY	"dnsdist.qcountfilter"

static struct luafn	*qcount_filter_fn;
static _Atomic bool	 qcount_filter_set;

void
dlua_query_count(struct dnsq *dq)
{
	lua_State	*L;
	char		 key[DNSNAME_MAXTEXT];
	bool		 count = true;

	key[0] = '\0';
	if (atomic_load_explicit(&qcount_filter_set, memory_order_relaxed)) {
		dlua_lock();
		if (qcount_filter_fn != NULL &&
		    (L = hook_call(qcount_filter_fn, dq, 2, false)) != NULL) {
			count = lua_toboolean(L, -2);
			if (lua_type(L, -1) == LUA_TSTRING)
				strlcpy(key, lua_tostring(L, -1), sizeof(key));
			lua_pop(L, 2);
		}
		dlua_unlock();
	}
	if (key[0] == '\0' && dnsname_to_text(dq->dq_q->q_name,
	    dq->dq_q->q_namelen, key, sizeof(key)) == -1)
		return;
	if (count)
		(void)qcount_add(key);
}

/* With the lock held: the filter of L's configuration is the live one. */
static void
qcount_filter_changed(lua_State *L)
{
	if (qcount_filter_fn != NULL)
		dlua_fn_release(qcount_filter_fn);
	qcount_filter_fn = NULL;
	if (lua_getfield(L, LUA_REGISTRYINDEX, QCOUNT_FILTER_KEY) ==
	    LUA_TFUNCTION)
		qcount_filter_fn = dlua_fn_new(L, -1);
	lua_pop(L, 1);
	atomic_store(&qcount_filter_set, qcount_filter_fn != NULL);
}

static int
l_setquerycount(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TBOOLEAN);
	settings.st_querycount = lua_toboolean(L, 1);
	return 0;
}

static int
l_setquerycountfilter(lua_State *L)
{
	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, QCOUNT_FILTER_KEY);
	return 0;
}

struct qcount_show {
	struct sbuf	qs_sb;
	size_t		qs_index;
};

static void
qcount_show_one(const char *key, uint64_t n, void *arg)
{
	struct qcount_show	*qs = arg;

	sbuf_printf(&qs->qs_sb, "%-3zu %s: %llu request(s)\n",
	    ++qs->qs_index, key, (unsigned long long)n);
}

/* getQueryCounters([max]): the first max keys (10) and their counts. */
static int
l_getquerycounters(lua_State *L)
{
	lua_Integer		max = luaL_optinteger(L, 1, 10);
	struct qcount_show	qs;
	size_t			n;

	/* The lines go after the heading, which needs the count. */
	memset(&qs, 0, sizeof(qs));
	sbuf_init(&qs.qs_sb);
	n = qcount_walk(max < 0 ? 0 : (size_t)max, qcount_show_one, &qs);
	dlua_printf("query counting is currently: %s (%zu records in "
	    "buffer)\n%s", settings.st_querycount ? "enabled" :
	    "disabled", n, qs.qs_index > 0 ? sbuf_text(&qs.qs_sb) : "");
	sbuf_free(&qs.qs_sb);
	return 0;
}

static int
l_clearquerycounters(lua_State *L)
{
	(void)L;
	dlua_printf("%zu records cleared from query counter buffer\n",
	    qcount_clear());
	return 0;
}

void
dlua_open_hooks(lua_State *L)
{
	int	i;

	rule_lua_match = hook_match;
	rule_lua_action = hook_action;
	luaL_newmetatable(L, DQ_MT);
	lua_pushcfunction(L, l_dq_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_dq_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pop(L, 1);
	luaL_newmetatable(L, DH_MT);
	lua_newtable(L);
	for (i = 0; dh_bits[i] != NULL; i++) {
		char	name[16];

		lua_pushinteger(L, i);
		lua_pushcclosure(L, l_dh_get, 1);
		snprintf(name, sizeof(name), "get%s", dh_bits[i]);
		lua_setfield(L, -2, name);
		lua_pushinteger(L, i);
		lua_pushcclosure(L, l_dh_set, 1);
		snprintf(name, sizeof(name), "set%s", dh_bits[i]);
		lua_setfield(L, -2, name);
	}
	luaL_newmetatable(L, HDRCOPY_MT);
	lua_pushvalue(L, -2);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	luaL_newmetatable(L, OPTVIEW_MT);
	lua_newtable(L);
	lua_pushcfunction(L, l_optview_count);
	lua_setfield(L, -2, "count");
	lua_pushcfunction(L, l_optview_getvalues);
	lua_setfield(L, -2, "getValues");
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
	lua_register(L, "LuaRule", l_luarule);
	lua_register(L, "LuaAction", l_luaaction);
	lua_register(L, "LuaResponseAction", l_luaresponseaction);
	lua_register(L, "setQueryCount", l_setquerycount);
	lua_register(L, "setQueryCountFilter", l_setquerycountfilter);
	lua_register(L, "getQueryCounters", l_getquerycounters);
	lua_register(L, "clearQueryCounters", l_clearquerycounters);
}
