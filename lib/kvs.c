/*
 * Key-value stores: CDB files through tinycdb, LMDB databases through
 * LMDB, and the keys dnsdist makes from a query for them.
 *
 * A CDB file is copied into memory with read(2) when opened rather than
 * mapped: a mapped file that someone truncates raises SIGBUS at the next
 * read of a page past its new end, on whatever thread, and no check of
 * the size before a read closes that race.  The copy costs the file's
 * size in memory (about 40 MB for a million keys), once per version of
 * the file.  tinycdb looks keys up in the copy: its struct cdb is filled
 * as cdb_init() fills it for a mapped file (the header declares those
 * members), and every lookup works on a copy of that struct on its own
 * stack, as cdb_find() writes the found position into it.  cdb_find()
 * checks every offset it reads against the size, so a damaged file gives
 * errors, never reads out of the copy.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdb.h>
#include <lmdb.h>

#include "compat/compat.h"
#include "dnsname.h"
#include "kvs.h"
#include "netmask.h"
#include "qsbr.h"
#include "rule.h"

#define CDB_HEADER	2048	/* 256 (position, count) pairs */

struct kvs_cdbmap {
	struct qsbr_node	 m_q;
	struct cdb		 m_cdb;
	unsigned char		*m_mem;
	struct stat		 m_st;		/* of the file it was read from */
};

struct kvs {
	LIST_ENTRY(kvs)		 kv_entry;
	int			 kv_kind;
	_Atomic int		 kv_refs;
	char			*kv_path;
	/* CDB: kv_lock serialises writers and readers that are not QSBR's. */
	_Atomic(struct kvs_cdbmap *) kv_map;
	pthread_mutex_t		 kv_lock;
	int			 kv_refresh;	/* seconds; 0: never */
	time_t			 kv_next;
	bool			 kv_failing;	/* the last refresh failed */
	_Atomic bool		 kv_errlogged;	/* lookup errors, this map */
	_Atomic uint64_t	 kv_errbase;	/* kv_errors when it came */
	/* LMDB */
	struct kvs_env		*kv_env;
	MDB_dbi			 kv_dbi;
	_Atomic uint64_t	 kv_lookups;
	_Atomic uint64_t	 kv_hits;
	_Atomic uint64_t	 kv_errors;
	_Atomic uint64_t	 kv_reloads;
	_Atomic uint64_t	 kv_reloaderrors;
};

/*
 * An LMDB file is opened once in the process, whatever number of stores
 * use it: LMDB's locks belong to the process, and closing a second
 * environment on the same file would drop those of the first.
 */
struct kvs_env {
	LIST_ENTRY(kvs_env)	 e_entry;
	MDB_env			*e_env;
	dev_t			 e_dev;
	ino_t			 e_ino;
	unsigned		 e_flags;
	int			 e_refs;	/* under kvs_env_lock */
};

static LIST_HEAD(, kvs_env) kvs_envs = LIST_HEAD_INITIALIZER(kvs_envs);
static pthread_mutex_t	kvs_env_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, kvs)	kvs_all = LIST_HEAD_INITIALIZER(kvs_all);
static pthread_mutex_t	kvs_all_lock = PTHREAD_MUTEX_INITIALIZER;

/* The values put in tags, per tag slot of the thread's current query. */
static _Thread_local char kvs_tagval[DQ_MAXTAGS][KVS_VALMAX + 1];

#define INC(c)	atomic_fetch_add_explicit(&(c), 1, memory_order_relaxed)
#define GET(c)	atomic_load_explicit(&(c), memory_order_relaxed)

static void
cdbmap_free(struct kvs_cdbmap *m)
{
	if (m == NULL)
		return;
	free(m->m_mem);
	free(m);
}

static void
cdbmap_reclaim(struct qsbr_node *n)
{
	cdbmap_free((struct kvs_cdbmap *)((char *)n -
	    offsetof(struct kvs_cdbmap, m_q)));
}

