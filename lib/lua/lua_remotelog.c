/*
 * Protobuf and dnstap logging: newRemoteLogger, newFrameStreamUnixLogger,
 * newFrameStreamTcpLogger, RemoteLogAction, RemoteLogResponseAction,
 * DnstapLogAction, DnstapLogResponseAction, and the message objects
 * (DNSDistProtoBufMessage, DnstapMessage) their alter functions get.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dnsname.h"
#include "ipcipher.h"
#include "lua.h"
#include "netmask.h"
#include "proxyproto.h"
#include "remotelog.h"
#include "rule.h"

#define RLOG_MT		"dnsdist.RemoteLogger"
#define PBMSG_MT	"dnsdist.DNSDistProtoBufMessage"
#define TAPMSG_MT	"dnsdist.DnstapMessage"

/* Loggers */

static struct rlog *
rlog_arg(lua_State *L, int idx)
{
	return *(struct rlog **)luaL_checkudata(L, idx, RLOG_MT);
}

static int
l_rlog_gc(lua_State *L)
{
	struct rlog	**u = luaL_checkudata(L, 1, RLOG_MT);

	rlog_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_rlog_tostring(lua_State *L)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	rlog_describe(rlog_arg(L, 1), &sb);
	lua_pushstring(L, sbuf_text(&sb));
	sbuf_free(&sb);
	return 1;
}

/* Make the logger, start it and push it; a Lua error on failure. */
static void
rlog_push_new(lua_State *L, struct rlog *rl, const char *fn)
{
	struct rlog	**u;
	struct sbuf	  err;

	sbuf_init(&err);
	if (rlog_host.rh_start != NULL && rlog_host.rh_start(rl, &err) == -1) {
		lua_pushfstring(L, "%s: %s", fn, sbuf_text(&err));
		sbuf_free(&err);
		rlog_unref(rl);
		lua_error(L);
	}
	sbuf_free(&err);
	u = lua_newuserdata(L, sizeof(*u));
	*u = rl;
	luaL_setmetatable(L, RLOG_MT);
}

static struct rlog *
rlog_make(lua_State *L, int kind, const char *name, size_t maxq,
    const char *fn)
{
	struct rlog	*rl;
	struct sbuf	 err;

	sbuf_init(&err);
	if ((rl = rlog_new(kind, name, maxq, &err)) == NULL) {
		lua_pushfstring(L, "%s: %s", fn, sbuf_text(&err));
		sbuf_free(&err);
		lua_error(L);
	}
	sbuf_free(&err);
	return rl;
}

/* newRemoteLogger(address[, timeout[, maxQueuedEntries[, reconnect]]]) */
static int
l_newremotelogger(lua_State *L)
{
	const char		*s = luaL_checkstring(L, 1);
	lua_Integer		 timeout = luaL_optinteger(L, 2, 2);
	lua_Integer		 maxq = luaL_optinteger(L, 3, 100);
	lua_Integer		 wait = luaL_optinteger(L, 4, 1);
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct rlog		*rl;

	if (lua_gettop(L) > 4)
		return luaL_error(L, "newRemoteLogger: connectionCount is not "
		    "supported: one connection per logger");
	if (addr_parse(s, 0, &ss, &len) == -1 || addr_port(
	    (struct sockaddr *)&ss) == 0)
		return luaL_error(L, "newRemoteLogger: bad address '%s' "
		    "(IP:port)", s);
	if (timeout < 1 || timeout > 3600 || maxq < 1 || maxq > 1000000 ||
	    wait < 1 || wait > 3600)
		return luaL_error(L, "newRemoteLogger: timeout and "
		    "reconnectWaitTime are 1 to 3600 seconds, maxQueuedEntries "
		    "1 to 1000000");
	rl = rlog_make(L, RLOG_TCP, s, (size_t)maxq, "newRemoteLogger");
	rl->rl_addr = ss;
	rl->rl_timeout = (int)timeout;
	rl->rl_reconnect = (int)wait;
	rlog_push_new(L, rl, "newRemoteLogger");
	return 1;
}

