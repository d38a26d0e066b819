/*
 * libFuzzer target for the rewrites past the question: the EDNS Client
 * Subnet addition and removal, the packet cache's keep-and-serve of an
 * answer, and changeName's rename of the whole message.  After each rewrite the message must parse whole again, with the
 * record counts the rewrite promised: no record appears from bytes that
 * were not one, none goes missing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "dnspacket.h"
#include "edns.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)
#define ROOM		4096

static unsigned int
records(const uint8_t *pkt)
{
	return (unsigned int)dnspacket_ancount(pkt) + dnspacket_nscount(pkt) +
	    dnspacket_arcount(pkt);
}

static void
fuzz_ecs(const uint8_t *data, size_t size, const struct dnsquestion *q)
{
	struct dnsquestion	q2;
	struct dnsopt		o;
	struct netmask		nm;
	uint8_t			*pkt;
	size_t			 len = size, pos, d;
	uint16_t		 code, olen;
	long			 end;
	unsigned int		 before, necs = 0;
	bool			 hadopt;
	int			 r;

	if (size > ROOM || (pkt = malloc(ROOM)) == NULL)
		return;
	memcpy(pkt, data, size);
	before = records(pkt);
	memset(&nm, 0, sizeof(nm));
	nm.nm_family = data[0] & 1 ? AF_INET6 : AF_INET;
	nm.nm_bits = (uint8_t)(data[1] % (nm.nm_family == AF_INET ? 33 : 129));
	memcpy(nm.nm_addr, data + 2, 10);
	/* A room too small now and then, to take the "no room" path. */
	r = edns_add_ecs(pkt, &len, data[0] & 2 ? size + 8 : ROOM, q, &nm,
	    (data[0] & 4) != 0, &hadopt);
	if (r != 1 && r != 2) {
		/* Untouched. */
		CHECK(len == size && memcmp(pkt, data, size) == 0);
		free(pkt);
		return;
	}
	CHECK(len <= ROOM);
	CHECK(dnspacket_question(pkt, len, &q2) == 0 && q2.q_end == q->q_end);
	CHECK((end = dnspacket_walk(pkt, len, q2.q_end, NULL, NULL)) != -1);
	CHECK((size_t)end == len);
	CHECK(records(pkt) == before + (hadopt ? 0 : 1));
	CHECK(dnspacket_find_opt(pkt, len, q2.q_end, &o) == 1);
	pos = o.o_rdoff;
	while ((r = dnspacket_opt_next(pkt, &o, &pos, &code, &olen, &d)) == 1)
		necs += code == EDNS_OPT_ECS;
	CHECK(r == 0 && necs >= 1);

	before = records(pkt);
	CHECK(edns_strip_ecs(pkt, &len, &q2, !hadopt) == 0);
	CHECK(dnspacket_walk(pkt, len, q2.q_end, NULL, NULL) == (long)len);
	CHECK(records(pkt) == before - (hadopt ? 0 : 1));
	free(pkt);
}

static void
fuzz_cache(const uint8_t *data, size_t size, const struct dnsquestion *q)
{
	static struct pcache	*pc;
	struct pcache_config	 cfg;
	struct dnsquestion	 q2;
	uint8_t			*out;
	uint64_t		 key;
	size_t			 n;
	bool			 stale;

	if (pc == NULL) {
		pcache_config_default(&cfg, 64);
		cfg.pc_nshards = 2;
		if ((pc = pcache_new(&cfg)) == NULL)
			return;
	}
	/* One input, one answer: what came before must not answer for it. */
	pcache_expunge(pc, 0);
	if (!pcache_key(pc, data, size, q, false, &key))
		return;
	pcache_put(pc, key, q, false, data, size, 1000, -1);
	if (size > ROOM || (out = malloc(ROOM)) == NULL)
		return;
	/* The answer goes over the query, as in the daemon. */
	memcpy(out, data, size);
	n = pcache_get(pc, key, q, false, out, ROOM, 1000 + data[0] % 200,
	    true, 100, &stale);
	if (n > 0) {
		/* What comes out is what went in, ID and TTLs aside. */
		CHECK(n == size);
		CHECK(dnspacket_question(out, n, &q2) == 0);
		CHECK(q2.q_end == q->q_end && q2.q_type == q->q_type);
		CHECK(records(out) == records(data));
		CHECK(dnspacket_walk(out, n, q2.q_end, NULL, NULL) ==
		    dnspacket_walk(data, size, q->q_end, NULL, NULL));
	}
	free(out);
}

/* Renamed and back: the same records, the question as it was. */
static void
fuzz_rename(const uint8_t *data, size_t size, const struct dnsquestion *q)
{
	static const uint8_t	 to[] = { 3, 'n', 'e', 'w', 0 };
	struct dnsquestion	 q2;
	uint8_t			*pkt;
	size_t			 n, room = data[0] & 2 ? size + 4 : ROOM;
	long			 end;

	if (size > ROOM || (pkt = malloc(ROOM)) == NULL)
		return;
	memcpy(pkt, data, size);
	if ((n = dnspacket_rename(pkt, size, room, q->q_name, q->q_namelen,
	    to, sizeof(to))) == 0) {
		CHECK(memcmp(pkt, data, size) == 0);
		free(pkt);
		return;
	}
	CHECK(n <= room);
	CHECK(dnspacket_question(pkt, n, &q2) == 0);
	CHECK(dnsname_equal(q2.q_name, q2.q_namelen, to, sizeof(to)));
	CHECK(records(pkt) == records(data));
	CHECK((end = dnspacket_walk(pkt, n, q2.q_end, NULL, NULL)) != -1);
	/* Back, when the longer names fit. */
	if ((n = dnspacket_rename(pkt, n, ROOM, to, sizeof(to), q->q_name,
	    q->q_namelen)) > 0) {
		CHECK(dnspacket_question(pkt, n, &q2) == 0);
		CHECK(dnsname_equal(q2.q_name, q2.q_namelen, q->q_name,
		    q->q_namelen));
		CHECK(records(pkt) == records(data));
	}
	free(pkt);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsquestion	 q;
	uint8_t			*pkt;

	/* Exactly size bytes on the heap: ASan sees a read past the end. */
	if ((pkt = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(pkt, data, size);
	if (size >= DNS_HDRLEN + 12 && dnspacket_question(pkt, size, &q) == 0) {
		fuzz_ecs(pkt, size, &q);
		fuzz_cache(pkt, size, &q);
		fuzz_rename(pkt, size, &q);
	}
	free(pkt);
	return 0;
}
