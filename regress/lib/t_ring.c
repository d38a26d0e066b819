/*
 * ring: sharded rings of recent queries and responses; capacity, lazy
 * allocation, wrap-around, shards, trylock skips, resizing, threads.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "ring.h"

#include "lsan.h"

/* www.example. */
static const uint8_t www_example[] = {
	3, 'w', 'w', 'w',
	7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0
};

static bool
push(struct ring *rg, uint16_t qtype)
{
	struct sockaddr_in	sin;
	struct ring_rec		r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5300);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	memset(&r, 0, sizeof(r));
	r.rr_sec = 1000 + qtype;
	r.rr_usec = 5;
	r.rr_client = (struct sockaddr *)&sin;
	r.rr_name = www_example;
	r.rr_namelen = sizeof(www_example);
	r.rr_qtype = qtype;
	r.rr_size = 29;
	r.rr_rcode = 2;
	r.rr_latency = 1234;
	return ring_push(rg, &r);
}

struct collect {
	uint16_t	qtypes[1024];
	size_t		n;
	bool		fields_ok;
};

static void
collect_cb(const struct ring_entry *e, void *arg)
{
	struct collect			*c = arg;
	const struct sockaddr_in	*sin = (const void *)&e->re_client;

	if (c->n < 1024)
		c->qtypes[c->n] = e->re_qtype;
	c->n++;
	if (e->re_namelen != sizeof(www_example) ||
	    memcmp(e->re_name, www_example, sizeof(www_example)) != 0 ||
	    sin->sin_family != AF_INET || ntohs(sin->sin_port) != 5300 ||
	    e->re_server.sin6_family != 0 || e->re_rcode != 2 ||
	    e->re_latency != 1234 || e->re_size != 29 ||
	    e->re_sec != 1000 + e->re_qtype || e->re_usec != 5)
		c->fields_ok = false;
}

/* Every entry of rg into c, oldest first within each shard. */
static void
collect(struct ring *rg, struct collect *c)
{
	memset(c, 0, sizeof(*c));
	c->fields_ok = true;
	ring_foreach(rg, collect_cb, c);
}

static size_t
allocated_shards(const struct ring *rg)
{
	size_t	i, n = 0;

	for (i = 0; i < RING_MAXSHARDS; i++)
		if (rg->rg_shards[i].rs_slots != NULL)
			n++;
	return n;
}

ATF_TC_WITHOUT_HEAD(bad_args);
ATF_TC_BODY(bad_args, tc)
{
	struct ring	*rg;

	ATF_CHECK(ring_new(0, 1) == NULL);
	ATF_CHECK(ring_new(10, 0) == NULL);
	ATF_CHECK(ring_new(10, RING_MAXSHARDS + 1) == NULL);
	ATF_REQUIRE((rg = ring_new(10, 2)) != NULL);
	ATF_CHECK_EQ(ring_resize(rg, 0, 2), -1);
	ATF_CHECK_EQ(ring_resize(rg, 10, 0), -1);
	ATF_CHECK_EQ(ring_capacity(rg), 10);
	ring_free(rg);
	ring_free(NULL);
}

ATF_TC_WITHOUT_HEAD(capacity_lazy);
ATF_TC_BODY(capacity_lazy, tc)
{
	struct ring	*rg;

	ATF_REQUIRE((rg = ring_new(10000, 10)) != NULL);
	ATF_CHECK_EQ(ring_capacity(rg), 10000);
	ATF_CHECK_EQ(ring_count(rg), 0);
	/* Nothing allocated before the first entry, then one shard. */
	ATF_CHECK_EQ(allocated_shards(rg), 0);
	ATF_CHECK(push(rg, 1));
	ATF_CHECK_EQ(allocated_shards(rg), 1);
	ATF_CHECK_EQ(ring_count(rg), 1);
	ring_free(rg);
	/* Fewer entries than shards: one per shard. */
	ATF_REQUIRE((rg = ring_new(3, 5)) != NULL);
	ATF_CHECK_EQ(ring_capacity(rg), 5);
	ring_free(rg);
}

