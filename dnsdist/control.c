/*
 * The remote console server: controlSocket(), in the main loop.  Each
 * connection is a small state machine over a non-blocking socket (the
 * client's nonce, our nonce, then length-prefixed sealed commands and
 * answers; see lib/ctlproto.h), so a slow client never holds the loop up.
 * Commands run through console_exec() like local console lines.  A
 * connection keeps the key it was accepted with, so setKey() applies to
 * the next connections and its own answer still reaches its client.
 *
 * What a client may cost is bounded: connections outside the console ACL
 * and past setConsoleMaximumConcurrentConnections() are closed at once;
 * a message longer than setConsoleOutputMaxMsgSize() (before the first
 * authentic message, longer than CONTROL_PREAUTH_MAX) closes the
 * connection, as does one that does not open with the key, so a replayed
 * or forged message gets nowhere; buffers grow only as bytes arrive; the
 * first authentic message must come within CONTROL_AUTH_TIMEOUT of the
 * connection, and a message begun must be finished, or an answer read,
 * without a CONTROL_IO_TIMEOUT pause.  An authenticated client may stay
 * idle between commands, as at dnsdist's console.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "ctlproto.h"
#include "dnsdist.h"
#include "netmask.h"

#define CONTROL_AUTH_TIMEOUT	5		/* seconds */
#define CONTROL_IO_TIMEOUT	10		/* seconds */
#define CONTROL_PREAUTH_MAX	(65536 + CTLPROTO_MACLEN)
#define CONTROL_READMAX		65536		/* bytes per read */
#define CONTROL_KEEPBUF		65536		/* input buffer kept between commands */

enum ctl_state {
	CTL_NONCE,		/* reading the client's nonce */
	CTL_LEN,		/* reading a length prefix */
	CTL_BODY,		/* reading a sealed message */
	CTL_SEND		/* writing our nonce or an answer */
};

struct ctlconn {
	TAILQ_ENTRY(ctlconn)	 cc_entry;
	int			 cc_fd;
	char			 cc_peer[ADDR_MAXTEXT];
	enum ctl_state		 cc_state;
	short			 cc_events;	/* as given to the loop */
	bool			 cc_authed;	/* a message has opened */
	uint64_t		 cc_deadline;	/* monotonic ns; 0: none */
	struct ctlproto_nonces	 cc_nonces;
	uint8_t			 cc_key[CTLPROTO_KEYLEN];	/* at accept */
	uint8_t			 cc_hdr[CTLPROTO_NONCELEN];
	size_t			 cc_hdrgot;
	uint8_t			*cc_in;
	size_t			 cc_inlen;	/* the message's length */
	size_t			 cc_ingot;
	size_t			 cc_incap;
	uint8_t			*cc_out;
	size_t			 cc_outlen;
	size_t			 cc_outoff;
};