static int
framestream_logger(lua_State *L, int kind, const char *fn)
{
	const char		*s = luaL_checkstring(L, 1);
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	struct rlog		*rl;
	lua_Integer		 v[RLOG_NFSOPTS];
	const char		*keys[RLOG_NFSOPTS + 1];
	int			 i;

	memset(&ss, 0, sizeof(ss));
	if (kind == RLOG_FSTRM_TCP && (addr_parse(s, 0, &ss, &len) == -1 ||
	    addr_port((struct sockaddr *)&ss) == 0))
		return luaL_error(L, "%s: bad address '%s' (IP:port)", fn, s);
	if (kind == RLOG_FSTRM_UNIX && (*s == '\0' ||
	    strlen(s) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)))
		return luaL_error(L, "%s: bad socket path '%s'", fn, s);
	for (i = 0; i < RLOG_NFSOPTS; i++) {
		keys[i] = rlog_fsopt_names[i];
		v[i] = 0;
	}
	keys[RLOG_NFSOPTS] = NULL;
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		dlua_check_keys(L, 2, keys, fn);
		for (i = 0; i < RLOG_NFSOPTS; i++)
			if ((v[i] = dlua_opt_int(L, 2, keys[i], 0)) < 0 ||
			    v[i] > UINT32_MAX)
				return luaL_error(L, "%s: bad %s", fn, keys[i]);
	}
	rl = rlog_make(L, kind, s, 0, fn);
	rl->rl_addr = ss;
	for (i = 0; i < RLOG_NFSOPTS; i++)
		rl->rl_fsopt[i] = (unsigned int)v[i];
	rlog_push_new(L, rl, fn);
	return 1;
}

static int
l_newframestreamunixlogger(lua_State *L)
{
	return framestream_logger(L, RLOG_FSTRM_UNIX,
	    "newFrameStreamUnixLogger");
}

static int
l_newframestreamtcplogger(lua_State *L)
{
	return framestream_logger(L, RLOG_FSTRM_TCP,
	    "newFrameStreamTcpLogger");
}

/* Actions */

static struct rlog_action *
ra_new(lua_State *L, int kind, int logidx, int alteridx, const char *fn)
{
	struct rlog		*rl = rlog_arg(L, logidx);
	struct action		*ac;
	struct rlog_action	*ra;

	if (!lua_isnoneornil(L, alteridx))
		luaL_checktype(L, alteridx, LUA_TFUNCTION);
	ac = dlua_act_new(L, kind);
	if ((ra = calloc(1, sizeof(*ra))) == NULL)
		luaL_error(L, "%s: out of memory", fn);
	ac->ac_u.rlog = ra;
	rlog_ref(rl);
	ra->ra_log = rl;
	if (!lua_isnoneornil(L, alteridx) &&
	    (ra->ra_alter = dlua_fn_new(L, alteridx)) == NULL)
		luaL_error(L, "%s: out of memory", fn);
	action_set_desc(ac, "%s to %s", kind == ACT_DNSTAP ||
	    kind == ACT_RDNSTAP ? "frame stream logging" : "remote log",
	    rl->rl_name);
	return ra;
}

/* Append a copy of s to the list; a Lua error on ENOMEM. */
static void
strlist_add(lua_State *L, char ***list, size_t *n, const char *s)
{
	char	**nl;

	if ((nl = reallocarray(*list, *n + 1, sizeof(*nl))) == NULL)
		luaL_error(L, "out of memory");
	*list = nl;
	if ((nl[*n] = strdup(s)) == NULL)
		luaL_error(L, "out of memory");
	(*n)++;
}

