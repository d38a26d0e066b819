/*
 * The carbon sender: carbonServer().  One thread sends, every interval,
 * each destination's lines "<namespace>.<host>.<instance>.<metric> <value>
 * <time>" over a new TCP connection, as dnsdist does.  Connections are
 * non-blocking and polled together, so a destination that is down or slow
 * delays neither the others nor the packet path; one that has not taken
 * its lines within CARBON_SEND_MAX (or its interval, if shorter) is given
 * up until the next round.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dnsdist.h"
#include "lua.h"
#include "metrics.h"

#define CARBON_SEND_MAX	5		/* seconds */

struct carbon_peer {
	struct sockaddr_storage	 cp_addr;
	socklen_t		 cp_addrlen;
	char			 cp_text[ADDR_MAXTEXT];
	char			*cp_prefix;	/* ns.host.instance */
	uint64_t		 cp_interval;	/* ns */
	uint64_t		 cp_due;
	uint64_t		 cp_deadline;	/* of the send under way */
	int			 cp_fd;		/* -1: idle */
	bool			 cp_connecting;
	bool			 cp_failing;	/* logged as failing */
	struct sbuf		 cp_out;
	size_t			 cp_off;
};

static struct carbon_peer	*peers;
static size_t			 npeers;
static int			 stop_pipe[2] = { -1, -1 };
static pthread_t		 carbon_thread;
static bool			 carbon_running;

/* The host part of the names: the host name up to its first dot. */
static void
carbon_hostname(char *buf, size_t bufsz)
{
	char	*dot;

	if (gethostname(buf, bufsz) == -1 || buf[0] == '\0')
		strlcpy(buf, "localhost", bufsz);
	buf[bufsz - 1] = '\0';
	if ((dot = strchr(buf, '.')) != NULL)
		*dot = '\0';
}

/* Pick up destinations added since the last round; under the lock. */
static void
carbon_sync(void)
{
	const struct carbon_dest	*cd;
	struct carbon_peer		*np, *cp;
	struct sbuf			 sb;
	char				 host[256];
	uint64_t			 now = mono_ns();

	if (settings.st_ncarbon == npeers)
		return;
	np = reallocarray(peers, settings.st_ncarbon, sizeof(*np));
	if (np == NULL)
		return;
	peers = np;
	carbon_hostname(host, sizeof(host));
	for (; npeers < settings.st_ncarbon; npeers++) {
		cd = &settings.st_carbon[npeers];
		cp = &peers[npeers];
		memset(cp, 0, sizeof(*cp));
		cp->cp_addr = cd->cd_addr;
		cp->cp_addrlen = cd->cd_addrlen;
		addr_to_text((const struct sockaddr *)&cd->cd_addr, cp->cp_text,
		    sizeof(cp->cp_text));
		cp->cp_interval = (uint64_t)cd->cd_interval * 1000000000ULL;
		cp->cp_due = now;
		cp->cp_fd = -1;
		sbuf_init(&cp->cp_out);
		sbuf_init(&sb);
		metrics_carbon_name(&sb, cd->cd_namespace, true);
		sbuf_puts(&sb, ".");
		metrics_carbon_name(&sb, cd->cd_ourname != NULL ?
		    cd->cd_ourname : host, cd->cd_ourname != NULL);
		sbuf_puts(&sb, ".");
		metrics_carbon_name(&sb, cd->cd_instance, true);
		cp->cp_prefix = strdup(sbuf_text(&sb));
		sbuf_free(&sb);
		if (cp->cp_prefix == NULL)
			break;
	}
}

static void
carbon_end(struct carbon_peer *cp, const char *why)
{
	if (cp->cp_fd != -1)
		close(cp->cp_fd);
	cp->cp_fd = -1;
	cp->cp_connecting = false;
	sbuf_reset(&cp->cp_out);
	if (why != NULL && !cp->cp_failing) {
		log_warnx("carbon: unable to send to %s: %s", cp->cp_text, why);
		cp->cp_failing = true;
	} else if (why == NULL && cp->cp_failing) {
		log_info("carbon: sending to %s again", cp->cp_text);
		cp->cp_failing = false;
	}
}

/* Write what the socket takes; the connection ends when all is sent. */
static void
carbon_write(struct carbon_peer *cp)
{
	ssize_t	n;
	int	err = 0;
	socklen_t len = sizeof(err);

	if (cp->cp_connecting) {
		if (getsockopt(cp->cp_fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) == -1)
			err = errno;
		if (err != 0) {
			carbon_end(cp, strerror(err));
			return;
		}
		cp->cp_connecting = false;
	}
	while (cp->cp_off < cp->cp_out.sb_len) {
		n = send(cp->cp_fd, cp->cp_out.sb_buf + cp->cp_off,
		    cp->cp_out.sb_len - cp->cp_off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			carbon_end(cp, strerror(errno));
			return;
		}
		cp->cp_off += (size_t)n;
	}
	carbon_end(cp, NULL);
}

