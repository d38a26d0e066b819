/*
 * libFuzzer target for wire-format names.  The first input byte is the
 * offset of the name in the rest, which plays a packet, so that
 * compression pointers have something to point back at.  Every name that
 * parses must be well formed, skip to the same end, and survive a round
 * trip through text; any text that parses must round-trip too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnsname.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A failed check: abort, so that libFuzzer keeps the input. */
#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static const uint8_t fuzz_key[16] = "fuzz-dnsname-key";

/* The labels of a decompressed name end exactly at its root byte. */
static void
check_wellformed(const uint8_t *name, size_t namelen)
{
	size_t	 i = 0;

	CHECK(namelen >= 1 && namelen <= DNSNAME_MAXLEN);
	while (name[i] != 0) {
		CHECK(name[i] <= DNSNAME_MAXLABEL);
		i += (size_t)name[i] + 1;
		CHECK(i < namelen);
	}
	CHECK(i == namelen - 1);
}

/* to_text fits in exactly its length + 1 bytes, never in fewer. */
static void
check_text_bounds(const uint8_t *name, size_t namelen, const char *text,
    int tlen)
{
	char	*b;

	b = malloc((size_t)tlen + 1);
	CHECK(b != NULL);
	CHECK(dnsname_to_text(name, namelen, b, (size_t)tlen + 1) == tlen);
	CHECK(strcmp(b, text) == 0);
	free(b);
	if (tlen > 0) {
		/* A heap buffer of the exact size: ASan sees any overrun. */
		b = malloc((size_t)tlen);
		CHECK(b != NULL);
		CHECK(dnsname_to_text(name, namelen, b, (size_t)tlen) == -1);
		free(b);
	}
}

/* Everything else the library says about a valid name. */
static void
check_name(const uint8_t *name, size_t namelen)
{
	uint8_t	 back[DNSNAME_MAXLEN], low[DNSNAME_MAXLEN];
	char	 text[DNSNAME_MAXTEXT];
	size_t	 backlen, i;
	int	 tlen, labels;

	check_wellformed(name, namelen);
	tlen = dnsname_to_text(name, namelen, text, sizeof(text));
	CHECK(tlen > 0 && (size_t)tlen == strlen(text));
	CHECK(text[tlen - 1] == '.');
	check_text_bounds(name, namelen, text, tlen);
	CHECK(dnsname_from_text(text, back, &backlen) == 0);
	CHECK(backlen == namelen && memcmp(back, name, namelen) == 0);

	dnsname_lower(name, namelen, low);
	CHECK(dnsname_equal(name, namelen, low, namelen));
	CHECK(dnsname_hash(name, namelen, fuzz_key) ==
	    dnsname_hash(low, namelen, fuzz_key));
	labels = dnsname_count_labels(name, namelen);
	/* The name is part of every suffix at a label boundary. */
	for (i = 0; ; i += (size_t)name[i] + 1, labels--) {
		CHECK(labels >= 0);
		CHECK(dnsname_is_part_of(name, namelen, name + i,
		    namelen - i));
		CHECK(dnsname_count_labels(name + i, namelen - i) == labels);
		if (name[i] == 0)
			break;
	}
	CHECK(labels == 0);
	if (namelen > 1)
		CHECK(!dnsname_is_part_of(name + name[0] + 1,
		    namelen - name[0] - 1, name, namelen));
}

/* Word-at-a-time folding against the byte-at-a-time rule, any bytes. */
static uint8_t
plain_fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

static void
check_fold(const uint8_t *d, size_t n)
{
	uint8_t	 low[DNSNAME_MAXLEN];
	size_t	 i, h;
	int	 same = 1;

	if (n > DNSNAME_MAXLEN)
		n = DNSNAME_MAXLEN;
	dnsname_lower(d, n, low);
	for (i = 0; i < n; i++)
		CHECK(low[i] == plain_fold(d[i]));
	h = n / 2;
	for (i = 0; i < h; i++)
		if (plain_fold(d[i]) != plain_fold(d[h + i]))
			same = 0;
	CHECK(dnsname_equal(d, h, d + h, h) == same);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	 name[DNSNAME_MAXLEN], name2[DNSNAME_MAXLEN], *pkt;
	char	 t[DNSNAME_MAXTEXT], *s;
	size_t	 off, off2, namelen, name2len, start;
	int	 r;

	if (size < 1)
		return 0;
	start = data[0];
	data++;
	size--;
	check_fold(data, size);

	/* The packet as given, on the heap so that ASan sees the end. */
	pkt = malloc(size > 0 ? size : 1);
	CHECK(pkt != NULL);
	memcpy(pkt, data, size);
	off = start;
	r = dnsname_parse(pkt, size, &off, name, &namelen);
	off2 = start;
	if (r == 0) {
		CHECK(off > start && off <= size);
		check_name(name, namelen);
		/* skip ends where parse did; skip may accept more. */
		CHECK(dnsname_skip(pkt, size, &off2) == 0);
		CHECK(off2 == off);
	} else if (dnsname_skip(pkt, size, &off2) == 0)
		CHECK(off2 > start && off2 <= size);
	free(pkt);

	/* The same bytes as text. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (dnsname_from_text(s, name, &namelen) == 0) {
		check_name(name, namelen);
		/* Text of a name read from text is canonical. */
		CHECK(dnsname_to_text(name, namelen, t, sizeof(t)) > 0);
		CHECK(dnsname_from_text(t, name2, &name2len) == 0);
		CHECK(name2len == namelen && memcmp(name, name2, namelen) == 0);
	}
	free(s);
	return 0;
}
