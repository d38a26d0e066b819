/*
 * The PROXY protocol, version 2 (haproxy's proxy-protocol.txt): the binary
 * header a proxy puts before a UDP datagram or at the start of a TCP
 * connection, with the client's source and destination addresses and
 * type-length-value fields (TLVs).  Version 1 (text) is refused.
 */
#ifndef PROXYPROTO_H
#define PROXYPROTO_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_HDRLEN	16	/* signature, version/command, family, length */
#define PP_MAXLEN	(PP_HDRLEN + 65535)
/* TLV bytes that fit in a header with two IPv6 addresses and ports. */
#define PP_TLVMAX	(65535 - 36)

enum pp_result {
	PP_OK,		/* a whole header */
	PP_MORE,	/* a good start: *used says how many bytes it needs */
	PP_INVALID,	/* not a version 2 header, or one that lies */
	PP_TOOBIG	/* longer than the caller takes */
};

/* A header read by proxyproto_parse(); the TLVs point into its buffer. */
struct proxyproto {
	bool			 pp_local;	/* LOCAL: no addresses */
	bool			 pp_stream;	/* TCP (else UDP) */
	struct sockaddr_storage	 pp_src;
	struct sockaddr_storage	 pp_dst;
	const uint8_t		*pp_tlv;
	size_t			 pp_tlvlen;
};

/*
 * Parse the header at the start of buf (len bytes).  PP_OK with its
 * length in *used; PP_MORE with the length needed so far in *used (at
 * least PP_HDRLEN, then the whole header's) when buf is a good but short
 * start; PP_TOOBIG when the header would be longer than max bytes;
 * PP_INVALID otherwise: a wrong signature, version 1, an unknown command,
 * family or protocol, addresses longer than the header, TLVs that overrun.
 */
enum pp_result proxyproto_parse(const uint8_t *buf, size_t len, size_t max,
	    struct proxyproto *pp, size_t *used);

/*
 * Write a header into out (room bytes): PROXY from src to dst over TCP
 * (stream) or UDP, with tlvlen bytes of TLVs; LOCAL when src is NULL.
 * dst NULL is the unspecified address of src's family.  The length, or 0
 * when it does not fit, an address is of another family, or the two are
 * of different families (as dnsdist, a client that X-Forwarded-For made
 * IPv6 behind an IPv4 listener is not sent on with a header).
 */
size_t	proxyproto_build(uint8_t *out, size_t room, const struct sockaddr *src,
	    const struct sockaddr *dst, bool stream, const uint8_t *tlv,
	    size_t tlvlen);

/*
 * The TLV at *off in tlv (len bytes) and *off past it: true, or false at
 * the end or when it overruns.
 */
bool	proxyproto_tlv_next(const uint8_t *tlv, size_t len, size_t *off,
	    uint8_t *type, const uint8_t **value, uint16_t *vlen);

/*
 * A query's TLVs, received or set by rules, in wire form.  NULL is the
 * empty list.
 */
struct pp_tlvs {
	size_t		pt_len;
	size_t		pt_cap;
	uint8_t		pt_buf[];
};

/* Append one TLV (*l may be NULL: made).  0, or -1 (ENOMEM, too long). */
int	pp_tlvs_add(struct pp_tlvs **l, uint8_t type, const void *value,
	    size_t vlen);
/* A list holding len bytes of wire TLVs, or NULL (ENOMEM, len 0). */
struct pp_tlvs *pp_tlvs_from(const uint8_t *tlv, size_t len);
void	pp_tlvs_free(struct pp_tlvs *);

#endif /* PROXYPROTO_H */
