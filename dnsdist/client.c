/*
 * dnsdist -c: the remote console client.  It reads controlSocket() and
 * setKey() from the configuration file as the daemon would (-k and an
 * address on the command line win), exchanges nonces, checks the key with
 * an empty message, then sends commands: one with -e, else each line of
 * standard input, edited with libedit on a terminal.  The protocol is
 * described in lib/ctlproto.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <histedit.h>
#include <sodium.h>

#include "addr.h"
#include "ctlproto.h"
#include "dnsdist.h"
#include "lua.h"

#define CLIENT_HELLO_TIMEOUT	5	/* seconds: connect, nonces, key check */
#define CLIENT_ANSWER_TIMEOUT	120	/* seconds for a command's answer */

enum client_rc {
	CLIENT_OK,
	CLIENT_CLOSED,		/* end of file or reset from the server */
	CLIENT_TIMEOUT,
	CLIENT_FAILED,		/* another socket error, in errno */
	CLIENT_BADKEY,		/* the answer does not open with our key */
	CLIENT_TOOBIG		/* past setConsoleOutputMaxMsgSize() */
};

struct client {
	int			 cl_fd;
	char			 cl_addr[ADDR_MAXTEXT];
	struct ctlproto_nonces	 cl_nonces;
	uint32_t		 cl_lastlen;
};

static void
client_timeout(int fd, int secs)
{
	struct timeval	tv;

	tv.tv_sec = secs;
	tv.tv_usec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static enum client_rc
client_errno(void)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return CLIENT_TIMEOUT;
	if (errno == ECONNRESET || errno == EPIPE)
		return CLIENT_CLOSED;
	return CLIENT_FAILED;
}

static enum client_rc
client_write(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return client_errno();
		}
		buf += n;
		len -= (size_t)n;
	}
	return CLIENT_OK;
}

static enum client_rc
client_read(int fd, uint8_t *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return client_errno();
		}
		if (n == 0)
			return CLIENT_CLOSED;
		buf += n;
		len -= (size_t)n;
	}
	return CLIENT_OK;
}

/* Send one command and read its answer into sb. */
static enum client_rc
client_exchange(struct client *c, const char *cmd, struct sbuf *sb)
{
	uint8_t		*frame, hdr[CTLPROTO_LENLEN], *box = NULL;
	char		*text = NULL;
	size_t		 len = strlen(cmd);
	uint32_t	 blen;
	enum client_rc	 rc;

	if ((frame = malloc(CTLPROTO_LENLEN + CTLPROTO_MACLEN + len)) == NULL)
		err(1, NULL);
	len = ctlproto_seal(&c->cl_nonces, settings.st_consolekey,
	    (const uint8_t *)cmd, len, frame);
	rc = client_write(c->cl_fd, frame, len);
	free(frame);
	if (rc != CLIENT_OK || (rc = client_read(c->cl_fd, hdr,
	    sizeof(hdr))) != CLIENT_OK)
		return rc;
	blen = c->cl_lastlen = ctlproto_getlen(hdr);
	if (blen < CTLPROTO_MACLEN || blen > (uint32_t)settings.st_consolemaxmsg)
		return CLIENT_TOOBIG;
	if ((box = malloc(blen)) == NULL || (text = malloc(blen)) == NULL)
		err(1, NULL);
	if ((rc = client_read(c->cl_fd, box, blen)) == CLIENT_OK) {
		if (ctlproto_open(&c->cl_nonces, settings.st_consolekey, box,
		    blen, (uint8_t *)text) == -1)
			rc = CLIENT_BADKEY;
		else
			sbuf_add(sb, text, blen - CTLPROTO_MACLEN);
	}
	free(box);
	free(text);
	return rc;
}

/* Say what went wrong in words an operator can act on. */
static void
client_complain(struct client *c, enum client_rc rc, bool first)
{
	switch (rc) {
	case CLIENT_OK:
		break;
	case CLIENT_CLOSED:
		if (first)
			warnx("key mismatch: %s closed the connection after "
			    "our first message, most likely because the key "
			    "(-k or setKey()) is not the server's", c->cl_addr);
		else
			warnx("%s closed the connection", c->cl_addr);
		break;
	case CLIENT_TIMEOUT:
		warnx("%s did not answer in time", c->cl_addr);
		break;
	case CLIENT_FAILED:
		warn("%s", c->cl_addr);
		break;
	case CLIENT_BADKEY:
		warnx("key mismatch: the answer from %s does not decrypt with "
		    "our key (-k or setKey())", c->cl_addr);
		break;
	case CLIENT_TOOBIG:
		if (c->cl_lastlen < CTLPROTO_MACLEN)
			warnx("%s sent a malformed message", c->cl_addr);
		else
			warnx("%s sent a message of %lu bytes, more than "
			    "setConsoleOutputMaxMsgSize(%d) allows",
			    c->cl_addr, (unsigned long)c->cl_lastlen,
			    settings.st_consolemaxmsg);
		break;
	}
}

