/*
 * Pools and load-balancing policies.  Selection runs in C for every built-in
 * policy; callers hold the configuration lock (read side) or are the thread
 * that changes the configuration.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dnspacket.h"
#include "server.h"

enum policy_kind {
	POLICY_LEASTOUTSTANDING,
	POLICY_FIRSTAVAILABLE,
	POLICY_WRANDOM,
	POLICY_WHASHED,
	POLICY_CHASHED,
	POLICY_ROUNDROBIN,
	POLICY_COUNT
};

struct chash_point {
	uint64_t	 cp_hash;
	struct server	*cp_server;
};

struct pool {
	char			*pl_name;
	struct server		**pl_servers;	/* by order, then weight */
	size_t			 pl_count;
	int			 pl_policy;	/* -1: the global policy */
	struct chash_point	*pl_ring;	/* chashed */
	size_t			 pl_ringlen;
	_Atomic unsigned	 pl_rr;		/* roundrobin position */
	_Atomic unsigned	*pl_rrp;	/* snapshots: the draft's */
	struct pcache		*pl_cache;	/* NULL: none */
	bool			 pl_ecs;	/* add ECS before the cache */
};

/*
 * Policies written in Lua have kinds from POLICY_COUNT on; the Lua layer
 * sets these hooks (they take the Lua lock).
 */
extern struct server	*(*policy_lua_select)(int, struct pool *,
			    const struct dnsquestion *);
extern const char	*(*policy_lua_name)(int);

/* The global policy and the hash perturbation of whashed and chashed. */
extern _Atomic int	policy_global;
/* setRoundRobinFailOnNoServer(): roundrobin finds none when none is up. */
extern _Atomic bool	policy_rr_fail_no_server;
/*
 * setWeightedBalancingFactor(), setConsistentHashingBalancingFactor():
 * 0, or at least 1 to bound the load of each server (wrandom and whashed;
 * chashed).
 */
extern _Atomic double	policy_weighted_factor;
extern _Atomic double	policy_chashed_factor;
extern _Atomic uint32_t	policy_hash_perturbation;

const char	*policy_name(int kind);
/* "leastOutstanding" ... to a kind, or -1. */
int		 policy_from_name(const char *);

/* Find or create the pool of that name ("" is the default pool). */
struct pool	*pool_get(const char *name, bool create);
/* Free a pool that no snapshot can reach (its servers are not its own). */
void		 pool_free(struct pool *);
/* The pool of that name among pools (def: the default pool, or NULL). */
struct pool	*pool_find(struct pool *const *pools, size_t n,
		    struct pool *def, const char *name);
/* Add or remove a server and rebuild order and ring.  0 or -1. */
int		 pool_add_server(struct pool *, struct server *);
void		 pool_rm_server(struct pool *, struct server *);
/* Rebuild the sorted order and the chashed ring (after weight changes). */
void		 pool_rebuild(struct pool *);
/* Rebuild every pool (after the policy or the hash perturbation changes). */
void		 pool_rebuild_all(void);
size_t		 pool_count_up(const struct pool *);

/*
 * Choose a server of the pool for the question with the pool's policy (or
 * the global one).  now is monotonic ns (qps buckets); rnd is a per-thread
 * random state.  NULL when no server is up.
 */
struct server	*pool_select(struct pool *, const struct dnsquestion *,
		    uint64_t now, uint64_t *rnd);

/* Per-thread random numbers (xorshift64*), seeded by the caller. */
uint64_t	 policy_random(uint64_t *state);
/* Deterministic, perturbed, case-insensitive hash of a name. */
uint64_t	 policy_name_hash(const uint8_t *name, size_t len);

#endif /* POLICY_H */
