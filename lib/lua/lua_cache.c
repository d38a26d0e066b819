/*
 * Lua bindings for the packet cache: newPacketCache(), the PacketCache
 * object's methods, getPool():setCache()/getCache()/unsetCache(), and
 * the cleaning settings, with dnsdist's names and output.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "dnsname.h"
#include "dnspacket.h"
#include "lua.h"
#include "policy.h"
#include "server.h"
#include "settings.h"

#define CACHE_MT	"dnsdist.PacketCache"

static const char *const cache_options[] = {
	"maxTTL", "minTTL", "temporaryFailureTTL", "staleTTL", "dontAge",
	"numberOfShards", "deferrableInsertLock", "maxNegativeTTL",
	"parseECS", "keepStaleData", "cookieHashing", "skipOptions",
	"maximumEntrySize", NULL
};

static struct pcache *
check_cache(lua_State *L, int idx)
{
	return pcache_current(*(struct pcache **)luaL_checkudata(L, idx,
	    CACHE_MT));
}

static void
push_cache(lua_State *L, struct pcache *pc)
{
	struct pcache	**u = lua_newuserdata(L, sizeof(*u));

	*u = pc;
	luaL_setmetatable(L, CACHE_MT);
}

static uint32_t
opt_u32(lua_State *L, int t, const char *key, uint32_t def)
{
	lua_Integer	v = dlua_opt_int(L, t, key, def);

	if (v < 0 || v > UINT32_MAX)
		luaL_error(L, "newPacketCache: '%s' out of range", key);
	return (uint32_t)v;
}

/* newPacketCache(maxEntries[, {options}]), or dnsdist's old positional form. */
static int
l_newpacketcache(lua_State *L)
{
	struct pcache_config	 cfg;
	struct pcache		*pc;
	lua_Integer		 max = luaL_checkinteger(L, 1), shards, size;
	size_t			 i, j;
	const char		*key;

	if (max <= 0)
		return luaL_error(L, "newPacketCache: the maximum number of "
		    "entries must be positive");
	pcache_config_default(&cfg, (size_t)max);
	if (lua_type(L, 2) == LUA_TTABLE) {
		lua_pushnil(L);
		while (lua_next(L, 2) != 0) {
			lua_pop(L, 1);
			if (lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "newPacketCache: option "
				    "names must be strings");
			key = lua_tostring(L, -1);
			for (j = 0; cache_options[j] != NULL; j++)
				if (strcmp(key, cache_options[j]) == 0)
					break;
			if (cache_options[j] == NULL)
				return luaL_error(L, "newPacketCache: unknown "
				    "option '%s'", key);
		}
		cfg.pc_maxttl = opt_u32(L, 2, "maxTTL", cfg.pc_maxttl);
		cfg.pc_minttl = opt_u32(L, 2, "minTTL", cfg.pc_minttl);
		cfg.pc_tempfailttl = opt_u32(L, 2, "temporaryFailureTTL",
		    cfg.pc_tempfailttl);
		cfg.pc_stalettl = opt_u32(L, 2, "staleTTL", cfg.pc_stalettl);
		cfg.pc_maxnegttl = opt_u32(L, 2, "maxNegativeTTL",
		    cfg.pc_maxnegttl);
		cfg.pc_dontage = dlua_opt_bool(L, 2, "dontAge", 0);
		cfg.pc_keepstale = dlua_opt_bool(L, 2, "keepStaleData", 0);
		cfg.pc_parseecs = dlua_opt_bool(L, 2, "parseECS", 0);
		cfg.pc_cookiehashing = dlua_opt_bool(L, 2, "cookieHashing", 0);
		cfg.pc_waitinsert = !dlua_opt_bool(L, 2,
		    "deferrableInsertLock", 1);
		size = dlua_opt_int(L, 2, "maximumEntrySize",
		    PCACHE_MAXPACKET);
		if (size < DNS_HDRLEN || size > PCACHE_MAXPACKET)
			return luaL_error(L, "newPacketCache: "
			    "'maximumEntrySize' must be %d to %d", DNS_HDRLEN,
			    PCACHE_MAXPACKET);
		cfg.pc_maxentrysize = (size_t)size;
		shards = dlua_opt_int(L, 2, "numberOfShards", 20);
		if (shards <= 0 || shards > 65536)
			return luaL_error(L, "newPacketCache: "
			    "'numberOfShards' out of range");
		cfg.pc_nshards = (size_t)shards;
		if (lua_getfield(L, 2, "skipOptions") == LUA_TTABLE) {
			for (i = 1; lua_rawgeti(L, -1, (lua_Integer)i) !=
			    LUA_TNIL; i++) {
				if (!lua_isinteger(L, -1) ||
				    lua_tointeger(L, -1) < 0 ||
				    lua_tointeger(L, -1) > 65535 ||
				    cfg.pc_nskipopts == PCACHE_MAXSKIP)
					return luaL_error(L, "newPacketCache: "
					    "'skipOptions' takes up to %d "
					    "option codes", PCACHE_MAXSKIP);
				cfg.pc_skipopts[cfg.pc_nskipopts++] =
				    (uint16_t)lua_tointeger(L, -1);
				lua_pop(L, 1);
			}
			lua_pop(L, 1);
		} else if (!lua_isnil(L, -1))
			return luaL_error(L, "newPacketCache: 'skipOptions' "
			    "must be a table of option codes");
		lua_pop(L, 1);
	} else if (!lua_isnoneornil(L, 2)) {
		/* maxEntries, maxTTL, minTTL, temporaryFailureTTL, staleTTL, dontAge */
		cfg.pc_maxttl = (uint32_t)luaL_optinteger(L, 2, cfg.pc_maxttl);
		cfg.pc_minttl = (uint32_t)luaL_optinteger(L, 3, cfg.pc_minttl);
		cfg.pc_tempfailttl = (uint32_t)luaL_optinteger(L, 4,
		    cfg.pc_tempfailttl);
		cfg.pc_stalettl = (uint32_t)luaL_optinteger(L, 5,
		    cfg.pc_stalettl);
		cfg.pc_dontage = lua_toboolean(L, 6);
	}
	if ((pc = pcache_new(&cfg)) == NULL)
		return luaL_error(L, "newPacketCache: out of memory");
	push_cache(L, pc);
	return 1;
}

