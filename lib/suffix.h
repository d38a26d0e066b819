/*
 * Sets of DNS names with suffix matching (SuffixMatchNode): a name matches
 * when it or one of its ancestors is in the set.  Names are stored once,
 * lower-cased, in an arena; an open-addressing table of offsets finds
 * them, so a lookup costs one probe per label of the query name whatever
 * the size of the set.
 */
#ifndef SUFFIX_H
#define SUFFIX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct suffix_set {
	uint8_t		*ss_arena;	/* length byte + wire name, ... */
	size_t		 ss_arenalen;
	size_t		 ss_arenacap;
	uint32_t	*ss_slots;	/* arena offset + 1; 0 is empty */
	size_t		 ss_nslots;	/* a power of two */
	size_t		 ss_count;
	uint8_t		 ss_key[16];	/* keyed hash: no aimed collisions */
	_Atomic int	 ss_refs;	/* heap sets from suffix_new() */
};

int	suffix_init(struct suffix_set *);
void	suffix_free(struct suffix_set *);
/*
 * Shared sets: suffix_new() returns a heap set with one reference; rules
 * share a set with the Lua object it came from, which copies it before
 * changing it (suffix_clone) while others hold it.
 */
struct suffix_set *suffix_new(void);
void	suffix_ref(struct suffix_set *);
void	suffix_unref(struct suffix_set *);	/* NULL is fine */
struct suffix_set *suffix_clone(const struct suffix_set *);
/* Add a wire name (any case).  0, 1 when already there, -1 on ENOMEM. */
int	suffix_add(struct suffix_set *, const uint8_t *name, size_t len);
/* 1 when the exact name is in the set. */
int	suffix_has(const struct suffix_set *, const uint8_t *name, size_t len);
/*
 * 1 when name or one of its ancestors is in the set; *matchlen gets the
 * wire length of the longest such suffix when matchlen is not NULL.
 */
int	suffix_match(const struct suffix_set *, const uint8_t *name,
	    size_t len, size_t *matchlen);

#endif /* SUFFIX_H */
