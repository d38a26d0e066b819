/*
 * The packet cache: answers kept by a keyed hash of their query, in shards
 * that packet threads lock only with try-locks (a busy shard is a counted
 * miss or skipped insert, never a wait).  A cache, once made, lives until
 * the daemon exits, so that queries in flight may point at it.
 */
#ifndef CACHE_H
#define CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "dnspacket.h"
#include "sbuf.h"

#define PCACHE_MAXSKIP		16	/* skipOptions */
#define PCACHE_KEYMAX		1024	/* longer queries are not cached */
#define PCACHE_MAXPACKET	4096	/* larger answers are not cached */

struct pcache_config {
	size_t		pc_maxentries;
	uint32_t	pc_maxttl;
	uint32_t	pc_minttl;
	uint32_t	pc_tempfailttl;
	uint32_t	pc_stalettl;
	uint32_t	pc_maxnegttl;
	bool		pc_dontage;
	bool		pc_keepstale;
	bool		pc_parseecs;
	bool		pc_cookiehashing;
	bool		pc_waitinsert;	/* deferrableInsertLock=false */
	size_t		pc_maxentrysize;	/* at most PCACHE_MAXPACKET */
	size_t		pc_nshards;
	uint16_t	pc_skipopts[PCACHE_MAXSKIP];
	size_t		pc_nskipopts;
};

struct pcache_stats {
	uint64_t	entries;
	uint64_t	maxentries;
	uint64_t	hits;
	uint64_t	misses;
	uint64_t	deferredinserts;
	uint64_t	deferredlookups;
	uint64_t	lookupcollisions;
	uint64_t	insertcollisions;
	uint64_t	ttltooshorts;
	uint64_t	cleanups;	/* passes over the expired entries */
};

struct pcache;

/* Times in the cache are monotonic seconds: this clock. */
time_t		 pcache_now(void);
/* dnsdist's defaults (maxEntries aside). */
void		 pcache_config_default(struct pcache_config *, size_t maxentries);
struct pcache	*pcache_new(const struct pcache_config *);
const struct pcache_config *pcache_config(const struct pcache *);
/* Whether two caches were made with the same settings. */
bool		 pcache_same_config(const struct pcache *, const struct pcache *);
/*
 * A reload keeps the running configuration's cache "to" in place of pc:
 * pc's Lua objects act on "to" from then on (pcache_current()).
 */
void		 pcache_forward(struct pcache *pc, struct pcache *to);
struct pcache	*pcache_current(struct pcache *);
/* Every cache made so far, for the maintenance pass; NULL-terminated. */
struct pcache	*pcache_next(struct pcache *);

/*
 * The key of a query (len bytes, question q): false when the query is not
 * cacheable (too long, malformed additional section).
 */
bool		 pcache_key(const struct pcache *, const uint8_t *pkt,
		    size_t len, const struct dnsquestion *q, bool tcp,
		    uint64_t *key);

/*
 * Look the key up for question q and write the answer over the query in
 * pkt (size bytes of room), which holds the query q was parsed from: the
 * answer keeps the query's ID, RD and CD bits and spelling of the name,
 * with its TTLs aged by the time spent in the cache.  Returns the answer's length, or 0
 * on a miss.  With PCACHE_STALE, an expired entry is taken too (TTLs
 * become staleTTL) within staleage seconds after its expiry, or at any age
 * with keepStaleData; *wasstale says which it was.  PCACHE_PEEK looks as
 * PCACHE_FRESH does but counts no miss: the caller may look again, or
 * count it with pcache_miss().
 */
#define PCACHE_FRESH	0
#define PCACHE_STALE	1
#define PCACHE_PEEK	2
size_t		 pcache_get(struct pcache *, uint64_t key,
		    const struct dnsquestion *q, bool tcp, uint8_t *pkt,
		    size_t size, time_t now, int how, uint32_t staleage,
		    bool *wasstale);
void		 pcache_miss(struct pcache *);

/*
 * Keep an answer (its question q) under key, if its rcode and TTLs allow;
 * a SERVFAIL or REFUSED for tempfailttl seconds, or when it is -1 the
 * cache's temporaryFailureTTL (SetTempFailureCacheTTLAction).
 */
void		 pcache_put(struct pcache *, uint64_t key,
		    const struct dnsquestion *q, bool tcp, const uint8_t *pkt,
		    size_t len, time_t now, int64_t tempfailttl);

/* Remove expired entries until at most upto remain; returns the count. */
size_t		 pcache_purge_expired(struct pcache *, size_t upto,
		    time_t now);
/* Remove entries (expired first) until at most upto remain. */
size_t		 pcache_expunge(struct pcache *, size_t upto);
/* Remove the entries of a name (or below it), of one type or all (0). */
size_t		 pcache_expunge_name(struct pcache *, const uint8_t *name,
		    size_t namelen, uint16_t qtype, bool suffix);
void		 pcache_get_stats(struct pcache *, struct pcache_stats *);
bool		 pcache_is_full(struct pcache *);
void		 pcache_print_stats(struct pcache *, struct sbuf *);
/*
 * Call fn with each entry's answer (its question first), under the
 * shard's read lock: fn must neither block nor leave by a jump.  Returns
 * the number of entries.
 */
size_t		 pcache_walk(struct pcache *,
		    void (*fn)(void *, const uint8_t *pkt, size_t len),
		    void *arg);
/* One line per entry: name, type, class, expiry, length. */
size_t		 pcache_dump(struct pcache *, FILE *, time_t now);
/* The maintenance pass: purge per the cleaning percentage. */
void		 pcache_clean(struct pcache *, double percentage, time_t now,
		    bool keepstale_now);
void		 pcache_count_miss(struct pcache *);

#endif /* CACHE_H */
