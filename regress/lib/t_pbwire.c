/*
 * pbwire: PBDNSMessage written by hand must be byte for byte what
 * protobuf-c packs, for every field and for nested messages whose length
 * takes one, two or three bytes; a buffer too small at any length gives
 * 0 and nothing written past its end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "pbwire.h"

#include "lsan.h"

#define NRR	600
#define NTAG	8
#define NMETA	4
#define NVAL	3

/* A message with its storage, filled at random from a seed. */
struct msg {
	PBDNSMessage			 m;
	PBDNSMessage__DNSQuestion	 q;
	PBDNSMessage__DNSResponse	 r;
	PBDNSMessage__DNSResponse__DNSRR rr[NRR];
	PBDNSMessage__DNSResponse__DNSRR *rrp[NRR];
	char				*tags[NTAG];
	PBDNSMessage__Meta		 meta[NMETA];
	PBDNSMessage__Meta		*metap[NMETA];
	PBDNSMessage__MetaValue		 mv[NMETA];
	char				*vals[NMETA][NVAL];
	int64_t				 ivals[NMETA][NVAL];
	uint8_t				 bytes[4096];
	char				 text[64][300];
};

static uint64_t	rnd_state;

static uint32_t
rnd(uint32_t n)
{
	rnd_state = rnd_state * 6364136223846793005ULL +
	    1442695040888963407ULL;
	return n == 0 ? 0 : (uint32_t)(rnd_state >> 33) % n;
}

/* A value of a few bits or of all of them, to cover every varint size. */
static uint32_t
rnd32(void)
{
	switch (rnd(4)) {
	case 0:
		return rnd(128);
	case 1:
		return rnd(1 << 14);
	case 2:
		return rnd(1U << 21);
	default:
		return (uint32_t)rnd(1U << 31) * 2 + rnd(2);
	}
}

static char *
rnd_text(struct msg *x, int *nt, size_t max)
{
	char	*s = x->text[(*nt)++ % 64];
	size_t	 i, n = rnd((uint32_t)max);

	for (i = 0; i < n; i++)
		s[i] = (char)('a' + rnd(26));
	s[n] = '\0';
	return s;
}

static void
rnd_bytes(struct msg *x, size_t *used, ProtobufCBinaryData *bd,
    protobuf_c_boolean *has, size_t max)
{
	size_t	i, n = rnd((uint32_t)max);

	if (*used + n > sizeof(x->bytes))
		n = 0;
	*has = 1;
	bd->data = x->bytes + *used;
	bd->len = n;
	for (i = 0; i < n; i++)
		bd->data[i] = (uint8_t)rnd(256);
	*used += n;
}