static int
l_cache_tostring(lua_State *L)
{
	struct pcache_stats	st;

	pcache_get_stats(check_cache(L, 1), &st);
	lua_pushfstring(L, "%I/%I", (lua_Integer)st.entries,
	    (lua_Integer)st.maxentries);
	return 1;
}

static int
l_cache_printstats(lua_State *L)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	pcache_print_stats(check_cache(L, 1), &sb);
	dlua_printf("%s", sbuf_text(&sb));
	sbuf_free(&sb);
	return 0;
}

static int
l_cache_getstats(lua_State *L)
{
	struct pcache_stats	st;

	pcache_get_stats(check_cache(L, 1), &st);
	lua_createtable(L, 0, 9);
#define FIELD(n, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, n))
	FIELD("entries", st.entries);
	FIELD("maxEntries", st.maxentries);
	FIELD("hits", st.hits);
	FIELD("misses", st.misses);
	FIELD("deferredInserts", st.deferredinserts);
	FIELD("deferredLookups", st.deferredlookups);
	FIELD("lookupCollisions", st.lookupcollisions);
	FIELD("insertCollisions", st.insertcollisions);
	FIELD("ttlTooShorts", st.ttltooshorts);
#undef FIELD
	return 1;
}

static size_t
count_arg(lua_State *L, int idx, lua_Integer def)
{
	lua_Integer	n = luaL_optinteger(L, idx, def);

	if (n < 0)
		luaL_error(L, "the number of entries must not be negative");
	return (size_t)n;
}

static int
l_cache_expunge(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)pcache_expunge(check_cache(L, 1),
	    count_arg(L, 2, 0)));
	return 1;
}

static int
l_cache_purgeexpired(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)pcache_purge_expired(
	    check_cache(L, 1), count_arg(L, 2, 0), pcache_now()));
	return 1;
}

/* expungeByName(name[, qtype=ANY[, suffixMatch=false]]) */
static int
l_cache_expungebyname(lua_State *L)
{
	struct pcache	*pc = check_cache(L, 1);
	uint8_t		 name[DNSNAME_MAXLEN];
	size_t		 len;
	lua_Integer	 qtype;

	dlua_name_arg(L, 2, name, &len);
	qtype = luaL_optinteger(L, 3, 255);
	if (qtype < 0 || qtype > 65535)
		return luaL_error(L, "expungeByName: bad type");
	lua_pushinteger(L, (lua_Integer)pcache_expunge_name(pc, name, len,
	    (uint16_t)qtype, lua_toboolean(L, 4)));
	return 1;
}

static int
l_cache_isfull(lua_State *L)
{
	lua_pushboolean(L, pcache_is_full(check_cache(L, 1)));
	return 1;
}

static int
l_cache_dump(lua_State *L)
{
	struct pcache	*pc = check_cache(L, 1);
	const char	*path = luaL_checkstring(L, 2);
	FILE		*fp;
	size_t		 n;

	if ((fp = fopen(path, "w")) == NULL)
		return luaL_error(L, "dump: %s: %s", path, strerror(errno));
	n = pcache_dump(pc, fp, pcache_now());
	if (fclose(fp) == EOF)
		return luaL_error(L, "dump: %s: %s", path, strerror(errno));
	dlua_printf("%zu entries dumped to %s\n", n, path);
	return 0;
}

