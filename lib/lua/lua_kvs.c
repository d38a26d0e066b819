/*
 * Lua bindings for the key-value stores: newCDBKVStore(), newLMDBKVStore(),
 * the KeyValueLookupKey*() keys, the KeyValueStore*Lookup{Rule,Action}
 * selectors and actions, and the KeyValueStore object's methods.
 */
#include <sys/types.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"
#include "kvs.h"
#include "lua.h"
#include "rule.h"

#define KVS_MT		"dnsdist.KeyValueStore"
#define KVSKEY_MT	"dnsdist.KeyValueLookupKey"

static struct kvs *
check_kvs(lua_State *L, int idx)
{
	return *(struct kvs **)luaL_checkudata(L, idx, KVS_MT);
}

static struct kvs_key *
check_key(lua_State *L, int idx)
{
	return *(struct kvs_key **)luaL_checkudata(L, idx, KVSKEY_MT);
}

static void
push_kvs(lua_State *L, struct kvs *kv)
{
	struct kvs	**u = lua_newuserdata(L, sizeof(*u));

	*u = kv;
	luaL_setmetatable(L, KVS_MT);
}

static int
l_newcdbkvstore(lua_State *L)
{
	const char	*path = luaL_checkstring(L, 1);
	lua_Integer	 refresh = luaL_checkinteger(L, 2);
	struct kvs	*kv;
	char		 err[512];

	if (refresh < 0 || refresh > 86400 * 365)
		return luaL_error(L, "newCDBKVStore: the refresh delay must be "
		    "0 (never) or a number of seconds");
	if ((kv = kvs_cdb_new(path, (int)refresh, err, sizeof(err))) == NULL)
		return luaL_error(L, "newCDBKVStore: %s", err);
	push_kvs(L, kv);
	return 1;
}

static int
l_newlmdbkvstore(lua_State *L)
{
	const char	*path = luaL_checkstring(L, 1);
	const char	*db = luaL_checkstring(L, 2);
	struct kvs	*kv;
	char		 err[512];

	if ((kv = kvs_lmdb_new(path, db, lua_toboolean(L, 3), err,
	    sizeof(err))) == NULL)
		return luaL_error(L, "newLMDBKVStore: %s", err);
	push_kvs(L, kv);
	return 1;
}

static int
l_kvs_gc(lua_State *L)
{
	struct kvs	**u = luaL_checkudata(L, 1, KVS_MT);

	kvs_unref(*u);
	*u = NULL;
	return 0;
}

static int
l_kvs_tostring(lua_State *L)
{
	struct kvs	*kv = check_kvs(L, 1);

	lua_pushfstring(L, "%s key-value store %s", kvs_kind(kv) == KVS_CDB ?
	    "CDB" : "LMDB", kvs_path(kv));
	return 1;
}

/* Push the value found, or "" when there is none. */
static int
push_value(lua_State *L, struct kvs *kv, const void *key, size_t klen)
{
	char	val[KVS_VALMAX];
	size_t	vlen = 0;

	if (kvs_get(kv, key, klen, val, sizeof(val), &vlen, false) <= 0)
		vlen = 0;
	lua_pushlstring(L, val, vlen);
	return 1;
}

/* kvs:lookup(key[, wireFormat]): a ComboAddress, a DNSName or a string. */
static int
l_kvs_lookup(lua_State *L)
{
	struct kvs		*kv = check_kvs(L, 1);
	const struct sockaddr	*sa;
	uint8_t			 name[DNSNAME_MAXLEN], ab[18];
	char			 key[KVS_KEYMAX];
	const char		*s;
	size_t			 len, klen;

	if ((sa = luaL_testudata(L, 2, DLUA_CA_MT)) != NULL)
		return push_value(L, kv, ab, kvs_addr_key(sa, 32, 128, false,
		    ab));
	if (luaL_testudata(L, 2, DLUA_DNSNAME_MT) != NULL) {
		dlua_name_arg(L, 2, name, &len);
		if (kvs_name_key(name, len, lua_isnoneornil(L, 3) ||
		    lua_toboolean(L, 3), key, sizeof(key), &klen) == -1)
			return luaL_error(L, "lookup: name too long");
		return push_value(L, kv, key, klen);
	}
	s = luaL_checklstring(L, 2, &len);
	return push_value(L, kv, s, len);
}

static int
suffix_one(const void *key, size_t klen, void *arg)
{
	lua_State	*L = arg;
	struct kvs	*kv = check_kvs(L, 1);
	char		 val[KVS_VALMAX];
	size_t		 vlen;

	if (kvs_get(kv, key, klen, val, sizeof(val), &vlen, false) <= 0)
		return 0;
	lua_pushlstring(L, val, vlen);
	return 1;
}

