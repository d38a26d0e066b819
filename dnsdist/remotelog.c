/*
 * The remote loggers' I/O.  A protobuf logger (newRemoteLogger) sends
 * what the packet threads queued (lib/remotelog.c) to the collector over
 * TCP, two bytes of length before each message: the packet thread that
 * fills half the queue sends it, when the socket takes it at once, and
 * the logger's thread sends the rest every RLOG_FLUSH_MS, connects, and
 * connects again reconnectWaitTime after a failure.  A collector that
 * does not read for the timeout loses the connection, and the queue
 * drops its oldest messages meanwhile.  Frame stream loggers hand their
 * messages to libfstrm's I/O thread, which has its own queue and
 * reconnects by itself.  Loggers made while the configuration is read
 * start once the daemon runs (after detaching), and those of a reload
 * once it succeeded; the last reference to a logger stops its thread.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <fstrm.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "dnsdist.h"
#include "remotelog.h"
#include "settings.h"

#define DNSTAP_CONTENT	"protobuf:dnstap.Dnstap"

/*
 * A TCP logger's connection and what is being sent on it, under ri_wlock:
 * the thread and packet threads (rl_flush) send, the thread alone
 * connects, waits and gives up.
 */
struct rl_impl {
	pthread_t		 ri_thread;
	bool			 ri_threaded;
	struct fstrm_iothr	*ri_iothr;
	struct fstrm_iothr_queue *ri_ioq;
	pthread_mutex_t		 ri_wlock;
	int			 ri_fd;		/* -1: not connected */
	bool			 ri_broken;	/* a send failed */
	uint8_t			*ri_buf;	/* messages after their length */
	size_t			 ri_cap;
	size_t			 ri_len;
	size_t			 ri_off;	/* sent so far */
	size_t			 ri_nmsgs;	/* messages in ri_buf */
};

/*
 * Wait up to ms (-1: for ever) for events on fd (none when fd is -1) or,
 * with anywake, for a message; *revents says what came.  1 when stopped.
 */
static int
rl_wait(struct rlog *rl, int fd, short events, int ms, bool anywake,
    short *revents)
{
	struct pollfd	pfd[2];
	struct timespec	ts;
	uint64_t	end = 0, now;
	char		buf[64];
	int		n, stop;

	if (ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec /
		    1000000 + (uint64_t)ms;
	}
	for (;;) {
		pfd[0].fd = rl->rl_wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = events;
		pfd[0].revents = pfd[1].revents = 0;
		n = poll(pfd, fd != -1 ? 2 : 1, ms);
		if (revents != NULL)
			*revents = n > 0 && fd != -1 ? pfd[1].revents : 0;
		if (n > 0 && (pfd[0].revents & POLLIN))
			while (read(rl->rl_wake[0], buf, sizeof(buf)) > 0)
				;
		pthread_mutex_lock(&rl->rl_lock);
		stop = rl->rl_stop;
		pthread_mutex_unlock(&rl->rl_lock);
		if (stop || n == 0 || anywake || (n > 0 && pfd[1].revents))
			return stop;
		if (ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (uint64_t)ts.tv_sec * 1000 +
			    (uint64_t)ts.tv_nsec / 1000000;
			if (now >= end)
				return 0;
			ms = (int)(end - now);
		}
	}
}