static void
ra_options(lua_State *L, struct rlog_action *ra, int idx, const char *fn)
{
	static const char	*keys[] = { "serverID", "ipEncryptKey",
	    "exportTags", NULL };
	const char		*s, *e;
	char			 tag[256];

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	dlua_check_keys(L, idx, keys, fn);
	if (lua_getfield(L, idx, "ipEncryptKey") != LUA_TNIL) {
		memcpy(ra->ra_ipkey, dlua_ipcipher_key(L, -1, fn),
		    sizeof(ra->ra_ipkey));
		ra->ra_ipcipher = true;
	}
	lua_pop(L, 1);
	if ((s = dlua_opt_string(L, idx, "serverID", NULL)) != NULL &&
	    (ra->ra_serverid = strdup(s)) == NULL)
		luaL_error(L, "out of memory");
	if ((s = dlua_opt_string(L, idx, "exportTags", NULL)) == NULL)
		return;
	if (strcmp(s, "*") == 0) {
		ra->ra_alltags = true;
		return;
	}
	for (; *s != '\0'; s = *e == ',' ? e + 1 : e) {
		e = s + strcspn(s, ",");
		snprintf(tag, sizeof(tag), "%.*s", (int)(e - s), s);
		if (tag[0] != '\0')
			strlist_add(L, &ra->ra_tags, &ra->ra_ntags, tag);
	}
}

/*
 * What a meta value may say, as dnsdist 1.8 names them: a name alone, or
 * (those with a sub-key) "name:sub-key".  "pools" is dnsdist 1.9's.
 */
static const struct {
	const char	*mn_name;
	uint8_t		 mn_kind;
	uint8_t		 mn_sub;	/* MN_*: what may follow a ':' */
} metanames[] = {
#define MN_NONE		0
#define MN_TEXT		1	/* a name, as written */
#define MN_LOWER	2	/* a name, in lower case */
#define MN_NUMBER	3	/* 0 to 255 */
	{ "b64-content", RMETA_B64, MN_NONE },
	{ "tags", RMETA_TAGS, MN_NONE },
	{ "tag", RMETA_TAG, MN_TEXT },
	{ "pool", RMETA_POOL, MN_NONE },
	{ "pools", RMETA_POOL, MN_NONE },
	{ "sni", RMETA_SNI, MN_NONE },
	{ "doh-header", RMETA_DOHHEADER, MN_LOWER },
	{ "doh-host", RMETA_DOHHOST, MN_NONE },
	{ "doh-path", RMETA_DOHPATH, MN_NONE },
	{ "doh-query-string", RMETA_DOHQUERY, MN_NONE },
	{ "doh-scheme", RMETA_DOHSCHEME, MN_NONE },
	{ "proxy-protocol-value", RMETA_PPVALUE, MN_NUMBER },
	{ "proxy-protocol-values", RMETA_PPVALUES, MN_NONE }
};
#define NMETANAMES	(sizeof(metanames) / sizeof(metanames[0]))

/* Parse meta value v into slot n of ra, or raise fn's error. */
static void
ra_meta(lua_State *L, struct rlog_action *ra, size_t n, const char *v,
    const char *fn)
{
	const char	*sub = strchr(v, ':');
	size_t		 i, len = sub != NULL ? (size_t)(sub - v) : strlen(v);
	char		*e;
	long		 num;

	for (i = 0; i < NMETANAMES; i++)
		if (strlen(metanames[i].mn_name) == len &&
		    strncmp(metanames[i].mn_name, v, len) == 0)
			break;
	if (i == NMETANAMES || (sub != NULL &&
	    (metanames[i].mn_sub == MN_NONE || sub[1] == '\0')))
		luaL_error(L, "%s: invalid meta value '%s' (b64-content, "
		    "doh-header:NAME, doh-host, doh-path, doh-query-string, "
		    "doh-scheme, pool, pools, proxy-protocol-value:N, "
		    "proxy-protocol-values, sni, tag:NAME, tags are)", fn, v);
	ra->ra_metakind[n] = metanames[i].mn_kind;
	sub = sub != NULL ? sub + 1 : "";
	if (metanames[i].mn_sub == MN_NUMBER) {
		num = strtol(sub, &e, 10);
		if (*e != '\0' || num < 0 || num > 255)
			luaL_error(L, "%s: meta value '%s': the PROXY protocol "
			    "value's type is a number from 0 to 255", fn, v);
		ra->ra_metatlv[n] = (uint8_t)num;
	}
	strlist_add(L, &ra->ra_metaval, &n, sub);
	if (metanames[i].mn_sub == MN_LOWER)
		for (e = ra->ra_metaval[n - 1]; *e != '\0'; e++)
			*e = (char)tolower((unsigned char)*e);
}

