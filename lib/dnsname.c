/*
 * Wire-format DNS names: decompression, text conversion, comparison and
 * hashing.  Everything here is bounded by explicit lengths; nothing reads
 * past the end of the buffer it was given.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dnsname.h"
#include "siphash.h"

#define DNSNAME_PTRMASK	0xc0	/* the two top bits of a length byte */

/* ASCII only: the locale must not change how names compare. */
static inline uint8_t
dnsname_fold(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/*
 * The same for eight bytes at once.  Each byte's low seven bits plus a
 * constant sets its top bit when the byte is at least 'A' (plus 0x3f), or
 * more than 'Z' (plus 0x25), without carrying into the next byte; bytes
 * with their own top bit set are not ASCII and stay.  The upper-case
 * bytes get 0x20 added: their bit 7 moved down to bit 5.
 */
#define ONES7	0x7f7f7f7f7f7f7f7fULL
#define HIGHS	0x8080808080808080ULL

static inline uint64_t
dnsname_fold8(uint64_t x)
{
	uint64_t	h = x & ONES7;
	uint64_t	up = (h + 0x3f3f3f3f3f3f3f3fULL) &
			    ~(h + 0x2525252525252525ULL) & ~x & HIGHS;

	return x | (up >> 2);
}

/*
 * n bytes from from as they are to out, and in lower case to lout, each
 * unless NULL (lout may be from): whole words, the last one ending at the
 * end over its neighbour; short names byte by byte.
 */
static void
dnsname_copy(const uint8_t *from, size_t n, uint8_t *out, uint8_t *lout)
{
	size_t	 i;
	uint64_t w;

	if (n < 8) {
		for (i = 0; i < n; i++) {
			if (out != NULL)
				out[i] = from[i];
			if (lout != NULL)
				lout[i] = dnsname_fold(from[i]);
		}
		return;
	}
	for (i = 0; ; i += 8) {
		if (i + 8 > n)
			i = n - 8;
		memcpy(&w, from + i, 8);
		if (out != NULL)
			memcpy(out + i, &w, 8);
		if (lout != NULL) {
			w = dnsname_fold8(w);
			memcpy(lout + i, &w, 8);
		}
		if (i + 8 == n)
			return;
	}
}

int
dnsname_parse(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out,
    size_t *outlen)
{
	return dnsname_parse_lower(pkt, len, off, out, NULL, outlen);
}

int
dnsname_parse_lower(const uint8_t *pkt, size_t len, size_t *off,
    uint8_t *out, uint8_t *lout, size_t *outlen)
{
	size_t	 pos = *off, end = 0, o = 0, lim = *off, ptr;
	unsigned int hops = 0;
	uint8_t	 c;

	/*
	 * The common case, a name without pointers (every question): find
	 * its end, then copy it at once.  Anything else takes the loop.
	 */
	while (pos < len && (c = pkt[pos]) != 0 && c <= DNSNAME_MAXLABEL)
		pos += (size_t)c + 1;
	if (pos < len && pkt[pos] == 0 && pos + 1 - *off <= DNSNAME_MAXLEN) {
		o = pos + 1 - *off;
		dnsname_copy(pkt + *off, o, out, lout);
		*outlen = o;
		*off = pos + 1;
		return 0;
	}
	pos = *off;

	for (;;) {
		if (pos >= len)
			return -1;
		c = pkt[pos];
		if (c == 0)
			break;
		if ((c & DNSNAME_PTRMASK) == DNSNAME_PTRMASK) {
			if (pos + 1 >= len)
				return -1;
			ptr = ((size_t)(c & 0x3f) << 8) |
			    pkt[pos + 1];
			/*
			 * The target must lie before the start of the labels
			 * read since the last jump (or since *off): a pointer
			 * into them always loops, and the strictly falling
			 * bound ends every chain.  The hop budget is a second
			 * guard.
			 */
			if (ptr >= lim || ++hops > DNSNAME_MAXHOPS)
				return -1;
			if (end == 0)
				end = pos + 2;
			pos = lim = ptr;
			continue;
		}
		if (c > DNSNAME_MAXLABEL)	/* 0x40 and 0x80 are reserved */
			return -1;
		if (len - pos <= c || o + 1 + c >= DNSNAME_MAXLEN)
			return -1;
		memcpy(out + o, pkt + pos, (size_t)c + 1);
		o += (size_t)c + 1;
		pos += (size_t)c + 1;
	}
	out[o++] = 0;
	if (lout != NULL)
		dnsname_lower(out, o, lout);
	*outlen = o;
	*off = end != 0 ? end : pos + 1;
	return 0;
}

int
dnsname_skip(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t	 pos = *off, ptr;
	uint8_t	 c;

	for (;;) {
		if (pos >= len)
			return -1;
		c = pkt[pos];
		if (c == 0) {
			pos++;
			break;
		}
		if ((c & DNSNAME_PTRMASK) == DNSNAME_PTRMASK) {
			if (pos + 1 >= len)
				return -1;
			ptr = ((size_t)(c & 0x3f) << 8) |
			    pkt[pos + 1];
			if (ptr >= *off)
				return -1;
			pos += 2;
			break;
		}
		if (c > DNSNAME_MAXLABEL)
			return -1;
		pos += (size_t)c + 1;
		if (pos - *off >= DNSNAME_MAXLEN)
			return -1;	/* no room left for the root */
	}
	*off = pos;
	return 0;
}

int
dnsname_from_text(const char *text, uint8_t *out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t	 o = 0, lab = 0, ll = 0;
	unsigned int v;
	uint8_t	 c;

	if (s[0] == '\0')
		return -1;
	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		*outlen = 1;
		return 0;
	}
	out[0] = 0;	/* length byte of the first label, set at its end */
	o = 1;
	while (*s != '\0') {
		if (*s == '.') {
			if (ll == 0)
				return -1;	/* empty label */
			out[lab] = (uint8_t)ll;
			lab = o++;
			ll = 0;
			s++;
			if (*s == '\0')
				break;
			if (o >= DNSNAME_MAXLEN)
				return -1;
			continue;
		}
		if (*s == '\\') {
			s++;
			if (*s >= '0' && *s <= '9') {
				if (s[1] < '0' || s[1] > '9' ||
				    s[2] < '0' || s[2] > '9')
					return -1;
				v = (unsigned int)(s[0] - '0') * 100 +
				    (unsigned int)(s[1] - '0') * 10 +
				    (unsigned int)(s[2] - '0');
				if (v > 255)
					return -1;
				c = (uint8_t)v;
				s += 3;
			} else if (*s == '\0')
				return -1;
			else
				c = *s++;
		} else
			c = *s++;
		if (ll == DNSNAME_MAXLABEL || o + 1 >= DNSNAME_MAXLEN)
			return -1;
		out[o++] = c;
		ll++;
	}
	if (ll > 0) {
		/* No final dot: close the label and add the root. */
		out[lab] = (uint8_t)ll;
		lab = o++;
	}
	/* lab is the root label's byte, reserved above. */
	if (lab >= DNSNAME_MAXLEN)
		return -1;
	out[lab] = 0;
	*outlen = lab + 1;
	return 0;
}

