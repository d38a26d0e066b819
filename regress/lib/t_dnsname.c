/*
 * dnsname: decompression (including hostile pointers), text conversion,
 * comparison and hashing.
 */
#include <stdint.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "dnsname.h"

#include "lsan.h"

/* www.example.com. uncompressed */
static const uint8_t wire_www[] = {
	0x03, 'w', 'w', 'w',
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	0x03, 'c', 'o', 'm',
	0x00,
};

/* A message with "example.com." at 12 and "www" + pointer at 25. */
static const uint8_t pkt_compressed[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,	/* header */
	0x00, 0x00, 0x00, 0x00,
	0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e',	/* 12: example */
	0x03, 'c', 'o', 'm', 0x00,			/* 20: com. */
	0x03, 'W', 'w', 'W',				/* 25: WwW */
	0xc0, 0x0c,					/* 29: -> 12 */
	0x04, 'm', 'a', 'i', 'l',			/* 31: mail */
	0xc0, 0x19,					/* 36: -> 25 */
	0xff,						/* 38: trailer */
};

/* Two pointers pointing at each other. */
static const uint8_t pkt_loop[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,	/* header */
	0x00, 0x00, 0x00, 0x00,
	0xc0, 0x0e,					/* 12: -> 14 */
	0xc0, 0x0c,					/* 14: -> 12 */
};

/* A pointer to itself. */
static const uint8_t pkt_self[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,	/* header */
	0x00, 0x00, 0x00, 0x00,
	0xc0, 0x0c,					/* 12: -> 12 */
};

/* A pointer backwards from itself but into its own name: still a loop. */
static const uint8_t pkt_ownlabel[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,	/* header */
	0x00, 0x00, 0x00, 0x00,
	0x01, 'a',					/* 12: a */
	0xc0, 0x0c,					/* 14: -> 12 */
};

/* A forward pointer to an otherwise valid name. */
static const uint8_t pkt_forward[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,	/* header */
	0x00, 0x00, 0x00, 0x00,
	0xc0, 0x0e,					/* 12: -> 14 */
	0x03, 'c', 'o', 'm', 0x00,			/* 14: com. */
};

/* Reserved label types 0x40 (extended) and 0x80. */
static const uint8_t wire_res40[] = {
	0x41, 0x01, 'a', 0x00,
};
static const uint8_t wire_res80[] = {
	0x80, 0x01, 'a', 0x00,
};

/* Truncated: label runs past the end; root missing; half a pointer. */
static const uint8_t wire_trunc_label[] = {
	0x03, 'w', 'w',
};
static const uint8_t wire_trunc_root[] = {
	0x03, 'w', 'w', 'w',
};
static const uint8_t wire_trunc_ptr[] = {
	0x00,						/* 0: root */
	0x01, 'a',					/* 1: a */
	0xc0,						/* 3: half */
};

/* The text form of name into a local buffer, for ATF_CHECK_STREQ. */
static const char *
text(const uint8_t *name, size_t len)
{
	static char buf[DNSNAME_MAXTEXT];

	if (dnsname_to_text(name, len, buf, sizeof(buf)) == -1)
		return "(error)";
	return buf;
}

/* Fill buf with n labels of length l (letter 'a'+i) and a root. */
static size_t
make_labels(uint8_t *buf, const size_t *lens, size_t n)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		buf[o++] = (uint8_t)lens[i];
		memset(buf + o, 'a' + (int)i, lens[i]);
		o += lens[i];
	}
	buf[o++] = 0;
	return o;
}

ATF_TC_WITHOUT_HEAD(parse_plain);
ATF_TC_BODY(parse_plain, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 off = 0, len = 0;

	ATF_REQUIRE_EQ(dnsname_parse(wire_www, sizeof(wire_www), &off, out,
	    &len), 0);
	ATF_CHECK_EQ(off, sizeof(wire_www));
	ATF_CHECK_EQ(len, sizeof(wire_www));
	ATF_CHECK(memcmp(out, wire_www, len) == 0);

	/* The root alone. */
	off = 16;
	ATF_REQUIRE_EQ(dnsname_parse(wire_www, sizeof(wire_www), &off, out,
	    &len), 0);
	ATF_CHECK_EQ(off, 17);
	ATF_CHECK_EQ(len, 1);
	ATF_CHECK_EQ(out[0], 0);
}

