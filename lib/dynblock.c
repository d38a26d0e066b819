/*
 * Dynamic blocks.  One hash table (SipHash under a secret drawn at start)
 * holds netmask blocks, keyed by family, prefix length and network, and
 * suffix blocks, keyed by the name in lower case.  A lookup tries the
 * prefix lengths in use, longest first, then the query name and each of
 * its parents, so it costs a few probes whatever the number of blocks.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "dnsname.h"
#include "dynblock.h"
#include "siphash.h"

#define KIND_NAME	0
#define KIND_PORT	1	/* an IPv4 address and a range of its ports */

struct dynblock {
	struct dynblock		*db_next;
	int			 db_kind;	/* AF_INET, AF_INET6, KIND_* */
	uint8_t			 db_bits;	/* KIND_PORT: port bits */
	uint8_t			 db_key[DNSNAME_MAXLEN];
	size_t			 db_keylen;
	char			*db_reason;
	time_t			 db_until;
	int			 db_action;
	bool			 db_warning;
	_Atomic uint64_t	 db_blocks;
};

_Atomic size_t		 dynblock_count;
_Atomic int		 dynblock_default_action = DYN_DROP;
void			(*dynblock_log)(const char *);

static pthread_rwlock_t	 db_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct dynblock	**db_buckets;
static size_t		  db_nbuckets;
static size_t		  db_lens4[33];	/* blocks per prefix length */
static size_t		  db_lens6[129];
static size_t		  db_lensport[17];
static size_t		  db_nnames;
static uint8_t		  db_secret[SIPHASH_KEYBYTES];
static bool		  db_keyed;

time_t
dynblock_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t
bucket_of(int kind, uint8_t bits, const uint8_t *key, size_t keylen)
{
	uint8_t		m[2 + DNSNAME_MAXLEN];

	m[0] = (uint8_t)kind;
	m[1] = bits;
	memcpy(m + 2, key, keylen);
	return (size_t)(siphash24(db_secret, m, keylen + 2) &
	    (db_nbuckets - 1));
}

static struct dynblock *
find(int kind, uint8_t bits, const uint8_t *key, size_t keylen)
{
	struct dynblock	*db;

	for (db = db_buckets[bucket_of(kind, bits, key, keylen)]; db != NULL;
	    db = db->db_next)
		if (db->db_kind == kind && db->db_bits == bits &&
		    db->db_keylen == keylen &&
		    memcmp(db->db_key, key, keylen) == 0)
			return db;
	return NULL;
}

/* Room for one more; the caller holds the write lock. */
static int
grow(void)
{
	struct dynblock	**old = db_buckets, **nb, *db, *next;
	size_t		  oldn = db_nbuckets, i, n;

	if (!db_keyed) {
		randombytes_buf(db_secret, sizeof(db_secret));
		db_keyed = true;
	}
	if (db_buckets != NULL && atomic_load(&dynblock_count) < db_nbuckets)
		return 0;
	n = oldn ? oldn * 2 : 256;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	db_buckets = nb;
	db_nbuckets = n;
	for (i = 0; i < oldn; i++)
		for (db = old[i]; db != NULL; db = next) {
			next = db->db_next;
			n = bucket_of(db->db_kind, db->db_bits, db->db_key,
			    db->db_keylen);
			db->db_next = nb[n];
			nb[n] = db;
		}
	free(old);
	return 0;
}

const char *
dynblock_action_name(int action)
{
	switch (action) {
	case DYN_DROP:		return "Drop";
	case DYN_NXDOMAIN:	return "Nxdomain";
	case DYN_REFUSED:	return "Refused";
	case DYN_TRUNCATE:	return "Truncate";
	case DYN_SERVFAIL:	return "ServFail";
	case DYN_NOOP:		return "NoOp";
	case DYN_NONE:		return "None";
	case DYN_NORECURSE:	return "NoRecurse";
	}
	return "Unknown";
}