static void
ra_metas(lua_State *L, struct rlog_action *ra, int idx, const char *fn)
{
	size_t	n = 0;

	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: meta keys and values are strings",
			    fn);
		if (n == PBMSG_MAXMETA)
			luaL_error(L, "%s: at most %d meta keys", fn,
			    PBMSG_MAXMETA);
		ra_meta(L, ra, n, lua_tostring(L, -1), fn);
		strlist_add(L, &ra->ra_metakey, &n, lua_tostring(L, -2));
		ra->ra_nmeta = n;
		lua_pop(L, 1);
	}
}

/* RemoteLogAction(logger[, alterFunction[, options[, metas]]]) */
static int
l_remotelogaction(lua_State *L)
{
	struct rlog_action	*ra;

	lua_settop(L, 4);	/* the action goes above the arguments */
	ra = ra_new(L, ACT_REMOTELOG, 1, 2, "RemoteLogAction");
	ra_options(L, ra, 3, "RemoteLogAction");
	ra_metas(L, ra, 4, "RemoteLogAction");
	return 1;
}

/*
 * RemoteLogResponseAction(logger[, alterFunction[, includeCNAME[,
 * options[, metas]]]])
 */
static int
l_remotelogresponseaction(lua_State *L)
{
	struct rlog_action	*ra;

	lua_settop(L, 5);
	ra = ra_new(L, ACT_RREMOTELOG, 1, 2, "RemoteLogResponseAction");
	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TBOOLEAN);
		ra->ra_cname = lua_toboolean(L, 3);
	}
	ra_options(L, ra, 4, "RemoteLogResponseAction");
	ra_metas(L, ra, 5, "RemoteLogResponseAction");
	return 1;
}

static int
dnstap_action(lua_State *L, int kind)
{
	const char		*id = luaL_checkstring(L, 1);
	struct rlog_action	*ra;

	lua_settop(L, 3);
	ra = ra_new(L, kind, 2, 3, kind == ACT_DNSTAP ? "DnstapLogAction" :
	    "DnstapLogResponseAction");
	if ((ra->ra_serverid = strdup(id)) == NULL)
		return luaL_error(L, "out of memory");
	return 1;
}

static int
l_dnstaplogaction(lua_State *L)
{
	return dnstap_action(L, ACT_DNSTAP);
}

static int
l_dnstaplogresponseaction(lua_State *L)
{
	return dnstap_action(L, ACT_RDNSTAP);
}

/* The packet path: build, alter, queue. */

struct tapmsg {
	size_t	tm_len;		/* extra's; SIZE_MAX: none */
	char	tm_extra[1024];
};

static _Thread_local uint8_t	out[RLOG_MSGMAX];

static void
meta_tags(struct pbmsg *pm, const char *key, const struct dnsq *dq,
    const char *only)
{
	char	t[256];
	int	i;

	(void)pbmsg_add_meta(pm, key, NULL);
	for (i = 0; i < dq->dq_ntags; i++) {
		if (only != NULL) {
			if (strcmp(dq->dq_tags[i].t_name, only) == 0)
				(void)pbmsg_add_meta(pm, key,
				    dq->dq_tags[i].t_value);
			continue;
		}
		snprintf(t, sizeof(t), "%s%s%s", dq->dq_tags[i].t_name,
		    dq->dq_tags[i].t_value[0] != '\0' ? ":" : "",
		    dq->dq_tags[i].t_value);
		(void)pbmsg_add_meta(pm, key, t);
	}
}