ATF_TC_WITHOUT_HEAD(parse_compressed);
ATF_TC_BODY(parse_compressed, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 off, len;

	off = 25;
	ATF_REQUIRE_EQ(dnsname_parse(pkt_compressed, sizeof(pkt_compressed),
	    &off, out, &len), 0);
	ATF_CHECK_EQ(off, 31);		/* just past the pointer */
	ATF_CHECK_EQ(len, 17);
	ATF_CHECK_STREQ(text(out, len), "WwW.example.com.");

	/* Two hops: mail -> WwW -> example.com. */
	off = 31;
	ATF_REQUIRE_EQ(dnsname_parse(pkt_compressed, sizeof(pkt_compressed),
	    &off, out, &len), 0);
	ATF_CHECK_EQ(off, 38);
	ATF_CHECK_STREQ(text(out, len), "mail.WwW.example.com.");

	/* The pointer must lie inside the packet as given. */
	off = 31;
	ATF_CHECK_EQ(dnsname_parse(pkt_compressed, 37, &off, out, &len), -1);
}

/*
 * The lower-case copy: plain names of every length (a word at a time
 * and the bytes of short ones), and a compressed one.
 */
ATF_TC_WITHOUT_HEAD(parse_lower);
ATF_TC_BODY(parse_lower, tc)
{
	static const char mixed[] = "Ab@Z[`zY";
	uint8_t	 buf[DNSNAME_MAXLEN + 1], out[DNSNAME_MAXLEN];
	uint8_t	 low[DNSNAME_MAXLEN], want[DNSNAME_MAXLEN];
	size_t	 n, i, off, len;

	for (n = 1; n < DNSNAME_MAXLEN; n++) {
		/* Labels of up to 63 mixed-case bytes, n bytes in all. */
		for (i = 0; i + 1 < n; ) {
			size_t l = n - 2 - i < 63 ? n - 2 - i : 63, j;

			buf[i] = (uint8_t)l;
			for (j = 1; j <= l; j++)
				buf[i + j] = (uint8_t)mixed[(i + j) % 8];
			i += l + 1;
		}
		buf[n - 1] = 0;
		if (n >= 2 && buf[n - 2] == 0)	/* an empty label inside */
			continue;
		for (i = 0; i < n; i++)
			want[i] = buf[i] >= 'A' && buf[i] <= 'Z' ?
			    (uint8_t)(buf[i] | 0x20) : buf[i];
		off = 0;
		ATF_REQUIRE_EQ_MSG(dnsname_parse_lower(buf, n, &off, out, low,
		    &len), 0, "length %zu", n);
		ATF_CHECK_EQ(len, n);
		ATF_CHECK(memcmp(out, buf, n) == 0);
		ATF_CHECK_MSG(memcmp(low, want, n) == 0, "length %zu", n);
	}

	off = 31;
	ATF_REQUIRE_EQ(dnsname_parse_lower(pkt_compressed,
	    sizeof(pkt_compressed), &off, out, low, &len), 0);
	ATF_CHECK_STREQ(text(out, len), "mail.WwW.example.com.");
	ATF_CHECK_STREQ(text(low, len), "mail.www.example.com.");
}

ATF_TC_WITHOUT_HEAD(parse_ptr_loop);
ATF_TC_BODY(parse_ptr_loop, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 off, len;

	off = 12;
	ATF_CHECK_EQ(dnsname_parse(pkt_loop, sizeof(pkt_loop), &off, out,
	    &len), -1);
	off = 14;
	ATF_CHECK_EQ(dnsname_parse(pkt_loop, sizeof(pkt_loop), &off, out,
	    &len), -1);
	off = 12;
	ATF_CHECK_EQ(dnsname_parse(pkt_self, sizeof(pkt_self), &off, out,
	    &len), -1);
	off = 12;
	ATF_CHECK_EQ(dnsname_parse(pkt_ownlabel, sizeof(pkt_ownlabel), &off,
	    out, &len), -1);
}

