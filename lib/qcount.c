/*
 * Query counting: an open-addressed table of keys, under one mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "qcount.h"

static pthread_mutex_t		 qc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qcount_table	 qc_table;

static uint64_t
qc_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

static int
qc_grow(struct qcount_table *qt)
{
	struct qcount_item	*ni;
	size_t			 cap, i, j;

	cap = qt->qt_cap ? qt->qt_cap * 2 : 256;
	if ((ni = calloc(cap, sizeof(*ni))) == NULL)
		return -1;
	for (i = 0; i < qt->qt_cap; i++) {
		if (qt->qt_items[i].qi_key == NULL)
			continue;
		j = qc_hash(qt->qt_items[i].qi_key) & (cap - 1);
		while (ni[j].qi_key != NULL)
			j = (j + 1) & (cap - 1);
		ni[j] = qt->qt_items[i];
	}
	free(qt->qt_items);
	qt->qt_items = ni;
	qt->qt_cap = cap;
	return 0;
}

int
qcount_table_add(struct qcount_table *qt, const char *key, uint64_t n,
    size_t max)
{
	size_t	j;

	if ((qt->qt_count + 1) * 2 > qt->qt_cap && qc_grow(qt) == -1)
		return -1;
	j = qc_hash(key) & (qt->qt_cap - 1);
	while (qt->qt_items[j].qi_key != NULL) {
		if (strcmp(qt->qt_items[j].qi_key, key) == 0) {
			qt->qt_items[j].qi_n += n;
			return 0;
		}
		j = (j + 1) & (qt->qt_cap - 1);
	}
	if (qt->qt_count >= max) {
		errno = ENOSPC;
		return -1;
	}
	if ((qt->qt_items[j].qi_key = strdup(key)) == NULL)
		return -1;
	qt->qt_items[j].qi_n = n;
	qt->qt_count++;
	return 0;
}

void
qcount_table_free(struct qcount_table *qt)
{
	size_t	i;

	for (i = 0; i < qt->qt_cap; i++)
		free(qt->qt_items[i].qi_key);
	free(qt->qt_items);
	memset(qt, 0, sizeof(*qt));
}

int
qcount_add(const char *key)
{
	int	rc;

	pthread_mutex_lock(&qc_lock);
	rc = qcount_table_add(&qc_table, key, 1, QCOUNT_MAX);
	pthread_mutex_unlock(&qc_lock);
	return rc;
}

size_t
qcount_clear(void)
{
	size_t	n;

	pthread_mutex_lock(&qc_lock);
	n = qc_table.qt_count;
	qcount_table_free(&qc_table);
	pthread_mutex_unlock(&qc_lock);
	return n;
}

static int
qc_cmp(const void *a, const void *b)
{
	return strcmp((*(struct qcount_item *const *)a)->qi_key,
	    (*(struct qcount_item *const *)b)->qi_key);
}

size_t
qcount_walk(size_t max, void (*fn)(const char *, uint64_t, void *),
    void *arg)
{
	struct qcount_item	**v;
	size_t			  i, n = 0, count;

	pthread_mutex_lock(&qc_lock);
	count = qc_table.qt_count;
	if ((v = calloc(count + 1, sizeof(*v))) != NULL) {
		for (i = 0; i < qc_table.qt_cap; i++)
			if (qc_table.qt_items[i].qi_key != NULL)
				v[n++] = &qc_table.qt_items[i];
		qsort(v, n, sizeof(*v), qc_cmp);
		for (i = 0; i < n && i < max; i++)
			fn(v[i]->qi_key, v[i]->qi_n, arg);
		free(v);
	}
	pthread_mutex_unlock(&qc_lock);
	return count;
}