ATF_TC_WITHOUT_HEAD(wraparound);
ATF_TC_BODY(wraparound, tc)
{
	struct collect	 c;
	struct ring	*rg;
	uint16_t	 i;

	ATF_REQUIRE((rg = ring_new(10, 1)) != NULL);
	for (i = 0; i < 25; i++)
		ATF_REQUIRE(push(rg, i));
	ATF_CHECK_EQ(ring_count(rg), 10);
	collect(rg, &c);
	ATF_REQUIRE_EQ(c.n, 10);
	ATF_CHECK(c.fields_ok);
	/* The newest ten, oldest first. */
	for (i = 0; i < 10; i++)
		ATF_CHECK_EQ(c.qtypes[i], 15 + i);
	ATF_CHECK_EQ(ring_skipped(rg), 0);
	ring_free(rg);
}

ATF_TC_WITHOUT_HEAD(shards);
ATF_TC_BODY(shards, tc)
{
	struct collect	 c;
	struct ring	*rg;
	size_t		 i;

	ATF_REQUIRE((rg = ring_new(40, 4)) != NULL);
	for (i = 0; i < 40; i++)
		ATF_REQUIRE(push(rg, (uint16_t)i));
	/* One writer goes round the shards: each is full. */
	for (i = 0; i < 4; i++) {
		ATF_CHECK_EQ(rg->rg_shards[i].rs_count, 10);
		ATF_CHECK_EQ(rg->rg_shards[i].rs_cap, 10);
	}
	ATF_CHECK_EQ(rg->rg_shards[4].rs_cap, 0);
	for (i = 0; i < 100; i++)
		ATF_REQUIRE(push(rg, (uint16_t)(100 + i)));
	ATF_CHECK_EQ(ring_count(rg), 40);
	collect(rg, &c);
	ATF_CHECK_EQ(c.n, 40);
	ATF_CHECK(c.fields_ok);
	/* Only the newest 40 are left. */
	for (i = 0; i < c.n; i++)
		ATF_CHECK(c.qtypes[i] >= 160);
	ring_free(rg);
}

ATF_TC_WITHOUT_HEAD(trylock_skip);
ATF_TC_BODY(trylock_skip, tc)
{
	struct ring	*rg;

	ATF_REQUIRE((rg = ring_new(4, 2)) != NULL);
	/* A reader holds every shard: the writer skips and counts. */
	pthread_mutex_lock(&rg->rg_shards[0].rs_lock);
	pthread_mutex_lock(&rg->rg_shards[1].rs_lock);
	ATF_CHECK(!push(rg, 1));
	ATF_CHECK(!push(rg, 2));
	ATF_CHECK_EQ(ring_skipped(rg), 2);
	/* One shard free: every write lands there. */
	pthread_mutex_unlock(&rg->rg_shards[1].rs_lock);
	ATF_CHECK(push(rg, 3));
	ATF_CHECK(push(rg, 4));
	ATF_CHECK_EQ(rg->rg_shards[1].rs_count, 2);
	ATF_CHECK_EQ(rg->rg_shards[0].rs_count, 0);
	pthread_mutex_unlock(&rg->rg_shards[0].rs_lock);
	ATF_CHECK_EQ(ring_skipped(rg), 2);
	ATF_CHECK_EQ(ring_count(rg), 2);
	ring_free(rg);
}