ATF_TC_WITHOUT_HEAD(parse_ptr_forward);
ATF_TC_BODY(parse_ptr_forward, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 off = 12, len;

	ATF_CHECK_EQ(dnsname_parse(pkt_forward, sizeof(pkt_forward), &off,
	    out, &len), -1);
	/* The name it points to is fine on its own. */
	off = 14;
	ATF_CHECK_EQ(dnsname_parse(pkt_forward, sizeof(pkt_forward), &off,
	    out, &len), 0);
}

/* A chain of pointers, each to the one before: the hop budget ends it. */
ATF_TC_WITHOUT_HEAD(parse_hop_budget);
ATF_TC_BODY(parse_hop_budget, tc)
{
	uint8_t	 pkt[1 + 2 * (DNSNAME_MAXHOPS + 1)];
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 i, off, len, prev = 0;

	pkt[0] = 0;				/* 0: root */
	for (i = 0; i <= DNSNAME_MAXHOPS; i++) {
		pkt[1 + 2 * i] = (uint8_t)(0xc0 | (prev >> 8));
		pkt[2 + 2 * i] = (uint8_t)prev;
		prev = 1 + 2 * i;
	}
	/* DNSNAME_MAXHOPS pointers: allowed. */
	off = 1 + 2 * (DNSNAME_MAXHOPS - 1);
	ATF_CHECK_EQ(dnsname_parse(pkt, sizeof(pkt), &off, out, &len), 0);
	ATF_CHECK_EQ(len, 1);
	ATF_CHECK_EQ(off, 1 + 2 * DNSNAME_MAXHOPS);
	/* One more: refused. */
	off = 1 + 2 * DNSNAME_MAXHOPS;
	ATF_CHECK_EQ(dnsname_parse(pkt, sizeof(pkt), &off, out, &len), -1);
}

ATF_TC_WITHOUT_HEAD(parse_label_length);
ATF_TC_BODY(parse_label_length, tc)
{
	uint8_t	 buf[80], out[DNSNAME_MAXLEN];
	size_t	 off, len, n;
	size_t	 l63[] = { 63 };

	n = make_labels(buf, l63, 1);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(buf, n, &off, out, &len), 0);
	ATF_CHECK_EQ(len, 65);
	/* 64 is 0x40, a reserved label type. */
	buf[0] = 64;
	buf[64] = 'a';
	buf[65] = 0;
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(buf, 66, &off, out, &len), -1);

	off = 0;
	ATF_CHECK_EQ(dnsname_parse(wire_res40, sizeof(wire_res40), &off, out,
	    &len), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(wire_res80, sizeof(wire_res80), &off, out,
	    &len), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_skip(wire_res40, sizeof(wire_res40), &off), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_skip(wire_res80, sizeof(wire_res80), &off), -1);
}

ATF_TC_WITHOUT_HEAD(parse_name_length);
ATF_TC_BODY(parse_name_length, tc)
{
	uint8_t	 buf[300], out[DNSNAME_MAXLEN];
	size_t	 off, len, n;
	size_t	 l255[] = { 63, 63, 63, 61 };
	size_t	 l256[] = { 63, 63, 63, 62 };

	n = make_labels(buf, l255, 4);
	ATF_REQUIRE_EQ(n, 255);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(buf, n, &off, out, &len), 0);
	ATF_CHECK_EQ(len, 255);
	ATF_CHECK_EQ(off, 255);
	ATF_CHECK(memcmp(out, buf, 255) == 0);
	off = 0;
	ATF_CHECK_EQ(dnsname_skip(buf, n, &off), 0);
	ATF_CHECK_EQ(off, 255);

	n = make_labels(buf, l256, 4);
	ATF_REQUIRE_EQ(n, 256);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(buf, n, &off, out, &len), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_skip(buf, n, &off), -1);
}