/*
 * getAddressListByDomain and getDomainListByAddress: the A and AAAA
 * records (class IN) of the cached NOERROR answers, in any section as
 * dnsdist reads them, gathered in C
 * while the cache walks (no Lua error may leave a shard locked), then
 * handed to Lua without repeats.
 */
struct addr_scan {
	uint8_t		 as_name[DNSNAME_MAXLEN];	/* the domain, or */
	size_t		 as_namelen;
	uint8_t		 as_addr[16];			/* the address */
	size_t		 as_addrlen;			/* 4 or 16 */
	const uint8_t	*as_pkt;			/* the entry walked */
	struct dnsquestion as_q;
	uint8_t		*as_out;	/* items of as_itemlen bytes */
	size_t		 as_itemlen, as_n, as_cap;
	bool		 as_nomem;
};

static void
scan_keep(struct addr_scan *as, const uint8_t *item)
{
	uint8_t	*o;
	size_t	 i;

	for (i = 0; i < as->as_n; i++)
		if (memcmp(as->as_out + i * as->as_itemlen, item,
		    as->as_itemlen) == 0)
			return;
	if (as->as_n == as->as_cap) {
		if ((o = reallocarray(as->as_out, as->as_cap * 2 + 8,
		    as->as_itemlen)) == NULL) {
			as->as_nomem = true;
			return;
		}
		as->as_out = o;
		as->as_cap = as->as_cap * 2 + 8;
	}
	memcpy(as->as_out + as->as_n++ * as->as_itemlen, item, as->as_itemlen);
}

/* A record of an entry: an address of the domain, or the address sought. */
static void
scan_record(void *arg, const struct dnsrr *rr)
{
	struct addr_scan	*as = arg;
	uint8_t			 item[1 + DNSNAME_MAXLEN];

	if (rr->rr_class != DNS_CLASS_IN ||
	    !((rr->rr_type == DNS_TYPE_A && rr->rr_rdlen == 4) ||
	    (rr->rr_type == DNS_TYPE_AAAA && rr->rr_rdlen == 16)))
		return;
	memset(item, 0, sizeof(item));
	if (as->as_namelen != 0) {
		item[0] = (uint8_t)rr->rr_rdlen;
		memcpy(item + 1, as->as_pkt + rr->rr_rdoff, rr->rr_rdlen);
		scan_keep(as, item);
	} else if (rr->rr_rdlen == as->as_addrlen && memcmp(as->as_pkt +
	    rr->rr_rdoff, as->as_addr, as->as_addrlen) == 0) {
		item[0] = (uint8_t)as->as_q.q_namelen;
		memcpy(item + 1, as->as_q.q_lname, as->as_q.q_namelen);
		scan_keep(as, item);
	}
}

static void
scan_entry(void *arg, const uint8_t *pkt, size_t len)
{
	struct addr_scan	*as = arg;

	if (dnspacket_question(pkt, len, &as->as_q) == -1 ||
	    dnspacket_rcode(pkt) != DNS_RCODE_NOERROR ||
	    (as->as_namelen != 0 && !dnsname_equal(as->as_q.q_name,
	    as->as_q.q_namelen, as->as_name, as->as_namelen)))
		return;
	as->as_pkt = pkt;
	dnspacket_walk(pkt, len, as->as_q.q_end, scan_record, as);
}

static int
scan_push(lua_State *L, struct pcache *pc, struct addr_scan *as)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	const uint8_t		*it;
	size_t			 i;

	as->as_itemlen = as->as_namelen != 0 ? 17 : 1 + DNSNAME_MAXLEN;
	pcache_walk(pc, scan_entry, as);
	if (as->as_nomem) {
		free(as->as_out);
		return luaL_error(L, "out of memory");
	}
	lua_createtable(L, (int)as->as_n, 0);
	for (i = 0; i < as->as_n; i++) {
		it = as->as_out + i * as->as_itemlen;
		memset(&ss, 0, sizeof(ss));
		if (as->as_namelen != 0 && it[0] == 4) {
			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, it + 1, 4);
			dlua_push_ca(L, (struct sockaddr *)&ss);
		} else if (as->as_namelen != 0) {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, it + 1, 16);
			dlua_push_ca(L, (struct sockaddr *)&ss);
		} else
			dlua_push_dnsname(L, it + 1, it[0]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(as->as_out);
	return 1;
}