static void
track_len(int kind, uint8_t bits, int delta)
{
	size_t	*slot;

	if (kind == AF_INET)
		slot = &db_lens4[bits];
	else if (kind == AF_INET6)
		slot = &db_lens6[bits];
	else if (kind == KIND_PORT)
		slot = &db_lensport[bits];
	else
		slot = &db_nnames;
	*slot += (size_t)delta;
}

static int
add(int kind, uint8_t bits, const uint8_t *key, size_t keylen,
    const char *what, const char *reason, int seconds, int action,
    bool warning, time_t now)
{
	struct dynblock	*db;
	char		 line[512];
	time_t		 until = now + seconds;
	size_t		 b;

	pthread_rwlock_wrlock(&db_lock);
	if (grow() == -1)
		goto nomem;
	if ((db = find(kind, bits, key, keylen)) != NULL) {
		/* A warning never replaces a block in force. */
		if (warning && !db->db_warning && db->db_until > now) {
			pthread_rwlock_unlock(&db_lock);
			return 0;
		}
		if (db->db_until < until || (db->db_warning && !warning)) {
			bool renewed = db->db_until <= now ||
			    db->db_warning != warning;

			db->db_until = until;
			db->db_action = action;
			db->db_warning = warning;
			if (renewed) {
				free(db->db_reason);
				db->db_reason = strdup(reason);
			}
			pthread_rwlock_unlock(&db_lock);
			if (renewed && dynblock_log != NULL) {
				snprintf(line, sizeof(line), "Updated dynamic "
				    "block for %s for %d seconds: %s", what,
				    seconds, reason);
				dynblock_log(line);
			}
			return 0;
		}
		pthread_rwlock_unlock(&db_lock);
		return 0;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->db_reason = strdup(reason)) == NULL) {
		free(db);
		goto nomem;
	}
	db->db_kind = kind;
	db->db_bits = bits;
	memcpy(db->db_key, key, keylen);
	db->db_keylen = keylen;
	db->db_until = until;
	db->db_action = action;
	db->db_warning = warning;
	b = bucket_of(kind, bits, key, keylen);
	db->db_next = db_buckets[b];
	db_buckets[b] = db;
	track_len(kind, bits, 1);
	atomic_fetch_add(&dynblock_count, 1);
	pthread_rwlock_unlock(&db_lock);
	if (dynblock_log != NULL) {
		snprintf(line, sizeof(line), "Inserting %sdynamic block for %s "
		    "for %d seconds: %s", warning ? "(warning) " : "", what,
		    seconds, reason);
		dynblock_log(line);
	}
	return 1;
nomem:
	pthread_rwlock_unlock(&db_lock);
	return -1;
}

int
dynblock_add_netmask(const struct netmask *nm, const char *reason,
    int seconds, int action, bool warning, time_t now)
{
	char	text[NETMASK_MAXTEXT];

	netmask_to_text(nm, text, sizeof(text));
	return add(nm->nm_family, nm->nm_bits, nm->nm_addr, 16, text, reason,
	    seconds, action, warning, now);
}

/* The key of a port range block: the address, then the masked port. */
static void
port_key(const uint8_t addr[4], uint16_t port, int bits, uint8_t key[6])
{
	port &= (uint16_t)~(0xffffu >> bits);
	memcpy(key, addr, 4);
	key[4] = (uint8_t)(port >> 8);
	key[5] = (uint8_t)port;
}

static void
port_text(const uint8_t key[6], int bits, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%u.%u.%u.%u:%u/%d", key[0], key[1], key[2],
	    key[3], (unsigned)(key[4] << 8 | key[5]), bits);
}

int
dynblock_add_portrange(const uint8_t addr[4], uint16_t port, int bits,
    const char *reason, int seconds, int action, bool warning, time_t now)
{
	uint8_t	key[6];
	char	text[32];

	if (bits < 1 || bits > 16)
		return -1;
	port_key(addr, port, bits, key);
	port_text(key, bits, text, sizeof(text));
	return add(KIND_PORT, (uint8_t)bits, key, sizeof(key), text, reason,
	    seconds, action, warning, now);
}