/* kvs:lookupSuffix(name[, minLabels[, wireFormat]]) */
static int
l_kvs_lookupsuffix(lua_State *L)
{
	struct dnsquestion	q;
	struct dnsq		dq;
	struct kvs_key		kk;
	lua_Integer		min = luaL_optinteger(L, 3, 0);

	(void)check_kvs(L, 1);
	if (min < 0 || min > 127)
		return luaL_error(L, "lookupSuffix: minLabels out of range");
	memset(&q, 0, sizeof(q));
	memset(&dq, 0, sizeof(dq));
	memset(&kk, 0, sizeof(kk));
	dlua_name_arg(L, 2, q.q_name, &q.q_namelen);
	dnsname_lower(q.q_name, q.q_namelen, q.q_lname);
	dq.dq_q = &q;
	kk.kk_kind = KVK_SUFFIX;
	kk.kk_minlabels = (int)min;
	kk.kk_wire = lua_isnoneornil(L, 4) || lua_toboolean(L, 4);
	if (kvs_key_each(&kk, &dq, suffix_one, L) == 0)
		lua_pushliteral(L, "");
	return 1;
}

/*
 * kvs:reload(): a CDB file is read again now, whether it changed or not;
 * true, or false and the reason.  LMDB sees committed writes without it:
 * false.
 */