/* The file, read whole and checked; NULL with a reason in err. */
static struct kvs_cdbmap *
cdbmap_open(const char *path, char *err, size_t errlen)
{
	struct kvs_cdbmap	*m;
	unsigned		 i, pos, n, dend;
	size_t			 len, off = 0;
	ssize_t			 r;
	void			*mem;
	int			 fd, saved;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &m->m_st) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		goto fail;
	}
	if (!S_ISREG(m->m_st.st_mode) || m->m_st.st_size < CDB_HEADER ||
	    m->m_st.st_size > (off_t)UINT32_MAX) {
		snprintf(err, errlen, "%s: not a CDB file (%lld bytes)", path,
		    (long long)m->m_st.st_size);
		goto fail;
	}
	len = (size_t)m->m_st.st_size;
	/*
	 * Each lookup reads two places at random in the whole file: with
	 * small pages, most of them miss the TLB too.  Large pages where
	 * the system has them (a file of a million keys: 40 of them).
	 */
	if ((saved = posix_memalign(&mem, len >= COMPAT_HUGEPAGE ?
	    COMPAT_HUGEPAGE : sizeof(void *), len)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		goto fail;
	}
	m->m_mem = mem;
	if (len >= COMPAT_HUGEPAGE)
		compat_hugepages(mem, len - len % COMPAT_HUGEPAGE);
	while (off < len) {
		if ((r = read(fd, m->m_mem + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", path, r == 0 ?
			    "the file shrank while it was read" :
			    strerror(errno));
			goto fail;
		}
		off += (size_t)r;
	}
	close(fd);
	fd = -1;
	/* Every hash table must lie within the file, past the header. */
	for (i = 0; i < 256; i++) {
		pos = cdb_unpack(m->m_mem + i * 8);
		n = cdb_unpack(m->m_mem + i * 8 + 4);
		if (n != 0 && (pos < CDB_HEADER || pos > len ||
		    n > (len - pos) / 8)) {
			snprintf(err, errlen, "%s: not a CDB file (hash table "
			    "%u out of the file)", path, i);
			goto fail;
		}
	}
	dend = cdb_unpack(m->m_mem);
	if (dend < CDB_HEADER)
		dend = CDB_HEADER;
	else if (dend >= len)
		dend = (unsigned)len;
	m->m_cdb.cdb_fd = -1;
	m->m_cdb.cdb_fsize = (unsigned)len;
	m->m_cdb.cdb_dend = dend;
	m->m_cdb.cdb_mem = m->m_mem;
	return m;
fail:
	if (fd != -1)
		close(fd);
	cdbmap_free(m);
	return NULL;
}

static struct kvs *
kvs_alloc(int kind, const char *path)
{
	struct kvs	*kv;

	if ((kv = calloc(1, sizeof(*kv))) == NULL)
		return NULL;
	if ((kv->kv_path = strdup(path)) == NULL) {
		free(kv);
		return NULL;
	}
	kv->kv_kind = kind;
	atomic_init(&kv->kv_refs, 1);
	pthread_mutex_init(&kv->kv_lock, NULL);
	return kv;
}

static void
kvs_publish(struct kvs *kv)
{
	pthread_mutex_lock(&kvs_all_lock);
	LIST_INSERT_HEAD(&kvs_all, kv, kv_entry);
	pthread_mutex_unlock(&kvs_all_lock);
}

struct kvs *
kvs_cdb_new(const char *path, int refresh, char *err, size_t errlen)
{
	struct kvs		*kv;
	struct kvs_cdbmap	*m;

	if ((m = cdbmap_open(path, err, errlen)) == NULL)
		return NULL;
	if ((kv = kvs_alloc(KVS_CDB, path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		cdbmap_free(m);
		return NULL;
	}
	atomic_init(&kv->kv_map, m);
	kv->kv_refresh = refresh;
	kv->kv_next = refresh > 0 ? time(NULL) + refresh : 0;
	kvs_publish(kv);
	return kv;
}

static void
kvs_env_unref(struct kvs_env *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&kvs_env_lock);
	if (--e->e_refs > 0)
		e = NULL;
	else
		LIST_REMOVE(e, e_entry);
	pthread_mutex_unlock(&kvs_env_lock);
	if (e != NULL) {
		mdb_env_close(e->e_env);
		free(e);
	}
}

/* The environment of path, opened or shared; 0 or an LMDB error. */
static int
kvs_env_get(const char *path, unsigned flags, struct kvs_env **ep)
{
	struct kvs_env	*e;
	struct stat	 st;
	int		 rc;

	if (stat(path, &st) == -1)
		return errno;
	pthread_mutex_lock(&kvs_env_lock);
	LIST_FOREACH(e, &kvs_envs, e_entry)
		if (e->e_dev == st.st_dev && e->e_ino == st.st_ino)
			break;
	if (e != NULL) {
		rc = e->e_flags == flags ? 0 : EEXIST;
		if (rc == 0)
			e->e_refs++;
		pthread_mutex_unlock(&kvs_env_lock);
		*ep = e;
		return rc;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		pthread_mutex_unlock(&kvs_env_lock);
		return ENOMEM;
	}
	if ((rc = mdb_env_create(&e->e_env)) != 0) {
		pthread_mutex_unlock(&kvs_env_lock);
		free(e);
		return rc;
	}
	if ((rc = mdb_env_set_maxdbs(e->e_env, 128)) != 0 ||
	    (rc = mdb_env_open(e->e_env, path, flags, 0600)) != 0) {
		pthread_mutex_unlock(&kvs_env_lock);
		mdb_env_close(e->e_env);
		free(e);
		return rc;
	}
	e->e_dev = st.st_dev;
	e->e_ino = st.st_ino;
	e->e_flags = flags;
	e->e_refs = 1;
	LIST_INSERT_HEAD(&kvs_envs, e, e_entry);
	pthread_mutex_unlock(&kvs_env_lock);
	*ep = e;
	return 0;
}

struct kvs *
kvs_lmdb_new(const char *path, const char *db, bool nolock, char *err,
    size_t errlen)
{
	struct kvs	*kv;
	MDB_txn		*txn;
	int		 rc;

	if ((kv = kvs_alloc(KVS_LMDB, path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rc = kvs_env_get(path, MDB_NOSUBDIR | MDB_RDONLY |
	    (nolock ? MDB_NOLOCK : 0), &kv->kv_env)) == EEXIST) {
		snprintf(err, errlen, "%s: already opened %s noLock", path,
		    nolock ? "without" : "with");
		goto fail;
	}
	if (rc != 0 ||
	    (rc = mdb_txn_begin(kv->kv_env->e_env, NULL, MDB_RDONLY,
	    &txn)) != 0)
		goto lmdbfail;
	/* Opening a database is for one transaction of the process at once. */
	pthread_mutex_lock(&kvs_env_lock);
	rc = mdb_dbi_open(txn, *db == '\0' ? NULL : db, 0, &kv->kv_dbi);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	pthread_mutex_unlock(&kvs_env_lock);
	if (rc != 0)
		goto lmdbfail;
	kvs_publish(kv);
	return kv;
lmdbfail:
	snprintf(err, errlen, "%s%s%s: %s", path, *db != '\0' ?
	    ", database " : "", db, mdb_strerror(rc));
fail:
	if (rc != EEXIST)
		kvs_env_unref(kv->kv_env);
	free(kv->kv_path);
	pthread_mutex_destroy(&kv->kv_lock);
	free(kv);
	errno = EINVAL;
	return NULL;
}

void
kvs_ref(struct kvs *kv)
{
	atomic_fetch_add(&kv->kv_refs, 1);
}

void
kvs_unref(struct kvs *kv)
{
	if (kv == NULL || atomic_fetch_sub(&kv->kv_refs, 1) != 1)
		return;
	pthread_mutex_lock(&kvs_all_lock);
	LIST_REMOVE(kv, kv_entry);
	pthread_mutex_unlock(&kvs_all_lock);
	/* No reference is left, so no reader either. */
	cdbmap_free(atomic_load(&kv->kv_map));
	kvs_env_unref(kv->kv_env);
	pthread_mutex_destroy(&kv->kv_lock);
	free(kv->kv_path);
	free(kv);
}

int
kvs_kind(const struct kvs *kv)
{
	return kv->kv_kind;
}

const char *
kvs_path(const struct kvs *kv)
{
	return kv->kv_path;
}

void
kvs_stats(const struct kvs *kv, struct kvs_stats *st)
{
	st->ks_lookups = GET(kv->kv_lookups);
	st->ks_hits = GET(kv->kv_hits);
	st->ks_errors = GET(kv->kv_errors);
	st->ks_reloads = GET(kv->kv_reloads);
	st->ks_reloaderrors = GET(kv->kv_reloaderrors);
}

/* Copy a value out; -1 when it does not fit. */
static int
put_value(const void *v, size_t len, void *val, size_t valsz, size_t *vlen)
{
	if (val == NULL)
		return 1;
	if (len > valsz)
		return -1;
	memcpy(val, v, len);
	*vlen = len;
	return 1;
}

static int
cdb_get_value(struct kvs *kv, const void *key, size_t klen, void *val,
    size_t valsz, size_t *vlen)
{
	struct kvs_cdbmap	*m;
	struct cdb		 c;
	const void		*v;
	bool			 locked = !qsbr_reading();
	int			 rc;

	if (locked)
		pthread_mutex_lock(&kv->kv_lock);
	m = atomic_load_explicit(&kv->kv_map, memory_order_acquire);
	c = m->m_cdb;
	if ((rc = cdb_find(&c, key, (unsigned)klen)) > 0) {
		v = cdb_get(&c, cdb_datalen(&c), cdb_datapos(&c));
		rc = v == NULL ? -1 :
		    put_value(v, cdb_datalen(&c), val, valsz, vlen);
	}
	if (locked)
		pthread_mutex_unlock(&kv->kv_lock);
	return rc < 0 ? -1 : rc;
}

static int
lmdb_get_value(struct kvs *kv, const void *key, size_t klen, void *val,
    size_t valsz, size_t *vlen, bool range)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k = { klen, (void *)(uintptr_t)key }, v;
	int		 rc;

	if (mdb_txn_begin(kv->kv_env->e_env, NULL, MDB_RDONLY, &txn) != 0)
		return -1;
	if (!range)
		rc = mdb_get(txn, kv->kv_dbi, &k, &v);
	else if ((rc = mdb_cursor_open(txn, kv->kv_dbi, &cur)) == 0) {
		/* The first key not below ours: the end of a range. */
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		mdb_cursor_close(cur);
		if (rc == 0 && (k.mv_size != klen ||
		    memcmp(key, k.mv_data, klen) > 0 || v.mv_size < klen ||
		    memcmp(v.mv_data, key, klen) > 0))
			rc = MDB_NOTFOUND;
	}
	if (rc == 0)
		rc = put_value(v.mv_data, v.mv_size, val, valsz, vlen);
	else
		rc = rc == MDB_NOTFOUND ? 0 : -1;
	mdb_txn_abort(txn);
	return rc;
}

int
kvs_get(struct kvs *kv, const void *key, size_t klen, void *val,
    size_t valsz, size_t *vlen, bool range)
{
	int	rc;

	INC(kv->kv_lookups);
	if (kv->kv_kind == KVS_CDB)
		rc = range ? -1 : cdb_get_value(kv, key, klen, val, valsz,
		    vlen);
	else
		rc = lmdb_get_value(kv, key, klen, val, valsz, vlen, range);
	if (rc > 0)
		INC(kv->kv_hits);
	else if (rc < 0)
		INC(kv->kv_errors);
	return rc;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
kvs_refresh(struct kvs *kv, bool force, char *err, size_t errlen)
{
	struct kvs_cdbmap	*m, *old;
	struct stat		 st;
	bool			 same;

	if (kv->kv_kind != KVS_CDB)
		return 0;
	if (stat(kv->kv_path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", kv->kv_path, strerror(errno));
		INC(kv->kv_reloaderrors);
		return -1;
	}
	/* Under the lock: another writer may retire the map meanwhile. */
	pthread_mutex_lock(&kv->kv_lock);
	old = atomic_load_explicit(&kv->kv_map, memory_order_acquire);
	same = same_file(&st, &old->m_st);
	pthread_mutex_unlock(&kv->kv_lock);
	if (!force && same)
		return 0;
	if ((m = cdbmap_open(kv->kv_path, err, errlen)) == NULL) {
		INC(kv->kv_reloaderrors);
		return -1;
	}
	pthread_mutex_lock(&kv->kv_lock);
	old = atomic_exchange_explicit(&kv->kv_map, m, memory_order_acq_rel);
	atomic_store(&kv->kv_errbase, GET(kv->kv_errors));
	atomic_store(&kv->kv_errlogged, false);
	pthread_mutex_unlock(&kv->kv_lock);
	qsbr_retire(&old->m_q, cdbmap_reclaim);
	INC(kv->kv_reloads);
	return 1;
}

void
kvs_refresh_all(time_t now, void (*log)(const char *))
{
	struct kvs	*kv;
	char		 err[512], line[768];
	uint64_t	 n;
	int		 rc;

	pthread_mutex_lock(&kvs_all_lock);
	LIST_FOREACH(kv, &kvs_all, kv_entry) {
		if (kv->kv_refresh > 0 && now >= kv->kv_next) {
			kv->kv_next = now + kv->kv_refresh;
			if ((rc = kvs_refresh(kv, false, err,
			    sizeof(err))) == -1 && !kv->kv_failing) {
				snprintf(line, sizeof(line), "CDB key-value "
				    "store: keeping the data read before: %s",
				    err);
				log(line);
			} else if (rc == 1 && kv->kv_failing) {
				snprintf(line, sizeof(line), "CDB key-value "
				    "store: %s read again", kv->kv_path);
				log(line);
			}
			if (rc != 0)
				kv->kv_failing = rc == -1;
		}
		if ((n = GET(kv->kv_errors)) > atomic_load(&kv->kv_errbase) &&
		    !atomic_exchange(&kv->kv_errlogged, true)) {
			snprintf(line, sizeof(line), "key-value store %s: "
			    "lookups failed (%llu so far): a damaged file, or "
			    "a value over %d bytes", kv->kv_path,
			    (unsigned long long)n, KVS_VALMAX);
			log(line);
		}
	}
	pthread_mutex_unlock(&kvs_all_lock);
}

/* Keys */

struct kvs_key *
kvs_key_new(int kind)
{
	struct kvs_key	*kk;

	if ((kk = calloc(1, sizeof(*kk))) == NULL)
		return NULL;
	kk->kk_kind = kind;
	kk->kk_v4mask = 32;
	kk->kk_v6mask = 128;
	kk->kk_wire = true;
	return kk;
}

void
kvs_key_free(struct kvs_key *kk)
{
	if (kk == NULL)
		return;
	free(kk->kk_tag);
	free(kk);
}

void
kvs_key_desc(const struct kvs_key *kk, char *buf, size_t len)
{
	switch (kk->kk_kind) {
	case KVK_SOURCEIP:
		snprintf(buf, len, "source IP (masked to %d (v4) / %d (v6) "
		    "bits)%s", kk->kk_v4mask, kk->kk_v6mask,
		    kk->kk_port ? " including the port" : "");
		break;
	case KVK_QNAME:
		snprintf(buf, len, "qname%s", kk->kk_wire ?
		    " in wire format" : "");
		break;
	case KVK_SUFFIX:
		if (kk->kk_minlabels > 0)
			snprintf(buf, len, "suffix %swith at least %d "
			    "label(s)", kk->kk_wire ? "in wire format " : "",
			    kk->kk_minlabels);
		else
			snprintf(buf, len, "suffix%s", kk->kk_wire ?
			    " in wire format" : "");
		break;
	default:
		snprintf(buf, len, "value of the tag named '%s'", kk->kk_tag);
	}
}

int
kvs_name_key(const uint8_t *name, size_t len, bool wire, char *out,
    size_t outsz, size_t *klen)
{
	int	n;

	if (wire) {
		if (len > outsz)
			return -1;
		dnsname_lower(name, len, (uint8_t *)out);
		*klen = len;
		return 0;
	}
	if ((n = dnsname_to_text(name, len, out, outsz)) < 0)
		return -1;
	/* dnsdist's text keys have no final dot, but for the root. */
	if (n > 1)
		n--;
	for (*klen = (size_t)n; n > 0; n--)
		if (out[n - 1] >= 'A' && out[n - 1] <= 'Z')
			out[n - 1] += 'a' - 'A';
	return 0;
}

size_t
kvs_addr_key(const struct sockaddr *sa, int v4mask, int v6mask, bool port,
    uint8_t *out)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	size_t				 n;

	if (sa->sa_family == AF_INET) {
		memcpy(out, &sin->sin_addr, n = 4);
		netmask_clear_host(out, n, (unsigned)v4mask);
		if (port)
			memcpy(out + n, &sin->sin_port, 2);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(out, &sin6->sin6_addr, n = 16);
		netmask_clear_host(out, n, (unsigned)v6mask);
		if (port)
			memcpy(out + n, &sin6->sin6_port, 2);
	} else
		return 0;
	return port ? n + 2 : n;
}

int
kvs_key_each(const struct kvs_key *kk, const struct dnsq *dq,
    int (*fn)(const void *, size_t, void *), void *arg)
{
	const uint8_t	*name = dq->dq_q->q_lname;
	char		 buf[KVS_KEYMAX];
	size_t		 len = dq->dq_q->q_namelen, klen, off;
	int		 i, left, rc;

	switch (kk->kk_kind) {
	case KVK_SOURCEIP:
		if ((klen = kvs_addr_key(dq->dq_remote, kk->kk_v4mask,
		    kk->kk_v6mask, kk->kk_port, (uint8_t *)buf)) == 0)
			return 0;
		return fn(buf, klen, arg);
	case KVK_QNAME:
		if (kvs_name_key(name, len, kk->kk_wire, buf, sizeof(buf),
		    &klen) == -1)
			return 0;
		return fn(buf, klen, arg);
	case KVK_SUFFIX:
		left = dnsname_count_labels(name, len);
		if (kk->kk_minlabels > 0) {
			if (left < kk->kk_minlabels)
				return 0;
			left -= kk->kk_minlabels - 1;
		}
		for (off = 0; left > 0 && name[off] != 0; left--) {
			if (kvs_name_key(name + off, len - off, kk->kk_wire,
			    buf, sizeof(buf), &klen) == 0 &&
			    (rc = fn(buf, klen, arg)) != 0)
				return rc;
			off += name[off] + 1;
		}
		return 0;
	default:
		for (i = 0; i < dq->dq_ntags; i++)
			if (strcmp(dq->dq_tags[i].t_name, kk->kk_tag) == 0) {
				/* It may be the slot the value goes to. */
				klen = strlen(dq->dq_tags[i].t_value);
				if (klen > sizeof(buf))
					return 0;
				memcpy(buf, dq->dq_tags[i].t_value, klen);
				return fn(buf, klen, arg);
			}
		return 0;
	}
}

struct kvs_lookup {
	struct kvs	*l_kv;
	bool		 l_range;
	char		*l_val;		/* NULL: whether the key is there */
	size_t		 l_vlen;
};

static int
lookup_one(const void *key, size_t klen, void *arg)
{
	struct kvs_lookup	*l = arg;

	return kvs_get(l->l_kv, key, klen, l->l_val, KVS_VALMAX, &l->l_vlen,
	    l->l_range) > 0;
}

void
kvs_action(struct kvs *kv, const struct kvs_key *kk, bool range,
    const char *tag, struct dnsq *dq)
{
	struct kvs_lookup	 l = { kv, range, NULL, 0 };
	char			 val[KVS_VALMAX + 1];
	int			 slot;

	l.l_val = val;
	if (kvs_key_each(kk, dq, lookup_one, &l) == 0)
		l.l_vlen = 0;
	if ((slot = dnsq_tag_slot(dq, tag)) == -1)
		return;
	memcpy(kvs_tagval[slot], val, l.l_vlen);
	kvs_tagval[slot][l.l_vlen] = '\0';
	dq->dq_tags[slot].t_value = kvs_tagval[slot];
}

bool
kvs_match(struct kvs *kv, const struct kvs_key *kk, bool range,
    struct dnsq *dq)
{
	struct kvs_lookup	l = { kv, range, NULL, 0 };
	char			val[KVS_VALMAX];

	/* A range is known only from the value. */
	if (range)
		l.l_val = val;
	return kvs_key_each(kk, dq, lookup_one, &l) != 0;
}