ATF_TC_WITHOUT_HEAD(resize);
ATF_TC_BODY(resize, tc)
{
	struct ring	*rg;
	int		 i;

	ATF_REQUIRE((rg = ring_new(100, 10)) != NULL);
	for (i = 0; i < 50; i++)
		push(rg, (uint16_t)i);
	ATF_CHECK_EQ(ring_count(rg), 50);
	ATF_CHECK_EQ(ring_resize(rg, 20, 2), 0);
	ATF_CHECK_EQ(ring_count(rg), 0);
	ATF_CHECK_EQ(ring_capacity(rg), 20);
	ATF_CHECK_EQ(allocated_shards(rg), 0);
	for (i = 0; i < 50; i++)
		ATF_CHECK(push(rg, (uint16_t)i));
	ATF_CHECK_EQ(ring_count(rg), 20);
	ATF_CHECK_EQ(allocated_shards(rg), 2);
	ring_free(rg);
}

static size_t
used_shards(const struct ring *rg)
{
	size_t	i, n = 0;

	for (i = 0; i < RING_MAXSHARDS; i++)
		if (rg->rg_shards[i].rs_count > 0)
			n++;
	return n;
}

/*
 * Claimed entries appear at the flush, a batch in one shard, intact; a
 * shard with a claim is skipped by other writers and hides the slots it
 * is writing from readers.
 */
ATF_TC_WITHOUT_HEAD(stage_batch);
ATF_TC_BODY(stage_batch, tc)
{
	struct collect	 c;
	struct ring	*rg, *rg2, *rg3;
	uint16_t	 i;

	ATF_REQUIRE((rg = ring_new(1000, 4)) != NULL);
	ATF_REQUIRE((rg2 = ring_new(100, 1)) != NULL);
	ATF_REQUIRE((rg3 = ring_new(100, 1)) != NULL);
	ATF_REQUIRE_EQ(ring_stage_start(), 0);
	for (i = 0; i < 5; i++)
		ATF_CHECK(push(rg, i));
	ATF_CHECK(push(rg2, 7));
	/* Two rings have stages; a third is written at once. */
	ATF_CHECK(push(rg3, 8));
	ATF_CHECK_EQ(ring_count(rg3), 1);
	ATF_CHECK_EQ(ring_count(rg), 0);
	ATF_CHECK_EQ(ring_count(rg2), 0);
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), 5);
	ATF_CHECK_EQ(ring_count(rg2), 1);
	ATF_CHECK_EQ(used_shards(rg), 1);
	/* The next batch follows it in the same shard... */
	for (i = 5; i < 10; i++)
		ATF_CHECK(push(rg, i));
	ring_flush();
	ATF_CHECK_EQ(used_shards(rg), 1);
	collect(rg, &c);
	ATF_CHECK_EQ(c.n, 10);
	ATF_CHECK(c.fields_ok);
	for (i = 0; i < 10; i++)
		ATF_CHECK_EQ(c.qtypes[i], i);
	/* ... until it is full (250): then the next shard. */
	for (i = 0; i < 240; i++) {
		ATF_CHECK(push(rg, (uint16_t)(10 + i)));
		if (i % 6 == 5)
			ring_flush();
	}
	ring_flush();
	ATF_CHECK_EQ(used_shards(rg), 1);
	ATF_CHECK(push(rg, 1));
	ring_flush();
	ATF_CHECK_EQ(used_shards(rg), 2);
	/* A full claim goes in by itself, and the next one begins. */
	for (i = 0; i < 100; i++)
		ATF_CHECK(push(rg, (uint16_t)(100 + i)));
	ATF_CHECK_EQ(ring_count(rg), 251 + RING_CLAIM);
	ATF_CHECK_EQ(rg->rg_shards[1].rs_claim, RING_CLAIM);
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), 251 + 100);
	ATF_CHECK_EQ(rg->rg_shards[1].rs_claim, 0);
	/* Every shard busy: nothing can be claimed, each entry counts. */
	for (i = 0; i < 4; i++)
		pthread_mutex_lock(&rg->rg_shards[i].rs_lock);
	for (i = 0; i < 36; i++)
		ATF_CHECK(!push(rg, 3));
	for (i = 0; i < 4; i++)
		pthread_mutex_unlock(&rg->rg_shards[i].rs_lock);
	ATF_CHECK_EQ(ring_skipped(rg), 36);
	ATF_CHECK_EQ(ring_count(rg), 251 + 100);
	/* A claimed shard: the thread's own direct writes go elsewhere. */
	ATF_CHECK(push(rg, 1));
	ATF_CHECK_EQ(rg->rg_shards[1].rs_claim, RING_CLAIM);
	ATF_CHECK(push(rg3, 9));
	/* Stopping flushes; then writes go in at once again. */
	ring_stage_stop();
	ATF_CHECK_EQ(ring_count(rg), 251 + 100 + 1);
	ATF_CHECK_EQ(rg->rg_shards[1].rs_claim, 0);
	ATF_CHECK(push(rg, 2));
	ATF_CHECK_EQ(ring_count(rg), 251 + 100 + 2);
	ring_free(rg);
	ring_free(rg2);
	ring_free(rg3);
}