/* Too long only once decompressed. */
ATF_TC_WITHOUT_HEAD(parse_name_length_compressed);
ATF_TC_BODY(parse_name_length_compressed, tc)
{
	uint8_t	 buf[300], out[DNSNAME_MAXLEN];
	size_t	 off, len, n;
	size_t	 l3[] = { 63, 63, 63 };

	n = make_labels(buf, l3, 3);		/* 193 bytes at 0 */
	ATF_REQUIRE_EQ(n, 193);
	/* 193: 61 bytes of label, then a pointer to 0: 62 + 193 = 255. */
	buf[n] = 61;
	memset(buf + n + 1, 'z', 61);
	buf[n + 62] = 0xc0;
	buf[n + 63] = 0x00;
	off = n;
	ATF_CHECK_EQ(dnsname_parse(buf, n + 64, &off, out, &len), 0);
	ATF_CHECK_EQ(len, 255);
	ATF_CHECK_EQ(off, n + 64);
	off = n;
	ATF_CHECK_EQ(dnsname_skip(buf, n + 64, &off), 0);

	/* 62 bytes of label: 256. */
	buf[n] = 62;
	memset(buf + n + 1, 'z', 62);
	buf[n + 63] = 0xc0;
	buf[n + 64] = 0x00;
	off = n;
	ATF_CHECK_EQ(dnsname_parse(buf, n + 65, &off, out, &len), -1);
}

ATF_TC_WITHOUT_HEAD(parse_truncated);
ATF_TC_BODY(parse_truncated, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 off, len, n;

	off = 0;
	ATF_CHECK_EQ(dnsname_parse(wire_trunc_label,
	    sizeof(wire_trunc_label), &off, out, &len), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(wire_trunc_root, sizeof(wire_trunc_root),
	    &off, out, &len), -1);
	off = 1;
	ATF_CHECK_EQ(dnsname_parse(wire_trunc_ptr, sizeof(wire_trunc_ptr),
	    &off, out, &len), -1);
	off = 0;
	ATF_CHECK_EQ(dnsname_parse(wire_www, 0, &off, out, &len), -1);
	off = sizeof(wire_www);
	ATF_CHECK_EQ(dnsname_parse(wire_www, sizeof(wire_www), &off, out,
	    &len), -1);
	/* Every strict prefix of a good name is bad. */
	for (n = 0; n < sizeof(wire_www); n++) {
		off = 0;
		ATF_CHECK_EQ(dnsname_parse(wire_www, n, &off, out, &len), -1);
		off = 0;
		ATF_CHECK_EQ(dnsname_skip(wire_www, n, &off), -1);
	}
	for (n = 0; n < sizeof(pkt_compressed) - 1; n++) {
		off = 31;
		ATF_CHECK_EQ(dnsname_parse(pkt_compressed, n, &off, out,
		    &len), -1);
	}
}

ATF_TC_WITHOUT_HEAD(skip);
ATF_TC_BODY(skip, tc)
{
	size_t	 off;

	off = 0;
	ATF_CHECK_EQ(dnsname_skip(wire_www, sizeof(wire_www), &off), 0);
	ATF_CHECK_EQ(off, sizeof(wire_www));
	off = 25;
	ATF_CHECK_EQ(dnsname_skip(pkt_compressed, sizeof(pkt_compressed),
	    &off), 0);
	ATF_CHECK_EQ(off, 31);
	off = 12;
	ATF_CHECK_EQ(dnsname_skip(pkt_forward, sizeof(pkt_forward), &off),
	    -1);
	off = 12;
	ATF_CHECK_EQ(dnsname_skip(pkt_self, sizeof(pkt_self), &off), -1);
	off = 1;
	ATF_CHECK_EQ(dnsname_skip(wire_trunc_ptr, sizeof(wire_trunc_ptr),
	    &off), -1);
}