static int
rl_connect(struct rlog *rl)
{
	const struct sockaddr	*sa = (struct sockaddr *)&rl->rl_addr;
	socklen_t		 len = sizeof(int);
	short			 ev;
	int			 fd, e = 0;

	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		goto fail;
	if (connect(fd, sa, addr_len(sa)) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (rl_wait(rl, fd, POLLOUT, rl->rl_timeout * 1000, false, &ev) ||
	    !(ev & (POLLOUT | POLLERR | POLLHUP)) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1 || e != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Lay the messages taken out as one write: each after its length. */
static size_t
rl_batch(struct rlog *rl, struct rl_impl *ri, struct rlog_msg *ring,
    size_t head, size_t n)
{
	struct rlog_msg	*m;
	size_t		 i, need = 0, off = 0;
	uint8_t		*nb;

	for (i = 0; i < n; i++)
		need += ring[(head + i) % rl->rl_max].m_len + 2;
	if (need > ri->ri_cap) {
		if ((nb = realloc(ri->ri_buf, need)) == NULL)
			return 0;
		ri->ri_buf = nb;
		ri->ri_cap = need;
	}
	for (i = 0; i < n; i++) {
		m = &ring[(head + i) % rl->rl_max];
		ri->ri_buf[off] = (uint8_t)(m->m_len >> 8);
		ri->ri_buf[off + 1] = (uint8_t)m->m_len;
		memcpy(ri->ri_buf + off + 2, m->m_buf, m->m_len);
		off += m->m_len + 2;
	}
	return off;
}

static void
rl_lost(struct rlog *rl, size_t n)
{
	atomic_fetch_add_explicit(&rl->rl_dropped, n, memory_order_relaxed);
}

/*
 * Under ri_wlock: send what is left of the last batch, then what the
 * queue holds, as far as the socket takes it now.  1 when all is sent, 0
 * when the socket is full, -1 when the connection failed.
 */
static int
rl_send(struct rlog *rl, struct rl_impl *ri)
{
	struct rlog_msg	*ring;
	size_t		 n, head;
	ssize_t		 w;

	for (;;) {
		if (ri->ri_off < ri->ri_len) {
			w = send(ri->ri_fd, ri->ri_buf + ri->ri_off,
			    ri->ri_len - ri->ri_off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				ri->ri_off += (size_t)w;
				continue;
			}
			if (w == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK || errno == EINTR))
				return 0;
			return -1;
		}
		if (ri->ri_nmsgs > 0) {
			atomic_fetch_add_explicit(&rl->rl_sent, ri->ri_nmsgs,
			    memory_order_relaxed);
			ri->ri_nmsgs = 0;
		}
		if ((n = rlog_take(rl, &ring, &head)) == 0)
			return 1;
		ri->ri_off = 0;
		if ((ri->ri_len = rl_batch(rl, ri, ring, head, n)) == 0)
			rl_lost(rl, n);
		else
			ri->ri_nmsgs = n;
	}
}

/*
 * A packet thread found the queue half full: send it now if the socket
 * takes it, else leave it to the logger thread.  Never waits: not for
 * the lock (the thread or another packet thread sends), not for the
 * socket, and not when the last batch is still stuck in it.
 */
static void
rl_flush(struct rlog *rl)
{
	struct rl_impl	*ri = rl->rl_impl;

	if (pthread_mutex_trylock(&ri->ri_wlock) != 0)
		return;
	if (ri->ri_fd != -1 && !ri->ri_broken && ri->ri_off == ri->ri_len &&
	    rl_send(rl, ri) == -1) {
		ri->ri_broken = true;
		(void)write(rl->rl_wake[1], "", 1);
	}
	pthread_mutex_unlock(&ri->ri_wlock);
}

static void *
rl_main(void *arg)
{
	struct rlog	*rl = arg;
	struct rl_impl	*ri = rl->rl_impl;
	short		 ev;
	char		 buf[512];
	ssize_t		 r;
	int		 fd = -1, rc;

	for (;;) {
		if (fd == -1) {
			if ((fd = rl_connect(rl)) == -1) {
				atomic_fetch_add(&rl->rl_errors, 1);
				if (rl_wait(rl, -1, 0, rl->rl_reconnect * 1000,
				    false, NULL))
					break;
				continue;
			}
			atomic_fetch_add(&rl->rl_connects, 1);
			atomic_store(&rl->rl_connected, true);
			pthread_mutex_lock(&ri->ri_wlock);
			ri->ri_fd = fd;
			ri->ri_broken = false;
			pthread_mutex_unlock(&ri->ri_wlock);
		}
		pthread_mutex_lock(&ri->ri_wlock);
		rc = ri->ri_broken ? -1 : rl_send(rl, ri);
		pthread_mutex_unlock(&ri->ri_wlock);
		if (rc == -1)
			goto lost;
		if (rc == 0) {
			/* The collector is behind: give it the timeout. */
			if (rl_wait(rl, fd, POLLOUT, rl->rl_timeout * 1000,
			    false, &ev))
				break;
			if (ev & (POLLOUT | POLLERR | POLLHUP))
				continue;
			goto lost;
		}
		/*
		 * Packet threads send when the queue is half full; what
		 * stays less goes within RLOG_FLUSH_MS.  A collector that
		 * hangs up wakes this thread at once.
		 */
		if (rl_wait(rl, fd, POLLIN, RLOG_FLUSH_MS, true, &ev))
			break;
		if (ev & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fd, buf, sizeof(buf));
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR))
				goto lost;
		}
		continue;
lost:
		pthread_mutex_lock(&ri->ri_wlock);
		rl_lost(rl, ri->ri_nmsgs);
		ri->ri_nmsgs = ri->ri_len = ri->ri_off = 0;
		ri->ri_fd = -1;
		pthread_mutex_unlock(&ri->ri_wlock);
		atomic_fetch_add(&rl->rl_errors, 1);
		atomic_store(&rl->rl_connected, false);
		close(fd);
		fd = -1;
		if (rl_wait(rl, -1, 0, rl->rl_reconnect * 1000, false, NULL))
			break;
	}
	if (fd != -1)
		close(fd);
	atomic_store(&rl->rl_connected, false);
	return NULL;
}