/* Lap after lap, the ring keeps exactly the newest entries. */
ATF_TC_WITHOUT_HEAD(stage_newest);
ATF_TC_BODY(stage_newest, tc)
{
	struct collect	 c;
	struct ring	*rg;
	size_t		 i;

	ATF_REQUIRE((rg = ring_new(1000, 4)) != NULL);
	ATF_REQUIRE_EQ(ring_stage_start(), 0);
	for (i = 0; i < 3003; i++) {
		ATF_CHECK(push(rg, (uint16_t)i));
		if (i % 7 == 6)
			ring_flush();
	}
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), 1000);
	collect(rg, &c);
	ATF_REQUIRE_EQ(c.n, 1000);
	ATF_CHECK(c.fields_ok);
	for (i = 0; i < c.n; i++)
		ATF_CHECK(c.qtypes[i] >= 2003);
	ATF_CHECK_EQ(ring_skipped(rg), 0);
	/*
	 * A claim open on a full shard: readers see the shard without the
	 * claimed slots, neither their old entries nor the ones being written.
	 */
	for (i = 0; i < 5; i++)
		ATF_CHECK(push(rg, 60000));
	collect(rg, &c);
	ATF_CHECK_EQ(c.n, 1000 - RING_CLAIM);
	for (i = 0; i < c.n && i < 1024; i++)
		ATF_CHECK(c.qtypes[i] >= 2003 && c.qtypes[i] < 60000);
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), 1000);
	/* Smaller shards: still exactly the newest. */
	ATF_REQUIRE_EQ(ring_resize(rg, 100, 10), 0);
	for (i = 0; i < 150; i++) {
		ATF_CHECK(push(rg, (uint16_t)i));
		if (i % 7 == 6)
			ring_flush();
	}
	ring_flush();
	collect(rg, &c);
	ATF_REQUIRE_EQ(c.n, 100);
	for (i = 0; i < c.n; i++)
		ATF_CHECK(c.qtypes[i] >= 50);
	ring_stage_stop();
	ring_free(rg);
}

/*
 * A resize between claim and flush empties the ring, claimed slots too,
 * and the next batches fill the new shards; a ring freed with a claim
 * open after a resize takes the claim with it.
 */
ATF_TC_WITHOUT_HEAD(stage_resize);
ATF_TC_BODY(stage_resize, tc)
{
	struct collect	 c;
	struct ring	*rg;
	uint16_t	 i;

	ATF_REQUIRE((rg = ring_new(100, 10)) != NULL);
	ATF_REQUIRE_EQ(ring_stage_start(), 0);
	for (i = 0; i < 25; i++)
		ATF_CHECK(push(rg, i));
	ATF_CHECK_EQ(ring_count(rg), 20);
	ATF_CHECK_EQ(ring_resize(rg, 20, 2), 0);
	ATF_CHECK_EQ(ring_count(rg), 0);
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), 0);
	ATF_CHECK_EQ(ring_capacity(rg), 20);
	for (i = 0; i < 30; i++)
		ATF_CHECK(push(rg, (uint16_t)(100 + i)));
	ring_flush();
	/* Two shards of 10 took the batch of 30: its newest 20. */
	collect(rg, &c);
	ATF_CHECK_EQ(c.n, 20);
	ATF_CHECK(c.fields_ok);
	for (i = 0; i < c.n; i++)
		ATF_CHECK(c.qtypes[i] >= 110);
	/* A resize with a claim open, then the ring freed with it. */
	ATF_CHECK(push(rg, 1));
	ATF_CHECK_EQ(ring_resize(rg, 30, 3), 0);
	ring_free(rg);
	ring_stage_stop();
}

