/*
 * Zone transfers over TCP: every message of the answer is relayed, and the
 * transfer is over after the SOA that closes it (two for AXFR, as many as
 * the IXFR needs).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "edns.h"
#include "dnsdist.h"
#include "rule.h"
#include "stats.h"
#include "tcp.h"

/* The serial of the SOA record rr, or false when it has none. */
static bool
soa_serial(const uint8_t *pkt, size_t len, const struct dnsrr *rr,
    uint32_t *serial)
{
	size_t	off = rr->rr_rdoff, end = rr->rr_rdoff + rr->rr_rdlen;

	if (end > len || dnsname_skip(pkt, end, &off) == -1 ||
	    dnsname_skip(pkt, end, &off) == -1 || off + 4 > end)
		return false;
	*serial = dnspacket_get32(pkt + off);
	return true;
}

struct xfr_walk {
	struct tcp_query	*xw_tq;
	const uint8_t		*xw_pkt;
	size_t			 xw_len;
};

/*
 * Follow the answer records of a transfer (RFC 5936, RFC 1995): it ends
 * with the second SOA of the zone's serial, or the third when an IXFR
 * answer is incremental (its second record is an older SOA).
 */
static void
xfr_record(void *arg, const struct dnsrr *rr)
{
	struct xfr_walk		*xw = arg;
	struct tcp_query	*tq = xw->xw_tq;
	uint32_t		 serial;
	bool			 soa;

	if (rr->rr_section != 1 || tq->tq_xfrdone)
		return;
	soa = rr->rr_type == DNS_TYPE_SOA &&
	    soa_serial(xw->xw_pkt, xw->xw_len, rr, &serial);
	if (tq->tq_xfrrrs++ == 0) {
		if (!soa) {
			tq->tq_xfrdone = true;	/* not a transfer: as it is */
			return;
		}
		tq->tq_xfrserial = serial;
		tq->tq_xfrsoas = 1;
		tq->tq_xfrneed = 2;
		return;
	}
	if (tq->tq_xfrrrs == 2 && tq->tq_q.q_type == DNS_TYPE_IXFR && soa &&
	    serial != tq->tq_xfrserial)
		tq->tq_xfrneed = 3;
	if (soa && serial == tq->tq_xfrserial &&
	    ++tq->tq_xfrsoas >= tq->tq_xfrneed)
		tq->tq_xfrdone = true;
}

/* One message of a transfer: relay it; true once the transfer is over. */
bool
xfr_message(struct tcp_query *tq, uint8_t *pkt, size_t len)
{
	struct xfr_walk		xw;
	struct dnsquestion	q;
	size_t			off = DNS_HDRLEN;

	if (dnspacket_qdcount(pkt) > 0) {
		if (dnspacket_question(pkt, len, &q) == -1)
			return true;
		off = q.q_end;
	}
	if (tq->tq_xfrmsgs == 0 && (dnspacket_rcode(pkt) != DNS_RCODE_NOERROR ||
	    dnspacket_ancount(pkt) == 0))
		tq->tq_xfrdone = true;
	xw.xw_tq = tq;
	xw.xw_pkt = pkt;
	xw.xw_len = len;
	if (dnspacket_walk(pkt, len, off, xfr_record, &xw) == -1)
		tq->tq_xfrdone = true;
	/* "Up to date": an IXFR answer of the current SOA alone. */
	if (tq->tq_xfrmsgs == 0 && tq->tq_q.q_type == DNS_TYPE_IXFR &&
	    tq->tq_xfrrrs == 1)
		tq->tq_xfrdone = true;
	tq->tq_xfrmsgs++;
	dnspacket_set_id(pkt, tq->tq_origid);
	query_reply(tq, pkt, len);
	return tq->tq_xfrdone;
}
