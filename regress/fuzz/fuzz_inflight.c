/*
 * libFuzzer target for the response-matching path: the table of queries
 * in flight to a backend (lib/inflight.c) driven by a script of queries
 * sent, answers received (well-formed, altered, or arbitrary bytes) and
 * timeouts, checked against a plain model of what is in flight.
 *
 * What must hold: an answer is taken only for a query in flight with the
 * same question (name in any case, type, class), or, without a question,
 * for the query in flight with its ID when its RCODE is an error other
 * than NXDOMAIN; an answer that is the right one is always taken; no ID
 * is ever given to two queries in flight; a freed ID answers nothing; the
 * count in flight is the model's; a walk that frees some of what it sees
 * (a timeout sweep) sees each query in flight once and looks at nothing
 * else.  IDs are drawn at random or counting up, as the first byte of the
 * script says.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"
#include "dnspacket.h"
#include "inflight.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)
#define ROOM		1024

struct model {
	bool		m_live;
	uint16_t	m_id;
	struct dnsquestion m_q;
};

/* What the table should hold: the model, and its live slots in a list. */
struct state {
	struct inflight_table	 st_t;
	struct model		*st_m;
	uint32_t		*st_live;	/* live slots, in no order */
	uint32_t		*st_pos;	/* a live slot's place in st_live */
	uint32_t		*st_owner;	/* by ID: 1 + its slot, or 0 */
	uint32_t		 st_count;
};

struct script {
	const uint8_t	*s_p;
	size_t		 s_left;
};

static uint8_t
next(struct script *s)
{
	if (s->s_left == 0)
		return 0;
	s->s_left--;
	return *s->s_p++;
}

/* A live slot chosen by the script, or -1 when none is. */
static long
pick_live(const struct state *st, uint8_t b)
{
	if (st->st_count == 0)
		return -1;
	return (long)st->st_live[b % st->st_count];
}

static void
model_add(struct state *st, uint32_t idx)
{
	st->st_m[idx].m_live = true;
	st->st_pos[idx] = st->st_count;
	st->st_live[st->st_count++] = idx;
}

static void
model_del(struct state *st, uint32_t idx)
{
	uint32_t	last = st->st_live[--st->st_count];

	st->st_m[idx].m_live = false;
	st->st_owner[st->st_m[idx].m_id] = 0;
	st->st_live[st->st_pos[idx]] = last;
	st->st_pos[last] = st->st_pos[idx];
}

/* Whether a query with ID id is in flight. */
static bool
live_id(const struct state *st, uint16_t id)
{
	const struct model	*m = st->st_m;
	uint32_t		 i = st->st_owner[id] - 1;

	return st->st_owner[id] != 0 && m[i].m_live && m[i].m_id == id;
}

/* Whether an answer with question aq and ID id belongs to slot i. */
static bool
belongs(const struct state *st, uint16_t id, const struct dnsquestion *aq)
{
	const struct model	*m = st->st_m;
	uint32_t		 i = st->st_owner[id] - 1;

	return live_id(st, id) &&
	    m[i].m_q.q_type == aq->q_type && m[i].m_q.q_class == aq->q_class &&
	    dnsname_equal(m[i].m_q.q_name, m[i].m_q.q_namelen, aq->q_name,
	    aq->q_namelen) == 1;
}

/* A response without a question, of an error other than NXDOMAIN. */
static bool
bare_error(const uint8_t *pkt, size_t len)
{
	int	rcode;

	if (len < DNS_HDRLEN || (pkt[2] & 0x80) == 0 || pkt[4] != 0 ||
	    pkt[5] != 0)
		return false;
	rcode = pkt[3] & 0x0f;
	return rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN;
}

static void
op_send(struct state *st, struct script *s)
{
	struct inflight_table	*t = &st->st_t;
	struct model		*m = st->st_m;
	uint8_t			name[DNSNAME_MAXLEN], pkt[ROOM];
	struct dnsquestion	q;
	size_t			len, namelen = 0, l;
	long			idx;
	uint16_t		type, class;

	/* Up to three labels of script bytes, any bytes. */
	for (l = next(s) % 4; l > 0; l--) {
		size_t	ll = 1 + next(s) % 20, j;

		name[namelen++] = (uint8_t)ll;
		for (j = 0; j < ll; j++)
			name[namelen++] = next(s);
	}
	name[namelen++] = 0;
	type = (uint16_t)(next(s) << 8 | next(s));
	class = next(s) & 1 ? DNS_CLASS_IN : (uint16_t)next(s);
	len = dnspacket_make_query(pkt, sizeof(pkt), 0, name, namelen, type,
	    class, true);
	CHECK(len > 0 && dnspacket_question(pkt, len, &q) == 0);
	if ((idx = inflight_get(t)) == -1) {
		CHECK(st->st_count == t->it_n);
		return;
	}
	CHECK((uint32_t)idx < t->it_n && !m[idx].m_live);
	model_add(st, (uint32_t)idx);
	m[idx].m_q = q;
	m[idx].m_id = inflight_send(t, (uint32_t)idx, &q, 1 + (uint64_t)idx);
	CHECK(st->st_owner[m[idx].m_id] == 0);
	st->st_owner[m[idx].m_id] = (uint32_t)idx + 1;
	CHECK(inflight_byid(t, m[idx].m_id) == idx);
}