/*
 * A reader holding the claimed shard at the flush: the writer does not
 * wait; the entries go in at the next flush, and entries that find the
 * claim full meanwhile are skipped and counted.
 */
ATF_TC_WITHOUT_HEAD(stage_reader_busy);
ATF_TC_BODY(stage_reader_busy, tc)
{
	struct ring	*rg;
	uint16_t	 i;

	ATF_REQUIRE((rg = ring_new(1000, 1)) != NULL);
	ATF_REQUIRE_EQ(ring_stage_start(), 0);
	for (i = 0; i < 10; i++)
		ATF_CHECK(push(rg, i));
	pthread_mutex_lock(&rg->rg_shards[0].rs_lock);
	ring_flush();
	ATF_CHECK_EQ(rg->rg_shards[0].rs_count, 0);
	ATF_CHECK_EQ(rg->rg_shards[0].rs_claim, RING_CLAIM);
	for (i = 10; i < RING_CLAIM; i++)
		ATF_CHECK(push(rg, i));
	ATF_CHECK(!push(rg, 1));
	ATF_CHECK(!push(rg, 2));
	ATF_CHECK_EQ(ring_skipped(rg), 2);
	pthread_mutex_unlock(&rg->rg_shards[0].rs_lock);
	ring_flush();
	ATF_CHECK_EQ(ring_count(rg), RING_CLAIM);
	ATF_CHECK(push(rg, 3));
	ring_stage_stop();
	ATF_CHECK_EQ(ring_count(rg), RING_CLAIM + 1);
	ATF_CHECK_EQ(ring_skipped(rg), 2);
	ring_free(rg);
}

/* Names that do not fit in a slot, staged and not, among short ones. */
struct names {
	size_t		n, bad;
};

static void
name_cb(const struct ring_entry *e, void *arg)
{
	struct names	*nm = arg;
	size_t		 i, len = e->re_qtype;

	nm->n++;
	/* The entry of qtype L has a name of L bytes: labels of 'a'..'z'. */
	if (e->re_namelen != len || e->re_name[len - 1] != 0)
		nm->bad++;
	for (i = 0; i + 1 < len; i += 11)
		if (e->re_name[i] != (len - 1 - i < 11 ? len - 2 - i : 10))
			nm->bad++;
}

static void
push_name(struct ring *rg, size_t len)
{
	struct ring_rec	r;
	uint8_t		name[255];
	size_t		i, l;

	/* Labels of 10 letters, the last one shorter, then the root. */
	for (i = 0; i + 1 < len; i += l + 1) {
		l = len - 1 - i < 11 ? len - 2 - i : 10;
		name[i] = (uint8_t)l;
		memset(name + i + 1, 'a' + (int)(i % 26), l);
	}
	name[len - 1] = 0;
	memset(&r, 0, sizeof(r));
	r.rr_name = name;
	r.rr_namelen = len;
	r.rr_qtype = (uint16_t)len;
	ATF_REQUIRE(ring_push(rg, &r));
}