/* The PROXY protocol values of dq: type's, or all as "type:value". */
static void
meta_ppvalues(struct pbmsg *pm, const char *key, const struct dnsq *dq,
    int type)
{
	const uint8_t	*v;
	char		 t[1024];
	size_t		 off = 0;
	uint16_t	 vlen;
	uint8_t		 tt;

	while (dq->dq_pp != NULL && proxyproto_tlv_next(dq->dq_pp->pt_buf,
	    dq->dq_pp->pt_len, &off, &tt, &v, &vlen)) {
		if (type == -1)
			snprintf(t, sizeof(t), "%u:%.*s", tt, (int)vlen,
			    (const char *)v);
		else if (tt == type)
			snprintf(t, sizeof(t), "%.*s", (int)vlen,
			    (const char *)v);
		else
			continue;
		(void)pbmsg_add_meta(pm, key, t);
	}
}

/* Meta i of ra: its values from dq. */
static void
pb_meta(struct pbmsg *pm, const struct rlog_action *ra, size_t i,
    const struct dnsq *dq)
{
	const struct doh_request *dr = dq->dq_http;
	const char	*k = ra->ra_metakey[i], *sub = ra->ra_metaval[i];
	const char	*v = NULL;
	char		*b64;
	size_t		 n, j;
	int		 kind = ra->ra_metakind[i];

	switch (kind) {
	case RMETA_TAGS:
		meta_tags(pm, k, dq, NULL);
		return;
	case RMETA_TAG:
		meta_tags(pm, k, dq, sub);
		return;
	case RMETA_PPVALUES:
		(void)pbmsg_add_meta(pm, k, NULL);
		meta_ppvalues(pm, k, dq, -1);
		return;
	case RMETA_PPVALUE:
		(void)pbmsg_add_meta(pm, k, NULL);
		meta_ppvalues(pm, k, dq, ra->ra_metatlv[i]);
		return;
	case RMETA_B64:
		n = sodium_base64_ENCODED_LEN(dq->dq_len,
		    sodium_base64_VARIANT_ORIGINAL);
		if (n > sizeof(out))
			break;
		b64 = (char *)out;
		sodium_bin2base64(b64, n, dq->dq_pkt, dq->dq_len,
		    sodium_base64_VARIANT_ORIGINAL);
		v = b64;
		break;
	case RMETA_POOL:
		v = dq->dq_pool;
		break;
	case RMETA_SNI:
		v = dq->dq_sni;
		break;
	case RMETA_DOHHEADER:
		for (j = 0; dr != NULL && j < dr->dr_nheaders; j++)
			if (strcmp(dr->dr_headers[j].h_name, sub) == 0) {
				v = dr->dr_headers[j].h_value;
				break;
			}
		break;
	case RMETA_DOHHOST:
	case RMETA_DOHPATH:
	case RMETA_DOHQUERY:
	case RMETA_DOHSCHEME:
		if (dr != NULL)
			v = kind == RMETA_DOHHOST ? dr->dr_host :
			    kind == RMETA_DOHPATH ? dr->dr_path :
			    kind == RMETA_DOHQUERY ? dr->dr_query :
			    dr->dr_scheme;
		break;
	}
	(void)pbmsg_add_meta(pm, k, v);
}

