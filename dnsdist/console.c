/*
 * The local console: Lua lines from standard input.  On a terminal a
 * thread reads lines with libedit (editing, history in ~/.dnsdist_history)
 * and hands each to the main loop through a pipe, waiting until it has run
 * so that the next prompt follows the output.  Otherwise the main loop
 * reads standard input itself.  Lines always run in the main thread, under
 * the configuration lock; the end of input stops the daemon, as dnsdist's
 * console does.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <histedit.h>

#include "dnsdist.h"
#include "lua.h"

#define CONSOLE_LINEMAX	65536

static bool		 interactive;
static char		 inbuf[CONSOLE_LINEMAX];
static size_t		 inlen;
static int		 toloop[2] = { -1, -1 };	/* lines, thread to loop */
static int		 tothread[2] = { -1, -1 };	/* "done", loop to thread */
static pthread_t	 reader;

int
console_exec(const char *line, struct sbuf *out)
{
	int	rc;

	pthread_rwlock_wrlock(&config_lock);
	rc = dlua_run_line(config_L, line, out);
	if (backend_sync() == -1)
		sbuf_puts(out, "Error: unable to open a backend socket\n");
	if (daemon_publish() == -1)
		sbuf_puts(out, "Error: out of memory: the change is not "
		    "live yet\n");
	pthread_rwlock_unlock(&config_lock);
	if (reload_pending(out) == -1)
		rc = -1;
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

/* Split what arrived into lines and run each; at the end of input, stop. */
static void
console_read(int fd, short revents, void *arg)
{
	ssize_t	 n;
	char	*nl, *start;

	(void)revents;
	(void)arg;
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
		/* Tell the line editor that its line has run. */
		if (interactive && write(tothread[1], "", 1) == -1)
			log_warn("console");
	}
	inlen -= (size_t)(start - inbuf);
	memmove(inbuf, start, inlen);
	if (inlen == sizeof(inbuf) - 1) {
		fputs("Error: line too long\n", stdout);
		inlen = 0;
	}
}

/*
 * Tab completion of every global Lua name: one match is completed, several
 * are listed.  The names are read under the Lua lock at each press, so
 * functions the configuration defines complete too.
 */
static unsigned char
console_complete(EditLine *el, int ch)
{
	const LineInfo	*li = el_line(el);
	const char	*start = li->cursor, *p, *name, *first = NULL;
	struct sbuf	 names;
	size_t		 len, n = 0, common = 0, i;
	char		*nl;
	unsigned char	 rc = CC_REFRESH;

	(void)ch;
	while (start > li->buffer && (isalnum((unsigned char)start[-1]) ||
	    start[-1] == '_'))
		start--;
	len = (size_t)(li->cursor - start);
	sbuf_init(&names);
	dlua_lock();
	dlua_global_names(config_L, &names);
	dlua_unlock();
	for (p = sbuf_text(&names); *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if ((size_t)(nl - p) < len || strncmp(p, start, len) != 0)
			continue;
		if (n++ == 0) {
			first = p;
			common = (size_t)(nl - p);
		} else {
			for (i = len; i < common && first[i] == p[i]; i++)
				;
			common = i;
		}
	}
	if (n == 1) {
		char	rest[256];

		name = first;
		snprintf(rest, sizeof(rest), "%.*s(", (int)(common - len),
		    name + len);
		el_insertstr(el, rest);
	} else if (n > 1 && common > len) {
		char	rest[256];

		snprintf(rest, sizeof(rest), "%.*s", (int)(common - len),
		    first + len);
		el_insertstr(el, rest);
	} else if (n > 1) {
		fputs("\n", stdout);
		for (p = sbuf_text(&names); *p != '\0'; p = nl + 1) {
			if ((nl = strchr(p, '\n')) == NULL)
				break;
			if ((size_t)(nl - p) >= len &&
			    strncmp(p, start, len) == 0)
				printf("%.*s  ", (int)(nl - p), p);
		}
		fputs("\n", stdout);
		rc = CC_REDISPLAY;
	} else
		rc = CC_ERROR;
	sbuf_free(&names);
	return rc;
}

static char *
console_prompt(EditLine *el)
{
	(void)el;
	return "> ";
}

int
lineedit_open(struct lineedit *le, char *(*prompt)(EditLine *))
{
	HistEvent	 ev;
	const char	*home;

	memset(le, 0, sizeof(*le));
	if ((home = getenv("HOME")) != NULL)
		snprintf(le->le_path, sizeof(le->le_path), "%s/.dnsdist_history",
		    home);
	if ((le->le_el = el_init("dnsdist", stdin, stdout, stderr)) == NULL ||
	    (le->le_hist = history_init()) == NULL) {
		lineedit_close(le);
		return -1;
	}
	history(le->le_hist, &ev, H_SETSIZE, 1000);
	history(le->le_hist, &ev, H_SETUNIQUE, 1);
	if (le->le_path[0] != '\0')
		history(le->le_hist, &ev, H_LOAD, le->le_path);
	el_set(le->le_el, EL_EDITOR, "emacs");
	el_set(le->le_el, EL_PROMPT, prompt);
	el_set(le->le_el, EL_HIST, history, le->le_hist);
	el_set(le->le_el, EL_SIGNAL, 1);
	return 0;
}

void
lineedit_remember(struct lineedit *le, const char *line)
{
	HistEvent	ev;
	char		entry[4096];

	if (strspn(line, " \t\n") == strlen(line))
		return;
	snprintf(entry, sizeof(entry), "%.*s", (int)strcspn(line, "\n"),
	    line);
	history(le->le_hist, &ev, H_ENTER, entry);
	if (le->le_path[0] != '\0')
		history(le->le_hist, &ev, H_SAVE, le->le_path);
}

void
lineedit_close(struct lineedit *le)
{
	if (le->le_hist != NULL)
		history_end(le->le_hist);
	if (le->le_el != NULL)
		el_end(le->le_el);
	le->le_hist = NULL;
	le->le_el = NULL;
}

/* The line editor's thread: one line at a time, the next after it ran. */
static void *
console_editor(void *arg)
{
	struct lineedit	 le;
	const char	*line;
	char		 done;
	int		 count;

	(void)arg;
	if (lineedit_open(&le, console_prompt) == 0) {
		el_set(le.le_el, EL_ADDFN, "dnsdist-complete",
		    "complete a Lua name", console_complete);
		el_set(le.le_el, EL_BIND, "^I", "dnsdist-complete", NULL);
		while ((line = el_gets(le.le_el, &count)) != NULL &&
		    count > 0) {
			lineedit_remember(&le, line);
			if (write(toloop[1], line, strlen(line)) == -1 ||
			    read(tothread[0], &done, 1) != 1)
				break;
		}
	}
	/* The end of input: closing the pipe stops the daemon. */
	close(toloop[1]);
	lineedit_close(&le);
	return NULL;
}

void
console_start(bool tty)
{
	int		 fd = STDIN_FILENO;

	interactive = tty;
	if (interactive) {
		if (pipe(toloop) == -1 || pipe(tothread) == -1)
			fatal("console pipe");
		fcntl(toloop[0], F_SETFL, O_NONBLOCK);
		if (pthread_create(&reader, NULL, console_editor, NULL) != 0)
			fatalx("unable to start the console");
		pthread_detach(reader);
		fd = toloop[0];
	}
	if (loop_add(fd, POLLIN, console_read, NULL) == -1)
		fatal("console");
}

void
console_stop(void)
{
	/* The editor thread may sit in el_gets(); the process exits anyway. */
}