static void
carbon_begin(struct carbon_peer *cp, const struct metrics *mx, time_t when,
    uint64_t now)
{
	const struct sockaddr	*sa = (struct sockaddr *)&cp->cp_addr;
	uint64_t		 budget;

	if (cp->cp_fd != -1)
		carbon_end(cp, "the previous lines were still being sent");
	if (cp->cp_prefix == NULL)
		return;
	sbuf_reset(&cp->cp_out);
	metrics_carbon(&cp->cp_out, mx, cp->cp_prefix, when);
	if (cp->cp_out.sb_failed) {
		carbon_end(cp, "out of memory");
		return;
	}
	cp->cp_off = 0;
	if ((cp->cp_fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1 ||
	    fcntl(cp->cp_fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(cp->cp_fd, F_SETFD, FD_CLOEXEC) == -1) {
		carbon_end(cp, strerror(errno));
		return;
	}
	budget = cp->cp_interval < CARBON_SEND_MAX * 1000000000ULL ?
	    cp->cp_interval : CARBON_SEND_MAX * 1000000000ULL;
	cp->cp_deadline = now + budget;
	if (connect(cp->cp_fd, sa, cp->cp_addrlen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR) {
			carbon_end(cp, strerror(errno));
			return;
		}
		cp->cp_connecting = true;
		return;
	}
	carbon_write(cp);
}

/* Start the rounds that are due; returns the next due time. */
static uint64_t
carbon_round(uint64_t now)
{
	struct metrics	*mx = NULL;
	uint64_t	 next = UINT64_MAX;
	size_t		 i;
	time_t		 when = time(NULL);

	for (i = 0; i < npeers; i++) {
		if (peers[i].cp_due > now)
			continue;
		if (mx == NULL) {
			pthread_rwlock_rdlock(&config_lock);
			if ((mx = metrics_snapshot()) != NULL &&
			    frontend_metrics(mx) == -1) {
				metrics_free(mx);
				mx = NULL;
			}
			pthread_rwlock_unlock(&config_lock);
			if (mx == NULL)
				break;
		}
		carbon_begin(&peers[i], mx, when, now);
		/* Keep the rhythm; after a stall, start again from now. */
		peers[i].cp_due += peers[i].cp_interval;
		if (peers[i].cp_due <= now)
			peers[i].cp_due = now + peers[i].cp_interval;
	}
	metrics_free(mx);
	for (i = 0; i < npeers; i++)
		if (peers[i].cp_due < next)
			next = peers[i].cp_due;
	return next;
}

static void *
carbon_main(void *arg)
{
	struct pollfd	*pfd = NULL, *np;
	size_t		*which = NULL, *nw, n, i;
	uint64_t	 now, next, wake;
	int		 timeout;

	(void)arg;
	for (;;) {
		pthread_rwlock_rdlock(&config_lock);
		carbon_sync();
		pthread_rwlock_unlock(&config_lock);
		if ((np = reallocarray(pfd, npeers + 1, sizeof(*pfd))) != NULL)
			pfd = np;
		if ((nw = reallocarray(which, npeers + 1,
		    sizeof(*which))) != NULL)
			which = nw;
		if (np == NULL || nw == NULL) {
			sleep(1);
			continue;
		}
		now = mono_ns();
		next = carbon_round(now);
		pfd[0].fd = stop_pipe[0];
		pfd[0].events = POLLIN;
		n = 1;
		wake = next;
		for (i = 0; i < npeers; i++) {
			if (peers[i].cp_fd == -1)
				continue;
			if (peers[i].cp_deadline < wake)
				wake = peers[i].cp_deadline;
			which[n] = i;
			pfd[n].fd = peers[i].cp_fd;
			pfd[n++].events = POLLOUT;
		}
		now = mono_ns();
		if (wake == UINT64_MAX)
			timeout = 1000;		/* carbonServer() may add one */
		else
			timeout = wake <= now ? 0 :
			    (int)((wake - now) / 1000000 + 1);
		if (timeout > 1000)
			timeout = 1000;
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("carbon poll");
			break;
		}
		if (pfd[0].revents != 0)
			break;
		for (i = 1; i < n; i++)
			if (pfd[i].revents != 0)
				carbon_write(&peers[which[i]]);
		now = mono_ns();
		for (i = 0; i < npeers; i++)
			if (peers[i].cp_fd != -1 && peers[i].cp_deadline <= now)
				carbon_end(&peers[i], "timed out");
	}
	free(pfd);
	free(which);
	return NULL;
}

static int
carbon_launch(void)
{
	if (carbon_running)
		return 0;
	if (pipe(stop_pipe) == -1)
		return -1;
	if ((errno = pthread_create(&carbon_thread, NULL, carbon_main,
	    NULL)) != 0) {
		close(stop_pipe[0]);
		close(stop_pipe[1]);
		stop_pipe[0] = stop_pipe[1] = -1;
		return -1;
	}
	carbon_running = true;
	return 0;
}

void
carbon_start(void)
{
	dlua_host.h_carbon = carbon_launch;
	if (settings.st_ncarbon > 0 && carbon_launch() == -1)
		fatal("unable to start the carbon thread");
}

void
carbon_stop(void)
{
	size_t	i;

	if (!carbon_running)
		return;
	if (write(stop_pipe[1], "x", 1) == -1)
		log_warn("carbon stop");
	pthread_join(carbon_thread, NULL);
	carbon_running = false;
	for (i = 0; i < npeers; i++) {
		if (peers[i].cp_fd != -1)
			close(peers[i].cp_fd);
		sbuf_free(&peers[i].cp_out);
		free(peers[i].cp_prefix);
	}
	free(peers);
	peers = NULL;
	npeers = 0;
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	stop_pipe[0] = stop_pipe[1] = -1;
}
