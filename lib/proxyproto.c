/*
 * The PROXY protocol version 2: reading a header, writing one, and the
 * TLV lists that queries carry from one to the other.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

static const uint8_t pp_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define PP_V2		0x20
#define PP_LOCAL	0x00
#define PP_PROXY	0x01
#define PP_INET		0x10
#define PP_INET6	0x20
#define PP_STREAM	0x01
#define PP_DGRAM	0x02

bool
proxyproto_tlv_next(const uint8_t *tlv, size_t len, size_t *off,
    uint8_t *type, const uint8_t **value, uint16_t *vlen)
{
	size_t	o = *off, n;

	if (o >= len || len - o < 3)
		return false;
	n = (size_t)tlv[o + 1] << 8 | tlv[o + 2];
	if (len - o - 3 < n)
		return false;
	*type = tlv[o];
	*vlen = (uint16_t)n;
	*value = tlv + o + 3;
	*off = o + 3 + n;
	return true;
}

static void
pp_addr(struct sockaddr_storage *ss, int family, const uint8_t *a,
    const uint8_t *port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, port, 2);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, port, 2);
	}
}

enum pp_result
proxyproto_parse(const uint8_t *buf, size_t len, size_t max,
    struct proxyproto *pp, size_t *used)
{
	size_t		total, alen = 0, off;
	const uint8_t	*v;
	uint16_t	vlen;
	uint8_t		t;

	memset(pp, 0, sizeof(*pp));
	/* A wrong byte is wrong however few have come (v1 too). */
	if (len > 0 && memcmp(buf, pp_sig, len < sizeof(pp_sig) ? len :
	    sizeof(pp_sig)) != 0)
		return PP_INVALID;
	if (len < PP_HDRLEN) {
		if (len > sizeof(pp_sig) && (buf[12] & 0xf0) != PP_V2)
			return PP_INVALID;
		*used = PP_HDRLEN;
		return PP_MORE;
	}
	if ((buf[12] & 0xf0) != PP_V2)
		return PP_INVALID;
	total = PP_HDRLEN + ((size_t)buf[14] << 8 | buf[15]);
	if (total > max)
		return PP_TOOBIG;
	switch (buf[12] & 0x0f) {
	case PP_LOCAL:
		pp->pp_local = true;
		break;
	case PP_PROXY:
		break;
	default:
		return PP_INVALID;
	}
	/* The addresses of a LOCAL header are not looked at. */
	if (!pp->pp_local) {
		switch (buf[13] & 0xf0) {
		case PP_INET:
			alen = 4;
			break;
		case PP_INET6:
			alen = 16;
			break;
		default:
			return PP_INVALID;
		}
		if ((buf[13] & 0x0f) != PP_STREAM &&
		    (buf[13] & 0x0f) != PP_DGRAM)
			return PP_INVALID;
		if (total - PP_HDRLEN < 2 * alen + 4)
			return PP_INVALID;
	}
	if (len < total) {
		*used = total;
		return PP_MORE;
	}
	*used = total;
	if (pp->pp_local)
		return PP_OK;
	pp->pp_stream = (buf[13] & 0x0f) == PP_STREAM;
	pp_addr(&pp->pp_src, alen == 4 ? AF_INET : AF_INET6, buf + PP_HDRLEN,
	    buf + PP_HDRLEN + 2 * alen);
	pp_addr(&pp->pp_dst, alen == 4 ? AF_INET : AF_INET6,
	    buf + PP_HDRLEN + alen, buf + PP_HDRLEN + 2 * alen + 2);
	pp->pp_tlv = buf + PP_HDRLEN + 2 * alen + 4;
	pp->pp_tlvlen = total - PP_HDRLEN - 2 * alen - 4;
	/* Every TLV must end where the header does. */
	off = 0;
	while (off < pp->pp_tlvlen)
		if (!proxyproto_tlv_next(pp->pp_tlv, pp->pp_tlvlen, &off, &t,
		    &v, &vlen))
			return PP_INVALID;
	return PP_OK;
}

