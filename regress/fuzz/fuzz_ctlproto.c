/*
 * libFuzzer target for the console's frame decoding: an arbitrary frame
 * (length prefix and box) from a peer must be refused cleanly unless it
 * was sealed with the key and nonce; what we seal must open to the same
 * bytes exactly once; key text of any shape decodes or is refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 key[CTLPROTO_KEYLEN] = { 1, 2, 3 };
	struct ctlproto_nonces	 a, b;
	uint8_t			 na[CTLPROTO_NONCELEN] = { 7 };
	uint8_t			 nb[CTLPROTO_NONCELEN] = { 9 };
	uint8_t			 k[CTLPROTO_KEYLEN], *out, *box;
	char			*text;
	uint32_t		 len;
	size_t			 n;

	if (size > 65536)
		return 0;
	/* The peer's frame as it comes: a length that may lie, then bytes. */
	ctlproto_nonces(&a, na, nb);
	if (size >= CTLPROTO_LENLEN) {
		len = ctlproto_getlen(data);
		n = size - CTLPROTO_LENLEN;
		if (len <= n && len >= CTLPROTO_MACLEN &&
		    (out = malloc(len - CTLPROTO_MACLEN + 1)) != NULL) {
			/* A forgery never opens. */
			CHECK(ctlproto_open(&a, key, data + CTLPROTO_LENLEN,
			    len, out) == -1);
			free(out);
		} else if (len < CTLPROTO_MACLEN && len <= n) {
			CHECK(ctlproto_open(&a, key, data + CTLPROTO_LENLEN,
			    len, NULL) == -1);
		}
	}
	/* Our own seal opens once, to the same bytes, and not twice. */
	ctlproto_nonces(&a, na, nb);
	ctlproto_nonces(&b, nb, na);
	if ((box = malloc(CTLPROTO_LENLEN + CTLPROTO_MACLEN + size)) == NULL ||
	    (out = malloc(size + 1)) == NULL) {
		free(box);
		return 0;
	}
	n = ctlproto_seal(&a, key, data, size, box);
	CHECK(n == CTLPROTO_LENLEN + CTLPROTO_MACLEN + size);
	CHECK(ctlproto_getlen(box) == CTLPROTO_MACLEN + size);
	CHECK(ctlproto_open(&b, key, box + CTLPROTO_LENLEN, n -
	    CTLPROTO_LENLEN, out) == 0);
	CHECK(memcmp(out, data, size) == 0);
	CHECK(ctlproto_open(&b, key, box + CTLPROTO_LENLEN, n -
	    CTLPROTO_LENLEN, out) == -1);
	free(box);
	free(out);
	/* Key text. */
	if ((text = malloc(size + 1)) != NULL) {
		memcpy(text, data, size);
		text[size] = '\0';
		(void)ctlproto_key_decode(text, k);
		free(text);
	}
	return 0;
}