static void
pb_encrypt_from(struct pbmsg *pm, const struct rlog_action *ra,
    const struct sockaddr *sa)
{
	struct sockaddr_storage	ss;

	memcpy(&ss, sa, addr_len(sa));
	if (ipcipher_apply(ra->ra_ipkey, (struct sockaddr *)&ss, false) == -1)
		return;
	if (ss.ss_family == AF_INET)
		(void)pbmsg_set_bytes(pm, PBF_FROM,
		    &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		(void)pbmsg_set_bytes(pm, PBF_FROM,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
}

static void
pb_extras(struct pbmsg *pm, const struct rlog_action *ra,
    const struct dnsq *dq)
{
	char	t[256];
	size_t	i;
	int	j;

	if (ra->ra_serverid != NULL)
		(void)pbmsg_set_bytes(pm, PBF_SERVERID, ra->ra_serverid,
		    strlen(ra->ra_serverid));
	/* ipEncryptKey: the client's address, anonymised. */
	if (ra->ra_ipcipher)
		pb_encrypt_from(pm, ra, dq->dq_remote);
	for (j = 0; (ra->ra_alltags || ra->ra_ntags > 0) && j < dq->dq_ntags;
	    j++) {
		for (i = 0; !ra->ra_alltags && i < ra->ra_ntags; i++)
			if (strcmp(ra->ra_tags[i], dq->dq_tags[j].t_name) == 0)
				break;
		if (!ra->ra_alltags && i == ra->ra_ntags)
			continue;
		snprintf(t, sizeof(t), "%s%s%s", dq->dq_tags[j].t_name,
		    dq->dq_tags[j].t_value[0] != '\0' ? ":" : "",
		    dq->dq_tags[j].t_value);
		(void)pbmsg_add_tag(pm, t);
	}
	for (i = 0; i < ra->ra_nmeta; i++)
		pb_meta(pm, ra, i, dq);
	pbmsg_meta_fill(pm);
}

static void
remote_log(struct action *ac, struct dnsq *dq)
{
	struct rlog_action	*ra = ac->ac_u.rlog;
	bool			 resp = ac->ac_kind >= ACT_RALLOW;
	struct pbmsg		*pm;
	struct tapmsg		 tm;
	size_t			 n;

	if (ac->ac_kind == ACT_DNSTAP || ac->ac_kind == ACT_RDNSTAP) {
		tm.tm_len = SIZE_MAX;
		if (ra->ra_alter != NULL)
			dlua_hook_alter(ra->ra_alter, dq, TAPMSG_MT, &tm);
		n = dnstap_pack(dq, resp, ra->ra_serverid,
		    tm.tm_len != SIZE_MAX ? tm.tm_extra : NULL, tm.tm_len,
		    out, sizeof(out));
	} else {
		pm = pbmsg_get();
		pbmsg_from_dq(pm, dq, resp, ra->ra_cname);
		pb_extras(pm, ra, dq);
		if (ra->ra_alter != NULL)
			dlua_hook_alter(ra->ra_alter, dq, PBMSG_MT, pm);
		n = pbmsg_pack(pm, out, sizeof(out));
	}
	if (n == 0) {
		atomic_fetch_add_explicit(&ra->ra_log->rl_dropped, 1,
		    memory_order_relaxed);
		return;
	}
	rlog_push(ra->ra_log, out, n);
}

/* The message objects, valid during the alter function only. */

static void *
msg_arg(lua_State *L, const char *mt)
{
	void	**u = luaL_checkudata(L, 1, mt);

	if (*u == NULL)
		luaL_error(L, "this message object is no longer valid");
	return *u;
}

#define PM(L)	((struct pbmsg *)msg_arg(L, PBMSG_MT))

static int
pm_full(lua_State *L, int rc)
{
	if (rc == -1)
		return luaL_error(L, "the protobuf message is full");
	return 0;
}

static int
l_pm_settag(lua_State *L)
{
	return pm_full(L, pbmsg_add_tag(PM(L), luaL_checkstring(L, 2)));
}

static int
l_pm_settagarray(lua_State *L)
{
	struct pbmsg	*pm = PM(L);

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_error(L, "setTagArray: tags are strings");
		pm_full(L, pbmsg_add_tag(pm, lua_tostring(L, -1)));
		lua_pop(L, 1);
	}
	return 0;
}

/* A ComboAddress or an address as text at idx. */
static void
pm_addr_arg(lua_State *L, int idx, struct sockaddr_storage *ss)
{
	socklen_t	len;
	const char	*s;

	if (lua_type(L, idx) == LUA_TSTRING) {
		s = lua_tostring(L, idx);
		if (addr_parse(s, 0, ss, &len) == -1)
			luaL_error(L, "bad address '%s'", s);
		return;
	}
	memcpy(ss, luaL_checkudata(L, idx, DLUA_CA_MT), sizeof(*ss));
}

static int
pm_setaddr(lua_State *L, int bytes, int port)
{
	struct pbmsg		*pm = PM(L);
	struct sockaddr_storage	 ss;
	const void		*p;
	size_t			 n;

	pm_addr_arg(L, 2, &ss);
	if (ss.ss_family == AF_INET6) {
		p = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		n = 16;
	} else {
		p = &((struct sockaddr_in *)&ss)->sin_addr;
		n = 4;
	}
	pm_full(L, pbmsg_set_bytes(pm, bytes, p, n));
	if (!lua_isnoneornil(L, 3))
		pbmsg_set_num(pm, port, (uint64_t)luaL_checkinteger(L, 3));
	else if (addr_port((struct sockaddr *)&ss) != 0)
		pbmsg_set_num(pm, port, addr_port((struct sockaddr *)&ss));
	return 0;
}

static int
l_pm_setrequestor(lua_State *L)
{
	return pm_setaddr(L, PBF_FROM, PBF_FROMPORT);
}

static int
l_pm_setresponder(lua_State *L)
{
	return pm_setaddr(L, PBF_TO, PBF_TOPORT);
}

static int
pm_setstring(lua_State *L, int field)
{
	size_t		 n;
	const char	*s = luaL_checklstring(L, 2, &n);

	return pm_full(L, pbmsg_set_bytes(PM(L), field, s, n));
}

static int
l_pm_setserveridentity(lua_State *L)
{
	return pm_setstring(L, PBF_SERVERID);
}

static int
l_pm_setrequestorid(lua_State *L)
{
	return pm_setstring(L, PBF_REQUESTORID);
}

static int
l_pm_setdeviceid(lua_State *L)
{
	return pm_setstring(L, PBF_DEVICEID);
}

static int
l_pm_setdevicename(lua_State *L)
{
	return pm_setstring(L, PBF_DEVICENAME);
}

static int
l_pm_setednssubnet(lua_State *L)
{
	struct pbmsg	*pm = PM(L);
	struct netmask	 nm;
	const char	*s = luaL_checkstring(L, 2);

	if (netmask_parse(s, &nm) == -1)
		return luaL_error(L, "setEDNSSubnet: bad netmask '%s'", s);
	return pm_full(L, pbmsg_set_bytes(pm, PBF_ECS, nm.nm_addr,
	    nm.nm_family == AF_INET6 ? 16 : 4));
}

static int
l_pm_setbytes(lua_State *L)
{
	pbmsg_set_num(PM(L), PBF_INBYTES, (uint64_t)luaL_checkinteger(L, 2));
	return 0;
}

static int
pm_settimes(lua_State *L, int sec, int usec)
{
	struct pbmsg	*pm = PM(L);

	pbmsg_set_num(pm, sec, (uint64_t)luaL_checkinteger(L, 2));
	pbmsg_set_num(pm, usec, (uint64_t)luaL_checkinteger(L, 3));
	return 0;
}

static int
l_pm_settime(lua_State *L)
{
	return pm_settimes(L, PBF_TIMESEC, PBF_TIMEUSEC);
}

static int
l_pm_setquerytime(lua_State *L)
{
	return pm_settimes(L, PBF_QTIMESEC, PBF_QTIMEUSEC);
}

static int
l_pm_setresponsecode(lua_State *L)
{
	pbmsg_set_num(PM(L), PBF_RCODE, (uint64_t)luaL_checkinteger(L, 2));
	return 0;
}

/* setProtobufResponseType([sec, usec]): a response, queried then. */
static int
l_pm_setprotobufresponsetype(lua_State *L)
{
	pbmsg_set_response(PM(L), (uint64_t)luaL_optinteger(L, 2, 0),
	    (uint32_t)luaL_optinteger(L, 3, 0));
	return 0;
}

static int
l_pm_addresponserr(lua_State *L)
{
	struct pbmsg	*pm = PM(L);
	const char	*name = luaL_checkstring(L, 2);
	lua_Integer	 type = luaL_checkinteger(L, 3);
	lua_Integer	 cls = luaL_checkinteger(L, 4);
	lua_Integer	 ttl = luaL_checkinteger(L, 5);
	size_t		 n;
	const char	*blob = luaL_checklstring(L, 6, &n);

	return pm_full(L, pbmsg_add_rr(pm, name, (uint16_t)type,
	    (uint16_t)cls, (uint32_t)ttl, blob, n));
}

static int
l_pm_todebugstring(lua_State *L)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	pbmsg_debug(PM(L), &sb);
	lua_pushstring(L, sbuf_text(&sb));
	sbuf_free(&sb);
	return 1;
}