/* The address of sa as 16 bytes (IPv4 mapped when map), and its port. */
static void
pp_put(uint8_t *a, uint8_t *port, const struct sockaddr *sa, bool map)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET && map) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET)
		memcpy(a, &sin->sin_addr, 4);
	else
		memcpy(a, &sin6->sin6_addr, 16);
	memcpy(port, sa->sa_family == AF_INET ? &sin->sin_port :
	    &sin6->sin6_port, 2);
}

size_t
proxyproto_build(uint8_t *out, size_t room, const struct sockaddr *src,
    const struct sockaddr *dst, bool stream, const uint8_t *tlv,
    size_t tlvlen)
{
	struct sockaddr_storage	 any;
	size_t			 alen, len;
	bool			 v6;

	if (room < PP_HDRLEN)
		return 0;
	memcpy(out, pp_sig, sizeof(pp_sig));
	if (src == NULL) {
		out[12] = PP_V2 | PP_LOCAL;
		out[13] = out[14] = out[15] = 0;
		return PP_HDRLEN;
	}
	if (src->sa_family != AF_INET && src->sa_family != AF_INET6)
		return 0;
	if (dst == NULL) {
		memset(&any, 0, sizeof(any));
		any.ss_family = src->sa_family;
		dst = (struct sockaddr *)&any;
	}
	if (dst->sa_family != src->sa_family)
		return 0;
	v6 = src->sa_family == AF_INET6;
	alen = v6 ? 16 : 4;
	len = PP_HDRLEN + 2 * alen + 4 + tlvlen;
	if (tlvlen > PP_TLVMAX || len > room)
		return 0;
	out[12] = PP_V2 | PP_PROXY;
	out[13] = (uint8_t)((v6 ? PP_INET6 : PP_INET) |
	    (stream ? PP_STREAM : PP_DGRAM));
	out[14] = (uint8_t)((len - PP_HDRLEN) >> 8);
	out[15] = (uint8_t)(len - PP_HDRLEN);
	pp_put(out + PP_HDRLEN, out + PP_HDRLEN + 2 * alen, src, v6);
	pp_put(out + PP_HDRLEN + alen, out + PP_HDRLEN + 2 * alen + 2, dst,
	    v6);
	if (tlvlen > 0)
		memcpy(out + PP_HDRLEN + 2 * alen + 4, tlv, tlvlen);
	return len;
}

static int
pp_tlvs_grow(struct pp_tlvs **l, size_t more)
{
	struct pp_tlvs	*n;
	size_t		 len = *l != NULL ? (*l)->pt_len : 0, cap;

	if (more > PP_TLVMAX || len + more > PP_TLVMAX)
		return -1;
	if (*l != NULL && len + more <= (*l)->pt_cap)
		return 0;
	cap = len + more < 64 ? 64 : 2 * (len + more);
	if ((n = realloc(*l, sizeof(*n) + cap)) == NULL)
		return -1;
	n->pt_len = len;
	n->pt_cap = cap;
	*l = n;
	return 0;
}

int
pp_tlvs_add(struct pp_tlvs **l, uint8_t type, const void *value, size_t vlen)
{
	uint8_t	*p;

	if (vlen > 0xffff || pp_tlvs_grow(l, 3 + vlen) == -1)
		return -1;
	p = (*l)->pt_buf + (*l)->pt_len;
	p[0] = type;
	p[1] = (uint8_t)(vlen >> 8);
	p[2] = (uint8_t)vlen;
	if (vlen > 0)
		memcpy(p + 3, value, vlen);
	(*l)->pt_len += 3 + vlen;
	return 0;
}

struct pp_tlvs *
pp_tlvs_from(const uint8_t *tlv, size_t len)
{
	struct pp_tlvs	*l = NULL;

	if (len == 0 || pp_tlvs_grow(&l, len) == -1)
		return NULL;
	memcpy(l->pt_buf, tlv, len);
	l->pt_len = len;
	return l;
}

void
pp_tlvs_free(struct pp_tlvs *l)
{
	free(l);
}