static int
fs_option(struct fstrm_iothr_options *o, struct rlog *rl, int i,
    struct sbuf *err)
{
	fstrm_res	r = fstrm_res_success;
	unsigned int	v = rl->rl_fsopt[i];

	if (v == 0)
		return 0;
	switch (i) {
	case RLOG_BUFFERHINT:
		r = fstrm_iothr_options_set_buffer_hint(o, v);
		break;
	case RLOG_FLUSHTIMEOUT:
		r = fstrm_iothr_options_set_flush_timeout(o, v);
		break;
	case RLOG_INPUTQUEUE:
		r = fstrm_iothr_options_set_input_queue_size(o, v);
		break;
	case RLOG_OUTPUTQUEUE:
		r = fstrm_iothr_options_set_output_queue_size(o, v);
		break;
	case RLOG_NOTIFYTHRESHOLD:
		r = fstrm_iothr_options_set_queue_notify_threshold(o, v);
		break;
	case RLOG_REOPENINTERVAL:
		r = fstrm_iothr_options_set_reopen_interval(o, v);
		break;
	}
	if (r == fstrm_res_success)
		return 0;
	sbuf_printf(err, "%s %u is out of libfstrm's range",
	    rlog_fsopt_names[i], v);
	return -1;
}

/* libfstrm's writer and I/O thread for a frame stream logger. */
static int
fs_start(struct rlog *rl, struct rl_impl *ri, struct sbuf *err)
{
	struct fstrm_writer_options	*wo = fstrm_writer_options_init();
	struct fstrm_unix_writer_options *uo = NULL;
	struct fstrm_tcp_writer_options	*to = NULL;
	struct fstrm_iothr_options	*io = fstrm_iothr_options_init();
	struct fstrm_writer		*w = NULL;
	char				 host[ADDR_MAXTEXT], port[8];
	int				 i, rc = -1;

	fstrm_writer_options_add_content_type(wo, DNSTAP_CONTENT,
	    sizeof(DNSTAP_CONTENT) - 1);
	fstrm_iothr_options_set_queue_model(io, FSTRM_IOTHR_QUEUE_MODEL_MPSC);
	for (i = 0; i < RLOG_NFSOPTS; i++)
		if (fs_option(io, rl, i, err) == -1)
			goto done;
	if (rl->rl_kind == RLOG_FSTRM_UNIX) {
		uo = fstrm_unix_writer_options_init();
		fstrm_unix_writer_options_set_socket_path(uo, rl->rl_name);
		w = fstrm_unix_writer_init(uo, wo);
	} else {
		to = fstrm_tcp_writer_options_init();
		addr_host_to_text((struct sockaddr *)&rl->rl_addr, host,
		    sizeof(host));
		snprintf(port, sizeof(port), "%u",
		    addr_port((struct sockaddr *)&rl->rl_addr));
		fstrm_tcp_writer_options_set_socket_address(to, host);
		fstrm_tcp_writer_options_set_socket_port(to, port);
		w = fstrm_tcp_writer_init(to, wo);
	}
	if (w == NULL) {
		sbuf_puts(err, "unable to make the frame stream writer");
		goto done;
	}
	if ((ri->ri_iothr = fstrm_iothr_init(io, &w)) == NULL) {
		fstrm_writer_destroy(&w);
		sbuf_puts(err, "unable to start the frame stream thread");
		goto done;
	}
	ri->ri_ioq = fstrm_iothr_get_input_queue(ri->ri_iothr);
	rc = 0;
done:
	fstrm_writer_options_destroy(&wo);
	fstrm_iothr_options_destroy(&io);
	if (uo != NULL)
		fstrm_unix_writer_options_destroy(&uo);
	if (to != NULL)
		fstrm_tcp_writer_options_destroy(&to);
	return rc;
}

