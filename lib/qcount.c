/*
 * Query counting: an open-addressed table of keys, under one mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "qcount.h"

struct qc_item {
	char		*qi_key;
	uint64_t	 qi_n;
};

_Atomic bool		 qcount_enabled;
static pthread_mutex_t	 qc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qc_item	*qc_items;
static size_t		 qc_cap, qc_count;

static uint64_t
qc_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

static int
qc_grow(void)
{
	struct qc_item	*ni;
	size_t		 cap = qc_cap ? qc_cap * 2 : 256, i, j;

	if ((ni = calloc(cap, sizeof(*ni))) == NULL)
		return -1;
	for (i = 0; i < qc_cap; i++) {
		if (qc_items[i].qi_key == NULL)
			continue;
		j = qc_hash(qc_items[i].qi_key) & (cap - 1);
		while (ni[j].qi_key != NULL)
			j = (j + 1) & (cap - 1);
		ni[j] = qc_items[i];
	}
	free(qc_items);
	qc_items = ni;
	qc_cap = cap;
	return 0;
}

int
qcount_add(const char *key)
{
	size_t	j;
	int	rc = -1;

	pthread_mutex_lock(&qc_lock);
	if ((qc_count + 1) * 2 > qc_cap && qc_grow() == -1)
		goto out;
	j = qc_hash(key) & (qc_cap - 1);
	while (qc_items[j].qi_key != NULL) {
		if (strcmp(qc_items[j].qi_key, key) == 0) {
			qc_items[j].qi_n++;
			rc = 0;
			goto out;
		}
		j = (j + 1) & (qc_cap - 1);
	}
	if (qc_count >= QCOUNT_MAX) {
		errno = ENOSPC;
		goto out;
	}
	if ((qc_items[j].qi_key = strdup(key)) == NULL)
		goto out;
	qc_items[j].qi_n = 1;
	qc_count++;
	rc = 0;
out:
	pthread_mutex_unlock(&qc_lock);
	return rc;
}

size_t
qcount_clear(void)
{
	size_t	i, n;

	pthread_mutex_lock(&qc_lock);
	for (i = 0; i < qc_cap; i++)
		free(qc_items[i].qi_key);
	free(qc_items);
	qc_items = NULL;
	n = qc_count;
	qc_cap = qc_count = 0;
	pthread_mutex_unlock(&qc_lock);
	return n;
}

static int
qc_cmp(const void *a, const void *b)
{
	return strcmp((*(struct qc_item *const *)a)->qi_key,
	    (*(struct qc_item *const *)b)->qi_key);
}

size_t
qcount_walk(size_t max, void (*fn)(const char *, uint64_t, void *),
    void *arg)
{
	struct qc_item	**v;
	size_t		  i, n = 0, count;

	pthread_mutex_lock(&qc_lock);
	count = qc_count;
	if ((v = calloc(qc_count + 1, sizeof(*v))) != NULL) {
		for (i = 0; i < qc_cap; i++)
			if (qc_items[i].qi_key != NULL)
				v[n++] = &qc_items[i];
		qsort(v, n, sizeof(*v), qc_cmp);
		for (i = 0; i < n && i < max; i++)
			fn(v[i]->qi_key, v[i]->qi_n, arg);
		free(v);
	}
	pthread_mutex_unlock(&qc_lock);
	return count;
}
