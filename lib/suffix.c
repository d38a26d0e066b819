/*
 * Name sets with suffix matching, sized for block lists of millions of
 * names: one arena allocation and one table of 32-bit offsets.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnsname.h"
#include "suffix.h"

int
suffix_init(struct suffix_set *ss)
{
	memset(ss, 0, sizeof(*ss));
	randombytes_buf(ss->ss_key, sizeof(ss->ss_key));
	ss->ss_nslots = 64;
	if ((ss->ss_slots = calloc(ss->ss_nslots, sizeof(uint32_t))) == NULL)
		return -1;
	return 0;
}

void
suffix_free(struct suffix_set *ss)
{
	if (ss == NULL)
		return;
	free(ss->ss_arena);
	free(ss->ss_slots);
	memset(ss, 0, sizeof(*ss));
}

/* The slot that holds name (lowered), or the empty slot where it would go. */
static size_t
suffix_find(const struct suffix_set *ss, const uint8_t *lname, size_t len,
    uint64_t h)
{
	size_t		 mask = ss->ss_nslots - 1, i = (size_t)h & mask;
	const uint8_t	*e;

	for (;;) {
		if (ss->ss_slots[i] == 0)
			return i;
		e = ss->ss_arena + ss->ss_slots[i] - 1;
		if (e[0] == len && memcmp(e + 1, lname, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static int
suffix_grow(struct suffix_set *ss)
{
	uint32_t	*old = ss->ss_slots, *ns;
	size_t		 oldn = ss->ss_nslots, i, j, n = oldn * 2;
	const uint8_t	*e;

	if ((ns = calloc(n, sizeof(*ns))) == NULL)
		return -1;
	ss->ss_slots = ns;
	ss->ss_nslots = n;
	for (i = 0; i < oldn; i++) {
		if (old[i] == 0)
			continue;
		e = ss->ss_arena + old[i] - 1;
		j = suffix_find(ss, e + 1, e[0],
		    dnsname_hash(e + 1, e[0], ss->ss_key));
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

int
suffix_add(struct suffix_set *ss, const uint8_t *name, size_t len)
{
	uint8_t		 lname[DNSNAME_MAXLEN];
	uint8_t		*na;
	size_t		 i, cap;

	if (len == 0 || len > DNSNAME_MAXLEN)
		return -1;
	dnsname_lower(name, len, lname);
	i = suffix_find(ss, lname, len, dnsname_hash(lname, len, ss->ss_key));
	if (ss->ss_slots[i] != 0)
		return 1;
	if (ss->ss_arenalen + len + 1 > ss->ss_arenacap) {
		cap = ss->ss_arenacap ? ss->ss_arenacap * 2 : 4096;
		while (cap < ss->ss_arenalen + len + 1)
			cap *= 2;
		if (cap > UINT32_MAX - 1 || (na = realloc(ss->ss_arena,
		    cap)) == NULL)
			return -1;
		ss->ss_arena = na;
		ss->ss_arenacap = cap;
	}
	ss->ss_arena[ss->ss_arenalen] = (uint8_t)len;
	memcpy(ss->ss_arena + ss->ss_arenalen + 1, lname, len);
	ss->ss_slots[i] = (uint32_t)ss->ss_arenalen + 1;
	ss->ss_arenalen += len + 1;
	ss->ss_count++;
	/* Keep the table at most half full. */
	if (ss->ss_count * 2 > ss->ss_nslots && suffix_grow(ss) == -1)
		return -1;
	return 0;
}

int
suffix_has(const struct suffix_set *ss, const uint8_t *name, size_t len)
{
	uint8_t	lname[DNSNAME_MAXLEN];
	size_t	i;

	if (ss->ss_count == 0 || len == 0 || len > DNSNAME_MAXLEN)
		return 0;
	dnsname_lower(name, len, lname);
	i = suffix_find(ss, lname, len, dnsname_hash(lname, len, ss->ss_key));
	return ss->ss_slots[i] != 0;
}

int
suffix_match(const struct suffix_set *ss, const uint8_t *name, size_t len,
    size_t *matchlen)
{
	uint8_t	lname[DNSNAME_MAXLEN];
	size_t	off = 0, i;

	if (ss->ss_count == 0 || len == 0 || len > DNSNAME_MAXLEN)
		return 0;
	dnsname_lower(name, len, lname);
	/* From the whole name down to the root: the longest suffix first. */
	while (off < len) {
		i = suffix_find(ss, lname + off, len - off,
		    dnsname_hash(lname + off, len - off, ss->ss_key));
		if (ss->ss_slots[i] != 0) {
			if (matchlen != NULL)
				*matchlen = len - off;
			return 1;
		}
		if (lname[off] == 0)
			break;
		off += (size_t)lname[off] + 1;
	}
	return 0;
}

struct suffix_set *
suffix_new(void)
{
	struct suffix_set	*ss;

	if ((ss = malloc(sizeof(*ss))) == NULL)
		return NULL;
	if (suffix_init(ss) == -1) {
		free(ss);
		return NULL;
	}
	atomic_init(&ss->ss_refs, 1);
	return ss;
}

void
suffix_ref(struct suffix_set *ss)
{
	atomic_fetch_add(&ss->ss_refs, 1);
}

void
suffix_unref(struct suffix_set *ss)
{
	if (ss == NULL || atomic_fetch_sub(&ss->ss_refs, 1) != 1)
		return;
	suffix_free(ss);
	free(ss);
}

struct suffix_set *
suffix_clone(const struct suffix_set *src)
{
	struct suffix_set	*ss;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return NULL;
	*ss = *src;
	atomic_init(&ss->ss_refs, 1);
	ss->ss_arena = malloc(src->ss_arenacap ? src->ss_arenacap : 1);
	ss->ss_slots = malloc(src->ss_nslots * sizeof(*ss->ss_slots));
	if (ss->ss_arena == NULL || ss->ss_slots == NULL) {
		free(ss->ss_arena);
		free(ss->ss_slots);
		free(ss);
		return NULL;
	}
	memcpy(ss->ss_arena, src->ss_arena, src->ss_arenalen);
	memcpy(ss->ss_slots, src->ss_slots,
	    src->ss_nslots * sizeof(*ss->ss_slots));
	return ss;
}