ATF_TC_WITHOUT_HEAD(from_text);
ATF_TC_BODY(from_text, tc)
{
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 len;
	static const uint8_t esc[] = {
		0x03, 'a', '.', 'b',			/* a\.b */
		0x03, 'A', 0x00, 0xff,			/* \065\000\255 */
		0x00,
	};

	ATF_REQUIRE_EQ(dnsname_from_text("www.example.com.", out, &len), 0);
	ATF_CHECK_EQ(len, sizeof(wire_www));
	ATF_CHECK(memcmp(out, wire_www, len) == 0);
	ATF_REQUIRE_EQ(dnsname_from_text("www.example.com", out, &len), 0);
	ATF_CHECK_EQ(len, sizeof(wire_www));
	ATF_CHECK(memcmp(out, wire_www, len) == 0);
	ATF_REQUIRE_EQ(dnsname_from_text(".", out, &len), 0);
	ATF_CHECK_EQ(len, 1);
	ATF_CHECK_EQ(out[0], 0);
	ATF_REQUIRE_EQ(dnsname_from_text("a\\.b.\\065\\000\\255", out, &len),
	    0);
	ATF_CHECK_EQ(len, sizeof(esc));
	ATF_CHECK(memcmp(out, esc, len) == 0);

	ATF_CHECK_EQ(dnsname_from_text("", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("..", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text(".com", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("a..b", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("a\\", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("a\\256", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("a\\12", out, &len), -1);
	ATF_CHECK_EQ(dnsname_from_text("a\\1x2", out, &len), -1);
}

ATF_TC_WITHOUT_HEAD(from_text_limits);
ATF_TC_BODY(from_text_limits, tc)
{
	char	 t[400];
	uint8_t	 out[DNSNAME_MAXLEN];
	size_t	 len;

	/* 63 and 64 byte labels. */
	memset(t, 'a', 63);
	strcpy(t + 63, ".com");
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), 0);
	ATF_CHECK_EQ(len, 69);
	memset(t, 'a', 64);
	strcpy(t + 64, ".com");
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), -1);
	/* An escaped byte counts as one. */
	memset(t, 'a', 62);
	strcpy(t + 62, "\\255");
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), 0);
	ATF_CHECK_EQ(len, 65);

	/* 63.63.63.61 is 255 bytes of wire, 62 at the end is 256. */
	memset(t, 'a', 253);
	t[63] = t[127] = t[191] = '.';
	t[253] = '\0';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), 0);
	ATF_CHECK_EQ(len, 255);
	t[253] = '.';
	t[254] = '\0';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), 0);
	ATF_CHECK_EQ(len, 255);
	t[253] = 'a';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), -1);
	t[254] = '.';
	t[255] = '\0';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), -1);

	/* Many short labels: 127 of "a." is 255 bytes, 128 is too many. */
	for (len = 0; len < 128; len++) {
		t[2 * len] = 'a';
		t[2 * len + 1] = '.';
	}
	t[2 * 127] = '\0';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), 0);
	ATF_CHECK_EQ(len, 255);
	t[2 * 127] = 'a';
	t[2 * 128] = '\0';
	ATF_CHECK_EQ(dnsname_from_text(t, out, &len), -1);
}

