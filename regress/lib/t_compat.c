/*
 * compat: batched datagram I/O (recvmmsg/sendmmsg, or the recvmsg/sendmsg
 * loop when built with NO_MMSG=1), destination addresses of datagrams and
 * the source of answers, non-local binds and port reuse, over loopback.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "compat/compat.h"

#include "lsan.h"

#define NDGRAM	5

/* A UDP socket bound to addr:port (port 0: any); its port in *bound. */
static int
udp_bound(const char *addr, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	ATF_REQUIRE((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	ATF_REQUIRE(inet_pton(AF_INET, addr, &sin.sin_addr) == 1);
	ATF_REQUIRE_MSG(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "bind %s: %s", addr, strerror(errno));
	ATF_REQUIRE(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	if (bound != NULL)
		*bound = ntohs(sin.sin_port);
	return fd;
}

static struct sockaddr_in
loopback(const char *addr, uint16_t port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	ATF_REQUIRE(inet_pton(AF_INET, addr, &sin.sin_addr) == 1);
	return sin;
}

/* Wait (at most a second) until fd has something to read. */
static void
readable(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	ATF_REQUIRE_MSG(poll(&pfd, 1, 1000) == 1, "nothing arrived");
}

ATF_TC_WITHOUT_HEAD(mmsg_kind);
ATF_TC_BODY(mmsg_kind, tc)
{
	/* The build switch picks the loop on every system. */
#ifdef COMPAT_NO_MMSG
	ATF_CHECK_STREQ(compat_mmsg_kind(), "recvmsg/sendmsg loop");
#else
	ATF_CHECK(strcmp(compat_mmsg_kind(), "recvmmsg/sendmmsg") == 0 ||
	    strcmp(compat_mmsg_kind(), "recvmsg/sendmsg loop") == 0);
#endif
}

ATF_TC_WITHOUT_HEAD(mmsg_batch);
ATF_TC_BODY(mmsg_batch, tc)
{
	struct compat_mmsg	 out[NDGRAM], in[NDGRAM];
	struct iovec		 oiov[NDGRAM], iiov[NDGRAM];
	struct sockaddr_in	 to, from[NDGRAM];
	char			 obuf[NDGRAM][32], ibuf[NDGRAM][64];
	uint16_t		 port;
	int			 a, b, i, n, got;

	a = udp_bound("127.0.0.1", 0, NULL);
	b = udp_bound("127.0.0.1", 0, &port);
	to = loopback("127.0.0.1", port);
	ATF_REQUIRE(fcntl(b, F_SETFL, O_NONBLOCK) == 0);

	/* Nothing waiting: 0, not an error. */
	memset(in, 0, sizeof(in));
	for (i = 0; i < NDGRAM; i++) {
		iiov[i].iov_base = ibuf[i];
		iiov[i].iov_len = sizeof(ibuf[i]);
		in[i].cm_hdr.msg_iov = &iiov[i];
		in[i].cm_hdr.msg_iovlen = 1;
	}
	ATF_CHECK_EQ(compat_recvmmsg(b, in, NDGRAM), 0);

	memset(out, 0, sizeof(out));
	for (i = 0; i < NDGRAM; i++) {
		snprintf(obuf[i], sizeof(obuf[i]), "datagram %d", i);
		oiov[i].iov_base = obuf[i];
		oiov[i].iov_len = strlen(obuf[i]) + 1;
		out[i].cm_hdr.msg_name = &to;
		out[i].cm_hdr.msg_namelen = sizeof(to);
		out[i].cm_hdr.msg_iov = &oiov[i];
		out[i].cm_hdr.msg_iovlen = 1;
	}
	ATF_REQUIRE_EQ(compat_sendmmsg(a, out, NDGRAM), NDGRAM);
	for (i = 0; i < NDGRAM; i++)
		ATF_CHECK_EQ(out[i].cm_len, strlen(obuf[i]) + 1);

	/* A batch smaller than what waits, then the rest, in order. */
	got = 0;
	while (got < NDGRAM) {
		readable(b);
		for (i = 0; i < NDGRAM; i++) {
			in[i].cm_hdr.msg_name = &from[i];
			in[i].cm_hdr.msg_namelen = sizeof(from[i]);
		}
		n = compat_recvmmsg(b, in + got, got == 0 ? 3 :
		    (unsigned int)(NDGRAM - got));
		ATF_REQUIRE(n >= 0);
		ATF_REQUIRE(got != 0 || n <= 3);
		got += n;
	}
	ATF_CHECK_EQ(got, NDGRAM);
	for (i = 0; i < NDGRAM; i++) {
		ATF_CHECK_EQ(in[i].cm_len, strlen(obuf[i]) + 1);
		ATF_CHECK_STREQ(ibuf[i], obuf[i]);
	}
	ATF_CHECK_EQ(compat_recvmmsg(b, in, NDGRAM), 0);
	close(a);
	close(b);
}

/* One datagram to dst on a wildcard socket; the answer leaves from dst. */
static void
pktinfo_roundtrip(const char *dst)
{
	struct compat_dst	 cd;
	struct sockaddr_in	 to, from;
	struct msghdr		 msg;
	struct iovec		 iov;
	socklen_t		 fromlen;
	char			 buf[64], cbuf[COMPAT_CMSG_SPACE], text[32];
	uint16_t		 port;
	ssize_t			 n;
	int			 srv, cl;

	srv = udp_bound("0.0.0.0", 0, &port);
	ATF_REQUIRE(compat_pktinfo_enable(srv, AF_INET) == 0);
	cl = udp_bound("127.0.0.1", 0, NULL);
	to = loopback(dst, port);
	ATF_REQUIRE(sendto(cl, "q", 1, 0, (struct sockaddr *)&to,
	    sizeof(to)) == 1);

	readable(srv);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	msg.msg_name = &from;
	msg.msg_namelen = sizeof(from);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	ATF_REQUIRE(recvmsg(srv, &msg, 0) == 1);
	compat_pktinfo_get(&msg, &cd);
	ATF_REQUIRE_EQ(cd.cd_family, AF_INET);
	ATF_CHECK_STREQ(inet_ntop(AF_INET, &cd.cd_addr.v4, text,
	    sizeof(text)), dst);

	/* The answer, from the address the query went to. */
	iov.iov_base = "a";
	iov.iov_len = 1;
	msg.msg_namelen = sizeof(from);
	compat_pktinfo_set(&msg, cbuf, &cd);
	ATF_REQUIRE(msg.msg_controllen > 0);
	ATF_REQUIRE_MSG(sendmsg(srv, &msg, 0) == 1, "sendmsg: %s",
	    strerror(errno));
	readable(cl);
	fromlen = sizeof(from);
	n = recvfrom(cl, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &fromlen);
	ATF_REQUIRE_EQ(n, 1);
	ATF_CHECK_STREQ(inet_ntop(AF_INET, &from.sin_addr, text,
	    sizeof(text)), dst);
	ATF_CHECK_EQ(ntohs(from.sin_port), port);

	/* No destination: no control data. */
	memset(&cd, 0, sizeof(cd));
	compat_pktinfo_set(&msg, cbuf, &cd);
	ATF_CHECK(msg.msg_control == NULL && msg.msg_controllen == 0);
	close(srv);
	close(cl);
}

ATF_TC_WITHOUT_HEAD(pktinfo);
ATF_TC_BODY(pktinfo, tc)
{
	int	fd;

	pktinfo_roundtrip("127.0.0.1");
	/* Where all of 127/8 is local (Linux), a second address too. */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	{
		struct sockaddr_in sin = loopback("127.0.0.2", 0);

		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			pktinfo_roundtrip("127.0.0.2");
			return;
		}
	}
	close(fd);
}

ATF_TC_WITHOUT_HEAD(nonlocal);
ATF_TC_BODY(nonlocal, tc)
{
	struct sockaddr_in	sin = loopback("192.0.2.1", 0);
	int			fd;

	/* 192.0.2.1 (TEST-NET-1) is on no interface of a test host. */
	ATF_REQUIRE((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		atf_tc_skip("this host has 192.0.2.1");
	ATF_CHECK_EQ(errno, EADDRNOTAVAIL);
	close(fd);

	ATF_REQUIRE((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	if (compat_nonlocal_bind(fd, AF_INET) == -1) {
		if (errno == EPERM || errno == EACCES)
			atf_tc_skip("non-local binds need privileges here");
		atf_tc_fail("compat_nonlocal_bind: %s", strerror(errno));
	}
	ATF_CHECK_MSG(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "bind 192.0.2.1: %s", strerror(errno));
	close(fd);
}

ATF_TC_WITHOUT_HEAD(reuseport);
ATF_TC_BODY(reuseport, tc)
{
	struct sockaddr_in	sin;
	uint16_t		port;
	int			a, b;

	ATF_REQUIRE((a = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	ATF_REQUIRE((b = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	ATF_REQUIRE(compat_reuseport(a) == 0);
	ATF_REQUIRE(compat_reuseport(b) == 0);
	close(udp_bound("127.0.0.1", 0, &port));
	sin = loopback("127.0.0.1", port);
	ATF_REQUIRE(bind(a, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	/* A second socket on the same address and port. */
	ATF_CHECK_MSG(bind(b, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "second bind: %s", strerror(errno));
	close(a);
	close(b);
}

/*
 * Datagrams from 64 source ports to two sockets of one reused port: where
 * compat_reuseport_spreads() says so, each socket gets some; elsewhere
 * one socket gets them all.
 */
ATF_TC_WITHOUT_HEAD(reuseport_spreads);
ATF_TC_BODY(reuseport_spreads, tc)
{
	struct sockaddr_in	sin;
	uint16_t		port;
	char			buf[16];
	int			s[2], c, i, got[2] = { 0, 0 };

	close(udp_bound("127.0.0.1", 0, &port));
	sin = loopback("127.0.0.1", port);
	for (i = 0; i < 2; i++) {
		ATF_REQUIRE((s[i] = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
		ATF_REQUIRE(compat_reuseport(s[i]) == 0);
		ATF_REQUIRE(bind(s[i], (struct sockaddr *)&sin,
		    sizeof(sin)) == 0);
		ATF_REQUIRE(fcntl(s[i], F_SETFL, O_NONBLOCK) == 0);
	}
	for (i = 0; i < 64; i++) {
		ATF_REQUIRE((c = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
		ATF_REQUIRE(sendto(c, "q", 1, 0, (struct sockaddr *)&sin,
		    sizeof(sin)) == 1);
		close(c);
	}
	/* Loopback delivers at once: what is not there now never comes. */
	for (i = 0; i < 2; i++)
		while (recv(s[i], buf, sizeof(buf), 0) == 1)
			got[i]++;
	ATF_CHECK_EQ(got[0] + got[1], 64);
	if (compat_reuseport_spreads())
		ATF_CHECK_MSG(got[0] > 0 && got[1] > 0,
		    "not spread: %d and %d", got[0], got[1]);
	else
		ATF_CHECK_MSG(got[0] == 0 || got[1] == 0,
		    "spread where it should not be: %d and %d", got[0], got[1]);
	for (i = 0; i < 2; i++)
		close(s[i]);
}

ATF_TC_WITHOUT_HEAD(default_user);
ATF_TC_BODY(default_user, tc)
{
	const char	*u = compat_default_user();

	ATF_CHECK(strcmp(u, "_dnsdist") == 0 || strcmp(u, "dnsdist") == 0);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, mmsg_kind);
	ATF_TP_ADD_TC(tp, mmsg_batch);
	ATF_TP_ADD_TC(tp, pktinfo);
	ATF_TP_ADD_TC(tp, nonlocal);
	ATF_TP_ADD_TC(tp, reuseport);
	ATF_TP_ADD_TC(tp, reuseport_spreads);
	ATF_TP_ADD_TC(tp, default_user);
	return atf_no_error();
}
