/*
 * Counts per client address: see hostcount.h.  Chained buckets, as many
 * as entries, halved when fewer than a quarter are used, so that a flood
 * of addresses that has gone leaves no big array behind.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hostcount.h"
#include "siphash.h"

#define HC_KEYLEN	17	/* the family, then up to 16 address bytes */
#define HC_MINBUCKETS	64

struct hc_entry {
	struct hc_entry	*he_next;
	uint64_t	 he_hash;
	uint8_t		 he_key[HC_KEYLEN];
	int		 he_count;
};

struct hostcount {
	pthread_mutex_t	  hc_lock;
	struct hc_entry	**hc_buckets;
	size_t		  hc_nbuckets;	/* a power of two */
	size_t		  hc_n;
	uint8_t		  hc_secret[SIPHASH_KEYBYTES];
};

struct hostcount *
hostcount_new(void)
{
	struct hostcount	*hc;

	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return NULL;
	if ((hc->hc_buckets = calloc(HC_MINBUCKETS,
	    sizeof(*hc->hc_buckets))) == NULL) {
		free(hc);
		return NULL;
	}
	hc->hc_nbuckets = HC_MINBUCKETS;
	randombytes_buf(hc->hc_secret, sizeof(hc->hc_secret));
	pthread_mutex_init(&hc->hc_lock, NULL);
	return hc;
}

void
hostcount_free(struct hostcount *hc)
{
	struct hc_entry	*e, *next;
	size_t		 i;

	if (hc == NULL)
		return;
	for (i = 0; i < hc->hc_nbuckets; i++)
		for (e = hc->hc_buckets[i]; e != NULL; e = next) {
			next = e->he_next;
			free(e);
		}
	free(hc->hc_buckets);
	pthread_mutex_destroy(&hc->hc_lock);
	explicit_bzero(hc->hc_secret, sizeof(hc->hc_secret));
	free(hc);
}

/* The link that holds key's entry, or the NULL at the end of its chain. */
static struct hc_entry **
hc_find(struct hostcount *hc, const struct sockaddr *sa, uint8_t *key,
    uint64_t *hash)
{
	struct hc_entry	**ep;

	memset(key, 0, HC_KEYLEN);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    16);
	*hash = siphash24(hc->hc_secret, key, HC_KEYLEN);
	for (ep = &hc->hc_buckets[*hash & (hc->hc_nbuckets - 1)];
	    *ep != NULL; ep = &(*ep)->he_next)
		if (memcmp((*ep)->he_key, key, HC_KEYLEN) == 0)
			break;
	return ep;
}

/* Twice the buckets past one entry each, half below a quarter. */
static void
hc_resize(struct hostcount *hc)
{
	struct hc_entry	**nb, *e, *next;
	size_t		  n = hc->hc_nbuckets, i, b;

	if (hc->hc_n > n)
		n *= 2;
	else if (hc->hc_n < n / 4 && n > HC_MINBUCKETS)
		n /= 2;
	else
		return;
	/* Without memory the chains only get longer. */
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < hc->hc_nbuckets; i++)
		for (e = hc->hc_buckets[i]; e != NULL; e = next) {
			next = e->he_next;
			b = e->he_hash & (n - 1);
			e->he_next = nb[b];
			nb[b] = e;
		}
	free(hc->hc_buckets);
	hc->hc_buckets = nb;
	hc->hc_nbuckets = n;
}

bool
hostcount_take(struct hostcount *hc, const struct sockaddr *sa, int limit)
{
	struct hc_entry	**ep, *e;
	uint8_t		  key[HC_KEYLEN];
	uint64_t	  hash;
	bool		  ok = true;

	pthread_mutex_lock(&hc->hc_lock);
	ep = hc_find(hc, sa, key, &hash);
	if ((e = *ep) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			pthread_mutex_unlock(&hc->hc_lock);
			return false;
		}
		e->he_hash = hash;
		memcpy(e->he_key, key, HC_KEYLEN);
		*ep = e;
		hc->hc_n++;
	}
	if (limit > 0 && e->he_count >= limit)
		ok = false;
	else
		e->he_count++;
	hc_resize(hc);
	pthread_mutex_unlock(&hc->hc_lock);
	return ok;
}

void
hostcount_give(struct hostcount *hc, const struct sockaddr *sa)
{
	struct hc_entry	**ep, *e;
	uint8_t		  key[HC_KEYLEN];
	uint64_t	  hash;

	pthread_mutex_lock(&hc->hc_lock);
	ep = hc_find(hc, sa, key, &hash);
	if ((e = *ep) != NULL && --e->he_count <= 0) {
		*ep = e->he_next;
		free(e);
		hc->hc_n--;
		hc_resize(hc);
	}
	pthread_mutex_unlock(&hc->hc_lock);
}

int
hostcount_get(struct hostcount *hc, const struct sockaddr *sa)
{
	struct hc_entry	**ep;
	uint8_t		  key[HC_KEYLEN];
	uint64_t	  hash;
	int		  n;

	pthread_mutex_lock(&hc->hc_lock);
	ep = hc_find(hc, sa, key, &hash);
	n = *ep != NULL ? (*ep)->he_count : 0;
	pthread_mutex_unlock(&hc->hc_lock);
	return n;
}

size_t
hostcount_size(struct hostcount *hc)
{
	size_t	n;

	pthread_mutex_lock(&hc->hc_lock);
	n = hc->hc_n;
	pthread_mutex_unlock(&hc->hc_lock);
	return n;
}