static void
fill(struct msg *x, uint64_t seed, size_t maxrr)
{
	PBDNSMessage	 m = PBDNSMESSAGE__INIT;
	PBDNSMessage__DNSQuestion q = PBDNSMESSAGE__DNSQUESTION__INIT;
	PBDNSMessage__DNSResponse r = PBDNSMESSAGE__DNSRESPONSE__INIT;
	PBDNSMessage__DNSResponse__DNSRR rr =
	    PBDNSMESSAGE__DNSRESPONSE__DNSRR__INIT;
	PBDNSMessage__Meta mt = PBDNSMESSAGE__META__INIT;
	PBDNSMessage__MetaValue mv = PBDNSMESSAGE__META_VALUE__INIT;
	size_t		 used = 0, i, j;
	int		 nt = 0;

	rnd_state = seed;
	x->m = m;
	x->q = q;
	x->r = r;
	x->m.type = (PBDNSMessage__Type)(1 + rnd(4));
#define MAYBE(f, v) do { if (rnd(2)) { x->m.has_##f = 1; x->m.f = (v); } } \
	while (0)
	if (rnd(2))
		rnd_bytes(x, &used, &x->m.messageid, &x->m.has_messageid, 17);
	if (rnd(2))
		rnd_bytes(x, &used, &x->m.serveridentity,
		    &x->m.has_serveridentity, 200);
	MAYBE(socketfamily, (PBDNSMessage__SocketFamily)(1 + rnd(2)));
	MAYBE(socketprotocol, (PBDNSMessage__SocketProtocol)(1 + rnd(6)));
	if (rnd(2))
		rnd_bytes(x, &used, &x->m.from, &x->m.has_from, 17);
	if (rnd(2))
		rnd_bytes(x, &used, &x->m.to, &x->m.has_to, 17);
	MAYBE(inbytes, (uint64_t)rnd32() << rnd(32));
	MAYBE(timesec, rnd32());
	MAYBE(timeusec, rnd32());
	MAYBE(id, rnd(65536));
	if (rnd(4)) {
		x->m.question = &x->q;
		if (rnd(4))
			x->q.qname = rnd_text(x, &nt, 255);
		if (rnd(2)) {
			x->q.has_qtype = 1;
			x->q.qtype = rnd32();
		}
		if (rnd(2)) {
			x->q.has_qclass = 1;
			x->q.qclass = rnd32();
		}
	}
	if (rnd(4)) {
		x->m.response = &x->r;
		if (rnd(2)) {
			x->r.has_rcode = 1;
			x->r.rcode = rnd32();
		}
		x->r.n_rrs = rnd((uint32_t)maxrr + 1);
		x->r.rrs = x->rrp;
		for (i = 0; i < x->r.n_rrs; i++) {
			x->rr[i] = rr;
			x->rrp[i] = &x->rr[i];
			if (rnd(4))
				x->rr[i].name = rnd_text(x, &nt, 60);
			if (rnd(2)) {
				x->rr[i].has_type = 1;
				x->rr[i].type = rnd32();
			}
			if (rnd(2)) {
				x->rr[i].has_class_ = 1;
				x->rr[i].class_ = rnd32();
			}
			if (rnd(2)) {
				x->rr[i].has_ttl = 1;
				x->rr[i].ttl = rnd32();
			}
			if (rnd(2))
				rnd_bytes(x, &used, &x->rr[i].rdata,
				    &x->rr[i].has_rdata, 20);
			if (rnd(3) == 0) {
				x->rr[i].has_udr = 1;
				x->rr[i].udr = (protobuf_c_boolean)rnd(2);
			}
		}
		if (rnd(3) == 0)
			x->r.appliedpolicy = rnd_text(x, &nt, 20);
		x->r.n_tags = rnd(NTAG + 1);
		x->r.tags = x->tags;
		for (i = 0; i < x->r.n_tags; i++)
			x->tags[i] = rnd_text(x, &nt, 30);
		if (rnd(2)) {
			x->r.has_querytimesec = 1;
			x->r.querytimesec = rnd32();
		}
		if (rnd(2)) {
			x->r.has_querytimeusec = 1;
			x->r.querytimeusec = rnd32();
		}
		if (rnd(4) == 0) {
			x->r.has_appliedpolicytype = 1;
			x->r.appliedpolicytype =
			    (PBDNSMessage__PolicyType)(1 + rnd(6));
		}
		if (rnd(4) == 0)
			x->r.appliedpolicytrigger = rnd_text(x, &nt, 20);
		if (rnd(4) == 0)
			x->r.appliedpolicyhit = rnd_text(x, &nt, 20);
		if (rnd(4) == 0) {
			x->r.has_appliedpolicykind = 1;
			x->r.appliedpolicykind =
			    (PBDNSMessage__PolicyKind)(1 + rnd(6));
		}
		if (rnd(4) == 0) {
			x->r.has_validationstate = 1;
			x->r.validationstate = (PBDNSMessage__VState)(1 + rnd(18));
		}
	}
	if (rnd(3) == 0)
		rnd_bytes(x, &used, &x->m.originalrequestorsubnet,
		    &x->m.has_originalrequestorsubnet, 17);
	if (rnd(3) == 0)
		x->m.requestorid = rnd_text(x, &nt, 40);
	if (rnd(4) == 0)
		rnd_bytes(x, &used, &x->m.initialrequestid,
		    &x->m.has_initialrequestid, 17);
	if (rnd(3) == 0)
		rnd_bytes(x, &used, &x->m.deviceid, &x->m.has_deviceid, 40);
	MAYBE(newlyobserveddomain, (protobuf_c_boolean)rnd(2));
	if (rnd(3) == 0)
		x->m.devicename = rnd_text(x, &nt, 40);
	MAYBE(fromport, rnd(65536));
	MAYBE(toport, rnd(65536));
#undef MAYBE
	x->m.n_meta = rnd(NMETA + 1);
	x->m.meta = x->metap;
	for (i = 0; i < x->m.n_meta; i++) {
		x->meta[i] = mt;
		x->mv[i] = mv;
		x->metap[i] = &x->meta[i];
		x->meta[i].key = rnd_text(x, &nt, 20);
		x->meta[i].value = &x->mv[i];
		x->mv[i].n_stringval = rnd(NVAL + 1);
		x->mv[i].stringval = x->vals[i];
		for (j = 0; j < x->mv[i].n_stringval; j++)
			x->vals[i][j] = rnd_text(x, &nt, 20);
		x->mv[i].n_intval = rnd(NVAL + 1);
		x->mv[i].intval = x->ivals[i];
		for (j = 0; j < x->mv[i].n_intval; j++)
			x->ivals[i][j] = rnd(2) ? (int64_t)rnd32() :
			    -(int64_t)rnd32();
	}
}

