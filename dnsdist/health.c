/*
 * Health checks: every checkInterval each server in auto mode is asked
 * checkName/checkType from a fresh socket (a TCP one for tcpOnly servers,
 * over TLS for those of DNS over TLS).  Up after `rise' good answers,
 * down after `maxCheckFailures' bad ones; the very first verdict counts at
 * once so that the daemon starts with a known state.
 *
 * In lazy mode, as in dnsdist, a healthy server is not checked: the
 * packet threads note the outcome of its queries (server_lazy_report), and
 * once the failures among the last lazyHealthCheckSampleSize reach
 * lazyHealthCheckThreshold percent it is checked every checkInterval
 * ("potential failure"), down after maxCheckFailures bad checks ("failed"),
 * then checked every lazyHealthCheckFailedInterval (doubled after each
 * failure with lazyHealthCheckUseExponentialBackOff, up to
 * lazyHealthCheckMaxBackOff) until `rise' good ones make it healthy again.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dnsdist.h"

static void	health_read(int, short, void *);
static void	health_tcp(int, short, void *);
static void	health_tcp_start(struct backend *, const uint8_t *, size_t,
	    size_t);

void
health_close(struct backend *be)
{
	tls_backend_close(be->be_htls);
	be->be_htls = NULL;
	dohc_free(be->be_hdoh);
	be->be_hdoh = NULL;
	free(be->be_hout);
	be->be_hout = NULL;
	be->be_houtlen = be->be_houtoff = 0;
	be->be_hstatus = 0;
	if (be->be_hfd == -1)
		return;
	loop_del(be->be_hfd);
	close(be->be_hfd);
	be->be_hfd = -1;
}

/* Lazy mode, failed: the next check, from the failures in a row. */
static void
health_lazy_failed(struct backend *be)
{
	struct server	*ds = be->be_ds;
	uint64_t	 secs = (uint64_t)ds->ds_lazyfailedinterval;
	int		 i;

	ds->ds_lazystate = SERVER_LAZY_FAILED;
	for (i = 1; ds->ds_lazybackoff && i < be->be_hfailures &&
	    secs < (uint64_t)ds->ds_lazymaxbackoff; i++)
		secs *= 2;
	if (ds->ds_lazybackoff && secs > (uint64_t)ds->ds_lazymaxbackoff)
		secs = (uint64_t)ds->ds_lazymaxbackoff;
	/* As in dnsdist, from when the check was sent. */
	ds->ds_lazynext = be->be_hstart + secs * 1000000000ULL;
}

/* Lazy mode: the verdict moves it between healthy, potential and failed. */
static void
health_lazy_verdict(struct backend *be, bool ok, bool was, bool now)
{
	struct server	*ds = be->be_ds;

	if (now) {
		/* Up (again, or still, in potential failure): no checks. */
		if (ok && ds->ds_lazystate != SERVER_LAZY_HEALTHY) {
			ds->ds_lazystate = SERVER_LAZY_HEALTHY;
			server_lazy_clear(ds);
		}
		return;
	}
	/* Down: a good check short of `rise' asks again soon. */
	if (ok)
		ds->ds_lazynext = be->be_hstart +
		    (uint64_t)ds->ds_lazyfailedinterval * 1000000000ULL;
	else {
		if (was)
			be->be_hfailures = 1;
		health_lazy_failed(be);
	}
}

static void
health_verdict(struct backend *be, bool ok, const char *why)
{
	struct server	*ds = be->be_ds;
	bool		 was = atomic_load(&ds->ds_healthy), now = was;
	char		 name[256];

	health_close(be);
	be->be_hnext = loop_now + (uint64_t)ds->ds_checkinterval * 1000000000ULL;
	if (ok) {
		be->be_hfailures = 0;
		be->be_hsuccess++;
		if (!was && (be->be_hfirst || be->be_hsuccess >= ds->ds_rise))
			now = true;
	} else {
		be->be_hsuccess = 0;
		be->be_hfailures++;
		if (was && be->be_hfailures >= ds->ds_maxcheckfailures)
			now = false;
		atomic_fetch_add(&ds->ds_hcfailures, 1);
		if (atomic_load(&settings_verbosehealthchecks))
			log_info("health check of %s failed: %s",
			    ds->ds_addrtext, why);
		else
			log_debug("health check of %s failed: %s",
			    ds->ds_addrtext, why);
	}
	be->be_hfirst = false;
	if (ds->ds_lazy)
		health_lazy_verdict(be, ok, was, now);
	if (now == was)
		return;
	/*
	 * As dnsdist: back up, it is asked from new ports (reconnectOnUp).
	 * The loops have the command before a query can see it up.
	 */
	if (now && ds->ds_reconnectonup && !ds->ds_tcponly)
		backend_reconnect(be);
	atomic_store(&ds->ds_healthy, now);
	atomic_fetch_add(&ds->ds_hcchanges, 1);
	if (atomic_load(&ds->ds_avail) == SERVER_AUTO)
		log_info("Marking downstream %s as '%s'",
		    server_display(ds, name, sizeof(name)), now ? "up" : "down");
}

