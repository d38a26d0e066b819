/*
 * PBDNSMessage on the wire, written in one pass.  protobuf-c's generic
 * packer walks the field descriptors twice (once to size the message,
 * once to write it), which was most of what logging each query cost;
 * this writes the fields in field-number order, as protobuf-c does, so
 * the bytes are the same (regress/lib/t_pbwire checks it), and sizes a
 * nested message after writing it, moving it when its length takes more
 * than one byte.  The trace events (field 23) are never filled here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pb/dnsmessage.pb-c.h"
#include "pbwire.h"

struct pbw {
	uint8_t	*p;
	uint8_t	*end;
	bool	 full;
};

enum { WT_VARINT = 0, WT_LEN = 2 };

static size_t
varint_len(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void
put_varint(struct pbw *w, uint64_t v)
{
	/* Room for the longest varint, the usual case: no counting. */
	if (w->end - w->p < 10 && (size_t)(w->end - w->p) < varint_len(v)) {
		w->full = true;
		w->p = w->end;
		return;
	}
	while (v >= 0x80) {
		*w->p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*w->p++ = (uint8_t)v;
}

static void
put_key(struct pbw *w, unsigned int field, unsigned int wt)
{
	put_varint(w, (uint64_t)field << 3 | wt);
}

static void
put_uint(struct pbw *w, unsigned int field, uint64_t v)
{
	put_key(w, field, WT_VARINT);
	put_varint(w, v);
}

/* An int32 or an enum: negative values take ten bytes, sign extended. */
static void
put_int(struct pbw *w, unsigned int field, int64_t v)
{
	put_uint(w, field, (uint64_t)v);
}

static void
put_bytes(struct pbw *w, unsigned int field, const void *p, size_t len)
{
	put_key(w, field, WT_LEN);
	put_varint(w, len);
	if ((size_t)(w->end - w->p) < len) {
		w->full = true;
		w->p = w->end;
		return;
	}
	if (len > 0)
		memcpy(w->p, p, len);
	w->p += len;
}

static void
put_string(struct pbw *w, unsigned int field, const char *s)
{
	if (s != NULL)
		put_bytes(w, field, s, strlen(s));
}

/* A nested message: its key and one byte for its length, for now. */
static uint8_t *
nest_begin(struct pbw *w, unsigned int field)
{
	put_key(w, field, WT_LEN);
	if (w->p == w->end) {
		w->full = true;
		return w->p;
	}
	return w->p++;
}

static void
nest_end(struct pbw *w, uint8_t *at)
{
	size_t	len, n;

	if (w->full)
		return;
	len = (size_t)(w->p - at - 1);
	if ((n = varint_len(len)) > 1) {
		if ((size_t)(w->end - w->p) < n - 1) {
			w->full = true;
			w->p = w->end;
			return;
		}
		memmove(at + n, at + 1, len);
		w->p += n - 1;
	}
	while (len >= 0x80) {
		*at++ = (uint8_t)(len | 0x80);
		len >>= 7;
	}
	*at = (uint8_t)len;
}

static void
put_question(struct pbw *w, const PBDNSMessage__DNSQuestion *q)
{
	uint8_t	*at = nest_begin(w, 12);

	put_string(w, 1, q->qname);
	if (q->has_qtype)
		put_uint(w, 2, q->qtype);
	if (q->has_qclass)
		put_uint(w, 3, q->qclass);
	nest_end(w, at);
}

static void
put_rr(struct pbw *w, const PBDNSMessage__DNSResponse__DNSRR *rr)
{
	uint8_t	*at = nest_begin(w, 2);

	put_string(w, 1, rr->name);
	if (rr->has_type)
		put_uint(w, 2, rr->type);
	if (rr->has_class_)
		put_uint(w, 3, rr->class_);
	if (rr->has_ttl)
		put_uint(w, 4, rr->ttl);
	if (rr->has_rdata)
		put_bytes(w, 5, rr->rdata.data, rr->rdata.len);
	if (rr->has_udr)
		put_uint(w, 6, rr->udr != 0);
	nest_end(w, at);
}