static TAILQ_HEAD(, ctlconn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static int			 nconns;
static int			 ctl_fd = -1;
static bool			 ctl_timer;
static uint64_t			 dropped_logged;	/* last drop logged */
static unsigned long		 dropped_quiet;		/* and not logged since */

static void	ctl_io(int, short, void *);

/*
 * Connections dropped before a message opened come from anywhere in the
 * ACL, in any number: at most one line a second.
 */
static void
ctl_dropped(const char *peer, const char *why)
{
	if (!settings.st_consolelog)
		return;
	if (dropped_logged != 0 &&
	    loop_now - dropped_logged < 1000000000ULL) {
		dropped_quiet++;
		return;
	}
	if (dropped_quiet > 0)
		log_info("console connection from %s dropped: %s (and %lu "
		    "more)", peer, why, dropped_quiet);
	else
		log_info("console connection from %s dropped: %s", peer, why);
	dropped_logged = loop_now;
	dropped_quiet = 0;
}

static void
ctl_close(struct ctlconn *cc, const char *why)
{
	if (!cc->cc_authed)
		ctl_dropped(cc->cc_peer, why != NULL ? why :
		    "closed before a message opened");
	else if (settings.st_consolelog) {
		if (why != NULL)
			log_info("closed console connection from %s: %s",
			    cc->cc_peer, why);
		else
			log_info("closed console connection from %s",
			    cc->cc_peer);
	}
	loop_del(cc->cc_fd);
	close(cc->cc_fd);
	TAILQ_REMOVE(&conns, cc, cc_entry);
	nconns--;
	free(cc->cc_in);
	free(cc->cc_out);
	explicit_bzero(&cc->cc_nonces, sizeof(cc->cc_nonces));
	explicit_bzero(cc->cc_key, sizeof(cc->cc_key));
	free(cc);
}

/* Poll for events instead; 0, or -1 when the loop has no room. */
static int
ctl_want(struct ctlconn *cc, short events)
{
	if (cc->cc_events == events)
		return 0;
	loop_del(cc->cc_fd);
	cc->cc_events = events;
	return loop_add(cc->cc_fd, events, ctl_io, cc);
}

/* Wait for the next length prefix. */
static void
ctl_idle(struct ctlconn *cc)
{
	cc->cc_state = CTL_LEN;
	cc->cc_hdrgot = 0;
	if (cc->cc_authed)
		cc->cc_deadline = 0;
	if (cc->cc_incap > CONTROL_KEEPBUF) {
		free(cc->cc_in);
		cc->cc_in = NULL;
		cc->cc_incap = 0;
	}
	if (ctl_want(cc, POLLIN) == -1)
		ctl_close(cc, "out of memory");
}

/* Write what is pending; when done, wait for the next message. */
static void
ctl_send(struct ctlconn *cc)
{
	ssize_t	n;

	while (cc->cc_outoff < cc->cc_outlen) {
		n = write(cc->cc_fd, cc->cc_out + cc->cc_outoff,
		    cc->cc_outlen - cc->cc_outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			if (ctl_want(cc, POLLOUT) == -1)
				ctl_close(cc, "out of memory");
			return;
		}
		if (n <= 0) {
			ctl_close(cc, n == 0 ? NULL : strerror(errno));
			return;
		}
		cc->cc_outoff += (size_t)n;
		if (cc->cc_authed)
			cc->cc_deadline = loop_now +
			    CONTROL_IO_TIMEOUT * 1000000000ULL;
	}
	free(cc->cc_out);
	cc->cc_out = NULL;
	cc->cc_outlen = cc->cc_outoff = 0;
	ctl_idle(cc);
}

/* Seal text as the answer and start sending it. */
static void
ctl_answer(struct ctlconn *cc, const char *text, size_t len)
{
	if ((cc->cc_out = malloc(CTLPROTO_LENLEN + CTLPROTO_MACLEN +
	    len)) == NULL) {
		ctl_close(cc, "out of memory");
		return;
	}
	cc->cc_outlen = ctlproto_seal(&cc->cc_nonces, cc->cc_key,
	    (const uint8_t *)text, len, cc->cc_out);
	cc->cc_outoff = 0;
	cc->cc_state = CTL_SEND;
	ctl_send(cc);
}

/* A whole sealed message has arrived: open it, run it, answer. */
static void
ctl_command(struct ctlconn *cc)
{
	struct sbuf	 out;
	char		*line, big[160];
	size_t		 len = cc->cc_inlen - CTLPROTO_MACLEN;

	if ((line = malloc(len + 1)) == NULL) {
		ctl_close(cc, "out of memory");
		return;
	}
	if (ctlproto_open(&cc->cc_nonces, cc->cc_key, cc->cc_in,
	    cc->cc_inlen, (uint8_t *)line) == -1) {
		free(line);
		ctl_close(cc, "a message did not decrypt: check that both "
		    "ends have the same setKey()");
		return;
	}
	if (!cc->cc_authed && settings.st_consolelog)
		log_info("got console connection from %s", cc->cc_peer);
	cc->cc_authed = true;
	line[len] = '\0';
	sbuf_init(&out);
	/* The empty message checks the key; it gets an empty answer. */
	if (memchr(line, '\0', len) != NULL)
		sbuf_puts(&out, "Error: the command holds a NUL byte\n");
	else if (len > 0)
		console_exec(line, &out);
	explicit_bzero(line, len);
	free(line);
	if (out.sb_len + CTLPROTO_MACLEN > (size_t)settings.st_consolemaxmsg) {
		snprintf(big, sizeof(big), "Error: the answer of %zu bytes is "
		    "larger than setConsoleOutputMaxMsgSize(%d)\n", out.sb_len,
		    settings.st_consolemaxmsg);
		ctl_answer(cc, big, strlen(big));
	} else
		ctl_answer(cc, sbuf_text(&out), out.sb_len);
	/* Answers may hold secrets, such as makeKey()'s. */
	if (out.sb_buf != NULL)
		explicit_bzero(out.sb_buf, out.sb_cap);
	sbuf_free(&out);
}

/* Read what the state asks for: returns bytes read, or 0 after closing. */
static size_t
ctl_read(struct ctlconn *cc, uint8_t *buf, size_t want)
{
	ssize_t	n;

	do
		n = read(cc->cc_fd, buf, want);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		ctl_close(cc, n == 0 || errno == ECONNRESET ? NULL :
		    strerror(errno));
		return 0;
	}
	/* Within a message, an authenticated client must keep going. */
	if (cc->cc_authed)
		cc->cc_deadline = loop_now + CONTROL_IO_TIMEOUT * 1000000000ULL;
	return (size_t)n;
}