ATF_TC_WITHOUT_HEAD(long_names);
ATF_TC_BODY(long_names, tc)
{
	static const size_t lens[] = { 13, 49, 50, 51, 255, 2, 100, 48, 200 };
	struct names	 nm;
	struct ring	*rg;
	size_t		 i, round;

	ATF_REQUIRE((rg = ring_new(20, 2)) != NULL);
	/* Direct, then staged: slots are reused by names of every length. */
	for (round = 0; round < 6; round++) {
		if (round == 3)
			ATF_REQUIRE_EQ(ring_stage_start(), 0);
		for (i = 0; i < 7 * sizeof(lens) / sizeof(lens[0]); i++)
			push_name(rg, lens[(i + round) %
			    (sizeof(lens) / sizeof(lens[0]))]);
		ring_flush();
		memset(&nm, 0, sizeof(nm));
		ring_foreach(rg, name_cb, &nm);
		ATF_CHECK_EQ(nm.n, 20);
		ATF_CHECK_EQ(nm.bad, 0);
	}
	ring_stage_stop();
	ring_free(rg);
}

#define NWRITERS	4
#define NPUSH		20000

static void
count_cb(const struct ring_entry *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

static void *
writer(void *arg)
{
	struct ring	*rg = arg;
	size_t		 i, ok = 0;

	for (i = 0; i < NPUSH; i++)
		if (push(rg, (uint16_t)i))
			ok++;
	return (void *)ok;
}

ATF_TC_WITHOUT_HEAD(threads);
ATF_TC_BODY(threads, tc)
{
	pthread_t	 t[NWRITERS];
	struct ring	*rg;
	size_t		 ok = 0, seen, i;
	void		*rv;

	ATF_REQUIRE((rg = ring_new(1000, 4)) != NULL);
	for (i = 0; i < NWRITERS; i++)
		ATF_REQUIRE(pthread_create(&t[i], NULL, writer, rg) == 0);
	/* A reader walks the rings meanwhile. */
	for (i = 0; i < 20; i++) {
		seen = 0;
		ring_foreach(rg, count_cb, &seen);
		ATF_CHECK(seen <= 1000);
	}
	for (i = 0; i < NWRITERS; i++) {
		ATF_REQUIRE(pthread_join(t[i], &rv) == 0);
		ok += (size_t)rv;
	}
	ATF_CHECK_EQ(ok + ring_skipped(rg), (size_t)NWRITERS * NPUSH);
	ATF_CHECK_EQ(ring_count(rg), 1000);
	ring_free(rg);
}

ATF_TC_WITHOUT_HEAD(global);
ATF_TC_BODY(global, tc)
{
	ATF_REQUIRE_EQ(ring_global_init(), 0);
	ATF_REQUIRE(ring_queries != NULL && ring_responses != NULL);
	ATF_CHECK_EQ(ring_capacity(ring_queries), RING_DEFAULT_SIZE);
	ATF_CHECK_EQ(ring_queries->rg_nshards, RING_DEFAULT_SHARDS);
	ATF_CHECK_EQ(ring_global_resize(500, 5), 0);
	ATF_CHECK_EQ(ring_capacity(ring_responses), 500);
	ATF_CHECK_EQ(ring_global_resize(500, 0), -1);
	ATF_CHECK_EQ(ring_global_init(), 0);
	ATF_CHECK_EQ(ring_capacity(ring_queries), 500);
}

/* The client and server of entry i, as addresses() pushes them. */
static void
address_pair(uint16_t i, struct sockaddr_in6 *client,
    struct sockaddr_in6 *server)
{
	struct sockaddr_in	*sin = (void *)server;

	memset(client, 0, sizeof(*client));
	client->sin6_family = AF_INET6;
	client->sin6_port = htons(i);
	client->sin6_addr.s6_addr[0] = 0x20;
	client->sin6_addr.s6_addr[1] = 0x01;
	client->sin6_addr.s6_addr[14] = (uint8_t)(i >> 8);
	client->sin6_addr.s6_addr[15] = (uint8_t)i;
	memset(server, 0, sizeof(*server));
	if (i % 2 == 0) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		sin->sin_addr.s_addr = htonl(0x7f000000u + i);
	} else {
		server->sin6_family = AF_INET6;
		server->sin6_port = htons(5300 + i);
		server->sin6_addr.s6_addr[15] = 1;
		server->sin6_addr.s6_addr[13] = (uint8_t)(i >> 8);
		server->sin6_addr.s6_addr[14] = (uint8_t)i;
	}
}

