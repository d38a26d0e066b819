/*
 * Query counting (setQueryCount()): how many queries each name, or each
 * key a Lua filter makes, has had since the counters were cleared.  The
 * counts outlive configurations; packet threads add under a mutex of
 * their own, only while counting is on.
 */
#ifndef QCOUNT_H
#define QCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A table of counts per key, open-addressed; zeroed memory is an empty
 * table.  Also what the console's top functions tally with.
 */
struct qcount_item {
	char		*qi_key;	/* NULL: a free slot */
	uint64_t	 qi_n;
};

struct qcount_table {
	struct qcount_item	*qt_items;
	size_t			 qt_cap;
	size_t			 qt_count;
};

/*
 * Add n to the count of key (copied).  0, or -1 with ENOMEM, or ENOSPC
 * when the key is new and max keys are held already.
 */
int	qcount_table_add(struct qcount_table *, const char *key, uint64_t n,
	    size_t max);
/* Free the keys and the slots; the table is empty afterwards. */
void	qcount_table_free(struct qcount_table *);

/* Distinct keys kept; queries for new keys past it are not counted. */
#define QCOUNT_MAX	100000

/* Count one query for key.  0, or -1 (ENOMEM, or QCOUNT_MAX reached). */
int	qcount_add(const char *key);
/* Forget every count; returns how many keys there were. */
size_t	qcount_clear(void);
/*
 * Call fn for at most max keys, in the order of their names, with the
 * lock held (fn must not count).  Returns the number of keys held.
 */
size_t	qcount_walk(size_t max, void (*fn)(const char *, uint64_t, void *),
	    void *arg);

#endif /* QCOUNT_H */
