/*
 * responder: a small DNS backend for the regression tests and the benchmark.
 * It answers A queries with a fixed address and can misbehave on purpose
 * (-m MODE) so that tests can drive the daemon's failure paths.  Over TCP,
 * "outoforder" holds the answers to names whose first label starts with
 * "slow" for the -d delay and sends the others at once, so that answers
 * overtake each other on a connection; "cut" sends half of each answer
 * and closes the connection, "cutfirst" does so for every other query;
 * "oneshot" answers the first query of a connection and closes it, as
 * some servers and PowerDNS dnsdist's test responder do; -L logs each
 * query it answers so, with port 0 and the address "tcp".  "onereset"
 * does the same but closes with a reset, as a server does that closes
 * with queries left unread (the answer and the reset come together),
 * and serves one connection at a time, as dnsdist's test responder.
 * Over UDP, "big" pads each A answer with TXT records to -s bytes
 * (RSP_BIGSIZE by default), far more than any client without EDNS may take.
 * "bigtxt" answers TXT queries over TCP with TXT records filling -s bytes
 * (over UDP, truncated).  "bare" answers a name whose first label starts
 * with an RCODE's name ("formerr", "notimp", "noerror", ...) with a header
 * alone, QDCOUNT 0 and that RCODE; other names as usual.  "tcanswer" sets
 * TC over UDP but keeps the answer's records, as old servers did.
 * "lowercase" sends the question back in lower case.
 * "edns" answers TXT queries with what the query's OPT record said:
 * "PAYLOAD DO OPTIONS" (the options' bytes in hex, at most 100), or
 * "none".
 * -L FILE appends a line for each UDP query as it comes: "ID PORT LABEL
 * RD CD ADDR", its ID and source port in decimal, the first label of its
 * name, its RD and CD bits and its source address, so that tests see what
 * the daemon sends.
 * SIGUSR1 turns it silent (no answer at all) and SIGUSR2 makes it answer
 * everything with SERVFAIL, until the same signal comes again.
 *
 * One thread per UDP socket (recvmmsg/sendmmsg where available), one accept
 * thread per TCP socket and one thread per TCP connection, bounded.  The main
 * thread only waits for signals.  Nothing is allocated per packet.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/*
 * The responder links with libc alone, but the Makefile may compile it with
 * the libbsd overlay, which renames getopt(3) to bsd_getopt: take libc's.
 */
/* recvmmsg(2) comes with MSG_WAITFORONE (Linux, FreeBSD). */
#if defined(MSG_WAITFORONE) && !defined(COMPAT_NO_MMSG)
#define HAVE_MMSG	1
#endif

#define RSP_MAXLISTEN	32
#define RSP_MAXCONN	256
#define RSP_BATCH	64		/* datagrams per recvmmsg */
#define RSP_UDPBUF	4096		/* largest query read over UDP */
#define RSP_ANSMAX	512		/* largest answer we build but in big mode */
#define RSP_BIGSIZE	61000		/* about the size of a big mode answer */
#define RSP_BIGRR	(12 + 256)	/* one of its TXT records */
#define RSP_DELAYQ	8192		/* UDP answers waiting in delay mode */
#define RSP_TCPPIPE	64		/* answers pending on one connection */
#define RSP_TCPBUF	(2 + 65535)
#define RSP_SOCKBUF	(4 * 1024 * 1024)
#define RSP_TXTRR	(2 + 10 + 1 + 255)	/* one full TXT record */

#define DNS_HDRLEN	12
#define DNS_MAXNAME	255
#define DNS_T_A		1
#define DNS_T_TXT	16
#define DNS_T_OPT	41
#define DNS_OPT_ECS	8
#define DNS_C_IN	1
#define DNS_R_NOERROR	0
#define DNS_R_SERVFAIL	2
#define DNS_R_NXDOMAIN	3
#define DNS_R_REFUSED	5
#define DNS_EDNS_SIZE	1232

enum rsp_mode {
	MODE_NORMAL,
	MODE_SILENT,
	MODE_WRONGID,
	MODE_WRONGNAME,
	MODE_DUPLICATE,
	MODE_SERVFAIL,
	MODE_REFUSED,
	MODE_NXDOMAIN,
	MODE_TRUNCATE,
	MODE_DELAY,
	MODE_DROPFIRST,
	MODE_ECS,
	MODE_EDGEID,
	MODE_OUTOFORDER,
	MODE_CUT,
	MODE_CUTFIRST,
	MODE_BIG,
	MODE_BIGTXT,
	MODE_BARE,
	MODE_TCANSWER,
	MODE_LOWERCASE,
	MODE_EDNS,
	MODE_ONESHOT,
	MODE_ONERESET,
	MODE_COUNT
};

static const char *const mode_names[MODE_COUNT] = {
	"normal", "silent", "wrongid", "wrongname", "duplicate", "servfail",
	"refused", "nxdomain", "truncate", "delay", "dropfirst", "ecs",
	"edgeid", "outoforder", "cut", "cutfirst", "big", "bigtxt",
	"bare", "tcanswer", "lowercase", "edns", "oneshot", "onereset"
};

/* The RCODEs of the bare mode, by the start of the first label. */
static const char *const bare_rcodes[] = {
	"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused"
};

struct listener {
	struct sockaddr_storage	 l_ss;
	socklen_t		 l_sslen;
	uint16_t		 l_port;
	char			 l_txt[8];	/* the port as text for id.server */
	int			 l_udp;
	int			 l_tcp;
};