static void
ctl_read_nonce(struct ctlconn *cc)
{
	uint8_t	ours[CTLPROTO_NONCELEN];
	size_t	n;

	n = ctl_read(cc, cc->cc_hdr + cc->cc_hdrgot,
	    CTLPROTO_NONCELEN - cc->cc_hdrgot);
	if (n == 0 || (cc->cc_hdrgot += n) < CTLPROTO_NONCELEN)
		return;
	randombytes_buf(ours, sizeof(ours));
	ctlproto_nonces(&cc->cc_nonces, ours, cc->cc_hdr);
	if ((cc->cc_out = malloc(sizeof(ours))) == NULL) {
		ctl_close(cc, "out of memory");
		return;
	}
	memcpy(cc->cc_out, ours, sizeof(ours));
	cc->cc_outlen = sizeof(ours);
	cc->cc_outoff = 0;
	cc->cc_state = CTL_SEND;
	ctl_send(cc);
}

static void
ctl_read_len(struct ctlconn *cc)
{
	size_t		n, limit;
	uint32_t	len;
	char		why[96];

	n = ctl_read(cc, cc->cc_hdr + cc->cc_hdrgot,
	    CTLPROTO_LENLEN - cc->cc_hdrgot);
	if (n == 0 || (cc->cc_hdrgot += n) < CTLPROTO_LENLEN)
		return;
	len = ctlproto_getlen(cc->cc_hdr);
	limit = (size_t)settings.st_consolemaxmsg;
	if (!cc->cc_authed && limit > CONTROL_PREAUTH_MAX)
		limit = CONTROL_PREAUTH_MAX;
	if (len < CTLPROTO_MACLEN || len > limit) {
		snprintf(why, sizeof(why), "a message of %lu bytes is outside "
		    "%d..%zu", (unsigned long)len, CTLPROTO_MACLEN, limit);
		ctl_close(cc, why);
		return;
	}
	cc->cc_inlen = len;
	cc->cc_ingot = 0;
	cc->cc_state = CTL_BODY;
}

static void
ctl_read_body(struct ctlconn *cc)
{
	uint8_t	*nb;
	size_t	 cap, want, n;

	/* The buffer grows with what arrives, not with what is announced. */
	if (cc->cc_ingot == cc->cc_incap) {
		cap = cc->cc_incap ? cc->cc_incap * 2 : 4096;
		if (cap > cc->cc_inlen)
			cap = cc->cc_inlen;
		if ((nb = realloc(cc->cc_in, cap)) == NULL) {
			ctl_close(cc, "out of memory");
			return;
		}
		cc->cc_in = nb;
		cc->cc_incap = cap;
	}
	want = cc->cc_incap - cc->cc_ingot;
	if (want > CONTROL_READMAX)
		want = CONTROL_READMAX;
	if ((n = ctl_read(cc, cc->cc_in + cc->cc_ingot, want)) == 0)
		return;
	cc->cc_ingot += n;
	if (cc->cc_ingot == cc->cc_inlen)
		ctl_command(cc);
}

static void
ctl_io(int fd, short revents, void *arg)
{
	struct ctlconn	*cc = arg;

	(void)fd;
	if ((revents & POLLNVAL) ||
	    ((revents & POLLERR) && !(revents & (POLLIN | POLLOUT)))) {
		ctl_close(cc, "socket error");
		return;
	}
	switch (cc->cc_state) {
	case CTL_NONCE:
		ctl_read_nonce(cc);
		break;
	case CTL_LEN:
		ctl_read_len(cc);
		break;
	case CTL_BODY:
		ctl_read_body(cc);
		break;
	case CTL_SEND:
		ctl_send(cc);
		break;
	}
}