void
health_check_now(struct backend *be)
{
	struct server	*ds = be->be_ds;
	uint8_t		 buf[PP_HDRLEN + DNS_HDRLEN + DNSNAME_MAXLEN + 4];
	uint8_t		*pkt;
	size_t		 len, hlen = 0;
	int		 fd;

	health_close(be);
	randombytes_buf(&be->be_hid, sizeof(be->be_hid));
	/* As dnsdist: a LOCAL header before a useProxyProtocol check. */
	if (ds->ds_proxyproto)
		hlen = proxyproto_build(buf, sizeof(buf), NULL, NULL, false,
		    NULL, 0);
	pkt = buf + hlen;
	len = dnspacket_make_query(pkt, sizeof(buf) - hlen, be->be_hid,
	    ds->ds_checkname, ds->ds_checknamelen, ds->ds_checktype,
	    ds->ds_checkclass, true);
	dnspacket_set_cd(pkt, ds->ds_setcd);
	be->be_hstart = mono_ns();
	be->be_hdeadline = be->be_hstart +
	    (uint64_t)ds->ds_checktimeout * 1000000ULL;
	if (ds->ds_tcponly) {
		health_tcp_start(be, buf, hlen, len);
		return;
	}
	if ((fd = server_socket(ds, SOCK_DGRAM)) == -1) {
		health_verdict(be, false, strerror(errno));
		return;
	}
	if (send(fd, buf, hlen + len, 0) != (ssize_t)(hlen + len) ||
	    loop_add(fd, POLLIN, health_read, be) == -1) {
		close(fd);
		health_verdict(be, false, strerror(errno));
		return;
	}
	be->be_hfd = fd;
	be->be_hevents = POLLIN;
}

/* Judge an answer; a stray message is ignored until the deadline. */
static void
health_answer(struct backend *be, const uint8_t *pkt, size_t len)
{
	struct server		*ds = be->be_ds;
	struct dnsquestion	 q;
	int			 rcode;

	if (len < DNS_HDRLEN || dnspacket_id(pkt) != be->be_hid ||
	    !dnspacket_qr(pkt) ||
	    dnspacket_question(pkt, len, &q) == -1 ||
	    q.q_type != ds->ds_checktype || q.q_class != ds->ds_checkclass ||
	    !dnsname_equal(q.q_name, q.q_namelen, ds->ds_checkname,
	    ds->ds_checknamelen)) {
		/* Not our answer: keep waiting until the deadline. */
		return;
	}
	rcode = dnspacket_rcode(pkt);
	if (rcode == DNS_RCODE_SERVFAIL)
		health_verdict(be, false, "SERVFAIL");
	else if (ds->ds_mustresolve && (rcode == DNS_RCODE_NXDOMAIN ||
	    rcode == DNS_RCODE_REFUSED))
		health_verdict(be, false, dnspacket_rcode_name(rcode));
	else
		health_verdict(be, true, NULL);
}

static void
health_read(int fd, short revents, void *arg)
{
	struct backend	*be = arg;
	uint8_t		 pkt[4096];
	ssize_t		 len;

	(void)revents;
	len = recv(fd, pkt, sizeof(pkt), 0);
	if (len == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		health_verdict(be, false, strerror(errno));
		return;
	}
	health_answer(be, pkt, (size_t)len);
}

/*
 * tcpOnly: connect, then send the query (len bytes after a PROXY protocol
 * header of hlen in buf) when the connection is up.
 */