/* Connect, exchange nonces and check the key.  0, or -1 after saying why. */
static int
client_hello(struct client *c, const struct sockaddr *sa, socklen_t salen)
{
	uint8_t		ours[CTLPROTO_NONCELEN], theirs[CTLPROTO_NONCELEN];
	struct sbuf	sb;
	enum client_rc	rc;

	addr_to_text(sa, c->cl_addr, sizeof(c->cl_addr));
	if ((c->cl_fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	client_timeout(c->cl_fd, CLIENT_HELLO_TIMEOUT);
	if (connect(c->cl_fd, sa, salen) == -1) {
		warn("unable to connect to %s", c->cl_addr);
		return -1;
	}
	randombytes_buf(ours, sizeof(ours));
	if ((rc = client_write(c->cl_fd, ours, sizeof(ours))) == CLIENT_OK)
		rc = client_read(c->cl_fd, theirs, sizeof(theirs));
	if (rc == CLIENT_CLOSED) {
		warnx("%s closed the connection at once: this address is not "
		    "in its console ACL, it has too many console connections, "
		    "or it has no key set", c->cl_addr);
		return -1;
	}
	if (rc != CLIENT_OK) {
		client_complain(c, rc, false);
		return -1;
	}
	ctlproto_nonces(&c->cl_nonces, ours, theirs);
	/* An empty command checks the key: the answer is empty too. */
	sbuf_init(&sb);
	rc = client_exchange(c, "", &sb);
	sbuf_free(&sb);
	if (rc != CLIENT_OK) {
		client_complain(c, rc, true);
		return -1;
	}
	client_timeout(c->cl_fd, CLIENT_ANSWER_TIMEOUT);
	return 0;
}

/* Run one command and print its answer; -1 when the connection failed. */
static int
client_command(struct client *c, const char *cmd, bool *failed)
{
	struct sbuf	sb;
	enum client_rc	rc;

	sbuf_init(&sb);
	if ((rc = client_exchange(c, cmd, &sb)) != CLIENT_OK) {
		sbuf_free(&sb);
		client_complain(c, rc, false);
		return -1;
	}
	fwrite(sb.sb_buf != NULL ? sb.sb_buf : "", 1, sb.sb_len, stdout);
	if (sb.sb_len > 0 && sb.sb_buf[sb.sb_len - 1] != '\n')
		putchar('\n');
	fflush(stdout);
	if (failed != NULL)
		*failed = strncmp(sbuf_text(&sb), "Error:", 6) == 0;
	sbuf_free(&sb);
	return 0;
}

/* A line to send: NULL for blank lines; "quit" and "exit" end the session. */
static const char *
client_line(char *line, bool *quit)
{
	size_t	len;

	line[strcspn(line, "\n")] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
	    line[len - 1] == '\r'))
		line[--len] = '\0';
	if (strcmp(line, "quit") == 0 || strcmp(line, "exit") == 0)
		*quit = true;
	return len > 0 && !*quit ? line : NULL;
}

static char *
client_prompt(EditLine *el)
{
	(void)el;
	return "> ";
}

static int
client_editline(struct client *c)
{
	struct lineedit	 le;
	const char	*in, *cmd;
	char		*line;
	int		 count, rc = 0;
	bool		 quit = false;

	if (lineedit_open(&le, client_prompt) == -1)
		errx(1, "unable to start the line editor");
	while (!quit && (in = el_gets(le.le_el, &count)) != NULL && count > 0) {
		if ((line = strdup(in)) == NULL)
			err(1, NULL);
		if ((cmd = client_line(line, &quit)) != NULL) {
			lineedit_remember(&le, cmd);
			if (client_command(c, cmd, NULL) == -1)
				rc = 1, quit = true;
		}
		free(line);
	}
	lineedit_close(&le);
	return rc;
}

static int
client_stdin(struct client *c)
{
	char		*line = NULL;
	const char	*cmd;
	size_t		 cap = 0;
	bool		 quit = false;
	int		 rc = 0;

	while (!quit && getline(&line, &cap, stdin) != -1)
		if ((cmd = client_line(line, &quit)) != NULL &&
		    client_command(c, cmd, NULL) == -1) {
			rc = 1;
			break;
		}
	free(line);
	return rc;
}

/* The configuration, for controlSocket() and setKey(); output dropped. */
static void
client_config(const char *config, bool config_given)
{
	struct sbuf	out, errb;
	struct stat	st;

	if (!config_given && stat(config, &st) == -1)
		return;
	sbuf_init(&out);
	sbuf_init(&errb);
	if (dlua_run_file(config_L, config, &out, &errb) == -1)
		warnx("%s; going on with what was set before the error",
		    sbuf_text(&errb));
	sbuf_free(&out);
	sbuf_free(&errb);
}

/* A wildcard control socket is reached through loopback. */
static void
client_loopback(struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	if (!addr_is_wildcard((struct sockaddr *)ss))
		return;
	if (ss->ss_family == AF_INET)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin6->sin6_addr = in6addr_loopback;
}

int
client_main(const char *config, bool config_given, const char *addr,
    const char *command)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	struct client		c;
	struct sigaction	sa;
	bool			failed = false;
	int			rc;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	client_config(config, config_given);
	if (addr != NULL) {
		if (addr_parse(addr, CTLPROTO_PORT, &ss, &sslen) == -1)
			errx(1, "bad console address '%s'", addr);
	} else if (settings.st_ctladdrlen > 0) {
		ss = settings.st_ctladdr;
		sslen = settings.st_ctladdrlen;
	} else if (addr_parse("127.0.0.1", CTLPROTO_PORT, &ss, &sslen) == -1)
		errx(1, "default console address");
	client_loopback(&ss);
	if (!settings.st_consolekeyset)
		errx(1, "no console key: give the server's with -k or with "
		    "setKey() in %s", config);
	memset(&c, 0, sizeof(c));
	c.cl_fd = -1;
	if (client_hello(&c, (struct sockaddr *)&ss, sslen) == -1)
		rc = 1;
	else if (command != NULL)
		rc = client_command(&c, command, &failed) == -1 || failed;
	else if (isatty(STDIN_FILENO))
		rc = client_editline(&c);
	else
		rc = client_stdin(&c);
	if (c.cl_fd != -1)
		close(c.cl_fd);
	explicit_bzero(&c.cl_nonces, sizeof(c.cl_nonces));
	explicit_bzero(settings.st_consolekey, sizeof(settings.st_consolekey));
	return rc;
}
