/*
 * Counts per client address (the host, not the port): how many TCP
 * connections each client has open, for setMaxTCPConnectionsPerClient.
 * A hash table under a secret SipHash key drawn at creation, so that
 * clients cannot choose addresses that share a bucket; an address is in
 * it only while its count is above zero.  Safe for concurrent use: one
 * lock, held for a lookup.
 */
#ifndef HOSTCOUNT_H
#define HOSTCOUNT_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

struct hostcount;

/* An empty table, or NULL out of memory; hostcount_free() releases it. */
struct hostcount *hostcount_new(void);
void		 hostcount_free(struct hostcount *);
/*
 * One more for sa's address, unless it has limit already (limit 0 or
 * less: no limit) or memory runs out: false then, and nothing counted.
 */
bool		 hostcount_take(struct hostcount *, const struct sockaddr *,
		    int limit);
/* One fewer for sa's address, as counted by hostcount_take(). */
void		 hostcount_give(struct hostcount *, const struct sockaddr *);
/* sa's count; the number of addresses counted (for tests). */
int		 hostcount_get(struct hostcount *, const struct sockaddr *);
size_t		 hostcount_size(struct hostcount *);

#endif /* HOSTCOUNT_H */
