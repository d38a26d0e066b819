/*
 * libFuzzer target for PROXY protocol v2 headers: any bytes parse to a
 * header within them and within the maximum, or need more, or are
 * refused; a header that parses comes back the same from its parts; its
 * TLVs walk to its end exactly; a shorter prefix never parses.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 out[PP_MAXLEN];
	struct proxyproto	 pp, again;
	struct pp_tlvs		*l;
	const uint8_t		*v;
	size_t			 used, used2, off, n, max;
	uint16_t		 vlen;
	uint8_t			 t;
	enum pp_result		 r;

	if (size < 1)
		return 0;
	/* The first byte picks the maximum size. */
	max = 16 + (size_t)data[0] * 8;
	data++;
	size--;
	r = proxyproto_parse(data, size, max, &pp, &used);
	if (r == PP_MORE) {
		CHECK(used > size && used <= max);
		return 0;
	}
	if (r != PP_OK)
		return 0;
	CHECK(used >= PP_HDRLEN && used <= size && used <= max);
	/* No prefix of it is a whole header. */
	CHECK(proxyproto_parse(data, used - 1, max, &again, &used2) ==
	    PP_MORE);
	if (pp.pp_local)
		return 0;
	CHECK(pp.pp_tlv >= data && pp.pp_tlv + pp.pp_tlvlen == data + used);
	for (off = 0; off < pp.pp_tlvlen; )
		CHECK(proxyproto_tlv_next(pp.pp_tlv, pp.pp_tlvlen, &off, &t,
		    &v, &vlen));
	CHECK(off == pp.pp_tlvlen);
	/* Rebuilt from its parts, the header is the same bytes. */
	l = pp_tlvs_from(pp.pp_tlv, pp.pp_tlvlen);
	CHECK(pp.pp_tlvlen == 0 || l != NULL);
	n = proxyproto_build(out, sizeof(out), (struct sockaddr *)&pp.pp_src,
	    (struct sockaddr *)&pp.pp_dst, pp.pp_stream,
	    l != NULL ? l->pt_buf : NULL, l != NULL ? l->pt_len : 0);
	CHECK(n == used);
	CHECK(memcmp(out, data, n) == 0);
	pp_tlvs_free(l);
	return 0;
}