struct query {
	size_t		q_qend;		/* offset just past the question */
	uint16_t	q_qtype;
	uint16_t	q_qclass;
	int		q_idserver;
	int		q_opt;
	size_t		q_ecs;		/* client subnet option data, or 0 */
	size_t		q_optrd;	/* the OPT record's options */
	uint16_t	q_optrdlen;
	uint16_t	q_payload;
	int		q_do;
	uint16_t	q_ecslen;
};

/* An answer waiting for its deadline (delay mode). */
struct pending {
	uint64_t		p_due;
	struct sockaddr_storage	p_ss;
	socklen_t		p_sslen;
	uint16_t		p_len;
	uint8_t			p_buf[2 + RSP_ANSMAX];	/* TCP length prefix first */
};

struct batch {
	uint8_t			b_in[RSP_BATCH][RSP_UDPBUF];
	size_t			b_inlen[RSP_BATCH];
	struct sockaddr_storage	b_from[RSP_BATCH];
	socklen_t		b_fromlen[RSP_BATCH];
	uint8_t			b_out[RSP_BATCH][RSP_ANSMAX];
	uint8_t			b_big[65535];	/* one answer in big mode */
	int			b_nout;
	uint8_t			*b_obuf[2 * RSP_BATCH];
	size_t			b_olen[2 * RSP_BATCH];
	struct sockaddr		*b_osa[2 * RSP_BATCH];
	socklen_t		b_osalen[2 * RSP_BATCH];
#ifdef HAVE_MMSG
	struct mmsghdr		b_imsg[RSP_BATCH];
	struct iovec		b_iiov[RSP_BATCH];
	struct mmsghdr		b_omsg[2 * RSP_BATCH];
	struct iovec		b_oiov[2 * RSP_BATCH];
#endif
};

struct conn {
	int			 c_fd;
	const struct listener	*c_l;
	int			 c_eof;
	size_t			 c_inlen;
	uint8_t			 c_in[RSP_TCPBUF];
	unsigned int		 c_head;
	unsigned int		 c_count;
	struct pending		 c_pend[RSP_TCPPIPE];
	uint8_t			 c_big[RSP_TCPBUF];	/* bigtxt mode */
};

static struct listener	listeners[RSP_MAXLISTEN];
static int		nlisteners;
static enum rsp_mode	cfg_mode = MODE_NORMAL;
static uint8_t		cfg_addr[4] = { 192, 0, 2, 1 };
static uint64_t		cfg_delay_ns = 100 * 1000000ULL;
static size_t		cfg_bigsize = RSP_BIGSIZE;
static int		cfg_tcp;
static int		cfg_noudp;
static atomic_uint	cutcount;
static atomic_int	overridden;	/* SIGUSR1, SIGUSR2: a mode, or 0 */
static atomic_uint	dropcount;
static atomic_int	nconns;
static FILE		*cfg_log;	/* -L */

static void	usage(void) __attribute__((__noreturn__));

