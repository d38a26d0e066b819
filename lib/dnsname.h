/*
 * Wire-format DNS names.  A name is kept uncompressed, as the sequence of
 * length-prefixed labels ending with the root label (0), at most
 * DNSNAME_MAXLEN bytes.  Comparisons are ASCII case-insensitive.
 */
#ifndef DNSNAME_H
#define DNSNAME_H

#include <stddef.h>
#include <stdint.h>

#define DNSNAME_MAXLEN		255	/* wire length, root label included */
#define DNSNAME_MAXLABEL	63
#define DNSNAME_MAXTEXT		1024	/* text form, worst case \DDD escapes */
#define DNSNAME_MAXHOPS		64	/* compression pointers followed at most */

/*
 * Parse the possibly compressed name at *off in pkt[0..len).  Pointers must
 * point strictly backwards and at most DNSNAME_MAXHOPS are followed.  The
 * uncompressed name is written to out (DNSNAME_MAXLEN bytes) and its length
 * to *outlen; *off moves past the name as it stands in the packet.  Returns
 * 0, or -1 for a truncated, too long, looping or otherwise bad name, in
 * which case *off and out are unspecified.
 */
int	dnsname_parse(const uint8_t *pkt, size_t len, size_t *off, uint8_t *out,
	    size_t *outlen);
/* The same, with the name in lower case in lout (DNSNAME_MAXLEN) too. */
int	dnsname_parse_lower(const uint8_t *pkt, size_t len, size_t *off,
	    uint8_t *out, uint8_t *lout, size_t *outlen);

/* Move *off past the name at *off without decompressing it.  0 or -1. */
int	dnsname_skip(const uint8_t *pkt, size_t len, size_t *off);

/*
 * Text to wire.  Accepts "www.example.", "www.example" (made absolute) and
 * "." for the root; "\." and "\DDD" escapes.  Empty labels, labels over 63
 * bytes and names over 255 bytes are errors.  Returns 0 or -1.
 */
int	dnsname_from_text(const char *text, uint8_t *out, size_t *outlen);

/*
 * Wire to text, always absolute ("www.example.", "." for the root).  Bytes
 * outside printable ASCII, '.', '\\' and '"' are written as \DDD or "\.".
 * Returns the text length, or -1 when buf (bufsz bytes, NUL included) is
 * too small.
 */
int	dnsname_to_text(const uint8_t *name, size_t namelen, char *buf,
	    size_t bufsz);

/* 1 when the two names are equal ignoring ASCII case, else 0. */
int	dnsname_equal(const uint8_t *a, size_t alen, const uint8_t *b,
	    size_t blen);

/* 1 when name equals suffix or is below it (label-wise), else 0. */
int	dnsname_is_part_of(const uint8_t *name, size_t namelen,
	    const uint8_t *suffix, size_t suffixlen);

/* Number of labels, the root not counted ("www.example." is 2). */
int	dnsname_count_labels(const uint8_t *name, size_t namelen);

/* Copy of name with ASCII upper case folded to lower case; out may be name. */
void	dnsname_lower(const uint8_t *name, size_t namelen, uint8_t *out);

/*
 * Keyed 64-bit hash of the name, case-insensitive (SipHash-2-4 with the
 * 16-byte key, lib/siphash.h).
 */
uint64_t dnsname_hash(const uint8_t *name, size_t namelen,
	    const uint8_t key[16]);

#endif /* DNSNAME_H */