static void
health_tcp_start(struct backend *be, const uint8_t *buf, size_t hlen,
    size_t len)
{
	struct server	*ds = be->be_ds;
	int		 fd;

	if (hlen + len + 2 > sizeof(be->be_hbuf) ||
	    (fd = server_socket(ds, SOCK_STREAM)) == -1) {
		health_verdict(be, false, strerror(errno));
		return;
	}
	memcpy(be->be_hbuf, buf, hlen);
	be->be_hpplen = hlen;
	be->be_hbuf[hlen] = (uint8_t)(len >> 8);
	be->be_hbuf[hlen + 1] = (uint8_t)len;
	memcpy(be->be_hbuf + hlen + 2, buf + hlen, len);
	be->be_hlen = hlen + len + 2;
	be->be_hconnected = be->be_hsent = false;
	/* The connect may take tcpConnectTimeout of the checkTimeout. */
	be->be_hend = be->be_hdeadline;
	if (be->be_hdeadline - mono_ns() >
	    (uint64_t)ds->ds_tcpconnecttimeout * 1000000000ULL)
		be->be_hdeadline = mono_ns() +
		    (uint64_t)ds->ds_tcpconnecttimeout * 1000000000ULL;
	if (loop_add(fd, POLLOUT, health_tcp, be) == -1) {
		close(fd);
		health_verdict(be, false, strerror(errno));
		return;
	}
	be->be_hfd = fd;
	be->be_hevents = POLLOUT;
}

/* Wait for ev on the check's socket. */
static int
health_want(struct backend *be, int fd, short ev)
{
	if (be->be_hevents == ev)
		return 0;
	loop_del(fd);
	be->be_hevents = ev;
	return loop_add(fd, ev, health_tcp, be);
}

/* Send or receive, in the clear or over TLS: -1 and EAGAIN to wait. */
static ssize_t
health_io(struct backend *be, int fd, void *buf, size_t len, bool wr)
{
	ssize_t	n;
	short	want;

	if (be->be_htls == NULL)
		return wr ? send(fd, buf, len, MSG_NOSIGNAL) :
		    recv(fd, buf, len, 0);
	n = tls_backend_io(be->be_htls, buf, len, wr, &want);
	if (n == -1 && errno == EAGAIN && health_want(be, fd, want) == -1)
		errno = EIO;
	return n;
}

/* DNS over HTTPS: the check's query, after its PROXY header. */
static const uint8_t *
health_doh_body(void *arg, uint16_t tag, size_t *len)
{
	struct backend	*be = arg;

	(void)tag;
	*len = be->be_hlen - be->be_hpplen - 2;
	return be->be_hbuf + be->be_hpplen + 2;
}

/* Its answer replaces the query; judged once the session is left. */
static void
health_doh_done(void *arg, uint16_t tag, int status, uint8_t *body,
    size_t len)
{
	struct backend	*be = arg;

	(void)tag;
	be->be_hstatus = status == 0 ? DOHC_FAILED : status;
	if (len > sizeof(be->be_hbuf))
		len = sizeof(be->be_hbuf);	/* header and question */
	if (len > 0)
		memcpy(be->be_hbuf, body, len);
	be->be_hlen = len;
}

/*
 * The check over HTTP/2 on the connected socket: the PROXY header if
 * any, the session's frames, then its answer.
 */