int
dynblock_add_suffix(const uint8_t *name, size_t namelen, const char *reason,
    int seconds, int action, time_t now)
{
	uint8_t	lower[DNSNAME_MAXLEN];
	char	text[DNSNAME_MAXTEXT];

	dnsname_lower(name, namelen, lower);
	if (dnsname_to_text(lower, namelen, text, sizeof(text)) == -1)
		return -1;
	return add(KIND_NAME, 0, lower, namelen, text, reason, seconds,
	    action, false, now);
}

static struct dynblock *
lookup(const struct sockaddr *sa, const uint8_t *qname, size_t qnamelen,
    time_t now)
{
	struct dynblock	*db;
	uint8_t		 key[DNSNAME_MAXLEN];
	size_t		*lens, off;
	int		 bits, maxbits, alen, family = sa->sa_family;

	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		for (bits = 16; bits >= 1; bits--) {
			if (db_lensport[bits] == 0)
				continue;
			port_key((const uint8_t *)&sin->sin_addr,
			    ntohs(sin->sin_port), bits, key);
			if ((db = find(KIND_PORT, (uint8_t)bits, key, 6)) !=
			    NULL && db->db_until > now)
				return db;
		}
	}
	if (family == AF_INET || family == AF_INET6) {
		lens = family == AF_INET ? db_lens4 : db_lens6;
		maxbits = alen = family == AF_INET ? 32 : 128;
		for (bits = maxbits; bits >= 0; bits--) {
			if (lens[bits] == 0)
				continue;
			memset(key, 0, 16);
			if (family == AF_INET)
				memcpy(key, &((const struct sockaddr_in *)
				    sa)->sin_addr, 4);
			else
				memcpy(key, &((const struct sockaddr_in6 *)
				    sa)->sin6_addr, 16);
			netmask_clear_host(key, (size_t)alen / 8,
			    (unsigned int)bits);
			if ((db = find(family, (uint8_t)bits, key, 16)) !=
			    NULL && db->db_until > now)
				return db;
		}
	}
	if (db_nnames == 0 || qname == NULL)
		return NULL;
	dnsname_lower(qname, qnamelen, key);
	for (off = 0; off < qnamelen; off += (size_t)key[off] + 1) {
		if ((db = find(KIND_NAME, 0, key + off, qnamelen - off)) !=
		    NULL && db->db_until > now)
			return db;
		if (key[off] == 0)
			break;
	}
	return NULL;
}

int
dynblock_check(const struct sockaddr *client, const uint8_t *qname,
    size_t qnamelen, time_t now)
{
	struct dynblock	*db;
	int		 action = DYN_NONE;

	if (atomic_load_explicit(&dynblock_count, memory_order_relaxed) == 0)
		return DYN_NONE;
	pthread_rwlock_rdlock(&db_lock);
	if ((db = lookup(client, qname, qnamelen, now)) != NULL &&
	    !db->db_warning) {
		action = db->db_action == DYN_DEFAULT ?
		    atomic_load(&dynblock_default_action) : db->db_action;
		/* As dnsdist: a warning, or NoOp, blocks nothing. */
		if (action != DYN_NOOP)
			atomic_fetch_add_explicit(&db->db_blocks, 1,
			    memory_order_relaxed);
	}
	pthread_rwlock_unlock(&db_lock);
	return action;
}