/* Take the answer in pkt if the table does; check against the model. */
static void
receive(struct state *st, const uint8_t *pkt, size_t len)
{
	struct inflight_table	*t = &st->st_t;
	struct dnsquestion	aq, mq;
	long			idx;
	bool			bare, right;

	bare = bare_error(pkt, len);
	right = bare ? live_id(st, dnspacket_id(pkt)) :
	    len >= DNS_HDRLEN && dnspacket_qr(pkt) &&
	    dnspacket_question(pkt, len, &mq) == 0 &&
	    belongs(st, dnspacket_id(pkt), &mq);
	idx = inflight_answer(t, pkt, len, &aq);
	CHECK((idx != -1) == right);
	if (idx == -1)
		return;
	CHECK(bare ? aq.q_end == DNS_HDRLEN && aq.q_namelen == 1 &&
	    aq.q_name[0] == 0 : belongs(st, dnspacket_id(pkt), &aq));
	inflight_put(t, (uint32_t)idx);
	model_del(st, (uint32_t)idx);
	/* Answered: the same answer again is a stray. */
	CHECK(inflight_answer(t, pkt, len, &aq) == -1);
}

/* The answer to a live query, maybe altered, with script bytes after. */
static void
op_answer(struct state *st, struct script *s)
{
	uint8_t			pkt[ROOM];
	struct model		*e;
	size_t			len, extra, j;
	long			k;
	uint8_t			how;

	if ((k = pick_live(st, next(s))) == -1)
		return;
	e = &st->st_m[k];
	len = dnspacket_make_query(pkt, sizeof(pkt), e->m_id, e->m_q.q_name,
	    e->m_q.q_namelen, e->m_q.q_type, e->m_q.q_class, false);
	CHECK(len > 0);
	dnspacket_set_qr(pkt, true);
	how = next(s);
	switch (how % 8) {
	case 0:		/* a byte of the question or header changed */
	case 1:
		pkt[next(s) % len] ^= (uint8_t)(1 + next(s) % 255);
		break;
	case 2:		/* a letter's case changed: still the answer */
		for (j = DNS_HDRLEN; j < len; j++)
			if ((pkt[j] | 0x20) >= 'a' && (pkt[j] | 0x20) <= 'z') {
				pkt[j] ^= 0x20;
				break;
			}
		break;
	case 3:		/* cut short */
		len = next(s) % len;
		break;
	case 4:		/* the header alone, with an RCODE of the script's */
		len = DNS_HDRLEN;
		pkt[4] = pkt[5] = 0;
		dnspacket_set_rcode(pkt, next(s) % 16);
		break;
	default:	/* as sent */
		break;
	}
	/* Records (or garbage) after the question. */
	extra = next(s) % 64;
	for (j = 0; j < extra && len < sizeof(pkt); j++)
		pkt[len++] = next(s);
	receive(st, pkt, len);
}

/* Arbitrary bytes from the backend, with a live ID now and then. */
static void
op_raw(struct state *st, struct script *s)
{
	uint8_t		pkt[ROOM];
	size_t		len, j;
	long		k;

	len = next(s) % 128;
	for (j = 0; j < len; j++)
		pkt[j] = next(s);
	if (len >= 2 && (k = pick_live(st, next(s))) != -1)
		dnspacket_set_id(pkt, st->st_m[k].m_id);
	receive(st, pkt, len);
}

static void
op_timeout(struct state *st, struct script *s)
{
	uint16_t	id;
	long		k;

	if ((k = pick_live(st, next(s))) == -1)
		return;
	id = st->st_m[k].m_id;
	inflight_put(&st->st_t, (uint32_t)k);
	model_del(st, (uint32_t)k);
	CHECK(inflight_byid(&st->st_t, id) == -1);
}

/* A sweep: walk the slots in flight, freeing those the script says. */
static void
op_sweep(struct state *st, struct script *s)
{
	struct inflight_table	*t = &st->st_t;
	uint64_t		 w0 = t->it_walked;
	uint32_t		 pos = INFLIGHT_WALK, n = 0, count = st->st_count;
	long			 idx;

	while ((idx = inflight_walk(t, &pos)) != -1) {
		CHECK((uint32_t)idx < t->it_n && st->st_m[idx].m_live);
		n++;
		if (next(s) & 1) {
			inflight_put(t, (uint32_t)idx);
			model_del(st, (uint32_t)idx);
		}
	}
	CHECK(n == count && t->it_walked - w0 == count);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Sized once for the largest table; left all free after each run. */
	static struct model	 m[INFLIGHT_MAX];
	static uint32_t		 live[INFLIGHT_MAX], pos[INFLIGHT_MAX];
	static uint32_t		 owner[INFLIGHT_IDS];
	struct state		 st;
	struct script		 s = { data, size };
	uint32_t		 n;
	uint8_t			 b;

	if (size < 2)
		return 0;
	b = next(&s);
	/* Small tables fill up; the full one has all IDs but one. */
	n = b == 0xff ? INFLIGHT_MAX : 1 + b % 32;
	memset(&st, 0, sizeof(st));
	if (inflight_init(&st.st_t, n, sizeof(struct inflight),
	    (b & 0x80) != 0) == -1)
		return 0;
	st.st_m = m;
	st.st_live = live;
	st.st_pos = pos;
	st.st_owner = owner;
	while (s.s_left > 0) {
		switch (next(&s) % 6) {
		case 0:
		case 1:
			op_send(&st, &s);
			break;
		case 2:
			op_answer(&st, &s);
			break;
		case 3:
			op_raw(&st, &s);
			break;
		case 4:
			op_sweep(&st, &s);
			break;
		default:
			op_timeout(&st, &s);
			break;
		}
		CHECK(inflight_count(&st.st_t) == st.st_count);
	}
	while (st.st_count > 0)
		model_del(&st, live[st.st_count - 1]);
	inflight_free(&st.st_t);
	return 0;
}
