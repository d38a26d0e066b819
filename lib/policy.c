/*
 * Pools and the built-in load-balancing policies, as dnsdist defines them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "siphash.h"

_Atomic int	policy_global = POLICY_LEASTOUTSTANDING;
_Atomic bool	policy_rr_fail_no_server;
_Atomic double	policy_weighted_factor;
_Atomic double	policy_chashed_factor;

/*
 * Bounded load, as dnsdist's balancing factors: with factor f above 0, a
 * server takes a query only while its outstanding queries are at most f
 * times its share, by weight, of those of the servers up plus this one.
 * Returns the limit per unit of weight; no limit when f is 0.
 */
static double
policy_target(const struct pool *pl, double f)
{
	double	load = 1, weight = 0;
	size_t	i;

	if (f <= 0)
		return -1;
	for (i = 0; i < pl->pl_count; i++)
		if (server_is_up(pl->pl_servers[i])) {
			load += atomic_load_explicit(
			    &pl->pl_servers[i]->ds_outstanding,
			    memory_order_relaxed);
			weight += pl->pl_servers[i]->ds_weight;
		}
	return weight > 0 ? load / weight * f : -1;
}

static bool
policy_within(const struct server *ds, double target)
{
	return target < 0 || atomic_load_explicit(&ds->ds_outstanding,
	    memory_order_relaxed) <= target * ds->ds_weight;
}
struct server	*(*policy_lua_select)(int, struct pool *,
		    const struct dnsquestion *);
const char	*(*policy_lua_name)(int);
_Atomic uint32_t policy_hash_perturbation;

static const char *policy_names[POLICY_COUNT] = {
	"leastOutstanding",
	"firstAvailable",
	"wrandom",
	"whashed",
	"chashed",
	"roundrobin",
};

const char *
policy_name(int kind)
{
	if (kind >= POLICY_COUNT && policy_lua_name != NULL)
		return policy_lua_name(kind);
	if (kind < 0 || kind >= POLICY_COUNT)
		return "unknown";
	return policy_names[kind];
}

int
policy_from_name(const char *name)
{
	int	i;

	for (i = 0; i < POLICY_COUNT; i++)
		if (strcmp(policy_names[i], name) == 0)
			return i;
	return -1;
}