static int
l_pm_absent(lua_State *L)
{
	return luaL_error(L, "%s is not supported on protobuf messages",
	    lua_tostring(L, lua_upvalueindex(1)));
}

static int
l_tap_setextra(lua_State *L)
{
	struct tapmsg	*tm = msg_arg(L, TAPMSG_MT);
	size_t		 n;
	const char	*s = luaL_checklstring(L, 2, &n);

	if (n > sizeof(tm->tm_extra))
		return luaL_error(L, "setExtra: at most %d bytes",
		    (int)sizeof(tm->tm_extra));
	memcpy(tm->tm_extra, s, n);
	tm->tm_len = n;
	return 0;
}

static int
l_tap_todebugstring(lua_State *L)
{
	struct tapmsg	*tm = msg_arg(L, TAPMSG_MT);

	lua_pushfstring(L, "dnstap message, extra: %s",
	    tm->tm_len != SIZE_MAX ? "set" : "none");
	return 1;
}

void
dlua_open_remotelog(lua_State *L)
{
	static const luaL_Reg rlog_methods[] = {
		{ "toString", l_rlog_tostring },
		{ NULL, NULL }
	};
	static const luaL_Reg pm_methods[] = {
		{ "setTag", l_pm_settag },
		{ "setTagArray", l_pm_settagarray },
		{ "setRequestor", l_pm_setrequestor },
		{ "setRequestorFromString", l_pm_setrequestor },
		{ "setResponder", l_pm_setresponder },
		{ "setResponderFromString", l_pm_setresponder },
		{ "setServerIdentity", l_pm_setserveridentity },
		{ "setRequestorId", l_pm_setrequestorid },
		{ "setDeviceId", l_pm_setdeviceid },
		{ "setDeviceName", l_pm_setdevicename },
		{ "setEDNSSubnet", l_pm_setednssubnet },
		{ "setBytes", l_pm_setbytes },
		{ "setTime", l_pm_settime },
		{ "setQueryTime", l_pm_setquerytime },
		{ "setResponseCode", l_pm_setresponsecode },
		{ "setProtobufResponseType", l_pm_setprotobufresponsetype },
		{ "addResponseRR", l_pm_addresponserr },
		{ "toDebugString", l_pm_todebugstring },
		{ NULL, NULL }
	};
	static const char *const pm_absent[] = { "setQuestion", NULL };
	static const luaL_Reg tap_methods[] = {
		{ "setExtra", l_tap_setextra },
		{ "toDebugString", l_tap_todebugstring },
		{ NULL, NULL }
	};
	static const luaL_Reg globals[] = {
		{ "newRemoteLogger", l_newremotelogger },
		{ "newFrameStreamUnixLogger", l_newframestreamunixlogger },
		{ "newFrameStreamTcpLogger", l_newframestreamtcplogger },
		{ "RemoteLogAction", l_remotelogaction },
		{ "RemoteLogResponseAction", l_remotelogresponseaction },
		{ "DnstapLogAction", l_dnstaplogaction },
		{ "DnstapLogResponseAction", l_dnstaplogresponseaction },
		{ NULL, NULL }
	};
	int	i;

	/* Packet threads read it: written once, not again by reloads. */
	if (rule_remote_log != remote_log)
		rule_remote_log = remote_log;
	dlua_new_type(L, RLOG_MT, rlog_methods, l_rlog_tostring, l_rlog_gc);
	dlua_new_type(L, PBMSG_MT, pm_methods, NULL, NULL);
	luaL_getmetatable(L, PBMSG_MT);
	lua_getfield(L, -1, "__index");
	for (i = 0; pm_absent[i] != NULL; i++) {
		lua_pushstring(L, pm_absent[i]);
		lua_pushcclosure(L, l_pm_absent, 1);
		lua_setfield(L, -2, pm_absent[i]);
	}
	lua_pop(L, 2);
	dlua_new_type(L, TAPMSG_MT, tap_methods, NULL, NULL);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