static void
health_doh(struct backend *be, int fd)
{
	struct server	*ds = be->be_ds;
	uint8_t		 buf[4096];
	const uint8_t	*data;
	ssize_t		 n;
	int		 i;

	if (be->be_hdoh == NULL) {
		if ((be->be_hdoh = dohc_new(be, health_doh_body,
		    health_doh_done)) == NULL || (be->be_hout =
		    malloc(be->be_hpplen + 1)) == NULL ||
		    dohc_submit(be->be_hdoh, be->be_hid, ds, be->be_hlen -
		    be->be_hpplen - 2, NULL, NULL) == -1) {
			health_verdict(be, false, "out of memory");
			return;
		}
		memcpy(be->be_hout, be->be_hbuf, be->be_hpplen);
		be->be_houtlen = be->be_hpplen;
	}
	/* A bounded number of rounds: the rest when the socket is ready. */
	for (i = 0; i < 64 && be->be_hstatus == 0; i++) {
		if (be->be_houtoff == be->be_houtlen) {
			be->be_houtoff = be->be_houtlen = 0;
			if ((n = dohc_output(be->be_hdoh, &data)) > 0) {
				free(be->be_hout);
				if ((be->be_hout = malloc((size_t)n)) == NULL) {
					health_verdict(be, false,
					    "out of memory");
					return;
				}
				memcpy(be->be_hout, data, (size_t)n);
				be->be_houtlen = (size_t)n;
			} else if (n == -1) {
				health_verdict(be, false, "HTTP/2 failed");
				return;
			}
		}
		if (be->be_houtoff < be->be_houtlen) {
			n = health_io(be, fd, be->be_hout + be->be_houtoff,
			    be->be_houtlen - be->be_houtoff, true);
			if (n == -1 && errno == EAGAIN)
				return;
			if (n <= 0) {
				health_verdict(be, false, strerror(errno));
				return;
			}
			be->be_houtoff += (size_t)n;
			continue;
		}
		if (health_want(be, fd, POLLIN) == -1) {
			health_verdict(be, false, strerror(errno));
			return;
		}
		n = health_io(be, fd, buf, sizeof(buf), false);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			health_verdict(be, false, n == 0 ?
			    "connection closed" : strerror(errno));
			return;
		}
		if (dohc_input(be->be_hdoh, buf, (size_t)n) == -1) {
			health_verdict(be, false, "HTTP/2 failed");
			return;
		}
	}
	if (be->be_hstatus == 0)
		return;
	if (be->be_hstatus != 200) {
		snprintf((char *)buf, sizeof(buf), "HTTP status %d",
		    be->be_hstatus);
		health_verdict(be, false, be->be_hstatus < 0 ?
		    "HTTP/2 stream failed" : (char *)buf);
		return;
	}
	/* The ID is the query's, whatever the server made of it. */
	if (be->be_hlen >= 2)
		dnspacket_set_id(be->be_hbuf, be->be_hid);
	health_answer(be, be->be_hbuf, be->be_hlen);
	if (be->be_hfd != -1)
		health_verdict(be, false, "not the answer");
}

static void
health_tcp(int fd, short revents, void *arg)
{
	struct backend	*be = arg;
	struct server	*ds = be->be_ds;
	ssize_t		 n;
	size_t		 mlen;
	int		 err = 0;
	socklen_t	 errlen = sizeof(err);

	if (!be->be_hconnected) {
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1 ||
		    err != 0) {
			health_verdict(be, false, strerror(err != 0 ? err :
			    errno));
			return;
		}
		be->be_hconnected = true;
		be->be_hdeadline = be->be_hend;
		if (ds->ds_tls && (be->be_htls = tls_backend_start(ds,
		    fd, false)) == NULL) {
			health_verdict(be, false, "TLS does not start");
			return;
		}
	}
	if (ds->ds_dohpath != NULL) {
		health_doh(be, fd);
		return;
	}
	if (!be->be_hsent) {
		n = health_io(be, fd, be->be_hbuf, be->be_hlen, true);
		if (n == -1 && errno == EAGAIN)
			return;
		if (n != (ssize_t)be->be_hlen) {
			health_verdict(be, false, n == -1 ? strerror(errno) :
			    "short write");
			return;
		}
		be->be_hsent = true;
		be->be_hlen = 0;
		if (health_want(be, fd, POLLIN) == -1) {
			close(fd);
			be->be_hfd = -1;
			health_verdict(be, false, strerror(errno));
			return;
		}
	}
	n = health_io(be, fd, be->be_hbuf + be->be_hlen,
	    sizeof(be->be_hbuf) - be->be_hlen, false);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		health_verdict(be, false, n == 0 ? "connection closed" :
		    strerror(errno));
		return;
	}
	be->be_hlen += (size_t)n;
	if (be->be_hlen < 2)
		return;
	/* A long answer is judged on its beginning: header and question. */
	mlen = (size_t)be->be_hbuf[0] << 8 | be->be_hbuf[1];
	if (be->be_hlen - 2 < mlen && be->be_hlen < sizeof(be->be_hbuf))
		return;
	health_answer(be, be->be_hbuf + 2, be->be_hlen - 2 < mlen ?
	    be->be_hlen - 2 : mlen);
	if (be->be_hfd != -1)
		health_verdict(be, false, "not the answer");
}