struct addrcheck {
	size_t	n;
	size_t	bad;
};

static void
addrcheck_cb(const struct ring_entry *e, void *arg)
{
	struct addrcheck	*ac = arg;
	struct sockaddr_in6	 client, server;

	ac->n++;
	address_pair(e->re_qtype, &client, &server);
	if (e->re_qtype == 0)
		/* Pushed with a server that is not an IP address. */
		memset(&server, 0, sizeof(server));
	if (memcmp(&e->re_client, &client, sizeof(client)) != 0 ||
	    memcmp(&e->re_server, &server, sizeof(server)) != 0 ||
	    e->re_sec != 1800000000 + e->re_qtype || e->re_usec != 999999)
		ac->bad++;
}

/*
 * Clients and servers of both families come back as they went in, for
 * more servers than one chunk of the server table holds, each passed in
 * the same buffer (as a thread reusing its storage would).
 */
ATF_TC_WITHOUT_HEAD(addresses);
ATF_TC_BODY(addresses, tc)
{
	struct ring		*rg;
	struct ring_rec		 r;
	struct sockaddr_in6	 client, server;
	struct addrcheck	 ac;
	uint16_t		 i;

	ATF_REQUIRE((rg = ring_new(1000, 1)) != NULL);
	for (i = 0; i < 700; i++) {
		address_pair(i, &client, &server);
		if (i == 0)
			server.sin6_family = AF_UNIX;
		memset(&r, 0, sizeof(r));
		r.rr_sec = 1800000000 + i;
		r.rr_usec = 999999;
		r.rr_client = (struct sockaddr *)&client;
		r.rr_server = (struct sockaddr *)&server;
		r.rr_name = www_example;
		r.rr_namelen = sizeof(www_example);
		r.rr_qtype = i;
		ATF_REQUIRE(ring_push(rg, &r));
	}
	/* Again, now that every server has its number. */
	for (i = 1; i < 300; i++) {
		address_pair(i, &client, &server);
		r.rr_sec = 1800000000 + i;
		r.rr_qtype = i;
		ATF_REQUIRE(ring_push(rg, &r));
	}
	memset(&ac, 0, sizeof(ac));
	ring_foreach(rg, addrcheck_cb, &ac);
	ATF_CHECK_EQ(ac.n, 999);
	ATF_CHECK_EQ(ac.bad, 0);
	ring_free(rg);
}

/* mail.Example. */
static const uint8_t mail_example[] = {
	4, 'm', 'a', 'i', 'l',
	7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
	0
};

/* One entry from 127.0.0.last for name, of size bytes, rcode, latency. */
static void
push_top(struct ring *rg, uint8_t last, const uint8_t *name, size_t namelen,
    size_t size, int rcode, uint64_t latency)
{
	struct sockaddr_in	sin;
	struct ring_rec		r;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000000 | last);
	memset(&r, 0, sizeof(r));
	r.rr_client = (struct sockaddr *)&sin;
	r.rr_name = name;
	r.rr_namelen = namelen;
	r.rr_qtype = 1;
	r.rr_size = size;
	r.rr_rcode = rcode;
	r.rr_latency = latency;
	ATF_REQUIRE(ring_push(rg, &r));
}

/* "key=n ..." of a sorted tally, and its total. */
static const char *
top_text(struct ring *a, struct ring *b, const struct ring_top_query *q)
{
	static char	out[256];
	struct ring_top	rt = { 0 };
	size_t		i, len;

	ring_top(a, b, q, &rt);
	len = (size_t)snprintf(out, sizeof(out), "%llu:",
	    (unsigned long long)rt.rt_total);
	for (i = 0; i < rt.rt_t.qt_count && len < sizeof(out); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, " %s=%llu",
		    rt.rt_t.qt_items[i].qi_key,
		    (unsigned long long)rt.rt_t.qt_items[i].qi_n);
	ATF_CHECK(!rt.rt_nomem);
	ring_top_free(&rt);
	return out;
}