static void
same(struct msg *x, uint64_t seed)
{
	static uint8_t	ref[1 << 16], got[1 << 16];
	size_t		n, m;

	n = pbdnsmessage__get_packed_size(&x->m);
	ATF_REQUIRE(n <= sizeof(ref));
	ATF_REQUIRE_EQ(pbdnsmessage__pack(&x->m, ref), n);
	m = pbwire_dnsmessage(&x->m, got, sizeof(got));
	if (m != n || memcmp(ref, got, n) != 0)
		atf_tc_fail("seed %llu: %zu bytes, protobuf-c %zu",
		    (unsigned long long)seed, m, n);
}

ATF_TC_WITHOUT_HEAD(same_bytes);
ATF_TC_BODY(same_bytes, tc)
{
	struct msg	*x = calloc(1, sizeof(*x));
	uint64_t	 seed;

	ATF_REQUIRE(x != NULL);
	for (seed = 1; seed <= 5000; seed++) {
		fill(x, seed, 4);
		same(x, seed);
	}
	free(x);
}

/* Responses past 127 and 16383 bytes: lengths of two and three bytes. */
ATF_TC_WITHOUT_HEAD(long_nested);
ATF_TC_BODY(long_nested, tc)
{
	struct msg	*x = calloc(1, sizeof(*x));
	uint64_t	 seed;
	size_t		 n, max = 0;

	ATF_REQUIRE(x != NULL);
	for (seed = 1; seed <= 300; seed++) {
		fill(x, seed, NRR);
		same(x, seed);
		if (x->m.response != NULL &&
		    (n = protobuf_c_message_get_packed_size(
		    &x->m.response->base)) > max)
			max = n;
	}
	ATF_CHECK_MSG(max >= 16384, "largest response %zu bytes", max);
	free(x);
}

/* Every capacity short of the message: 0, and nothing past the end. */
ATF_TC_WITHOUT_HEAD(too_small);
ATF_TC_BODY(too_small, tc)
{
	struct msg	*x = calloc(1, sizeof(*x));
	uint8_t		*buf;
	size_t		 n, cap, i;
	uint64_t	 seed;

	ATF_REQUIRE(x != NULL);
	ATF_REQUIRE((buf = malloc(1 << 16)) != NULL);
	for (seed = 1; seed <= 40; seed++) {
		fill(x, seed, 20);
		n = pbdnsmessage__get_packed_size(&x->m);
		for (cap = 0; cap < n; cap++) {
			memset(buf, 0xa5, n + 16);
			ATF_REQUIRE_EQ_MSG(pbwire_dnsmessage(&x->m, buf, cap),
			    0, "seed %llu cap %zu of %zu",
			    (unsigned long long)seed, cap, n);
			for (i = cap; i < n + 16; i++)
				ATF_REQUIRE_EQ_MSG(buf[i], 0xa5,
				    "seed %llu cap %zu: byte %zu written",
				    (unsigned long long)seed, cap, i);
		}
		ATF_REQUIRE_EQ(pbwire_dnsmessage(&x->m, buf, n), n);
	}
	free(buf);
	free(x);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, same_bytes);
	ATF_TP_ADD_TC(tp, long_nested);
	ATF_TP_ADD_TC(tp, too_small);
	return atf_no_error();
}