int
dnsname_to_text(const uint8_t *name, size_t namelen, char *buf, size_t bufsz)
{
	static const char digits[] = "0123456789";
	size_t	 i = 0, o = 0, ll, need;
	uint8_t	 c;

	if (bufsz == 0)
		return -1;
	if (namelen == 0 || name[0] == 0) {
		if (bufsz < 2)
			return -1;
		buf[0] = '.';
		buf[1] = '\0';
		return 1;
	}
	while (i < namelen && name[i] != 0) {
		ll = name[i++];
		if (ll > DNSNAME_MAXLABEL || ll > namelen - i)
			return -1;
		for (; ll > 0; ll--, i++) {
			c = name[i];
			if (c == '.' || c == '\\' || c == '"')
				need = 2;
			else if (c > 0x20 && c < 0x7f)
				need = 1;
			else
				need = 4;
			/* Room for this, the label's dot and the NUL. */
			if (bufsz - o < need + 2)
				return -1;
			if (need == 1)
				buf[o++] = (char)c;
			else if (need == 2) {
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else {
				buf[o++] = '\\';
				buf[o++] = digits[c / 100];
				buf[o++] = digits[c / 10 % 10];
				buf[o++] = digits[c % 10];
			}
		}
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return o > INT_MAX ? -1 : (int)o;
}

int
dnsname_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t	 i;
	uint64_t x, y;

	/* Length bytes are at most 63, below 'A', so folding leaves them. */
	if (alen != blen)
		return 0;
	if (alen < 8) {
		for (i = 0; i < alen; i++)
			if (dnsname_fold(a[i]) != dnsname_fold(b[i]))
				return 0;
		return 1;
	}
	/* Whole words; the last one ends at the end, over its neighbour. */
	for (i = 0; ; i += 8) {
		if (i + 8 > alen)
			i = alen - 8;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y && dnsname_fold8(x) != dnsname_fold8(y))
			return 0;
		if (i + 8 == alen)
			return 1;
	}
}

int
dnsname_is_part_of(const uint8_t *name, size_t namelen,
    const uint8_t *suffix, size_t suffixlen)
{
	size_t	 i = 0;

	if (suffixlen == 0 || suffixlen > namelen)
		return 0;
	/* Only the label boundary at namelen - suffixlen can match. */
	while (i < namelen && namelen - i > suffixlen) {
		if (name[i] == 0)
			return 0;
		i += (size_t)name[i] + 1;
	}
	if (i > namelen || namelen - i != suffixlen)
		return 0;
	return dnsname_equal(name + i, suffixlen, suffix, suffixlen);
}

int
dnsname_count_labels(const uint8_t *name, size_t namelen)
{
	size_t	 i = 0;
	int	 n = 0;

	while (i < namelen && name[i] != 0) {
		i += (size_t)name[i] + 1;
		n++;
	}
	return n;
}

void
dnsname_lower(const uint8_t *name, size_t namelen, uint8_t *out)
{
	dnsname_copy(name, namelen, NULL, out);
}

uint64_t
dnsname_hash(const uint8_t *name, size_t namelen, const uint8_t key[16])
{
	uint8_t	 low[DNSNAME_MAXLEN];

	/* A valid name is never longer; a longer one is hashed truncated. */
	if (namelen > sizeof(low))
		namelen = sizeof(low);
	dnsname_lower(name, namelen, low);
	return siphash24(key, low, namelen);
}