static void
put_response(struct pbw *w, const PBDNSMessage__DNSResponse *r)
{
	uint8_t	*at = nest_begin(w, 13);
	size_t	 i;

	if (r->has_rcode)
		put_uint(w, 1, r->rcode);
	for (i = 0; i < r->n_rrs; i++)
		put_rr(w, r->rrs[i]);
	put_string(w, 3, r->appliedpolicy);
	for (i = 0; i < r->n_tags; i++)
		put_string(w, 4, r->tags[i] != NULL ? r->tags[i] : "");
	if (r->has_querytimesec)
		put_uint(w, 5, r->querytimesec);
	if (r->has_querytimeusec)
		put_uint(w, 6, r->querytimeusec);
	if (r->has_appliedpolicytype)
		put_int(w, 7, r->appliedpolicytype);
	put_string(w, 8, r->appliedpolicytrigger);
	put_string(w, 9, r->appliedpolicyhit);
	if (r->has_appliedpolicykind)
		put_int(w, 10, r->appliedpolicykind);
	if (r->has_validationstate)
		put_int(w, 11, r->validationstate);
	nest_end(w, at);
}

static void
put_meta(struct pbw *w, const PBDNSMessage__Meta *mt)
{
	uint8_t	*at = nest_begin(w, 22), *vat;
	size_t	 i;

	put_string(w, 1, mt->key != NULL ? mt->key : "");
	vat = nest_begin(w, 2);
	if (mt->value != NULL) {
		for (i = 0; i < mt->value->n_stringval; i++)
			put_string(w, 1, mt->value->stringval[i] != NULL ?
			    mt->value->stringval[i] : "");
		for (i = 0; i < mt->value->n_intval; i++)
			put_int(w, 2, mt->value->intval[i]);
	}
	nest_end(w, vat);
	nest_end(w, at);
}

size_t
pbwire_dnsmessage(const PBDNSMessage *m, uint8_t *buf, size_t cap)
{
	struct pbw	w = { buf, buf + cap, false };
	size_t		i;

	put_int(&w, 1, m->type);
	if (m->has_messageid)
		put_bytes(&w, 2, m->messageid.data, m->messageid.len);
	if (m->has_serveridentity)
		put_bytes(&w, 3, m->serveridentity.data,
		    m->serveridentity.len);
	if (m->has_socketfamily)
		put_int(&w, 4, m->socketfamily);
	if (m->has_socketprotocol)
		put_int(&w, 5, m->socketprotocol);
	if (m->has_from)
		put_bytes(&w, 6, m->from.data, m->from.len);
	if (m->has_to)
		put_bytes(&w, 7, m->to.data, m->to.len);
	if (m->has_inbytes)
		put_uint(&w, 8, m->inbytes);
	if (m->has_timesec)
		put_uint(&w, 9, m->timesec);
	if (m->has_timeusec)
		put_uint(&w, 10, m->timeusec);
	if (m->has_id)
		put_uint(&w, 11, m->id);
	if (m->question != NULL)
		put_question(&w, m->question);
	if (m->response != NULL)
		put_response(&w, m->response);
	if (m->has_originalrequestorsubnet)
		put_bytes(&w, 14, m->originalrequestorsubnet.data,
		    m->originalrequestorsubnet.len);
	put_string(&w, 15, m->requestorid);
	if (m->has_initialrequestid)
		put_bytes(&w, 16, m->initialrequestid.data,
		    m->initialrequestid.len);
	if (m->has_deviceid)
		put_bytes(&w, 17, m->deviceid.data, m->deviceid.len);
	if (m->has_newlyobserveddomain)
		put_uint(&w, 18, m->newlyobserveddomain != 0);
	put_string(&w, 19, m->devicename);
	if (m->has_fromport)
		put_uint(&w, 20, m->fromport);
	if (m->has_toport)
		put_uint(&w, 21, m->toport);
	for (i = 0; i < m->n_meta; i++)
		put_meta(&w, m->meta[i]);
	if (w.full || m->n_trace > 0)
		return 0;
	return (size_t)(w.p - buf);
}