static size_t
remove_if(bool all, time_t now)
{
	struct dynblock	**pp, *db;
	size_t		  i, n = 0;

	pthread_rwlock_wrlock(&db_lock);
	for (i = 0; i < db_nbuckets; i++) {
		pp = &db_buckets[i];
		while ((db = *pp) != NULL) {
			if (!all && db->db_until > now) {
				pp = &db->db_next;
				continue;
			}
			*pp = db->db_next;
			track_len(db->db_kind, db->db_bits, -1);
			atomic_fetch_sub(&dynblock_count, 1);
			free(db->db_reason);
			free(db);
			n++;
		}
	}
	pthread_rwlock_unlock(&db_lock);
	return n;
}

size_t
dynblock_purge(time_t now)
{
	return remove_if(false, now);
}

void
dynblock_clear(void)
{
	remove_if(true, 0);
}

void
dynblock_foreach(time_t now, void (*fn)(const struct dynblock_info *, void *),
    void *arg)
{
	struct dynblock		*db;
	struct dynblock_info	 di;
	struct netmask		 nm;
	char			 what[DNSNAME_MAXTEXT];
	size_t			 i;

	pthread_rwlock_rdlock(&db_lock);
	for (i = 0; i < db_nbuckets; i++)
		for (db = db_buckets[i]; db != NULL; db = db->db_next) {
			if (db->db_until <= now)
				continue;
			if (db->db_kind == KIND_NAME) {
				if (dnsname_to_text(db->db_key, db->db_keylen,
				    what, sizeof(what)) == -1)
					continue;
			} else if (db->db_kind == KIND_PORT) {
				port_text(db->db_key, db->db_bits, what,
				    sizeof(what));
			} else {
				memset(&nm, 0, sizeof(nm));
				nm.nm_family = db->db_kind;
				nm.nm_bits = db->db_bits;
				memcpy(nm.nm_addr, db->db_key, 16);
				netmask_to_text(&nm, what, sizeof(what));
			}
			di.di_what = what;
			di.di_reason = db->db_reason;
			di.di_seconds = (long long)(db->db_until - now);
			di.di_blocks = atomic_load(&db->db_blocks);
			di.di_warning = db->db_warning;
			di.di_action = db->db_action == DYN_DEFAULT ?
			    atomic_load(&dynblock_default_action) :
			    db->db_action;
			fn(&di, arg);
		}
	pthread_rwlock_unlock(&db_lock);
}

struct show_lines {
	char	**lines;
	size_t	  n;
	size_t	  cap;
};

static void
show_one(const struct dynblock_info *di, void *arg)
{
	struct show_lines	*sl = arg;
	char			**nl;

	if (sl->n == sl->cap) {
		if ((nl = reallocarray(sl->lines, sl->cap ? sl->cap * 2 : 16,
		    sizeof(*nl))) == NULL)
			return;
		sl->lines = nl;
		sl->cap = sl->cap ? sl->cap * 2 : 16;
	}
	if (asprintf(&sl->lines[sl->n], "%-24s %8lld %8llu %-10s %-20s %s\n",
	    di->di_what, di->di_seconds, (unsigned long long)di->di_blocks,
	    di->di_warning ? "true" : "false",
	    dynblock_action_name(di->di_action), di->di_reason) != -1)
		sl->n++;
}

static int
cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
dynblock_show(struct sbuf *sb, time_t now)
{
	struct show_lines	sl = { NULL, 0, 0 };
	size_t			i;

	sbuf_printf(sb, "%-24s %8s %8s %-10s %-20s %s\n", "What", "Seconds",
	    "Blocks", "Warning", "Action", "Reason");
	dynblock_foreach(now, show_one, &sl);
	if (sl.n > 0)
		qsort(sl.lines, sl.n, sizeof(*sl.lines), cmp_lines);
	for (i = 0; i < sl.n; i++) {
		sbuf_puts(sb, sl.lines[i]);
		free(sl.lines[i]);
	}
	free(sl.lines);
}

size_t
dynblock_nmg_size(void)
{
	size_t	n;

	pthread_rwlock_rdlock(&db_lock);
	n = atomic_load(&dynblock_count) - db_nnames;
	pthread_rwlock_unlock(&db_lock);
	return n;
}