static int
l_kvs_reload(lua_State *L)
{
	struct kvs	*kv = check_kvs(L, 1);
	char		 err[512];

	if (kvs_kind(kv) != KVS_CDB) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (kvs_refresh(kv, true, err, sizeof(err)) == -1) {
		lua_pushboolean(L, 0);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int
l_kvs_getstats(lua_State *L)
{
	struct kvs_stats	st;

	kvs_stats(check_kvs(L, 1), &st);
	lua_createtable(L, 0, 5);
	lua_pushinteger(L, (lua_Integer)st.ks_lookups);
	lua_setfield(L, -2, "lookups");
	lua_pushinteger(L, (lua_Integer)st.ks_hits);
	lua_setfield(L, -2, "hits");
	lua_pushinteger(L, (lua_Integer)st.ks_errors);
	lua_setfield(L, -2, "errors");
	lua_pushinteger(L, (lua_Integer)st.ks_reloads);
	lua_setfield(L, -2, "reloads");
	lua_pushinteger(L, (lua_Integer)st.ks_reloaderrors);
	lua_setfield(L, -2, "reloadErrors");
	return 1;
}

/* Keys */

static struct kvs_key *
push_key(lua_State *L, int kind)
{
	struct kvs_key	**u = lua_newuserdata(L, sizeof(*u));

	*u = NULL;
	luaL_setmetatable(L, KVSKEY_MT);
	if ((*u = kvs_key_new(kind)) == NULL)
		luaL_error(L, "out of memory");
	return *u;
}

static int
l_key_gc(lua_State *L)
{
	struct kvs_key	**u = luaL_checkudata(L, 1, KVSKEY_MT);

	kvs_key_free(*u);
	*u = NULL;
	return 0;
}

static int
l_key_tostring(lua_State *L)
{
	char	buf[256];

	kvs_key_desc(check_key(L, 1), buf, sizeof(buf));
	lua_pushstring(L, buf);
	return 1;
}

static int
l_keysourceip(lua_State *L)
{
	lua_Integer	v4 = luaL_optinteger(L, 1, 32);
	lua_Integer	v6 = luaL_optinteger(L, 2, 128);
	bool		port = lua_toboolean(L, 3);
	struct kvs_key	*kk;

	if (v4 < 0 || v4 > 32 || v6 < 0 || v6 > 128)
		return luaL_error(L, "KeyValueLookupKeySourceIP: the masks "
		    "must be 0-32 (v4) and 0-128 (v6)");
	kk = push_key(L, KVK_SOURCEIP);
	kk->kk_v4mask = (uint8_t)v4;
	kk->kk_v6mask = (uint8_t)v6;
	kk->kk_port = port;
	return 1;
}

static int
l_keyqname(lua_State *L)
{
	bool	wire = lua_isnoneornil(L, 1) || lua_toboolean(L, 1);

	push_key(L, KVK_QNAME)->kk_wire = wire;
	return 1;
}

static int
l_keysuffix(lua_State *L)
{
	lua_Integer	 min = luaL_optinteger(L, 1, 0);
	bool		 wire = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
	struct kvs_key	*kk;

	if (min < 0 || min > 127)
		return luaL_error(L, "KeyValueLookupKeySuffix: minLabels must "
		    "be 0-127");
	kk = push_key(L, KVK_SUFFIX);
	kk->kk_minlabels = (int)min;
	kk->kk_wire = wire;
	return 1;
}

static int
l_keytag(lua_State *L)
{
	const char	*tag = luaL_checkstring(L, 1);
	struct kvs_key	*kk = push_key(L, KVK_TAG);

	if ((kk->kk_tag = strdup(tag)) == NULL)
		return luaL_error(L, "out of memory");
	return 1;
}

/*
 * The arguments of the rules and actions, checked, as new references
 * (the store's and a copy of the key) in a.
 */
static void
lookup_args(lua_State *L, const char *fn, bool range, bool action,
    struct kvs_lookup_args *a, char *desc, size_t desclen)
{
	struct kvs	*kv = check_kvs(L, 1);
	struct kvs_key	*kk = check_key(L, 2), *copy;
	const char	*tag = action ? luaL_checkstring(L, 3) : NULL;
	char		 kdesc[256];

	if (range && kvs_kind(kv) != KVS_LMDB)
		luaL_error(L, "%s: range-based lookups need an LMDB store "
		    "(the keys of a CDB file are not ordered)", fn);
	if ((copy = kvs_key_new(kk->kk_kind)) == NULL)
		luaL_error(L, "out of memory");
	*copy = *kk;
	if (kk->kk_tag != NULL && (copy->kk_tag = strdup(kk->kk_tag)) == NULL) {
		free(copy);
		luaL_error(L, "out of memory");
	}
	if (tag != NULL && (a->kl_tag = strdup(tag)) == NULL) {
		kvs_key_free(copy);
		luaL_error(L, "out of memory");
	}
	kvs_ref(kv);
	a->kl_store = kv;
	a->kl_key = copy;
	a->kl_range = range;
	kvs_key_desc(kk, kdesc, sizeof(kdesc));
	snprintf(desc, desclen, "%slookup key-value store based on '%s'%s%s%s",
	    range ? "range-based " : "", kdesc, action ? " and set the result "
	    "in tag '" : "", action ? tag : "", action ? "'" : "");
}

static int
lookup_rule(lua_State *L, const char *fn, bool range)
{
	struct kvs_lookup_args	a = { NULL, NULL, false, NULL };
	struct selector		*se;
	char			desc[512];

	lookup_args(L, fn, range, false, &a, desc, sizeof(desc));
	se = dlua_sel_new(L, SEL_ALL);
	se->se_u.kvs = a;
	se->se_kind = SEL_KVS;
	selector_set_desc(se, "%s", desc);
	return 1;
}

static int
lookup_action(lua_State *L, const char *fn, bool range)
{
	struct kvs_lookup_args	a = { NULL, NULL, false, NULL };
	struct action		*ac;
	char			desc[512];

	lookup_args(L, fn, range, true, &a, desc, sizeof(desc));
	ac = dlua_act_new(L, ACT_NONE);
	ac->ac_u.kvs = a;
	ac->ac_kind = ACT_KVS;
	action_set_desc(ac, "%s", desc);
	return 1;
}

static int
l_lookuprule(lua_State *L)
{
	return lookup_rule(L, "KeyValueStoreLookupRule", false);
}

static int
l_rangelookuprule(lua_State *L)
{
	return lookup_rule(L, "KeyValueStoreRangeLookupRule", true);
}

static int
l_lookupaction(lua_State *L)
{
	return lookup_action(L, "KeyValueStoreLookupAction", false);
}

static int
l_rangelookupaction(lua_State *L)
{
	return lookup_action(L, "KeyValueStoreRangeLookupAction", true);
}

static const luaL_Reg kvs_methods[] = {
	{ "lookup", l_kvs_lookup },
	{ "lookupSuffix", l_kvs_lookupsuffix },
	{ "reload", l_kvs_reload },
	{ "getStats", l_kvs_getstats },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "newCDBKVStore", l_newcdbkvstore },
	{ "newLMDBKVStore", l_newlmdbkvstore },
	{ "KeyValueLookupKeySourceIP", l_keysourceip },
	{ "KeyValueLookupKeyQName", l_keyqname },
	{ "KeyValueLookupKeySuffix", l_keysuffix },
	{ "KeyValueLookupKeyTag", l_keytag },
	{ "KeyValueStoreLookupRule", l_lookuprule },
	{ "KeyValueStoreRangeLookupRule", l_rangelookuprule },
	{ "KeyValueStoreLookupAction", l_lookupaction },
	{ "KeyValueStoreRangeLookupAction", l_rangelookupaction },
	{ NULL, NULL }
};

void
dlua_open_kvs(lua_State *L)
{
	dlua_new_type(L, KVS_MT, kvs_methods, l_kvs_tostring, l_kvs_gc);
	dlua_new_type(L, KVSKEY_MT, NULL, l_key_tostring, l_key_gc);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
