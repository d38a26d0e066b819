/*
 * The local console: Lua lines from standard input, with libedit line
 * editing when it is a terminal.  Each line runs in the main thread under
 * the configuration lock; the end of input stops the daemon, as dnsdist's
 * console does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "dnsdist.h"
#include "lua.h"

#define CONSOLE_LINEMAX	65536

static bool	 interactive;
static char	 inbuf[CONSOLE_LINEMAX];
static size_t	 inlen;
static char	 history_path[1024];

int
console_exec(const char *line, struct sbuf *out)
{
	int	rc;

	pthread_rwlock_wrlock(&config_lock);
	rc = dlua_run_line(config_L, line, out);
	if (backend_sync() == -1)
		sbuf_puts(out, "Error: unable to open a backend socket\n");
	pthread_rwlock_unlock(&config_lock);
	return rc;
}

static void
console_line(const char *line)
{
	struct sbuf	out;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0')
		return;
	if (strcmp(line, "quit") == 0 || strcmp(line, "exit") == 0) {
		loop_quit = 1;
		return;
	}
	sbuf_init(&out);
	console_exec(line, &out);
	fputs(sbuf_text(&out), stdout);
	fflush(stdout);
	sbuf_free(&out);
}

static void
console_readline_cb(char *line)
{
	if (line == NULL) {
		loop_quit = 1;
		return;
	}
	if (*line != '\0') {
		add_history(line);
		if (history_path[0] != '\0')
			append_history(1, history_path);
	}
	console_line(line);
	free(line);
}

static void
console_read(int fd, short revents, void *arg)
{
	ssize_t	 n;
	char	*nl, *start;

	(void)revents;
	(void)arg;
	if (interactive) {
		rl_callback_read_char();
		return;
	}
	n = read(fd, inbuf + inlen, sizeof(inbuf) - 1 - inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (inlen > 0) {
			inbuf[inlen] = '\0';
			console_line(inbuf);
		}
		loop_del(fd);
		loop_quit = 1;
		return;
	}
	inlen += (size_t)n;
	inbuf[inlen] = '\0';
	start = inbuf;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		console_line(start);
		start = nl + 1;
	}
	inlen -= (size_t)(start - inbuf);
	memmove(inbuf, start, inlen);
	if (inlen == sizeof(inbuf) - 1) {
		fputs("Error: line too long\n", stdout);
		inlen = 0;
	}
}

void
console_start(bool tty)
{
	const char	*home;

	interactive = tty;
	if (interactive) {
		if ((home = getenv("HOME")) != NULL) {
			snprintf(history_path, sizeof(history_path),
			    "%s/.dnsdist_history", home);
			read_history(history_path);
		}
		rl_callback_handler_install("> ", console_readline_cb);
	}
	if (loop_add(STDIN_FILENO, POLLIN, console_read, NULL) == -1)
		fatal("console");
}

void
console_stop(void)
{
	if (interactive)
		rl_callback_handler_remove();
}
