/*
 * Queries in flight to a backend, by ID: see inflight.h.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnsname.h"
#include "inflight.h"

int
inflight_init(struct inflight_table *t, uint32_t n, size_t stride)
{
	memset(t, 0, sizeof(*t));
	if (n == 0 || n > INFLIGHT_MAX || stride < sizeof(struct inflight))
		return -1;
	t->it_n = n;
	t->it_stride = stride;
	/* calloc: pages are only touched as slots are first used. */
	t->it_mem = calloc(n, stride);
	t->it_freeq = calloc(n, sizeof(*t->it_freeq));
	t->it_live = calloc(n, sizeof(*t->it_live));
	t->it_livepos = calloc(n, sizeof(*t->it_livepos));
	if (t->it_mem == NULL || t->it_freeq == NULL || t->it_live == NULL ||
	    t->it_livepos == NULL) {
		inflight_free(t);
		return -1;
	}
	randombytes_buf(&t->it_idmask, sizeof(t->it_idmask));
	randombytes_buf(t->it_key, sizeof(t->it_key));
	return 0;
}

void
inflight_free(struct inflight_table *t)
{
	free(t->it_mem);
	free(t->it_freeq);
	free(t->it_live);
	free(t->it_livepos);
	t->it_mem = NULL;
	t->it_freeq = NULL;
	t->it_live = t->it_livepos = NULL;
	t->it_n = t->it_fresh = t->it_nfree = t->it_nlive = 0;
}

long
inflight_get(struct inflight_table *t)
{
	long	idx;

	/* The longest-freed first, so that an ID comes back late. */
	if (t->it_nfree > 0) {
		idx = t->it_freeq[t->it_freehead];
		t->it_freehead = (t->it_freehead + 1) % t->it_n;
		t->it_nfree--;
	} else if (t->it_fresh < t->it_n)
		idx = (long)t->it_fresh++;
	else
		return -1;
	t->it_livepos[idx] = (uint16_t)t->it_nlive;
	t->it_live[t->it_nlive++] = (uint16_t)idx;
	return idx;
}

uint16_t
inflight_send(struct inflight_table *t, uint32_t idx,
    const struct dnsquestion *q, uint64_t now)
{
	struct inflight	*in = INFLIGHT_AT(t, idx);

	in->if_sent = now;
	in->if_qhash = dnsname_hash(q->q_name, q->q_namelen, t->it_key);
	in->if_qtype = q->q_type;
	in->if_qclass = q->q_class;
	return (uint16_t)(idx ^ t->it_idmask);
}

void
inflight_put(struct inflight_table *t, uint32_t idx)
{
	uint16_t	last = t->it_live[--t->it_nlive];

	/* The last taken fills its place in it_live. */
	t->it_live[t->it_livepos[idx]] = last;
	t->it_livepos[last] = t->it_livepos[idx];
	INFLIGHT_AT(t, idx)->if_sent = 0;
	t->it_freeq[(t->it_freehead + t->it_nfree) % t->it_n] = (uint16_t)idx;
	t->it_nfree++;
}

long
inflight_byid(const struct inflight_table *t, uint16_t id)
{
	uint32_t	idx = (uint32_t)(id ^ t->it_idmask);

	if (idx >= t->it_n || INFLIGHT_AT(t, idx)->if_sent == 0)
		return -1;
	return (long)idx;
}

bool
inflight_bare(const uint8_t *pkt, size_t len)
{
	return len >= DNS_HDRLEN && dnspacket_qr(pkt) &&
	    dnspacket_qdcount(pkt) == 0 &&
	    dnspacket_rcode(pkt) != DNS_RCODE_NOERROR &&
	    dnspacket_rcode(pkt) != DNS_RCODE_NXDOMAIN;
}

long
inflight_answer(const struct inflight_table *t, const uint8_t *pkt,
    size_t len, struct dnsquestion *q)
{
	const struct inflight	*in;
	long			 idx;

	if (inflight_bare(pkt, len)) {
		memset(q, 0, sizeof(*q));
		q->q_namelen = 1;	/* the root: q_name[0] is 0 */
		q->q_end = DNS_HDRLEN;
		return inflight_byid(t, dnspacket_id(pkt));
	}
	if (len < DNS_HDRLEN || !dnspacket_qr(pkt) ||
	    dnspacket_question(pkt, len, q) == -1 ||
	    (idx = inflight_byid(t, dnspacket_id(pkt))) == -1)
		return -1;
	in = INFLIGHT_AT(t, idx);
	if (in->if_qtype != q->q_type || in->if_qclass != q->q_class ||
	    in->if_qhash != dnsname_hash(q->q_name, q->q_namelen, t->it_key))
		return -1;
	return idx;
}

uint32_t
inflight_count(const struct inflight_table *t)
{
	return t->it_nlive;
}

/*
 * From the end of it_live down: a slot freed meanwhile is replaced by the
 * last one, which has been seen already, or is the slot at hand; a slot
 * taken goes at the end, past the walk.
 */
long
inflight_walk(struct inflight_table *t, uint32_t *pos)
{
	uint16_t	idx;

	if (*pos > t->it_nlive)
		*pos = t->it_nlive;
	while (*pos > 0) {
		idx = t->it_live[--*pos];
		t->it_walked++;
		if (INFLIGHT_AT(t, idx)->if_sent != 0)
			return idx;
	}
	return -1;
}