ATF_TC_WITHOUT_HEAD(to_text);
ATF_TC_BODY(to_text, tc)
{
	static const uint8_t root[] = { 0x00 };
	static const uint8_t odd[] = {
		0x06, 'a', '.', '\\', '"', ' ', 0x7f,	/* a\.\\\"\032\127 */
		0x02, 0x00, 0xff,			/* \000\255 */
		0x00,
	};
	uint8_t	 back[DNSNAME_MAXLEN];
	char	 buf[64];
	size_t	 len;

	ATF_CHECK_EQ(dnsname_to_text(wire_www, sizeof(wire_www), buf,
	    sizeof(buf)), 16);
	ATF_CHECK_STREQ(buf, "www.example.com.");
	ATF_CHECK_EQ(dnsname_to_text(root, sizeof(root), buf, sizeof(buf)), 1);
	ATF_CHECK_STREQ(buf, ".");
	ATF_CHECK_EQ(dnsname_to_text(odd, sizeof(odd), buf, sizeof(buf)), 25);
	ATF_CHECK_STREQ(buf, "a\\.\\\\\\\"\\032\\127.\\000\\255.");

	/* Round trip. */
	ATF_REQUIRE_EQ(dnsname_from_text(buf, back, &len), 0);
	ATF_CHECK_EQ(len, sizeof(odd));
	ATF_CHECK(memcmp(back, odd, len) == 0);

	/* Exactly enough room, then one byte less. */
	ATF_CHECK_EQ(dnsname_to_text(wire_www, sizeof(wire_www), buf, 17), 16);
	ATF_CHECK_EQ(dnsname_to_text(wire_www, sizeof(wire_www), buf, 16), -1);
	ATF_CHECK_EQ(dnsname_to_text(root, sizeof(root), buf, 2), 1);
	ATF_CHECK_EQ(dnsname_to_text(root, sizeof(root), buf, 1), -1);
	ATF_CHECK_EQ(dnsname_to_text(odd, sizeof(odd), buf, 26), 25);
	ATF_CHECK_EQ(dnsname_to_text(odd, sizeof(odd), buf, 25), -1);
	/* A label longer than the name. */
	ATF_CHECK_EQ(dnsname_to_text(wire_www, 3, buf, sizeof(buf)), -1);
}

ATF_TC_WITHOUT_HEAD(to_text_longest);
ATF_TC_BODY(to_text_longest, tc)
{
	uint8_t	 name[DNSNAME_MAXLEN];
	char	 buf[DNSNAME_MAXTEXT];
	size_t	 lens[] = { 63, 63, 63, 61 };
	size_t	 n, i;

	/* Every byte escaped as \DDD still fits DNSNAME_MAXTEXT. */
	n = make_labels(name, lens, 4);
	for (i = 1; i < 64; i++)
		name[i] = 0xff;
	ATF_CHECK_EQ(dnsname_to_text(name, n, buf, sizeof(buf)),
	    63 * 4 + 63 + 63 + 61 + 4);
	for (i = 0; i < n; i++)
		if (name[i] != 0 && i % 64 != 0)
			name[i] = 0x01;
	ATF_CHECK_EQ(dnsname_to_text(name, n, buf, sizeof(buf)),
	    (63 * 3 + 61) * 4 + 4);
}

ATF_TC_WITHOUT_HEAD(equal);
ATF_TC_BODY(equal, tc)
{
	static const uint8_t a[] = { 0x03, 'W', 'w', 'W', 0x01, 'X', 0x00 };
	static const uint8_t b[] = { 0x03, 'w', 'W', 'w', 0x01, 'x', 0x00 };
	static const uint8_t c[] = { 0x03, 'w', 'w', 'w', 0x01, 'y', 0x00 };
	static const uint8_t d[] = { 0x01, '[', 0x00 };	/* '[' is 'Z' + 1 */
	static const uint8_t e[] = { 0x01, '{', 0x00 };	/* '{' is 'z' + 1 */
	static const uint8_t f[] = { 0x04, 'w', 'w', 'w', 'x', 0x00 };

	ATF_CHECK_EQ(dnsname_equal(a, sizeof(a), b, sizeof(b)), 1);
	ATF_CHECK_EQ(dnsname_equal(a, sizeof(a), c, sizeof(c)), 0);
	ATF_CHECK_EQ(dnsname_equal(d, sizeof(d), e, sizeof(e)), 0);
	ATF_CHECK_EQ(dnsname_equal(a, sizeof(a), f, sizeof(f)), 0);
	ATF_CHECK_EQ(dnsname_equal(wire_www, sizeof(wire_www), wire_www,
	    sizeof(wire_www)), 1);
}

/*
 * Folding works on eight bytes at a time: every pair of byte values, at
 * every position of a word and in the tail, against the plain rule.
 */