/*
 * ring_top(): what topClients(), topQueries() and their kin count, most
 * first and ties by key; names in lower case, cut to their last labels;
 * bytes from both rings; filters on rcode and latency.
 */
ATF_TC_WITHOUT_HEAD(top);
ATF_TC_BODY(top, tc)
{
	struct ring		*q, *r;
	struct ring_top_query	 clients = { true, false, 0, -1, 0 };
	struct ring_top_query	 names = { false, false, 0, -1, 0 };
	struct ring_top_query	 q1;
	int			 i;

	ATF_REQUIRE((q = ring_new(100, 3)) != NULL);
	ATF_REQUIRE((r = ring_new(100, 3)) != NULL);
	ATF_CHECK_STREQ(top_text(q, NULL, &clients), "0:");
	for (i = 0; i < 3; i++) {
		push_top(q, 2, www_example, sizeof(www_example), 30, 0, 0);
		push_top(q, 2, mail_example, sizeof(mail_example), 30, 0, 0);
	}
	for (i = 0; i < 4; i++)
		push_top(q, 3, www_example, sizeof(www_example), 30, 0, 0);
	push_top(q, 4, mail_example, sizeof(mail_example), 30, 0, 0);
	ATF_CHECK_STREQ(top_text(q, NULL, &clients),
	    "11: 127.0.0.2=6 127.0.0.3=4 127.0.0.4=1");
	ATF_CHECK_STREQ(top_text(q, NULL, &names),
	    "11: www.example.=7 mail.example.=4");
	q1 = names;
	q1.tq_labels = 1;
	ATF_CHECK_STREQ(top_text(q, NULL, &q1), "11: example.=11");
	/* Ties by key. */
	push_top(r, 9, www_example, sizeof(www_example), 100, 3, 5000);
	push_top(r, 8, mail_example, sizeof(mail_example), 200, 0, 1000);
	ATF_CHECK_STREQ(top_text(r, NULL, &clients),
	    "2: 127.0.0.8=1 127.0.0.9=1");
	q1 = clients;
	q1.tq_bytes = true;
	ATF_CHECK_STREQ(top_text(q, r, &q1), "630: 127.0.0.8=200 "
	    "127.0.0.2=180 127.0.0.3=120 127.0.0.9=100 127.0.0.4=30");
	q1 = names;
	q1.tq_rcode = 3;
	ATF_CHECK_STREQ(top_text(r, NULL, &q1), "1: www.example.=1");
	q1 = names;
	q1.tq_minusec = 2000;
	ATF_CHECK_STREQ(top_text(r, NULL, &q1), "1: www.example.=1");
	ring_free(q);
	ring_free(r);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, bad_args);
	ATF_TP_ADD_TC(tp, capacity_lazy);
	ATF_TP_ADD_TC(tp, wraparound);
	ATF_TP_ADD_TC(tp, shards);
	ATF_TP_ADD_TC(tp, trylock_skip);
	ATF_TP_ADD_TC(tp, resize);
	ATF_TP_ADD_TC(tp, threads);
	ATF_TP_ADD_TC(tp, stage_batch);
	ATF_TP_ADD_TC(tp, stage_resize);
	ATF_TP_ADD_TC(tp, stage_newest);
	ATF_TP_ADD_TC(tp, stage_reader_busy);
	ATF_TP_ADD_TC(tp, long_names);
	ATF_TP_ADD_TC(tp, addresses);
	ATF_TP_ADD_TC(tp, top);
	ATF_TP_ADD_TC(tp, global);
	return atf_no_error();
}
