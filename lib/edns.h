/*
 * EDNS rewrites: adding an option, such as EDNS Client Subnet (RFC 7871),
 * to a query on its way to a backend, and taking it (or the whole OPT record
 * the balancer added) out of the answer on its way back.  Every rewrite
 * works on a message that parsed whole; anything else is left alone.
 */
#ifndef EDNS_H
#define EDNS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnspacket.h"
#include "netmask.h"

#define EDNS_OPT_ECS		8
#define EDNS_OPT_COOKIE		10
/*
 * The payload size of an OPT record put in a query that had none: as
 * dnsdist, 512, all that its client can take anyway.
 */
#define EDNS_QUERY_PAYLOAD	512
/* ... and in a DoH query, as dnsdist (its answer may be that large). */
#define EDNS_DOH_PAYLOAD	4096

/*
 * Put option code with dlen bytes of data in the OPT record of the query
 * in pkt (*len bytes, size bytes of room, question q), or in a new OPT
 * record advertising payload when the query has none; trailing data
 * after the records is dropped first.  An option of that code already
 * there is removed and the new one appended when override, else kept.
 * Returns 1 when the option was added, 2 when it replaced the query's, 0
 * when the query's own stays, -1 when the message is malformed or there
 * is no room (the query is then unchanged).  *hadopt says whether the
 * query had an OPT record.
 */
/*
 * An OPT record without options for a query that has none (trailing
 * data dropped first): 1 when added, 0 when it had one, -1 when it does
 * not parse or there is no room.
 */
int	edns_add_opt(uint8_t *pkt, size_t *len, size_t size,
	    const struct dnsquestion *q, uint16_t payload);
int	edns_set_option(uint8_t *pkt, size_t *len, size_t size,
	    const struct dnsquestion *q, uint16_t code, const uint8_t *data,
	    size_t dlen, uint16_t payload, bool override, bool *hadopt);
/*
 * Give the query in pkt (*len bytes, size bytes of room, question q) a
 * client subnet option for nm (the source prefix, host bits cleared).  A
 * query without an OPT record gets one; trailing data after the records
 * is dropped first.  An ECS option already there stays unless override.
 * Returns as edns_set_option().
 */
int	edns_add_ecs(uint8_t *pkt, size_t *len, size_t size,
	    const struct dnsquestion *q, const struct netmask *nm,
	    bool override, bool *hadopt);
/*
 * The answer to a query we added ECS to: remove the ECS option from its
 * OPT record, or the whole OPT record when the client sent none.
 * Returns 0, or -1 when the message is malformed (left unchanged).
 */
int	edns_strip_ecs(uint8_t *pkt, size_t *len, const struct dnsquestion *q,
	    bool wholeopt);
/*
 * The scope prefix length of the client subnet option in the message's
 * OPT record (0 to 255), or -1 when it has none or does not parse.
 */
int	edns_ecs_scope(const uint8_t *pkt, size_t len,
	    const struct dnsquestion *q);
/* The client's address as an ECS source: v4bits or v6bits of it. */
void	edns_ecs_source(const struct sockaddr *, int v4bits, int v6bits,
	    struct netmask *);

#endif /* EDNS_H */