static uint8_t
plain_fold(unsigned int c)
{
	return (uint8_t)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

ATF_TC_WITHOUT_HEAD(fold_every_byte);
ATF_TC_BODY(fold_every_byte, tc)
{
	static const size_t lens[] = { 1, 5, 8, 9, 16, 19 };
	uint8_t		a[19], b[19], low[19];
	unsigned int	x, y;
	size_t		k, len, pos, bad = 0;

	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		len = lens[k];
		memset(a, 'q', sizeof(a));
		memset(b, 'Q', sizeof(b));
		for (pos = 0; pos < len; pos++) {
			for (x = 0; x < 256; x++) {
				a[pos] = (uint8_t)x;
				memset(low, 0xee, sizeof(low));
				dnsname_lower(a, len, low);
				if (low[pos] != plain_fold(x) ||
				    low[0] != plain_fold(a[0]) ||
				    low[len - 1] != plain_fold(a[len - 1]) ||
				    (len < sizeof(low) && low[len] != 0xee))
					bad++;
				for (y = 0; y < 256; y++) {
					b[pos] = (uint8_t)y;
					if (dnsname_equal(a, len, b, len) !=
					    (plain_fold(x) == plain_fold(y)))
						bad++;
				}
				b[pos] = 'Q';
			}
			a[pos] = 'q';
		}
	}
	ATF_CHECK_EQ(bad, 0);
	/* A difference past the given length does not count. */
	a[sizeof(a) - 1] = 'x';
	b[sizeof(b) - 1] = 'y';
	memset(a, 'q', sizeof(a) - 1);
	ATF_CHECK_EQ(dnsname_equal(a, sizeof(a) - 1, b, sizeof(b) - 1), 1);
	ATF_CHECK_EQ(dnsname_equal(a, sizeof(a), b, sizeof(b)), 0);
}

ATF_TC_WITHOUT_HEAD(is_part_of);
ATF_TC_BODY(is_part_of, tc)
{
	static const uint8_t root[] = { 0x00 };
	static const uint8_t ex[] = {
		0x07, 'E', 'x', 'A', 'm', 'P', 'l', 'E',
		0x03, 'C', 'o', 'M',
		0x00,
	};
	static const uint8_t com[] = { 0x03, 'c', 'o', 'm', 0x00 };
	/* wwwexample.com. ends in "example.com" but not on a label. */
	static const uint8_t glued[] = {
		0x0a, 'w', 'w', 'w', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		0x03, 'c', 'o', 'm',
		0x00,
	};
	/* "e.com." is a textual suffix of "example.com." but not on a label. */
	static const uint8_t ecom[] = {
		0x01, 'e', 0x03, 'c', 'o', 'm', 0x00,
	};

	ATF_CHECK_EQ(dnsname_is_part_of(wire_www, sizeof(wire_www), ex,
	    sizeof(ex)), 1);
	ATF_CHECK_EQ(dnsname_is_part_of(ex, sizeof(ex), ex, sizeof(ex)), 1);
	ATF_CHECK_EQ(dnsname_is_part_of(ex, sizeof(ex), com, sizeof(com)), 1);
	ATF_CHECK_EQ(dnsname_is_part_of(ex, sizeof(ex), root, sizeof(root)),
	    1);
	ATF_CHECK_EQ(dnsname_is_part_of(root, sizeof(root), root,
	    sizeof(root)), 1);
	ATF_CHECK_EQ(dnsname_is_part_of(com, sizeof(com), ex, sizeof(ex)), 0);
	ATF_CHECK_EQ(dnsname_is_part_of(root, sizeof(root), com, sizeof(com)),
	    0);
	ATF_CHECK_EQ(dnsname_is_part_of(glued, sizeof(glued), ex, sizeof(ex)),
	    0);
	ATF_CHECK_EQ(dnsname_is_part_of(glued, sizeof(glued), com,
	    sizeof(com)), 1);
	ATF_CHECK_EQ(dnsname_is_part_of(ex, sizeof(ex), ecom, sizeof(ecom)),
	    0);
	ATF_CHECK_EQ(dnsname_is_part_of(ex, sizeof(ex), com, 0), 0);
}