static void
ctl_accept(int fd, short revents, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct ctlconn		*cc;
	char			 peer[ADDR_MAXTEXT];
	int			 cfd;

	(void)revents;
	(void)arg;
	if ((cfd = accept(fd, (struct sockaddr *)&ss, &len)) == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_debug("ctl_accept: %s", strerror(errno));
		return;
	}
	addr_to_text((struct sockaddr *)&ss, peer, sizeof(peer));
	if (netmask_group_match(&settings.st_consoleacl,
	    (struct sockaddr *)&ss) != 1) {
		ctl_dropped(peer, "not in the console ACL");
		close(cfd);
		return;
	}
	if (settings.st_consolemaxconns > 0 &&
	    nconns >= settings.st_consolemaxconns) {
		ctl_dropped(peer, "too many concurrent console connections");
		close(cfd);
		return;
	}
	if (!settings.st_consolekeyset) {
		ctl_dropped(peer, "no key set with setKey()");
		close(cfd);
		return;
	}
	if (fcntl(cfd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(cfd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (cc = calloc(1, sizeof(*cc))) == NULL) {
		log_warn("console connection from %s", peer);
		close(cfd);
		return;
	}
	cc->cc_fd = cfd;
	/* A session keeps its key: setKey() is for the next connections. */
	memcpy(cc->cc_key, settings.st_consolekey, sizeof(cc->cc_key));
	strlcpy(cc->cc_peer, peer, sizeof(cc->cc_peer));
	cc->cc_state = CTL_NONCE;
	cc->cc_deadline = loop_now + CONTROL_AUTH_TIMEOUT * 1000000000ULL;
	cc->cc_events = POLLIN;
	if (loop_add(cfd, POLLIN, ctl_io, cc) == -1) {
		log_warn("console connection from %s", peer);
		close(cfd);
		free(cc);
		return;
	}
	TAILQ_INSERT_TAIL(&conns, cc, cc_entry);
	nconns++;
}

static void
ctl_sweep(void *arg)
{
	struct ctlconn	*cc, *next;

	(void)arg;
	for (cc = TAILQ_FIRST(&conns); cc != NULL; cc = next) {
		next = TAILQ_NEXT(cc, cc_entry);
		if (cc->cc_deadline != 0 && cc->cc_deadline <= loop_now)
			ctl_close(cc, cc->cc_authed ? "timed out" :
			    "no authentic message in time");
	}
}

/* Listen on settings.st_ctladdr, replacing the old socket on success. */
static int
control_listen(void)
{
	const struct sockaddr	*sa = (struct sockaddr *)&settings.st_ctladdr;
	char			 text[ADDR_MAXTEXT];
	int			 fd, on = 1, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    bind(fd, sa, settings.st_ctladdrlen) == -1 ||
	    listen(fd, 16) == -1 ||
	    loop_add(fd, POLLIN, ctl_accept, NULL) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (ctl_fd != -1) {
		loop_del(ctl_fd);
		close(ctl_fd);
	}
	ctl_fd = fd;
	if (!ctl_timer) {
		loop_timer(1000000000ULL, ctl_sweep, NULL);
		ctl_timer = true;
	}
	log_info("Accepting control connections on %s",
	    addr_to_text(sa, text, sizeof(text)));
	return 0;
}

void
control_start(void)
{
	char		buf[NETMASK_MAXTEXT], text[ADDR_MAXTEXT];
	struct sbuf	sb;
	size_t		i;

	dlua_host.h_control_socket = control_listen;
	if (settings.st_ctladdrlen == 0)
		return;
	if (control_listen() == -1)
		fatal("unable to listen for console connections on %s",
		    addr_to_text((struct sockaddr *)&settings.st_ctladdr, text,
		    sizeof(text)));
	sbuf_init(&sb);
	for (i = 0; i < settings.st_consoleacl.ng_count; i++)
		sbuf_printf(&sb, "%s%s", i ? ", " : "", netmask_to_text(
		    &settings.st_consoleacl.ng_masks[i], buf, sizeof(buf)));
	log_info("Console ACL allowing connections from: %s", sbuf_text(&sb));
	sbuf_free(&sb);
	if (!settings.st_consolekeyset)
		log_warnx("no console key: use setKey() (makeKey() makes one); "
		    "until then console connections are refused");
}

void
control_stop(void)
{
	while (!TAILQ_EMPTY(&conns))
		ctl_close(TAILQ_FIRST(&conns), NULL);
	if (ctl_fd != -1) {
		loop_del(ctl_fd);
		close(ctl_fd);
		ctl_fd = -1;
	}
	explicit_bzero(settings.st_consolekey, sizeof(settings.st_consolekey));
}
