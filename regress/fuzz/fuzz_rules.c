/*
 * libFuzzer target for the rule engine on arbitrary packets: a chain of
 * selectors that look into every part of a message (type, header bits,
 * EDNS, record counts, trailing data, labels) and actions that build
 * answers (spoofs, CNAME, SOA, RCODE and extended RCODE, TC) or rewrite
 * the query.  Whatever the rules leave, the message must still parse, and
 * an answer built here must parse whole, with its question and the counts
 * it claims, and no bytes after its last record.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnspacket.h"
#include "rule.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)
#define ROOM		4096

static struct rule_chain	chain;

static void
add(struct selector *se, struct action *ac)
{
	CHECK(se != NULL && ac != NULL);
	CHECK(rule_add(&chain, se, ac, NULL, "fuzz") == 0);
	selector_unref(se);
	action_unref(ac);
}

static struct selector *
qtype(uint16_t t)
{
	struct selector	*se = selector_new(SEL_QTYPE);

	se->se_u.num = t;
	return se;
}

static struct action *
rcode(int kind, int code)
{
	struct action	*ac = action_new(kind);

	ac->ac_u.rcode = code;
	return ac;
}

static void
build(void)
{
	/* Wire names; the literal's own NUL is the root label. */
	static const uint8_t	cname[] = "\006target\007example";
	static const uint8_t	zone[] = "\007example";
	static const uint8_t	mname[] = "\002ns\007example";
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	struct selector		*se;
	struct action		*ac;

	/* Rewrites that go on, first. */
	add(selector_new(SEL_RD), action_new(ACT_NORECURSE));
	se = selector_new(SEL_EDNSOPTION);
	se->se_u.num = 8;
	add(se, action_new(ACT_DISABLEVALIDATION));
	ac = action_new(ACT_SETTAG);
	ac->ac_u.tag.name = strdup("t");
	ac->ac_u.tag.value = strdup("v");
	add(selector_new(SEL_DNSSEC), ac);
	/* Selectors that look deep, with answers. */
	se = selector_new(SEL_TRAILINGDATA);
	add(se, rcode(ACT_RCODE, DNS_RCODE_FORMERR));
	se = selector_new(SEL_RECORDSCOUNT);
	se->se_u.range.section = 3;
	se->se_u.range.min = 2;
	se->se_u.range.max = 65535;
	add(se, rcode(ACT_RCODE, DNS_RCODE_REFUSED));
	se = selector_new(SEL_RECORDSTYPECOUNT);
	se->se_u.range.section = 1;
	se->se_u.range.type = DNS_TYPE_A;
	se->se_u.range.min = 1;
	se->se_u.range.max = 65535;
	add(se, action_new(ACT_DROP));
	se = selector_new(SEL_EDNSVERSION);
	se->se_u.num = 0;
	add(se, rcode(ACT_ERCODE, 16));		/* BADVERS */
	se = selector_new(SEL_QNAMELABELS);
	se->se_u.range.min = 0;
	se->se_u.range.max = 20;
	add(se, action_new(ACT_TC));
	/* Answers by type. */
	ac = action_new(ACT_SPOOF);
	sin = (struct sockaddr_in *)&ac->ac_u.spoof.addrs[0];
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0xc0000201);
	sin6 = (struct sockaddr_in6 *)&ac->ac_u.spoof.addrs[1];
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr.s6_addr[0] = 0x20;
	ac->ac_u.spoof.n = 2;
	ac->ac_u.spoof.ttl = 60;
	add(qtype(DNS_TYPE_A), ac);
	action_ref(ac);
	add(qtype(DNS_TYPE_AAAA), ac);
	ac = action_new(ACT_SPOOFCNAME);
	memcpy(ac->ac_u.spoof.cname, cname, sizeof(cname));
	ac->ac_u.spoof.cnamelen = sizeof(cname);
	add(qtype(DNS_TYPE_CNAME), ac);
	ac = action_new(ACT_NEGATIVESOA);
	memcpy(ac->ac_u.soa.zone, zone, sizeof(zone));
	ac->ac_u.soa.zonelen = sizeof(zone);
	memcpy(ac->ac_u.soa.mname, mname, sizeof(mname));
	ac->ac_u.soa.mnamelen = sizeof(mname);
	memcpy(ac->ac_u.soa.rname, mname, sizeof(mname));
	ac->ac_u.soa.rnamelen = sizeof(mname);
	ac->ac_u.soa.nxd = true;
	add(qtype(DNS_TYPE_SOA), ac);
	add(qtype(DNS_TYPE_MX), rcode(ACT_RCODE, DNS_RCODE_NXDOMAIN));
	add(selector_new(SEL_ALL), action_new(ACT_NONE));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsquestion	 q, q2;
	struct dnsq		 dq;
	struct sockaddr_in	 from;
	uint8_t			*pkt;
	uint64_t		 rnd = 1;
	long			 before, end;
	int			 v;

	if (chain.rc_count == 0)
		build();
	if (size < 1 || size - 1 > ROOM || (pkt = malloc(ROOM)) == NULL)
		return 0;
	memcpy(pkt, data + 1, size - 1);
	if (dnspacket_question(pkt, size - 1, &q) == -1) {
		free(pkt);
		return 0;
	}
	before = dnspacket_walk(pkt, size - 1, q.q_end, NULL, NULL);
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_addr.s_addr = htonl(0x7f000001);
	dnsq_init(&dq, pkt, size - 1, ROOM, &q, (struct sockaddr *)&from, 1,
	    &rnd);
	dq.dq_tcp = (data[0] & 1) != 0;
	v = rule_process(&chain, &dq);
	CHECK(dq.dq_len <= ROOM);
	if (v == VERDICT_ANSWER) {
		dnsq_finish_answer(&dq);
		CHECK(dnspacket_qr(pkt));
		CHECK(dnspacket_question(pkt, dq.dq_len, &q2) == 0);
		CHECK(q2.q_type == q.q_type && q2.q_class == q.q_class);
		CHECK(dnsname_equal(q2.q_name, q2.q_namelen, q.q_name,
		    q.q_namelen));
		/* Every record it claims is there, and nothing else. */
		end = dnspacket_walk(pkt, dq.dq_len, q2.q_end, NULL, NULL);
		CHECK(end == (long)dq.dq_len);
	} else if (v != VERDICT_DROP) {
		/* Rewritten in place: it parses as it did. */
		CHECK(dq.dq_len == size - 1);
		CHECK(dnspacket_walk(pkt, dq.dq_len, q.q_end, NULL, NULL) ==
		    before);
	}
	free(pkt);
	return 0;
}