ATF_TC_WITHOUT_HEAD(count_labels);
ATF_TC_BODY(count_labels, tc)
{
	static const uint8_t root[] = { 0x00 };

	ATF_CHECK_EQ(dnsname_count_labels(wire_www, sizeof(wire_www)), 3);
	ATF_CHECK_EQ(dnsname_count_labels(root, sizeof(root)), 0);
	/* Stops at namelen even without a root. */
	ATF_CHECK_EQ(dnsname_count_labels(wire_www, 4), 1);
}

ATF_TC_WITHOUT_HEAD(lower);
ATF_TC_BODY(lower, tc)
{
	static const uint8_t mixed[] = {
		0x05, 'A', 'b', 'Z', '[', '@',
		0x02, 'Q', 0xc1,			/* 0xc1 is not ASCII */
		0x00,
	};
	static const uint8_t want[] = {
		0x05, 'a', 'b', 'z', '[', '@',
		0x02, 'q', 0xc1,
		0x00,
	};
	uint8_t	 out[sizeof(mixed)];

	dnsname_lower(mixed, sizeof(mixed), out);
	ATF_CHECK(memcmp(out, want, sizeof(want)) == 0);
	memcpy(out, mixed, sizeof(mixed));
	dnsname_lower(out, sizeof(out), out);		/* in place */
	ATF_CHECK(memcmp(out, want, sizeof(want)) == 0);
}

ATF_TC_WITHOUT_HEAD(hash);
ATF_TC_BODY(hash, tc)
{
	static const uint8_t key1[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
	    9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t key2[16] = { 16, 15, 14, 13, 12, 11, 10, 9,
	    8, 7, 6, 5, 4, 3, 2, 1 };
	static const uint8_t upper[] = {
		0x03, 'W', 'W', 'W',
		0x07, 'E', 'X', 'A', 'M', 'P', 'L', 'E',
		0x03, 'C', 'O', 'M',
		0x00,
	};
	uint8_t	 h[crypto_shorthash_BYTES];
	uint64_t v;

	ATF_REQUIRE_EQ(crypto_shorthash_KEYBYTES, 16);
	ATF_CHECK_EQ(dnsname_hash(wire_www, sizeof(wire_www), key1),
	    dnsname_hash(upper, sizeof(upper), key1));
	ATF_CHECK(dnsname_hash(wire_www, sizeof(wire_www), key1) !=
	    dnsname_hash(wire_www, sizeof(wire_www), key2));
	ATF_CHECK(dnsname_hash(wire_www, sizeof(wire_www), key1) !=
	    dnsname_hash(wire_www + 4, sizeof(wire_www) - 4, key1));

	/* Exactly SipHash-2-4 of the lowercased wire name. */
	crypto_shorthash(h, wire_www, sizeof(wire_www), key1);
	memcpy(&v, h, sizeof(v));
	ATF_CHECK_EQ(dnsname_hash(upper, sizeof(upper), key1), v);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_plain);
	ATF_TP_ADD_TC(tp, parse_compressed);
	ATF_TP_ADD_TC(tp, parse_lower);
	ATF_TP_ADD_TC(tp, parse_ptr_loop);
	ATF_TP_ADD_TC(tp, parse_ptr_forward);
	ATF_TP_ADD_TC(tp, parse_hop_budget);
	ATF_TP_ADD_TC(tp, parse_label_length);
	ATF_TP_ADD_TC(tp, parse_name_length);
	ATF_TP_ADD_TC(tp, parse_name_length_compressed);
	ATF_TP_ADD_TC(tp, parse_truncated);
	ATF_TP_ADD_TC(tp, skip);
	ATF_TP_ADD_TC(tp, from_text);
	ATF_TP_ADD_TC(tp, from_text_limits);
	ATF_TP_ADD_TC(tp, to_text);
	ATF_TP_ADD_TC(tp, to_text_longest);
	ATF_TP_ADD_TC(tp, equal);
	ATF_TP_ADD_TC(tp, fold_every_byte);
	ATF_TP_ADD_TC(tp, is_part_of);
	ATF_TP_ADD_TC(tp, count_labels);
	ATF_TP_ADD_TC(tp, lower);
	ATF_TP_ADD_TC(tp, hash);
	return atf_no_error();
}