static void
usage(void)
{
	fprintf(stderr, "usage: responder -l addr:port [-l addr:port ...] "
	    "[-m mode] [-A ipv4] [-T] [-U]\n"
	    "                 [-r readyfile] [-p pidfile] [-d ms] [-s bytes]\n"
	    "                 [-L file]\n");
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Milliseconds poll(2) should wait for a deadline, rounded up. */
static int
poll_timeout(uint64_t due)
{
	uint64_t	now = now_ns(), ms;

	if (due <= now)
		return 0;
	ms = (due - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static enum rsp_mode
mode_current(void)
{
	int	m = atomic_load_explicit(&overridden, memory_order_relaxed);

	return m != MODE_NORMAL ? (enum rsp_mode)m : cfg_mode;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Skip a possibly compressed name; -1 if it runs past len. */
static int
name_skip(const uint8_t *buf, size_t len, size_t *off)
{
	size_t	o = *off;

	while (o < len) {
		uint8_t	l = buf[o];

		if (l == 0) {
			*off = o + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if ((l & 0xc0) != 0)
			return -1;
		o += 1 + (size_t)l;
	}
	return -1;
}

/*
 * Parse a query: header, one uncompressed question, then walk the other
 * sections looking for an OPT record.  -1 means "ignore this packet".
 */
static int
query_parse(const uint8_t *buf, size_t len, struct query *q)
{
	static const uint8_t	idserver[] = "\002id\006server";
	size_t			off = DNS_HDRLEN, i;
	unsigned int		nrr, nar, n;

	if (len < DNS_HDRLEN || (buf[2] & 0x80) != 0 || get16(buf + 4) != 1)
		return -1;
	for (;;) {
		uint8_t	l;

		if (off >= len)
			return -1;
		l = buf[off];
		if (l == 0)
			break;
		if ((l & 0xc0) != 0 || off + 1 + l >= len ||
		    off + 1 + l - DNS_HDRLEN >= DNS_MAXNAME)
			return -1;
		off += 1 + (size_t)l;
	}
	off++;
	if (off + 4 > len)
		return -1;
	q->q_idserver = 0;
	if (off - DNS_HDRLEN == sizeof(idserver)) {
		q->q_idserver = 1;
		for (i = 0; i < sizeof(idserver); i++)
			if (ascii_lower(buf[DNS_HDRLEN + i]) != idserver[i])
				q->q_idserver = 0;
	}
	q->q_qtype = get16(buf + off);
	q->q_qclass = get16(buf + off + 2);
	off += 4;
	q->q_qend = off;

	q->q_opt = 0;
	q->q_ecs = 0;
	q->q_optrd = 0;
	q->q_optrdlen = q->q_payload = 0;
	q->q_do = 0;
	q->q_ecslen = 0;
	nar = get16(buf + 10);
	nrr = get16(buf + 6) + get16(buf + 8) + nar;
	for (n = 0; n < nrr; n++) {
		uint16_t	type;

		if (name_skip(buf, len, &off) == -1 || off + 10 > len)
			break;
		type = get16(buf + off);
		i = off + 10;
		off += 10 + (size_t)get16(buf + off + 8);
		if (off > len)
			break;
		if (n >= nrr - nar && type == DNS_T_OPT) {
			q->q_opt = 1;
			q->q_optrd = i;
			q->q_optrdlen = (uint16_t)(off - i);
			q->q_payload = get16(buf + i - 8);
			q->q_do = (buf[i - 4] & 0x80) != 0;
			/* Options: code, length, data. */
			while (i + 4 <= off && i + 4 + get16(buf + i + 2) <= off) {
				if (get16(buf + i) == DNS_OPT_ECS &&
				    get16(buf + i + 2) <= 20) {
					q->q_ecs = i + 4;
					q->q_ecslen = get16(buf + i + 2);
				}
				i += 4 + (size_t)get16(buf + i + 2);
			}
		}
	}
	return 0;
}

static size_t
rr_put(uint8_t *p, uint16_t type, uint16_t class, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	p[0] = 0xc0;
	p[1] = DNS_HDRLEN;
	put16(p + 2, type);
	put16(p + 4, class);
	put16(p + 6, ttl >> 16);
	put16(p + 8, ttl & 0xffff);
	put16(p + 10, rdlen);
	memcpy(p + 12, rdata, rdlen);
	return 12 + (size_t)rdlen;
}

/*
 * Bare mode: the header alone, with the RCODE the first label of the
 * query in buf begins with; its length, or 0 for a name of no RCODE.
 */
static size_t
answer_bare(const uint8_t *buf, uint8_t *out)
{
	const uint8_t	*label = buf + DNS_HDRLEN + 1;
	size_t		 i, n;

	for (i = 0; i < sizeof(bare_rcodes) / sizeof(bare_rcodes[0]); i++) {
		n = strlen(bare_rcodes[i]);
		if (buf[DNS_HDRLEN] >= n && strncasecmp((const char *)label,
		    bare_rcodes[i], n) == 0)
			break;
	}
	if (i == sizeof(bare_rcodes) / sizeof(bare_rcodes[0]))
		return 0;
	memset(out, 0, DNS_HDRLEN);
	memcpy(out, buf, 2);
	out[2] = 0x80 | (buf[2] & 0x79);
	out[3] = 0x80 | (uint8_t)i;
	return DNS_HDRLEN;
}

/*
 * Bigtxt mode: the answer to a TXT query in ans (with its length prefix)
 * made over in out (RSP_TCPBUF bytes) with TXT records up to cfg_bigsize
 * bytes in all; its length with the prefix, or 0 for any other answer.
 */
static size_t
answer_bigtxt(const uint8_t *ans, size_t len, uint8_t *out)
{
	uint8_t		txt[256];
	size_t		off = 2 + DNS_HDRLEN;
	uint16_t	n = 0;

	if (len < off || get16(ans + 2 + 4) != 1 ||
	    name_skip(ans, len, &off) == -1 || off + 4 > len ||
	    get16(ans + off) != DNS_T_TXT)
		return 0;
	off += 4;
	memcpy(out, ans, off);
	put16(out + 2 + 8, 0);
	put16(out + 2 + 10, 0);
	txt[0] = 255;
	memset(txt + 1, 'b', 255);
	for (; off + RSP_TXTRR <= 2 + cfg_bigsize; n++)
		off += rr_put(out + off, DNS_T_TXT, DNS_C_IN, 60, txt,
		    sizeof(txt));
	put16(out + 2 + 6, n);
	put16(out, (uint16_t)(off - 2));
	return off;
}

/*
 * Build the answer to the query in buf into out (cap bytes: RSP_ANSMAX,
 * or more for big mode) in the given mode.  Returns its length, or 0 when
 * nothing is to be sent.
 */
static size_t
answer_build(const uint8_t *buf, size_t len, uint8_t *out, size_t cap,
    const struct listener *l, enum rsp_mode mode, int tcp)
{
	struct query	q;
	size_t		off;
	uint16_t	id, an = 0;
	uint8_t		rcode = DNS_R_NOERROR, tc = 0, txt[256], ecstxt[48];

	if (mode == MODE_SILENT || query_parse(buf, len, &q) == -1)
		return 0;
	if (mode == MODE_BARE && (len = answer_bare(buf, out)) > 0)
		return len;
	if (mode == MODE_DROPFIRST &&
	    atomic_fetch_add_explicit(&dropcount, 1, memory_order_relaxed) % 2
	    == 0)
		return 0;
	switch (mode) {
	case MODE_SERVFAIL:
		rcode = DNS_R_SERVFAIL;
		break;
	case MODE_REFUSED:
		rcode = DNS_R_REFUSED;
		break;
	case MODE_NXDOMAIN:
		rcode = DNS_R_NXDOMAIN;
		break;
	case MODE_TRUNCATE:
	case MODE_TCANSWER:
		tc = !tcp;
		break;
	case MODE_BIGTXT:
		tc = !tcp && q.q_qtype == DNS_T_TXT;
		break;
	default:
		break;
	}

	id = get16(buf);
	if (mode == MODE_WRONGID)
		id++;
	put16(out, id);
	out[2] = 0x80 | (buf[2] & 0x78) | 0x04 | (tc ? 0x02 : 0) |
	    (buf[2] & 0x01);
	out[3] = 0x80 | rcode;
	put16(out + 4, 1);
	put16(out + 8, 0);
	memcpy(out + DNS_HDRLEN, buf + DNS_HDRLEN, q.q_qend - DNS_HDRLEN);
	if (mode == MODE_WRONGNAME && out[DNS_HDRLEN] != 0)
		out[DNS_HDRLEN + 1] =
		    ascii_lower(out[DNS_HDRLEN + 1]) == 'x' ? 'y' : 'x';
	if (mode == MODE_LOWERCASE)
		for (off = DNS_HDRLEN; off < q.q_qend - 4; off++)
			out[off] = ascii_lower(out[off]);
	off = q.q_qend;

	if (rcode == DNS_R_NOERROR && (!tc || mode == MODE_TCANSWER)) {
		if (q.q_qtype == DNS_T_A && q.q_qclass == DNS_C_IN) {
			off += rr_put(out + off, DNS_T_A, DNS_C_IN, 60,
			    cfg_addr, sizeof(cfg_addr));
			an++;
			/* big: then TXT records, room left for an OPT one. */
			if (mode == MODE_BIG && cap > RSP_ANSMAX) {
				txt[0] = 255;
				memset(txt + 1, 'x', 255);
			}
			while (mode == MODE_BIG && cap > RSP_ANSMAX &&
			    off + RSP_BIGRR <= cfg_bigsize &&
			    off + RSP_BIGRR + 11 <= cap) {
				off += rr_put(out + off, DNS_T_TXT, DNS_C_IN,
				    60, txt, 256);
				an++;
			}
		} else if (q.q_qtype == DNS_T_TXT && mode == MODE_ECS) {
			/* What the client subnet option said, in hex. */
			char	hex[48];
			size_t	i, tl;

			if (q.q_ecs == 0)
				snprintf(hex, sizeof(hex), "none");
			for (i = 0; q.q_ecs != 0 && i < q.q_ecslen; i++)
				snprintf(hex + 2 * i, 3, "%02x",
				    buf[q.q_ecs + i]);
			tl = strlen(hex);
			ecstxt[0] = (uint8_t)tl;
			memcpy(ecstxt + 1, hex, tl);
			off += rr_put(out + off, DNS_T_TXT, q.q_qclass, 60,
			    ecstxt, (uint16_t)(tl + 1));
			an++;
		} else if (q.q_qtype == DNS_T_TXT && mode == MODE_EDNS) {
			/* The OPT record: payload, DO, options in hex. */
			size_t	i, tl;

			tl = (size_t)snprintf((char *)txt + 1, sizeof(txt) - 1,
			    q.q_opt ? "%u %d " : "none", q.q_payload, q.q_do);
			for (i = 0; q.q_opt && i < q.q_optrdlen && i < 100; i++)
				tl += (size_t)snprintf((char *)txt + 1 + tl, 3,
				    "%02x", buf[q.q_optrd + i]);
			txt[0] = (uint8_t)tl;
			off += rr_put(out + off, DNS_T_TXT, q.q_qclass, 60,
			    txt, (uint16_t)(tl + 1));
			an++;
		} else if (q.q_qtype == DNS_T_TXT && q.q_idserver) {
			size_t	tl = strlen(l->l_txt);

			txt[0] = (uint8_t)tl;
			memcpy(txt + 1, l->l_txt, tl);
			off += rr_put(out + off, DNS_T_TXT, q.q_qclass, 60,
			    txt, (uint16_t)(tl + 1));
			an++;
		}
	}
	/* ecs: "broken" gets an answer whose first owner name is not one. */
	if (mode == MODE_ECS && an > 0 && buf[DNS_HDRLEN] == 6 &&
	    strncasecmp((const char *)buf + DNS_HDRLEN + 1, "broken", 6) == 0)
		out[q.q_qend] = 0xff;
	put16(out + 6, an);
	put16(out + 10, q.q_opt ? 1 : 0);
	if (q.q_opt) {
		out[off++] = 0;			/* root owner */
		put16(out + off, DNS_T_OPT);
		put16(out + off + 2, DNS_EDNS_SIZE);
		memset(out + off + 4, 0, 6);	/* ext rcode, flags, rdlen */
		off += 10;
		/*
		 * ecs: the option comes back, its scope = its source, or 0
		 * (an answer for every subnet) for a name whose first label
		 * is "scope0".
		 */
		if (mode == MODE_ECS && q.q_ecs != 0 && q.q_ecslen >= 4) {
			put16(out + off - 2, (uint16_t)(4 + q.q_ecslen));
			put16(out + off, DNS_OPT_ECS);
			put16(out + off + 2, q.q_ecslen);
			memcpy(out + off + 4, buf + q.q_ecs, q.q_ecslen);
			out[off + 4 + 3] = buf[DNS_HDRLEN] == 6 &&
			    strncasecmp((const char *)buf + DNS_HDRLEN + 1,
			    "scope0", 6) == 0 ? 0 : out[off + 4 + 2];
			off += 4 + (size_t)q.q_ecslen;
		}
	}
	return off;
}

/* UDP datagram batches: recvmmsg/sendmmsg, or a recvfrom/sendto loop. */

static void
batch_init(struct batch *b)
{
#ifdef HAVE_MMSG
	int	i;

	memset(b->b_imsg, 0, sizeof(b->b_imsg));
	for (i = 0; i < RSP_BATCH; i++) {
		b->b_iiov[i].iov_base = b->b_in[i];
		b->b_iiov[i].iov_len = sizeof(b->b_in[i]);
		b->b_imsg[i].msg_hdr.msg_iov = &b->b_iiov[i];
		b->b_imsg[i].msg_hdr.msg_iovlen = 1;
		b->b_imsg[i].msg_hdr.msg_name = &b->b_from[i];
	}
	memset(b->b_omsg, 0, sizeof(b->b_omsg));
	for (i = 0; i < 2 * RSP_BATCH; i++) {
		b->b_omsg[i].msg_hdr.msg_iov = &b->b_oiov[i];
		b->b_omsg[i].msg_hdr.msg_iovlen = 1;
	}
#endif
	b->b_nout = 0;
}

/* Receive up to RSP_BATCH datagrams; waits for the first unless nowait. */
static int
batch_recv(int fd, struct batch *b, int nowait)
{
#ifdef HAVE_MMSG
	int	i, n;

	for (i = 0; i < RSP_BATCH; i++)
		b->b_imsg[i].msg_hdr.msg_namelen = sizeof(b->b_from[i]);
	n = recvmmsg(fd, b->b_imsg, RSP_BATCH,
	    nowait ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
	for (i = 0; i < n; i++) {
		b->b_inlen[i] = b->b_imsg[i].msg_len;
		b->b_fromlen[i] = b->b_imsg[i].msg_hdr.msg_namelen;
	}
	return n;
#else
	ssize_t	r;
	int	n;

	for (n = 0; n < RSP_BATCH; n++) {
		b->b_fromlen[n] = sizeof(b->b_from[n]);
		r = recvfrom(fd, b->b_in[n], sizeof(b->b_in[n]),
		    (n > 0 || nowait) ? MSG_DONTWAIT : 0,
		    (struct sockaddr *)&b->b_from[n], &b->b_fromlen[n]);
		if (r == -1)
			return n > 0 ? n : -1;
		b->b_inlen[n] = (size_t)r;
	}
	return n;
#endif
}

/*
 * -L: one line for message q (a query, or the answer that copies it),
 * made whole first and written with one call: ThreadSanitizer does not
 * know that flockfile() guards putc_unlocked().
 */
static void
log_one(const uint8_t *q, size_t len, unsigned int port, const char *addr)
{
	char	line[64 + 64 + INET6_ADDRSTRLEN];
	size_t	j, l, n;

	if (len < DNS_HDRLEN + 1)
		return;
	n = (size_t)snprintf(line, sizeof(line), "%u %u ", get16(q), port);
	l = q[DNS_HDRLEN] & 0x3f;
	for (j = 0; j < l && DNS_HDRLEN + 1 + j < len; j++)
		line[n++] = q[DNS_HDRLEN + 1 + j] > ' ' &&
		    q[DNS_HDRLEN + 1 + j] < 0x7f ? (char)q[DNS_HDRLEN + 1 + j] :
		    '?';
	snprintf(line + n, sizeof(line) - n, " %d %d %s\n", q[2] & 1,
	    (q[3] >> 4) & 1, addr);
	fputs(line, cfg_log);
}

/* -L: a line for each query of the batch, written out before it is answered. */
static void
batch_log(const struct batch *b, int n)
{
	const struct sockaddr_storage	*ss;
	char				 addr[INET6_ADDRSTRLEN];
	int				 i;

	if (cfg_log == NULL)
		return;
	flockfile(cfg_log);
	for (i = 0; i < n; i++) {
		ss = &b->b_from[i];
		if (inet_ntop(ss->ss_family, ss->ss_family == AF_INET6 ?
		    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
		    (const void *)&((const struct sockaddr_in *)ss)->sin_addr,
		    addr, sizeof(addr)) == NULL)
			snprintf(addr, sizeof(addr), "?");
		log_one(b->b_in[i], b->b_inlen[i], ntohs(ss->ss_family ==
		    AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port :
		    ((const struct sockaddr_in *)ss)->sin_port), addr);
	}
	fflush(cfg_log);
	funlockfile(cfg_log);
}

static void
batch_add(struct batch *b, uint8_t *buf, size_t len,
    struct sockaddr_storage *ss, socklen_t sslen)
{
	b->b_obuf[b->b_nout] = buf;
	b->b_olen[b->b_nout] = len;
	b->b_osa[b->b_nout] = (struct sockaddr *)ss;
	b->b_osalen[b->b_nout] = sslen;
	b->b_nout++;
}

static void
batch_flush(int fd, struct batch *b)
{
	int	i = 0;
#ifdef HAVE_MMSG
	int	n;

	for (n = 0; n < b->b_nout; n++) {
		b->b_oiov[n].iov_base = b->b_obuf[n];
		b->b_oiov[n].iov_len = b->b_olen[n];
		b->b_omsg[n].msg_hdr.msg_name = b->b_osa[n];
		b->b_omsg[n].msg_hdr.msg_namelen = b->b_osalen[n];
	}
	while (i < b->b_nout) {
		n = sendmmsg(fd, b->b_omsg + i, b->b_nout - i, 0);
		if (n == -1) {
			if (errno != EINTR)
				i++;	/* skip the datagram that failed */
			continue;
		}
		i += n;
	}
#else
	for (; i < b->b_nout; i++)
		while (sendto(fd, b->b_obuf[i], b->b_olen[i], 0, b->b_osa[i],
		    b->b_osalen[i]) == -1 && errno == EINTR)
			;
#endif
	b->b_nout = 0;
}

/* The answer with the IDs at both ends of the range, sent at once. */
static void
udp_edge_ids(int fd, const uint8_t *ans, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	uint8_t		buf[RSP_ANSMAX];
	uint16_t	ids[2] = { 0x0000, 0xffff };
	int		i;

	if (len > sizeof(buf))
		return;
	memcpy(buf, ans, len);
	for (i = 0; i < 2; i++) {
		if (get16(ans) == ids[i])
			continue;
		put16(buf, ids[i]);
		(void)sendto(fd, buf, len, 0, (const struct sockaddr *)to,
		    tolen);
	}
}

/* The UDP fast path: answer each batch at once. */
static void
udp_serve(const struct listener *l, struct batch *b)
{
	enum rsp_mode	mode;
	size_t		len;
	int		i, n;

	for (;;) {
		n = batch_recv(l->l_udp, b, 0);
		if (n == -1) {
			if (errno != EINTR && errno != EAGAIN)
				warn("udp recv");
			continue;
		}
		batch_log(b, n);
		mode = mode_current();
		for (i = 0; i < n; i++) {
			/* big: sent at once, from the one big buffer. */
			if (mode == MODE_BIG) {
				len = answer_build(b->b_in[i], b->b_inlen[i],
				    b->b_big, sizeof(b->b_big), l, mode, 0);
				if (len > 0)
					(void)sendto(l->l_udp, b->b_big, len, 0,
					    (struct sockaddr *)&b->b_from[i],
					    b->b_fromlen[i]);
				continue;
			}
			len = answer_build(b->b_in[i], b->b_inlen[i],
			    b->b_out[i], RSP_ANSMAX, l, mode, 0);
			if (len == 0)
				continue;
			/* edgeid: first the same answer with IDs 0 and 0xffff. */
			if (mode == MODE_EDGEID) {
				udp_edge_ids(l->l_udp, b->b_out[i], len,
				    &b->b_from[i], b->b_fromlen[i]);
			}
			batch_add(b, b->b_out[i], len, &b->b_from[i],
			    b->b_fromlen[i]);
			if (mode == MODE_DUPLICATE)
				batch_add(b, b->b_out[i], len, &b->b_from[i],
				    b->b_fromlen[i]);
		}
		batch_flush(l->l_udp, b);
	}
}

/* Delay mode over UDP: answers wait in a ring, all with the same delay. */
static void
udp_serve_delay(const struct listener *l, struct batch *b)
{
	struct pending	*ring, *p;
	struct pollfd	 pfd;
	unsigned int	 head = 0, count = 0;
	uint64_t	 now;
	size_t		 len;
	int		 i, n, timeout;

	if ((ring = calloc(RSP_DELAYQ, sizeof(*ring))) == NULL)
		err(1, "calloc");
	pfd.fd = l->l_udp;
	pfd.events = POLLIN;
	for (;;) {
		timeout = count ? poll_timeout(ring[head].p_due) : -1;
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			warn("poll");
		if (pfd.revents & POLLIN) {
			n = batch_recv(l->l_udp, b, 1);
			batch_log(b, n);
			now = now_ns();
			for (i = 0; i < n; i++) {
				if (count == RSP_DELAYQ)
					break;
				p = &ring[(head + count) % RSP_DELAYQ];
				len = answer_build(b->b_in[i], b->b_inlen[i],
				    p->p_buf, RSP_ANSMAX, l, mode_current(), 0);
				if (len == 0)
					continue;
				p->p_len = (uint16_t)len;
				p->p_due = now + cfg_delay_ns;
				memcpy(&p->p_ss, &b->b_from[i], b->b_fromlen[i]);
				p->p_sslen = b->b_fromlen[i];
				count++;
			}
		}
		now = now_ns();
		while (count > 0 && ring[head].p_due <= now &&
		    b->b_nout < RSP_BATCH) {
			p = &ring[head];
			batch_add(b, p->p_buf, p->p_len, &p->p_ss, p->p_sslen);
			head = (head + 1) % RSP_DELAYQ;
			count--;
		}
		batch_flush(l->l_udp, b);
	}
}

static void *
udp_main(void *arg)
{
	const struct listener	*l = arg;
	struct batch		*b;

	if ((b = malloc(sizeof(*b))) == NULL)
		err(1, "malloc");
	batch_init(b);
	if (cfg_mode == MODE_DELAY)
		udp_serve_delay(l, b);
	else
		udp_serve(l, b);
	return NULL;
}

/* TCP: one thread per connection, answers in order (RFC 7766). */

static int
conn_write(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Does the first label of the question start with "slow"? */
static int
name_is_slow(const uint8_t *msg, size_t len)
{
	return len > DNS_HDRLEN + 5 && msg[DNS_HDRLEN] >= 4 &&
	    ascii_lower(msg[DNS_HDRLEN + 1]) == 's' &&
	    ascii_lower(msg[DNS_HDRLEN + 2]) == 'l' &&
	    ascii_lower(msg[DNS_HDRLEN + 3]) == 'o' &&
	    ascii_lower(msg[DNS_HDRLEN + 4]) == 'w';
}

/* Should this answer be cut in half, and the connection closed? */
static int
answer_cut(enum rsp_mode mode)
{
	if (mode == MODE_CUT)
		return 1;
	return mode == MODE_CUTFIRST &&
	    atomic_fetch_add_explicit(&cutcount, 1, memory_order_relaxed) % 2
	    == 0;
}

/* Turn complete messages in the input buffer into pending answers. */
static void
conn_parse(struct conn *c)
{
	struct pending	*p;
	size_t		 off = 0, mlen, len;
	enum rsp_mode	 mode;

	while (c->c_count < RSP_TCPPIPE && c->c_inlen - off >= 2) {
		mlen = get16(c->c_in + off);
		if (c->c_inlen - off < 2 + mlen)
			break;
		mode = mode_current();
		p = &c->c_pend[(c->c_head + c->c_count) % RSP_TCPPIPE];
		len = answer_build(c->c_in + off + 2, mlen, p->p_buf + 2,
		    RSP_ANSMAX, c->c_l, mode, 1);
		off += 2 + mlen;
		if (len == 0)
			continue;
		put16(p->p_buf, (uint16_t)len);
		p->p_len = (uint16_t)(len + 2);
		p->p_due = mode == MODE_DELAY || (mode == MODE_OUTOFORDER &&
		    name_is_slow(c->c_in + off - mlen, mlen)) ?
		    now_ns() + cfg_delay_ns : 0;
		c->c_count++;
	}
	if (off > 0) {
		memmove(c->c_in, c->c_in + off, c->c_inlen - off);
		c->c_inlen -= off;
	}
}

static void *
conn_main(void *arg)
{
	struct conn	*c = arg;
	struct pending	*p;
	struct pollfd	 pfd;
	struct linger	 rst = { 1, 0 };
	ssize_t		 n;
	uint64_t	 now, due;
	size_t		 len;
	unsigned int	 i;
	int		 timeout;

	pfd.fd = c->c_fd;
	for (;;) {
		conn_parse(c);
		now = now_ns();
		/* Every answer that is due, in order; sent ones get p_len 0. */
		due = UINT64_MAX;
		for (i = 0; i < c->c_count; i++) {
			p = &c->c_pend[(c->c_head + i) % RSP_TCPPIPE];
			if (p->p_len == 0)
				continue;
			if (p->p_due > now) {
				if (p->p_due < due)
					due = p->p_due;
				continue;
			}
			if (answer_cut(cfg_mode)) {
				(void)conn_write(c->c_fd, p->p_buf, p->p_len / 2);
				goto done;
			}
			if (cfg_mode == MODE_BIGTXT && (len = answer_bigtxt(p->p_buf,
			    p->p_len, c->c_big)) > 0) {
				if (conn_write(c->c_fd, c->c_big, len) == -1)
					goto done;
			} else if (conn_write(c->c_fd, p->p_buf, p->p_len) == -1 ||
			    (cfg_mode == MODE_DUPLICATE &&
			    conn_write(c->c_fd, p->p_buf, p->p_len) == -1))
				goto done;
			p->p_len = 0;
			if (cfg_mode == MODE_ONESHOT ||
			    cfg_mode == MODE_ONERESET) {
				if (cfg_mode == MODE_ONERESET)
					(void)setsockopt(c->c_fd, SOL_SOCKET,
					    SO_LINGER, &rst, sizeof(rst));
				/* -L: the query answered, port 0, "tcp". */
				if (cfg_log != NULL) {
					flockfile(cfg_log);
					log_one(p->p_buf + 2, get16(p->p_buf),
					    0, "tcp");
					fflush(cfg_log);
					funlockfile(cfg_log);
				}
				goto done;
			}
		}
		while (c->c_count > 0 && c->c_pend[c->c_head].p_len == 0) {
			c->c_head = (c->c_head + 1) % RSP_TCPPIPE;
			c->c_count--;
		}
		if (c->c_count < RSP_TCPPIPE && c->c_inlen >= 2 &&
		    c->c_inlen >= 2 + (size_t)get16(c->c_in))
			continue;	/* room again for a buffered query */
		pfd.events = (!c->c_eof && c->c_count < RSP_TCPPIPE) ?
		    POLLIN : 0;
		if (pfd.events == 0 && c->c_count == 0)
			break;
		timeout = c->c_count && due != UINT64_MAX ? poll_timeout(due) :
		    -1;
		pfd.revents = 0;
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			break;
		if (c->c_eof && (pfd.revents & (POLLHUP | POLLERR)))
			break;		/* cannot send the rest either */
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(c->c_fd, c->c_in + c->c_inlen,
			    sizeof(c->c_in) - c->c_inlen, 0);
			if (n == -1 && errno != EINTR && errno != EAGAIN)
				break;
			if (n == 0)
				c->c_eof = 1;
			if (n > 0)
				c->c_inlen += (size_t)n;
		}
	}
 done:
	close(c->c_fd);
	free(c);
	atomic_fetch_sub(&nconns, 1);
	return NULL;
}

static void *
tcp_main(void *arg)
{
	const struct listener	*l = arg;
	pthread_attr_t		 attr;
	pthread_t		 t;
	struct conn		*c;
	int			 fd, one = 1;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		if ((fd = accept(l->l_tcp, NULL, NULL)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				usleep(10000);
			continue;
		}
		if (atomic_fetch_add(&nconns, 1) >= RSP_MAXCONN ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			atomic_fetch_sub(&nconns, 1);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->c_fd = fd;
		c->c_l = l;
		/* onereset: one connection at a time, the next ones wait. */
		if (cfg_mode == MODE_ONERESET)
			(void)conn_main(c);
		else if (pthread_create(&t, &attr, conn_main, c) != 0) {
			atomic_fetch_sub(&nconns, 1);
			close(fd);
			free(c);
		}
	}
	return NULL;
}

/* Set-up. */

static int
addr_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (ss->ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	sin6 = (const struct sockaddr_in6 *)ss;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* "127.0.0.1:5301" or "[::1]:5301". */
static void
listener_parse(const char *arg, struct listener *l)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&l->l_ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&l->l_ss;
	char			 host[64], *end;
	const char		*colon;
	size_t			 hlen;
	long			 port;

	memset(l, 0, sizeof(*l));
	if (arg[0] == '[') {
		if ((colon = strstr(arg, "]:")) == NULL)
			errx(1, "%s: expected [addr]:port", arg);
		hlen = (size_t)(colon - arg - 1);
		if (hlen >= sizeof(host))
			errx(1, "%s: address too long", arg);
		memcpy(host, arg + 1, hlen);
		colon++;
	} else {
		if ((colon = strrchr(arg, ':')) == NULL)
			errx(1, "%s: expected addr:port", arg);
		hlen = (size_t)(colon - arg);
		if (hlen >= sizeof(host))
			errx(1, "%s: address too long", arg);
		memcpy(host, arg, hlen);
	}
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 ||
	    port > 65535)
		errx(1, "%s: bad port", arg);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		l->l_sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		l->l_sslen = sizeof(*sin6);
	} else
		errx(1, "%s: bad address", arg);
	if (!addr_is_loopback(&l->l_ss))
		errx(1, "%s: only loopback addresses (127.0.0.0/8, ::1) "
		    "are allowed", arg);
	l->l_udp = l->l_tcp = -1;
}

static void
sock_port_set(struct listener *l, uint16_t port)
{
	if (l->l_ss.ss_family == AF_INET)
		((struct sockaddr_in *)&l->l_ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&l->l_ss)->sin6_port = htons(port);
}

static int
sock_open(struct listener *l, int type, const char *arg)
{
	int	fd, one = 1, size = RSP_SOCKBUF;

	if ((fd = socket(l->l_ss.ss_family, type, 0)) == -1)
		err(1, "%s: socket", arg);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->l_ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (bind(fd, (struct sockaddr *)&l->l_ss, l->l_sslen) == -1)
		err(1, "%s: bind %s", arg, type == SOCK_DGRAM ? "udp" : "tcp");
	if (type == SOCK_STREAM && listen(fd, 128) == -1)
		err(1, "%s: listen", arg);
	return fd;
}

static void
listener_open(struct listener *l, const char *arg)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);

	/* -U: TCP alone, as a server of tcpOnly backends. */
	if (cfg_noudp)
		l->l_tcp = sock_open(l, SOCK_STREAM, arg);
	else
		l->l_udp = sock_open(l, SOCK_DGRAM, arg);
	/* Port 0: TCP takes the port the kernel gave the UDP socket. */
	if (getsockname(cfg_noudp ? l->l_tcp : l->l_udp,
	    (struct sockaddr *)&ss, &sslen) == -1)
		err(1, "%s: getsockname", arg);
	l->l_port = ss.ss_family == AF_INET ?
	    ntohs(((struct sockaddr_in *)&ss)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	sock_port_set(l, l->l_port);
	snprintf(l->l_txt, sizeof(l->l_txt), "%u", (unsigned int)l->l_port);
	if (cfg_tcp && !cfg_noudp)
		l->l_tcp = sock_open(l, SOCK_STREAM, arg);
}

/* Write content to path through a temporary file and rename(2). */
static void
file_write(const char *path, const char *content)
{
	char	tmp[PATH_MAX];
	FILE	*fp;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		errx(1, "%s: path too long", path);
	if ((fp = fopen(tmp, "w")) == NULL)
		err(1, "%s", tmp);
	if (fputs(content, fp) == EOF || fclose(fp) == EOF)
		err(1, "%s", tmp);
	if (rename(tmp, path) == -1)
		err(1, "rename %s to %s", tmp, path);
}

static void
thread_start(void *(*fn)(void *), void *arg)
{
	pthread_t	t;
	int		e;

	if ((e = pthread_create(&t, NULL, fn, arg)) != 0)
		errx(1, "pthread_create: %s", strerror(e));
	pthread_detach(t);
}

int
main(int argc, char *argv[])
{
	const char	*readyfile = NULL, *pidfile = NULL, *larg[RSP_MAXLISTEN];
	char		 pidbuf[32], *end;
	sigset_t	 set;
	long		 ms;
	int		 ch, i, sig, m;

	while ((ch = getopt(argc, argv, "A:d:L:l:m:p:r:s:TU")) != -1) {
		switch (ch) {
		case 'A':
			if (inet_pton(AF_INET, optarg, cfg_addr) != 1)
				errx(1, "-A %s: not an IPv4 address", optarg);
			break;
		case 'd':
			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    ms < 0 || ms > 3600000)
				errx(1, "-d %s: milliseconds from 0 to 3600000",
				    optarg);
			cfg_delay_ns = (uint64_t)ms * 1000000ULL;
			break;
		case 'L':
			if ((cfg_log = fopen(optarg, "a")) == NULL)
				err(1, "%s", optarg);
			break;
		case 'l':
			if (nlisteners == RSP_MAXLISTEN)
				errx(1, "at most %d -l options", RSP_MAXLISTEN);
			larg[nlisteners] = optarg;
			listener_parse(optarg, &listeners[nlisteners++]);
			break;
		case 'm':
			for (m = 0; m < MODE_COUNT; m++)
				if (strcmp(optarg, mode_names[m]) == 0)
					break;
			if (m == MODE_COUNT)
				errx(1, "-m %s: unknown mode", optarg);
			cfg_mode = (enum rsp_mode)m;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'r':
			readyfile = optarg;
			break;
		case 's':
			errno = 0;
			ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    ms < 512 || ms > 65535)
				errx(1, "-s %s: bytes from 512 to 65535", optarg);
			cfg_bigsize = (size_t)ms;
			break;
		case 'T':
			cfg_tcp = 1;
			break;
		case 'U':
			cfg_noudp = cfg_tcp = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || nlisteners == 0)
		usage();

	/* Workers inherit the mask; the main thread takes signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < nlisteners; i++)
		listener_open(&listeners[i], larg[i]);
	if (pidfile != NULL) {
		snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
		file_write(pidfile, pidbuf);
	}
	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].l_udp != -1)
			thread_start(udp_main, &listeners[i]);
		if (listeners[i].l_tcp != -1)
			thread_start(tcp_main, &listeners[i]);
	}
	if (readyfile != NULL)
		file_write(readyfile, "ready\n");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1 || sig == SIGUSR2) {
			m = sig == SIGUSR1 ? MODE_SILENT : MODE_SERVFAIL;
			if (atomic_load(&overridden) == m)
				m = MODE_NORMAL;
			atomic_store(&overridden, m);
			fprintf(stderr, "responder: mode %s\n",
			    mode_names[mode_current()]);
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			exit(0);
	}
}