uint64_t
policy_random(uint64_t *state)
{
	uint64_t	x = *state;

	if (x == 0)
		x = 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void
policy_key(uint8_t key[SIPHASH_KEYBYTES])
{
	uint32_t	p = atomic_load_explicit(&policy_hash_perturbation,
			    memory_order_relaxed);

	memset(key, 0, SIPHASH_KEYBYTES);
	memcpy(key, &p, sizeof(p));
}

uint64_t
policy_name_hash(const uint8_t *name, size_t len)
{
	uint8_t	key[SIPHASH_KEYBYTES];

	policy_key(key);
	return dnsname_hash(name, len, key);
}

static uint64_t
policy_text_hash(const char *text)
{
	uint8_t	key[SIPHASH_KEYBYTES];

	policy_key(key);
	return siphash24(key, text, strlen(text));
}

struct pool *
pool_find(struct pool *const *pools, size_t n, struct pool *def,
    const char *name)
{
	size_t	i;

	/* Most lookups are of the default pool. */
	if (name[0] == '\0' && def != NULL)
		return def;
	for (i = 0; i < n; i++)
		if (pools[i]->pl_name[0] == name[0] && (name[0] == '\0' ||
		    strcmp(pools[i]->pl_name, name) == 0))
			return pools[i];
	return NULL;
}

void
pool_free(struct pool *pl)
{
	if (pl == NULL)
		return;
	free(pl->pl_name);
	free(pl->pl_servers);
	free(pl->pl_ring);
	free(pl);
}

struct pool *
pool_get(const char *name, bool create)
{
	struct pool	*pl, **npools;

	if ((pl = pool_find(servers.sr_pools, servers.sr_npools,
	    servers.sr_default, name)) != NULL || !create)
		return pl;
	if ((pl = calloc(1, sizeof(*pl))) == NULL)
		return NULL;
	if ((pl->pl_name = strdup(name)) == NULL) {
		free(pl);
		return NULL;
	}
	pl->pl_policy = -1;
	npools = realloc(servers.sr_pools,
	    (servers.sr_npools + 1) * sizeof(*npools));
	if (npools == NULL) {
		free(pl->pl_name);
		free(pl);
		return NULL;
	}
	npools[servers.sr_npools++] = pl;
	servers.sr_pools = npools;
	if (name[0] == '\0')
		servers.sr_default = pl;
	return pl;
}

static int
pool_order_cmp(const void *a, const void *b)
{
	const struct server *x = *(struct server *const *)a;
	const struct server *y = *(struct server *const *)b;

	if (x->ds_order != y->ds_order)
		return x->ds_order < y->ds_order ? -1 : 1;
	return x->ds_num < y->ds_num ? -1 : x->ds_num > y->ds_num;
}

static int
pool_point_cmp(const void *a, const void *b)
{
	const struct chash_point *x = a, *y = b;

	if (x->cp_hash != y->cp_hash)
		return x->cp_hash < y->cp_hash ? -1 : 1;
	return x->cp_server->ds_num - y->cp_server->ds_num;
}

/*
 * The chashed ring has a point per unit of weight, so it is built only for
 * a pool that uses chashed: wrandom and whashed take any weight up to
 * INT_MAX.  Past RING_MAX points there is no ring and chashed picks as
 * whashed does.
 */
#define RING_MAX	(1 << 24)

static bool
pool_is_chashed(const struct pool *pl)
{
	int	kind = pl->pl_policy;

	if (kind < 0)
		kind = atomic_load_explicit(&policy_global,
		    memory_order_relaxed);
	return kind == POLICY_CHASHED;
}

void
pool_rebuild(struct pool *pl)
{
	struct chash_point	*ring = NULL;
	size_t			 i, n = 0;
	int			 w, j;
	char			 text[128];

	if (pl->pl_count > 1)
		qsort(pl->pl_servers, pl->pl_count, sizeof(*pl->pl_servers),
		    pool_order_cmp);
	for (i = 0; i < pl->pl_count; i++)
		n += pl->pl_servers[i]->ds_weight > 0 ?
		    (size_t)pl->pl_servers[i]->ds_weight : 0;
	if (n > 0 && n <= RING_MAX && pool_is_chashed(pl))
		ring = calloc(n, sizeof(*ring));
	n = 0;
	for (i = 0; ring != NULL && i < pl->pl_count; i++) {
		w = pl->pl_servers[i]->ds_weight;
		for (j = 0; j < w; j++) {
			snprintf(text, sizeof(text), "%s-%d",
			    pl->pl_servers[i]->ds_name, j);
			ring[n].cp_hash = policy_text_hash(text);
			ring[n++].cp_server = pl->pl_servers[i];
		}
	}
	if (ring != NULL)
		qsort(ring, n, sizeof(*ring), pool_point_cmp);
	free(pl->pl_ring);
	pl->pl_ring = ring;
	pl->pl_ringlen = n;
}

void
pool_rebuild_all(void)
{
	size_t	i;

	for (i = 0; i < servers.sr_npools; i++)
		pool_rebuild(servers.sr_pools[i]);
}

int
pool_add_server(struct pool *pl, struct server *ds)
{
	struct server	**ns;
	size_t		  i;

	if (pl == NULL)
		return -1;
	for (i = 0; i < pl->pl_count; i++)
		if (pl->pl_servers[i] == ds)
			return 0;
	if ((ns = realloc(pl->pl_servers, (pl->pl_count + 1) *
	    sizeof(*ns))) == NULL)
		return -1;
	ns[pl->pl_count++] = ds;
	pl->pl_servers = ns;
	pool_rebuild(pl);
	return 0;
}

void
pool_rm_server(struct pool *pl, struct server *ds)
{
	size_t	i;

	if (pl == NULL)
		return;
	for (i = 0; i < pl->pl_count; i++) {
		if (pl->pl_servers[i] != ds)
			continue;
		memmove(&pl->pl_servers[i], &pl->pl_servers[i + 1],
		    (pl->pl_count - i - 1) * sizeof(ds));
		pl->pl_count--;
		pool_rebuild(pl);
		return;
	}
}

size_t
pool_count_up(const struct pool *pl)
{
	size_t	i, n = 0;

	for (i = 0; i < pl->pl_count; i++)
		if (server_is_up(pl->pl_servers[i]))
			n++;
	return n;
}

static struct server *
policy_leastoutstanding(struct pool *pl)
{
	struct server	*best = NULL, *ds;
	int		 bo = 0, o;
	double		 bl = 0, l;
	size_t		 i;

	/* Fewest outstanding, then lowest order, then lowest latency. */
	for (i = 0; i < pl->pl_count; i++) {
		ds = pl->pl_servers[i];
		if (!server_is_up(ds))
			continue;
		o = atomic_load_explicit(&ds->ds_outstanding,
		    memory_order_relaxed);
		l = atomic_load_explicit(&ds->ds_latency,
		    memory_order_relaxed);
		if (best == NULL || o < bo || (o == bo &&
		    (ds->ds_order < best->ds_order ||
		    (ds->ds_order == best->ds_order && l < bl)))) {
			best = ds;
			bo = o;
			bl = l;
		}
	}
	return best;
}

static struct server *
policy_firstavailable(struct pool *pl, uint64_t now)
{
	struct server	*ds;
	size_t		 i;

	/*
	 * pl_servers is sorted by order.  As dnsdist, a token is only looked
	 * at here, and taken when a query goes: a cache hit takes none.
	 */
	for (i = 0; i < pl->pl_count; i++) {
		ds = pl->pl_servers[i];
		if (server_is_up(ds) && server_qps_check(ds, now))
			return ds;
	}
	return policy_leastoutstanding(pl);
}

/*
 * roundrobin (rr) and the weighted policies count the weight of the
 * servers that are up, then walk to the one that val picks.  Each state
 * is read once, into a bitmap that both steps use, so that a health check
 * changing one in between cannot leave val past the servers found up.
 * The bitmap is on the stack for pools of up to POLICY_VIEWMAX servers.
 */
#define POLICY_VIEWMAX	1024

static struct server *
policy_viewed(struct pool *pl, uint64_t val, bool rr)
{
	uint64_t	 stack[POLICY_VIEWMAX / 64], *up = stack, total = 0, w;
	struct server	*ds = NULL;
	size_t		 i, nw = (pl->pl_count + 63) / 64;
	double		 target = rr ? -1 : policy_target(pl,
			    atomic_load_explicit(&policy_weighted_factor,
			    memory_order_relaxed));

	if (nw <= sizeof(stack) / sizeof(stack[0]))
		memset(stack, 0, nw * sizeof(*up));
	else if ((up = calloc(nw, sizeof(*up))) == NULL)
		return NULL;
	for (i = 0; i < pl->pl_count; i++)
		if ((rr || pl->pl_servers[i]->ds_weight > 0) &&
		    server_is_up(pl->pl_servers[i]) &&
		    policy_within(pl->pl_servers[i], target)) {
			up[i / 64] |= 1ULL << (i % 64);
			total += rr ? 1 : (uint64_t)pl->pl_servers[i]->ds_weight;
		}
	/*
	 * As dnsdist: the weights add up to INT_MAX at most, so that the
	 * servers past it are picked less often, or never.
	 */
	if (!rr && total > INT32_MAX)
		total = INT32_MAX;
	if (total > 0) {
		if (rr)
			val = atomic_fetch_add_explicit(pl->pl_rrp != NULL ?
			    pl->pl_rrp : &pl->pl_rr, 1, memory_order_relaxed);
		val %= total;
		/* A weight set meanwhile (setWeight) ends on the last one up. */
		for (i = 0; i < pl->pl_count; i++) {
			if ((up[i / 64] >> (i % 64) & 1) == 0)
				continue;
			ds = pl->pl_servers[i];
			w = rr ? 1 : (uint64_t)ds->ds_weight;
			if (val < w)
				break;
			val -= w;
		}
	}
	else if (rr && pl->pl_count > 0 && !atomic_load_explicit(
	    &policy_rr_fail_no_server, memory_order_relaxed))
		/* None up: dnsdist's roundrobin takes them all in turn. */
		ds = pl->pl_servers[atomic_fetch_add_explicit(pl->pl_rrp !=
		    NULL ? pl->pl_rrp : &pl->pl_rr, 1, memory_order_relaxed) %
		    pl->pl_count];
	if (up != stack)
		free(up);
	return ds;
}

static struct server *
policy_chashed(struct pool *pl, uint64_t h)
{
	size_t	lo = 0, hi = pl->pl_ringlen, mid, i;
	double	target;

	if (pl->pl_ringlen == 0)
		return NULL;
	target = policy_target(pl, atomic_load_explicit(
	    &policy_chashed_factor, memory_order_relaxed));
	/* The first point at or after h, walking on past servers that are down. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pl->pl_ring[mid].cp_hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = 0; i < pl->pl_ringlen; i++) {
		struct chash_point *cp =
		    &pl->pl_ring[(lo + i) % pl->pl_ringlen];
		if (server_is_up(cp->cp_server) &&
		    policy_within(cp->cp_server, target))
			return cp->cp_server;
	}
	return NULL;
}

struct server *
pool_select(struct pool *pl, const struct dnsquestion *q, uint64_t now,
    uint64_t *rnd)
{
	int	kind = pl->pl_policy;

	if (kind < 0)
		kind = atomic_load_explicit(&policy_global,
		    memory_order_relaxed);
	if (kind >= POLICY_COUNT)
		return policy_lua_select != NULL ?
		    policy_lua_select(kind, pl, q) : NULL;
	switch (kind) {
	case POLICY_FIRSTAVAILABLE:
		return policy_firstavailable(pl, now);
	case POLICY_WRANDOM:
		return policy_viewed(pl, policy_random(rnd), false);
	case POLICY_WHASHED:
		return policy_viewed(pl,
		    policy_name_hash(q->q_name, q->q_namelen), false);
	case POLICY_CHASHED:
		/* No ring: weights too large, or the policy just changed. */
		if (pl->pl_ringlen == 0)
			return policy_viewed(pl,
			    policy_name_hash(q->q_name, q->q_namelen), false);
		return policy_chashed(pl,
		    policy_name_hash(q->q_name, q->q_namelen));
	case POLICY_ROUNDROBIN:
		return policy_viewed(pl, 0, true);
	default:
		return policy_leastoutstanding(pl);
	}
}