/* cache:getAddressListByDomain(name): ComboAddresses of its cached answers. */
static int
l_cache_addresses(lua_State *L)
{
	struct pcache	*pc = check_cache(L, 1);
	struct addr_scan as;

	memset(&as, 0, sizeof(as));
	dlua_name_arg(L, 2, as.as_name, &as.as_namelen);
	return scan_push(L, pc, &as);
}

/* cache:getDomainListByAddress(address): the names whose answers hold it. */
static int
l_cache_domains(lua_State *L)
{
	struct pcache		*pc = check_cache(L, 1);
	struct addr_scan	 as;
	struct sockaddr_storage	 ss;

	memset(&as, 0, sizeof(as));
	dlua_addr_arg(L, 2, &ss, "getDomainListByAddress");
	if (ss.ss_family == AF_INET) {
		as.as_addrlen = 4;
		memcpy(as.as_addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		as.as_addrlen = 16;
		memcpy(as.as_addr, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    16);
	}
	return scan_push(L, pc, &as);
}

static struct pool *
check_pool(lua_State *L)
{
	struct pool	*pl;

	pl = pool_get(*(const char **)luaL_checkudata(L, 1, DLUA_POOL_MT),
	    true);
	if (pl == NULL)
		luaL_error(L, "out of memory");
	return pl;
}

static int
l_pool_setcache(lua_State *L)
{
	check_pool(L)->pl_cache = check_cache(L, 2);
	return 0;
}

static int
l_pool_getcache(lua_State *L)
{
	struct pool	*pl = check_pool(L);

	if (pl->pl_cache == NULL)
		lua_pushnil(L);
	else
		push_cache(L, pl->pl_cache);
	return 1;
}

static int
l_pool_setecs(lua_State *L)
{
	struct pool	*pl = check_pool(L);

	luaL_checktype(L, 2, LUA_TBOOLEAN);
	pl->pl_ecs = lua_toboolean(L, 2);
	return 0;
}

static int
l_pool_getecs(lua_State *L)
{
	lua_pushboolean(L, check_pool(L)->pl_ecs);
	return 1;
}

static int
l_pool_unsetcache(lua_State *L)
{
	check_pool(L)->pl_cache = NULL;
	return 0;
}

static int
l_setcachecleaningdelay(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n <= 0 || n > 86400)
		return luaL_error(L, "setCacheCleaningDelay: the delay must be "
		    "between 1 and 86400 seconds");
	settings.st_cachecleaningdelay = (int)n;
	return 0;
}

static int
l_setcachecleaningpercentage(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > 100)
		return luaL_error(L, "setCacheCleaningPercentage: the "
		    "percentage must be between 0 and 100");
	settings.st_cachecleaningpct = (int)n;
	return 0;
}

static int
l_setstalecacheentriesttl(lua_State *L)
{
	lua_Integer	n = luaL_checkinteger(L, 1);

	if (n < 0 || n > UINT32_MAX)
		return luaL_error(L, "setStaleCacheEntriesTTL: out of range");
	settings.st_staleentriesttl = (uint32_t)n;
	return 0;
}

static const luaL_Reg cache_methods[] = {
	{ "printStats", l_cache_printstats },
	{ "getStats", l_cache_getstats },
	{ "expunge", l_cache_expunge },
	{ "expungeByName", l_cache_expungebyname },
	{ "purgeExpired", l_cache_purgeexpired },
	{ "isFull", l_cache_isfull },
	{ "toString", l_cache_tostring },
	{ "dump", l_cache_dump },
	{ "getAddressListByDomain", l_cache_addresses },
	{ "getDomainListByAddress", l_cache_domains },
	{ NULL, NULL }
};

static const luaL_Reg pool_methods[] = {
	{ "setCache", l_pool_setcache },
	{ "getCache", l_pool_getcache },
	{ "unsetCache", l_pool_unsetcache },
	{ "setECS", l_pool_setecs },
	{ "getECS", l_pool_getecs },
	{ NULL, NULL }
};

static const luaL_Reg globals[] = {
	{ "newPacketCache", l_newpacketcache },
	{ "setCacheCleaningDelay", l_setcachecleaningdelay },
	{ "setCacheCleaningPercentage", l_setcachecleaningpercentage },
	{ "setStaleCacheEntriesTTL", l_setstalecacheentriesttl },
	{ NULL, NULL }
};

void
dlua_open_cache(lua_State *L)
{
	luaL_newmetatable(L, CACHE_MT);
	lua_newtable(L);
	luaL_setfuncs(L, cache_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_cache_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	/* The pool class is made by dlua_open_server(). */
	luaL_getmetatable(L, DLUA_POOL_MT);
	lua_getfield(L, -1, "__index");
	luaL_setfuncs(L, pool_methods, 0);
	lua_pop(L, 2);
	lua_pushglobaltable(L);
	luaL_setfuncs(L, globals, 0);
	lua_pop(L, 1);
}