/*
 * Lazy mode: whether a check is due.  A healthy server whose queries fail
 * too often turns potential failure; one marked down by other means (a
 * UDP loop, setAuto(false), upStatus) is failed, so that checks bring it
 * back.  Only auto servers are checked, as by dnsdist.
 */
static bool
health_lazy_due(struct backend *be)
{
	struct server	*ds = be->be_ds;
	bool		 on;
	char		 name[256];

	if (ds->ds_lazystate == SERVER_LAZY_HEALTHY &&
	    !atomic_load(&ds->ds_healthy)) {
		be->be_hfailures = 1;
		health_lazy_failed(be);
	}
	on = ds->ds_lazystate == SERVER_LAZY_HEALTHY &&
	    atomic_load(&ds->ds_avail) == SERVER_AUTO;
	if (atomic_load(&ds->ds_lazyon) != on)
		atomic_store(&ds->ds_lazyon, on);
	if (atomic_load(&ds->ds_avail) != SERVER_AUTO)
		return false;
	switch (ds->ds_lazystate) {
	case SERVER_LAZY_HEALTHY:
		if (!server_lazy_over(ds))
			return false;
		log_info("downstream %s reached the lazy health-check "
		    "threshold: potential failure",
		    server_display(ds, name, sizeof(name)));
		atomic_store(&ds->ds_lazyon, false);
		server_lazy_clear(ds);
		ds->ds_lazystate = SERVER_LAZY_POTENTIAL;
		be->be_hfailures = 0;
		return true;
	case SERVER_LAZY_POTENTIAL:
		return loop_now >= be->be_hnext;
	default:
		return loop_now >= ds->ds_lazynext;
	}
}

/* Start due checks, fail late ones. */
static void
health_tick(void *arg)
{
	struct server	*ds;
	struct backend	*be;
	size_t		 i;
	int		 kick;

	(void)arg;
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		if ((be = ds->ds_io) == NULL)
			continue;
		/*
		 * A UDP loop found it dead (rise anew), or silent (check; in
		 * lazy mode its rerouted queries count as failures instead).
		 */
		if ((kick = atomic_exchange(&be->be_hkick, 0)) != 0) {
			if (kick & BACKEND_HDOWN)
				be->be_hsuccess = 0;
			if ((kick & BACKEND_HCHECK) && be->be_hfd == -1 &&
			    !ds->ds_lazy &&
			    atomic_load(&ds->ds_avail) == SERVER_AUTO)
				health_check_now(be);
		}
		if (!ds->ds_lazy && atomic_load(&ds->ds_lazyon))
			atomic_store(&ds->ds_lazyon, false);
		if (be->be_hfd != -1) {
			if (loop_now >= be->be_hdeadline)
				health_verdict(be, false, "timeout");
			continue;
		}
		/* As dnsdist: a server forced up or down is not checked. */
		if (ds->ds_lazy ? health_lazy_due(be) : loop_now >=
		    be->be_hnext && atomic_load(&ds->ds_avail) == SERVER_AUTO)
			health_check_now(be);
	}
}

/*
 * The first round, before the listeners open: wait (bounded by the longest
 * checkTimeout) until every server has a verdict.
 */
void
health_initial(void)
{
	struct pollfd	 pfd[256];
	struct backend	*bs[256];
	struct backend	*be;
	size_t		 i, n;
	int		 r;

	for (;;) {
		loop_now = mono_ns();
		n = 0;
		for (i = 0; i < servers.sr_count && n < 256; i++) {
			be = servers.sr_servers[i]->ds_io;
			if (be == NULL || be->be_hfd == -1)
				continue;
			if (loop_now >= be->be_hdeadline) {
				health_verdict(be, false, "timeout");
				continue;
			}
			pfd[n].fd = be->be_hfd;
			pfd[n].events = be->be_hevents;
			bs[n++] = be;
		}
		if (n == 0)
			return;
		r = poll(pfd, n, 50);
		if (r == -1 && errno != EINTR)
			fatal("poll");
		loop_now = mono_ns();
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents && bs[i]->be_ds->ds_tcponly)
				health_tcp(pfd[i].fd, pfd[i].revents, bs[i]);
			else if (pfd[i].revents)
				health_read(pfd[i].fd, pfd[i].revents, bs[i]);
	}
}

void
health_start(void)
{
	loop_timer(100000000ULL, health_tick, NULL);
}
