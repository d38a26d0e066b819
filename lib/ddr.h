/*
 * Discovery of designated resolvers (RFC 9462): the SVCB query for
 * _dns.resolver.arpa that asks a plain DNS server whether it also speaks
 * DNS over TLS or over HTTPS, and the reading of its answer.
 */
#ifndef DDR_H
#define DDR_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define DDR_TYPE_SVCB	64
#define DDR_DOHKEY	7	/* dohpath (RFC 9461), dnsdist's default */
#define DDR_MAXHINTS	16

enum ddr_proto { DDR_NONE, DDR_DOT, DDR_DOH };

/* Why an answer offers nothing usable. */
enum ddr_error {
	DDR_OK,
	DDR_EMALFORMED,		/* does not parse */
	DDR_EID,		/* not the query's ID, or not a response */
	DDR_ERCODE,		/* an error rcode */
	DDR_EQUESTION,		/* not one question, or not ours */
	DDR_ENOSVCB,		/* no SVCB record in the answer section */
	DDR_ENOUSABLE		/* none with an ALPN, path or key we can use */
};

/* The designated resolver chosen: the lowest priority we can use. */
struct ddr_result {
	int			dr_proto;	/* enum ddr_proto */
	uint16_t		dr_port;	/* the port key, or 853/443 */
	char			dr_target[256];	/* a host name, no final dot */
	char			dr_dohpath[256];	/* template cut at '{' */
	/* its ipv4hint/ipv6hint, then the target's A/AAAA (port 0) */
	struct sockaddr_storage	dr_hints[DDR_MAXHINTS];
	size_t			dr_nhints;
};

/*
 * The query, with RD and an OPT record (4096 bytes), into buf (bufsz
 * bytes): its length, or 0 when it does not fit.
 */
size_t		 ddr_make_query(uint8_t *buf, size_t bufsz, uint16_t id);
/*
 * Read the answer pkt (len bytes) to the query with id, taking the DoH
 * path from SvcParamKey dohkey (0: none).  DDR_OK with *res filled, or why
 * not.  Unknown keys are skipped, as RFC 9460 asks, unless "mandatory"
 * names them: then the record is.
 */
enum ddr_error	 ddr_parse(const uint8_t *pkt, size_t len, uint16_t id,
		    uint16_t dohkey, struct ddr_result *res);
const char	*ddr_strerror(enum ddr_error);

#endif /* DDR_H */