static int
rl_start_now(struct rlog *rl, struct sbuf *err)
{
	struct rl_impl	*ri;
	sigset_t	 all, old;
	int		 rc = 0;

	if ((ri = calloc(1, sizeof(*ri))) == NULL) {
		sbuf_puts(err, "out of memory");
		return -1;
	}
	ri->ri_fd = -1;
	pthread_mutex_init(&ri->ri_wlock, NULL);
	/* Signals are for the main loop, not for the logger threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* Set before the thread starts, which reads it. */
	rl->rl_impl = ri;
	if (rl->rl_kind != RLOG_TCP)
		rc = fs_start(rl, ri, err);
	else if (pipe(rl->rl_wake) == -1 ||
	    fcntl(rl->rl_wake[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(rl->rl_wake[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(rl->rl_wake[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(rl->rl_wake[1], F_SETFD, FD_CLOEXEC) == -1) {
		sbuf_printf(err, "pipe: %s", strerror(errno));
		rc = -1;
	} else {
		if ((errno = pthread_create(&ri->ri_thread, NULL, rl_main,
		    rl)) != 0) {
			sbuf_printf(err, "unable to start a thread: %s",
			    strerror(errno));
			rc = -1;
		} else
			ri->ri_threaded = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == -1) {
		rl->rl_impl = NULL;
		if (rl->rl_wake[0] != -1) {
			close(rl->rl_wake[0]);
			close(rl->rl_wake[1]);
			rl->rl_wake[0] = rl->rl_wake[1] = -1;
		}
		pthread_mutex_destroy(&ri->ri_wlock);
		free(ri);
		return -1;
	}
	return 0;
}

/* Before the daemon runs (and while a reload reads), start later. */
static int
rl_start(struct rlog *rl, struct sbuf *err)
{
	if (!settings.st_running)
		return 0;
	return rl_start_now(rl, err);
}

static void
rl_stop(struct rlog *rl)
{
	struct rl_impl	*ri = rl->rl_impl;

	if (ri->ri_threaded) {
		pthread_mutex_lock(&rl->rl_lock);
		rl->rl_stop = true;
		pthread_mutex_unlock(&rl->rl_lock);
		(void)write(rl->rl_wake[1], "", 1);
		pthread_join(ri->ri_thread, NULL);
	}
	if (rl->rl_wake[0] != -1) {
		close(rl->rl_wake[0]);
		close(rl->rl_wake[1]);
	}
	if (ri->ri_iothr != NULL)
		fstrm_iothr_destroy(&ri->ri_iothr);
	free(ri->ri_buf);
	pthread_mutex_destroy(&ri->ri_wlock);
	free(ri);
	rl->rl_impl = NULL;
}

static void
rl_submit(struct rlog *rl, const uint8_t *buf, size_t len)
{
	struct rl_impl	*ri = rl->rl_impl;
	void		*copy;

	if ((copy = malloc(len)) == NULL) {
		rl_lost(rl, 1);
		return;
	}
	memcpy(copy, buf, len);
	if (fstrm_iothr_submit(ri->ri_iothr, ri->ri_ioq, copy, len,
	    fstrm_free_wrapper, NULL) != fstrm_res_success) {
		free(copy);
		rl_lost(rl, 1);
		return;
	}
	atomic_fetch_add_explicit(&rl->rl_sent, 1, memory_order_relaxed);
}

static void
rl_start_one(struct rlog *rl, void *arg)
{
	struct sbuf	err;

	(void)arg;
	if (rl->rl_impl != NULL)
		return;
	sbuf_init(&err);
	if (rl_start_now(rl, &err) == -1)
		log_warnx("remote logger %s: %s", rl->rl_name,
		    sbuf_text(&err));
	sbuf_free(&err);
}

void
remotelog_init(void)
{
	rlog_host.rh_start = rl_start;
	rlog_host.rh_stop = rl_stop;
	rlog_host.rh_submit = rl_submit;
	rlog_host.rh_flush = rl_flush;
}

void
remotelog_start(void)
{
	rlog_walk(rl_start_one, NULL);
}

static void
rl_stop_one(struct rlog *rl, void *arg)
{
	(void)arg;
	if (rl->rl_impl != NULL)
		rl_stop(rl);
}

/* At exit, once no packet thread runs: what the writers hold goes out. */
void
remotelog_stop(void)
{
	rlog_walk(rl_stop_one, NULL);
}
