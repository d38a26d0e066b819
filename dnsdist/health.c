/*
 * Health checks: every checkInterval each server in auto mode is asked
 * checkName/checkType from a fresh socket.  Up after `rise' good answers,
 * down after `maxCheckFailures' bad ones; the very first verdict counts at
 * once so that the daemon starts with a known state.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dnsdist.h"

static void	health_read(int, short, void *);

void
health_close(struct backend *be)
{
	if (be->be_hfd == -1)
		return;
	loop_del(be->be_hfd);
	close(be->be_hfd);
	be->be_hfd = -1;
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
		log_debug("health check of %s failed: %s", ds->ds_addrtext,
		    why);
	}
	be->be_hfirst = false;
	if (now == was)
		return;
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
	uint8_t		 pkt[DNS_HDRLEN + DNSNAME_MAXLEN + 4];
	size_t		 len;
	int		 fd;

	health_close(be);
	randombytes_buf(&be->be_hid, sizeof(be->be_hid));
	len = dnspacket_make_query(pkt, sizeof(pkt), be->be_hid,
	    ds->ds_checkname, ds->ds_checknamelen, ds->ds_checktype,
	    ds->ds_checkclass, true);
	if ((fd = socket(ds->ds_addr.ss_family, SOCK_DGRAM, 0)) == -1) {
		health_verdict(be, false, strerror(errno));
		return;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    connect(fd, (struct sockaddr *)&ds->ds_addr, ds->ds_addrlen) == -1 ||
	    send(fd, pkt, len, 0) != (ssize_t)len ||
	    loop_add(fd, POLLIN, health_read, be) == -1) {
		close(fd);
		health_verdict(be, false, strerror(errno));
		return;
	}
	be->be_hfd = fd;
	be->be_hdeadline = mono_ns() +
	    (uint64_t)ds->ds_checktimeout * 1000000ULL;
}

static void
health_read(int fd, short revents, void *arg)
{
	struct backend		*be = arg;
	struct server		*ds = be->be_ds;
	struct dnsquestion	 q;
	uint8_t			 pkt[4096];
	ssize_t			 len;
	int			 rcode;

	(void)revents;
	len = recv(fd, pkt, sizeof(pkt), 0);
	if (len == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		health_verdict(be, false, strerror(errno));
		return;
	}
	if ((size_t)len < DNS_HDRLEN || dnspacket_id(pkt) != be->be_hid ||
	    !dnspacket_qr(pkt) ||
	    dnspacket_question(pkt, (size_t)len, &q) == -1 ||
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

/* Start due checks, fail late ones. */
static void
health_tick(void *arg)
{
	struct server	*ds;
	struct backend	*be;
	size_t		 i;

	(void)arg;
	for (i = 0; i < servers.sr_count; i++) {
		ds = servers.sr_servers[i];
		if ((be = ds->ds_io) == NULL)
			continue;
		if (be->be_hfd != -1) {
			if (loop_now >= be->be_hdeadline)
				health_verdict(be, false, "timeout");
			continue;
		}
		if (loop_now >= be->be_hnext)
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
			pfd[n].events = POLLIN;
			bs[n++] = be;
		}
		if (n == 0)
			return;
		r = poll(pfd, n, 50);
		if (r == -1 && errno != EINTR)
			fatal("poll");
		loop_now = mono_ns();
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				health_read(pfd[i].fd, pfd[i].revents, bs[i]);
	}
}

void
health_start(void)
{
	loop_timer(100000000ULL, health_tick, NULL);
}
