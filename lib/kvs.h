/*
 * Key-value stores, as dnsdist's KeyValueStore: a CDB file (tinycdb) or
 * a database of an LMDB file, looked up by keys made from a query (its
 * source address, its name or a suffix of it, the value of a tag).
 *
 * A CDB file is read whole into memory when opened, so that nothing done
 * to the file afterwards (truncated, rewritten in place) can touch what
 * the lookups read; kvs_refresh() opens it again when it changed, and the
 * map it replaces is freed through QSBR.  LMDB files are mapped by LMDB,
 * which sees every committed write at the next lookup.
 */
#ifndef KVS_H
#define KVS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KVS_VALMAX	1024	/* longest value put in a tag */
#define KVS_KEYMAX	1024	/* longest key */

enum kvs_kind { KVS_CDB, KVS_LMDB };

struct kvs_stats {
	uint64_t	ks_lookups;
	uint64_t	ks_hits;
	uint64_t	ks_errors;	/* lookups that failed */
	uint64_t	ks_reloads;
	uint64_t	ks_reloaderrors;
};

struct kvs;

/*
 * Open a store; NULL with errno and a reason in err (errlen bytes).  The
 * store holds one reference; kvs_unref() drops one.
 */
struct kvs	*kvs_cdb_new(const char *path, int refresh, char *err,
		    size_t errlen);
struct kvs	*kvs_lmdb_new(const char *path, const char *db, bool nolock,
		    char *err, size_t errlen);
void		 kvs_ref(struct kvs *);
void		 kvs_unref(struct kvs *);		/* NULL is fine */
int		 kvs_kind(const struct kvs *);
const char	*kvs_path(const struct kvs *);
void		 kvs_stats(const struct kvs *, struct kvs_stats *);

/*
 * Look key up: 1 with the value's bytes in val (*vlen of them, at most
 * valsz), 0 when there is none, -1 on an error (a damaged file, a value
 * longer than valsz), counted.  val may be NULL to ask whether the key is
 * there.  range: the value of the first key not below key, when key lies
 * between the start of the range that value begins with and that key
 * (LMDB only).
 */
int		 kvs_get(struct kvs *, const void *key, size_t klen,
		    void *val, size_t valsz, size_t *vlen, bool range);

/*
 * CDB: open the file again when it changed since (dev, inode, size,
 * mtime), or always when force; the old map is retired.  1 when it was
 * opened again, 0 when it had not changed, -1 with a reason in err.
 * kvs_refresh_all() does it for the stores whose refresh delay has
 * passed at now (seconds), calling log once for each new failure and for
 * the first lookup errors of a map.
 */
int		 kvs_refresh(struct kvs *, bool force, char *err,
		    size_t errlen);
void		 kvs_refresh_all(time_t now, void (*log)(const char *));

/* How a key is made from a query: KeyValueLookupKey*(). */
enum kvs_key_kind { KVK_SOURCEIP, KVK_QNAME, KVK_SUFFIX, KVK_TAG };

struct kvs_key {
	int	 kk_kind;
	uint8_t	 kk_v4mask, kk_v6mask;
	bool	 kk_port;
	bool	 kk_wire;
	int	 kk_minlabels;
	char	*kk_tag;
};

/* NULL when out of memory; kvs_key_free(NULL) does nothing. */
struct kvs_key	*kvs_key_new(int kind);
void		 kvs_key_free(struct kvs_key *);
/* dnsdist's description of the key. */
void		 kvs_key_desc(const struct kvs_key *, char *, size_t);

/*
 * The keys of a query, in order: the source address, the name, the name
 * then each suffix of it, the value of a tag.  Stops at the first key for
 * which fn returns nonzero and returns that; 0 when none did.
 */
struct dnsq;
int		 kvs_key_each(const struct kvs_key *, const struct dnsq *,
		    int (*fn)(const void *key, size_t len, void *arg),
		    void *arg);
/* A name's key (wire format in lower case, or text without final dot). */
int		 kvs_name_key(const uint8_t *name, size_t len, bool wire,
		    char *out, size_t outsz, size_t *klen);
/* An address's key: the address masked, then the port if asked. */
size_t		 kvs_addr_key(const struct sockaddr *, int v4mask, int v6mask,
		    bool port, uint8_t *out);

/*
 * KeyValueStoreLookupAction/RangeLookupAction: set the tag to the value,
 * or to "" when no key matched; KeyValueStoreLookupRule/RangeLookupRule:
 * whether a key matched.  The tag's value lives in a buffer of the
 * calling thread, as the values hooks set, until the next lookup into the
 * same tag slot.
 */
void		 kvs_action(struct kvs *, const struct kvs_key *, bool range,
		    const char *tag, struct dnsq *);
bool		 kvs_match(struct kvs *, const struct kvs_key *, bool range,
		    struct dnsq *);

#endif /* KVS_H */
