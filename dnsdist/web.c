/*
 * The web server: webserver(), in a thread of its own with one poll(2)
 * loop over non-blocking sockets, so that scrapes never touch the packet
 * path.  It serves dnsdist's statistics endpoints (/jsonstat, /metrics),
 * its API under /api/v1/servers/localhost, whose allow-from takes a PUT
 * after setAPIWritable(), and a small dashboard of our own ("/",
 * dashboard.c) with the top clients and names it reads from two
 * /jsonstat commands of ours, topclients and topqueries.
 *
 * What a client may cost is bounded: connections outside the web ACL and
 * those past maxConcurrentConnections are closed at once; a request head
 * larger than HTTP_HEADMAX gets a 431, a body that does not fit with it
 * in the buffer a 413; a request must arrive,
 * and its answer leave, within WEB_TIMEOUT of the connection or of the
 * previous answer, and a connection serves WEB_MAXREQUESTS requests within
 * WEB_LIFETIME at most.  Each round of the loop answers one request per
 * connection, so that pipelined requests wait behind other connections'.
 * Connections are kept alive (HTTP/1.1) unless the client says otherwise
 * or sends a chunked body, which is never read.  After the last answer the
 * connection is shut down and drained for WEB_LINGER before it is closed,
 * so that what the client still sends does not reset it and lose the
 * answer.
 *
 * Statistics are read from a metrics_snapshot() taken under the read side
 * of the configuration lock; credentials and headers are copied under it
 * and checked outside, since a hashed password takes milliseconds: a
 * credential that verified is remembered (cred_verify()), a client that
 * failed too often is not checked until its window ends
 * (cred_limit_wait()), and scrypt runs for one request a round, whose
 * connection then goes to the end of the list.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "cache.h"
#include "config.h"
#include "credentials.h"
#include "dnsname.h"
#include "dnsdist.h"
#include "http.h"
#include "lua.h"
#include "metrics.h"
#include "netmask.h"
#include "ring.h"
#include "stats.h"

#define WEB_SEC		UINT64_C(1000000000)
#define WEB_TIMEOUT	10		/* seconds */
#define WEB_ACCEPTMAX	64		/* connections accepted per wakeup */
#define WEB_MAXREQUESTS	100		/* per connection */
#define WEB_LIFETIME	60		/* seconds of keep-alive */
#define WEB_LINGER	2		/* seconds of draining after the end */
#define WEB_LINGERMAX	64		/* connections draining at once */
#define WEB_TOPMAX	100		/* rows of topclients and topqueries */

struct webconn {
	TAILQ_ENTRY(webconn)	 wc_entry;
	int			 wc_fd;
	struct sockaddr_storage	 wc_ss;
	char			 wc_peer[ADDR_MAXTEXT];
	char			 wc_in[HTTP_HEADMAX];
	size_t			 wc_inlen;
	struct sbuf		 wc_out;
	size_t			 wc_outoff;
	int			 wc_requests;
	bool			 wc_sending;
	bool			 wc_more;	/* wc_in may hold a request */
	bool			 wc_close;	/* after the answer */
	bool			 wc_linger;	/* in nlinger, not nconns */
	uint64_t		 wc_deadline;	/* monotonic ns */
	uint64_t		 wc_end;	/* no keep-alive after */
	short			 wc_revents;
};

/* What a request is checked against, copied under the lock. */
struct webauth {
	char			*wa_password;
	char			*wa_apikey;
	bool			 wa_statsauth;
	bool			 wa_apiauth;
	struct webconn		*wa_conn;
	unsigned int		 wa_wait;	/* a check skipped: seconds */
	bool			 wa_hashed;	/* scrypt ran */
	bool			 wa_later;	/* it must wait its turn */
};

static TAILQ_HEAD(, webconn)	 conns = TAILQ_HEAD_INITIALIZER(conns);
static int			 nconns;	/* served: within the limit */
static int			 nlinger;	/* turned away or ending */
static struct cred_memo		 memo_password, memo_apikey;
static struct cred_limit	 auth_limit;
static bool			 round_hashed;	/* scrypt ran this round */
static struct webconn		*hashed_conn;	/* for it: last next round */
static int			 web_fd = -1;
static int			 stop_pipe[2] = { -1, -1 };
static pthread_t		 web_thread;
static bool			 web_running;
static uint64_t			 refused_logged;

static const struct {
	const char	*name;
	const char	*value;
} default_headers[] = {
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "deny" },
	{ "X-Permitted-Cross-Domain-Policies", "none" },
	{ "X-XSS-Protection", "1; mode=block" },
	{ "Content-Security-Policy",
	    "default-src 'self'; style-src 'self' 'unsafe-inline'" },
};

static void
web_close(struct webconn *wc)
{
	close(wc->wc_fd);
	TAILQ_REMOVE(&conns, wc, wc_entry);
	if (wc == hashed_conn)
		hashed_conn = NULL;
	if (wc->wc_linger)
		nlinger--;
	else
		nconns--;
	sbuf_free(&wc->wc_out);
	free(wc);
}

/* Refused connections: at most one line a second. */
static void
web_refused(const char *peer, const char *why)
{
	uint64_t	now = mono_ns();

	if (refused_logged != 0 && now - refused_logged < 1000000000ULL)
		return;
	refused_logged = now;
	log_info("webserver connection from %s refused: %s", peer, why);
}

/* The security headers and customHeaders; under the lock. */
static void
web_headers(struct sbuf *sb)
{
	const struct web_header	*wh;
	size_t			 i, j;

	for (i = 0; i < sizeof(default_headers) / sizeof(default_headers[0]);
	    i++) {
		for (j = 0; j < settings.st_nwebheaders; j++)
			if (strcasecmp(settings.st_webheaders[j].wh_name,
			    default_headers[i].name) == 0)
				break;
		if (j == settings.st_nwebheaders)
			sbuf_printf(sb, "%s: %s\r\n", default_headers[i].name,
			    default_headers[i].value);
	}
	for (j = 0; j < settings.st_nwebheaders; j++) {
		wh = &settings.st_webheaders[j];
		if (wh->wh_value[0] != '\0')
			sbuf_printf(sb, "%s: %s\r\n", wh->wh_name,
			    wh->wh_value);
	}
}

static void
web_answer(struct webconn *wc, int status, const char *ctype,
    const char *extra, const struct sbuf *body)
{
	size_t		len = body != NULL ? body->sb_len : 0;
	uint64_t	now = mono_ns();

	if (++wc->wc_requests >= WEB_MAXREQUESTS || now >= wc->wc_end)
		wc->wc_close = true;
	sbuf_reset(&wc->wc_out);
	http_response_head(&wc->wc_out, status, ctype, len, !wc->wc_close);
	pthread_rwlock_rdlock(&config_lock);
	web_headers(&wc->wc_out);
	pthread_rwlock_unlock(&config_lock);
	if (extra != NULL)
		sbuf_puts(&wc->wc_out, extra);
	sbuf_puts(&wc->wc_out, "\r\n");
	if (len > 0)
		sbuf_add(&wc->wc_out, body->sb_buf, len);
	if (wc->wc_out.sb_failed) {
		wc->wc_close = true;
		sbuf_reset(&wc->wc_out);
		sbuf_puts(&wc->wc_out, "HTTP/1.1 500 Internal Server Error\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n");
	}
	wc->wc_outoff = 0;
	wc->wc_sending = true;
	wc->wc_deadline = now + WEB_TIMEOUT * WEB_SEC;
}

static void
web_error(struct webconn *wc, int status, const char *extra)
{
	struct sbuf	body;

	sbuf_init(&body);
	sbuf_printf(&body, "%d %s\n", status, http_reason(status));
	web_answer(wc, status, "text/plain; charset=utf-8", extra, &body);
	sbuf_free(&body);
}

static void
webauth_free(struct webauth *wa)
{
	if (wa->wa_password != NULL) {
		explicit_bzero(wa->wa_password, strlen(wa->wa_password));
		free(wa->wa_password);
	}
	if (wa->wa_apikey != NULL) {
		explicit_bzero(wa->wa_apikey, strlen(wa->wa_apikey));
		free(wa->wa_apikey);
	}
}

/*
 * Verify a credential that the client sent.  A failure counts against its
 * address; once it has failed too often, hashed credentials that did not
 * verify before are not checked (wa_wait says for how long).  scrypt runs
 * for one request a round: another that needs it waits (wa_later).
 */
static bool
web_verify(struct webauth *wa, struct cred_memo *memo, const char *stored,
    const char *given)
{
	const struct sockaddr	*sa;
	uint64_t		 now = mono_ns();
	unsigned int		 wait;
	enum cred_result	 r;

	sa = (const struct sockaddr *)&wa->wa_conn->wc_ss;
	wait = cred_limit_wait(&auth_limit, sa, now);
	if ((r = cred_verify(memo, stored, given, false)) == CRED_UNCHECKED) {
		if (wait > 0)
			wa->wa_wait = wait;
		else if (round_hashed)
			wa->wa_later = true;
		else {
			wa->wa_hashed = true;
			r = cred_verify(memo, stored, given, true);
		}
	}
	if (r != CRED_MISMATCH)
		return r == CRED_MATCH;
	stats_inc(STAT_WEB_AUTH_FAILURES);
	cred_limit_fail(&auth_limit, sa, now);
	if (wait == 0 && cred_limit_wait(&auth_limit, sa, now) > 0)
		web_refused(wa->wa_conn->wc_peer,
		    "too many failed authentications");
	return false;
}

static bool
check_apikey(const struct http_request *req, struct webauth *wa)
{
	return req->hr_apikey_set && web_verify(wa, &memo_apikey,
	    wa->wa_apikey, req->hr_apikey);
}

static bool
check_password(const struct http_request *req, struct webauth *wa)
{
	char	pw[HTTP_FIELDMAX];
	bool	ok;

	if (!req->hr_auth_set ||
	    http_basic_password(req->hr_auth, pw, sizeof(pw)) == -1)
		return false;
	ok = web_verify(wa, &memo_password, wa->wa_password, pw);
	explicit_bzero(pw, sizeof(pw));
	return ok;
}

/*
 * As dnsdist: statistics need the password or the API key (unless
 * statsRequireAuthentication is off), the API needs the key (unless
 * apiRequiresAuthentication is off; the overview also takes the
 * password), anything else the password.  With
 * dashboardRequiresAuthentication off, the password is never asked for.
 * A Lua handler (registerWebHandler()) takes the password unless it was
 * registered without authentication; *lua says whether there is one.
 * Returns 0 when authorized, else 401, or 429 with *wait set when a
 * credential went unchecked, or -1 when scrypt must wait for a later
 * round.
 */
static int
web_authorized(struct webconn *wc, const struct http_request *req,
    unsigned int *wait, bool *lua)
{
	struct webauth	wa;
	bool		ok, dashauth, luaauth = true;
	const char	*p = req->hr_path;
	size_t		i;

	memset(&wa, 0, sizeof(wa));
	wa.wa_conn = wc;
	pthread_rwlock_rdlock(&config_lock);
	if (settings.st_webpassword != NULL)
		wa.wa_password = strdup(settings.st_webpassword);
	if (settings.st_webapikey != NULL)
		wa.wa_apikey = strdup(settings.st_webapikey);
	wa.wa_statsauth = settings.st_webstatsauth;
	wa.wa_apiauth = settings.st_webapiauth;
	dashauth = settings.st_webdashauth;
	*lua = false;
	for (i = 0; i < settings.st_nweblua && !*lua; i++)
		if (strcmp(settings.st_weblua[i].wl_path, p) == 0) {
			*lua = true;
			luaauth = settings.st_weblua[i].wl_auth;
		}
	pthread_rwlock_unlock(&config_lock);
	if (*lua)
		ok = !luaauth || !dashauth || check_password(req, &wa);
	else if (strcmp(p, "/jsonstat") == 0 || strcmp(p, "/metrics") == 0)
		ok = !wa.wa_statsauth || check_apikey(req, &wa) ||
		    !dashauth || check_password(req, &wa);
	else if (strncmp(p, "/api/", 5) == 0)
		ok = !wa.wa_apiauth || check_apikey(req, &wa) ||
		    (strcmp(p, "/api/v1/servers/localhost") == 0 &&
		    (!dashauth || check_password(req, &wa)));
	else
		ok = !dashauth || check_password(req, &wa);
	webauth_free(&wa);
	if (wa.wa_hashed) {
		round_hashed = true;
		hashed_conn = wc;
	}
	*wait = wa.wa_wait;
	if (ok)
		return 0;
	return wa.wa_later ? -1 : wa.wa_wait > 0 ? 429 : 401;
}

enum web_page {
	PAGE_NONE, PAGE_JSONSTAT, PAGE_METRICS, PAGE_LOCALHOST,
	PAGE_STATISTICS, PAGE_CONFIG, PAGE_ALLOWFROM, PAGE_POOL, PAGE_INDEX,
	PAGE_SCRIPT, PAGE_CACHE
};

static enum web_page
web_route(const char *path)
{
	static const struct {
		const char	*path;
		enum web_page	 page;
	} routes[] = {
		{ "/jsonstat", PAGE_JSONSTAT },
		{ "/metrics", PAGE_METRICS },
		{ "/api/v1/servers/localhost", PAGE_LOCALHOST },
		{ "/api/v1/servers/localhost/statistics", PAGE_STATISTICS },
		{ "/api/v1/servers/localhost/config", PAGE_CONFIG },
		{ "/api/v1/servers/localhost/config/allow-from",
		    PAGE_ALLOWFROM },
		{ "/api/v1/servers/localhost/pool", PAGE_POOL },
		{ "/api/v1/cache", PAGE_CACHE },
		{ "/", PAGE_INDEX },
		{ "/index.html", PAGE_INDEX },
		{ "/static/dashboard.js", PAGE_SCRIPT },
	};
	size_t	i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(path, routes[i].path) == 0)
			return routes[i].page;
	return PAGE_NONE;
}

static void
web_static(struct webconn *wc, const char *ctype, const char *text)
{
	struct sbuf	body;

	sbuf_init(&body);
	sbuf_puts(&body, text);
	web_answer(wc, 200, ctype, NULL, &body);
	sbuf_free(&body);
}

/*
 * A small JSON reader, enough for the bodies of PUT requests: jr_value()
 * checks one value and returns what follows it, or NULL when it is not
 * JSON (or nests deeper than JSON_DEPTH).
 */
#define JSON_DEPTH	16

static const char *
jr_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' ||
	    *p == '\r'))
		p++;
	return p;
}

/* A string at p (its quote); its bytes into out, when out is not NULL. */
static const char *
jr_string(const char *p, const char *end, char *out, size_t outsz)
{
	size_t	n = 0;
	char	c;

	if (p >= end || *p++ != '"')
		return NULL;
	while (p < end && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		c = *p++;
		if (c == '\\') {
			if (p >= end)
				return NULL;
			c = *p++;
			if (c == 'u') {
				if (end - p < 4 || strspn(p,
				    "0123456789abcdefABCDEF") < 4)
					return NULL;
				p += 4;
				c = '?';	/* no netmask has one */
			} else if (strchr("\"\\/bfnrt", c) == NULL)
				return NULL;
		}
		if (out != NULL) {
			if (n + 1 >= outsz)
				return NULL;
			out[n++] = c;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	return p < end ? p + 1 : NULL;
}

static const char *
jr_value(const char *p, const char *end, int depth)
{
	char	close;

	p = jr_ws(p, end);
	if (p >= end || depth > JSON_DEPTH)
		return NULL;
	if (*p == '"')
		return jr_string(p, end, NULL, 0);
	if (*p == '{' || *p == '[') {
		close = *p == '{' ? '}' : ']';
		if ((p = jr_ws(p + 1, end)) < end && *p == close)
			return p + 1;
		for (;;) {
			if (close == '}' && ((p = jr_string(jr_ws(p, end), end,
			    NULL, 0)) == NULL || (p = jr_ws(p, end)) >= end ||
			    *p++ != ':'))
				return NULL;
			if ((p = jr_value(p, end, depth + 1)) == NULL ||
			    (p = jr_ws(p, end)) >= end)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (end - p >= 4 && (strncmp(p, "true", 4) == 0 ||
	    strncmp(p, "null", 4) == 0))
		return p + 4;
	if (end - p >= 5 && strncmp(p, "false", 5) == 0)
		return p + 5;
	if (*p == '-')
		p++;
	if (p >= end || !isdigit((unsigned char)*p))
		return NULL;
	while (p < end && (isdigit((unsigned char)*p) || *p == '.' ||
	    *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
		p++;
	return p;
}

/*
 * The "value" of a ConfigSetting body, a list of netmasks, into ng.
 * 0, or -1 when the body is not JSON, has no such list or a bad mask.
 */
static int
web_body_acl(const char *body, size_t len, struct netmask_group *ng)
{
	const char	*p, *end = body + len;
	char		 key[8], mask[NETMASK_MAXTEXT];
	struct netmask	 nm;
	bool		 found = false;

	/* Checked whole first: the walk below trusts its syntax. */
	if ((p = jr_value(body, end, 0)) == NULL || jr_ws(p, end) != end ||
	    *(p = jr_ws(body, end)) != '{')
		return -1;
	for (p = jr_ws(p + 1, end); *p == '"';) {
		if (jr_string(p, end, key, sizeof(key)) == NULL)
			key[0] = '\0';		/* longer than "value" */
		p = jr_ws(jr_ws(jr_string(p, end, NULL, 0), end) + 1, end);
		if (strcmp(key, "value") == 0) {
			if (*p != '[')
				return -1;
			found = true;
			for (p = jr_ws(p + 1, end); *p != ']';) {
				if ((p = jr_string(p, end, mask,
				    sizeof(mask))) == NULL ||
				    netmask_parse(mask, &nm) == -1 ||
				    netmask_group_add(ng, &nm) == -1)
					return -1;
				if (*(p = jr_ws(p, end)) == ',')
					p = jr_ws(p + 1, end);
			}
			p++;
		} else
			p = jr_value(p, end, 1);
		if (*(p = jr_ws(p, end)) == ',')
			p = jr_ws(p + 1, end);
	}
	return found ? 0 : -1;
}

/*
 * Write dir/base.conf as dnsdist's API does: a header line, then the
 * formatted line; through a temporary file renamed over it.  0 or -1.
 */
static int web_save(const char *, const char *, const char *, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static int
web_save(const char *dir, const char *base, const char *fmt, ...)
{
	char	path[PATH_MAX], tmp[PATH_MAX];
	va_list	ap;
	FILE	*f;
	int	fd, saved, bad;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.conf", dir, base) >=
	    sizeof(path) || (size_t)snprintf(tmp, sizeof(tmp),
	    "%s/.%s.conf.XXXXXX", dir, base) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	fputs("-- Generated by the REST API, DO NOT EDIT\n", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * PUT allow-from: the query ACL replaced and published as a console's
 * setACL() would, then saved as setACL() in the directory that
 * setAPIWritable() named.  The status: 200, 400 or 405.
 */
static int
web_put_acl(const char *body, size_t len)
{
	struct netmask_group	 ng;
	struct sbuf		 text;
	char			 buf[NETMASK_MAXTEXT], *dir = NULL;
	size_t			 i;
	int			 rc;

	pthread_rwlock_rdlock(&config_lock);
	rc = settings.st_apiwritable;
	pthread_rwlock_unlock(&config_lock);
	if (!rc)
		return 405;
	netmask_group_init(&ng);
	if (web_body_acl(body, len, &ng) == -1) {
		netmask_group_clear(&ng);
		return 400;
	}
	sbuf_init(&text);
	for (i = 0; i < ng.ng_count; i++)
		sbuf_printf(&text, "%s\"%s\"", i > 0 ? ", " : "",
		    netmask_to_text(&ng.ng_masks[i], buf, sizeof(buf)));
	pthread_rwlock_wrlock(&config_lock);
	if (!settings.st_apiwritable) {
		pthread_rwlock_unlock(&config_lock);
		netmask_group_clear(&ng);
		sbuf_free(&text);
		return 405;
	}
	netmask_group_clear(&settings.st_acl);
	settings.st_acl = ng;
	if ((rc = daemon_publish()) == -1)
		log_warnx("webserver: out of memory: the new ACL is not live "
		    "yet");
	if (settings.st_apiconfdir != NULL)
		dir = strdup(settings.st_apiconfdir);
	pthread_rwlock_unlock(&config_lock);
	log_info("Updating the ACL via the API to %s", sbuf_text(&text));
	if (dir != NULL && web_save(dir, "acl", "setACL({%s})",
	    sbuf_text(&text)) == -1)
		log_warn("webserver: unable to save the ACL in %s/acl.conf",
		    dir);
	free(dir);
	sbuf_free(&text);
	return 200;
}

/*
 * DELETE /api/v1/cache?pool=P&name=N[&type=T][&suffix=true]: remove a
 * name's entries (of one type, or all; or those of the names under it)
 * from a pool's cache, as dnsdist 1.8 does.
 */
static void
web_cache_delete(struct webconn *wc, const struct http_request *req)
{
	char		 pool[256], text[DNSNAME_MAXTEXT], type[32];
	uint8_t		 name[DNSNAME_MAXLEN];
	size_t		 namelen, count = 0;
	struct pool	*pl;
	struct sbuf	 out;
	int		 qtype = 0, status = 200;

	if (strcmp(req->hr_method, "DELETE") != 0 ||
	    http_query_param(req->hr_query, "pool", pool, sizeof(pool)) == -1 ||
	    http_query_param(req->hr_query, "name", text, sizeof(text)) == -1 ||
	    dnsname_from_text(text, name, &namelen) == -1 ||
	    (http_query_param(req->hr_query, "type", type, sizeof(type)) == 0 &&
	    (qtype = dnspacket_type_from_text(type)) < 0)) {
		web_error(wc, 400, NULL);
		return;
	}
	if (qtype == 255)
		qtype = 0;		/* ANY: every type, as dnsdist */
	/* The read lock keeps the snapshot and its caches till the end. */
	pthread_rwlock_rdlock(&config_lock);
	if ((pl = config_pool(config_now(), pool)) == NULL ||
	    pl->pl_cache == NULL)
		status = 404;
	else
		count = pcache_expunge_name(pl->pl_cache, name, namelen,
		    (uint16_t)qtype, http_query_param(req->hr_query, "suffix",
		    type, sizeof(type)) == 0 && strcmp(type, "true") == 0);
	pthread_rwlock_unlock(&config_lock);
	if (status != 200) {
		web_error(wc, status, NULL);
		return;
	}
	sbuf_init(&out);
	sbuf_printf(&out, "{\"count\": \"%zu\", \"status\": \"purged\"}",
	    count);
	web_answer(wc, 200, "application/json", NULL, &out);
	sbuf_free(&out);
}

/* The API pages that read a metrics snapshot. */
static void
web_api(struct webconn *wc, const struct http_request *req,
    enum web_page page)
{
	struct metrics	*mx;
	struct sbuf	 body;
	char		 name[HTTP_PATHMAX];
	const char	*ctype = "application/json";
	int		 status = 200;

	pthread_rwlock_rdlock(&config_lock);
	if ((mx = metrics_snapshot()) != NULL && frontend_metrics(mx) == -1) {
		metrics_free(mx);
		mx = NULL;
	}
	pthread_rwlock_unlock(&config_lock);
	if (mx == NULL) {
		web_error(wc, 500, NULL);
		return;
	}
	sbuf_init(&body);
	switch (page) {
	case PAGE_JSONSTAT:
		metrics_json_stats(&body, mx);
		break;
	case PAGE_METRICS:
		metrics_prometheus(&body, mx);
		ctype = "text/plain; version=0.0.4; charset=utf-8";
		break;
	case PAGE_LOCALHOST:
		metrics_json_localhost(&body, mx);
		break;
	case PAGE_STATISTICS:
		metrics_json_statistics(&body, mx);
		break;
	case PAGE_CONFIG:
		metrics_json_config(&body, mx);
		break;
	case PAGE_ALLOWFROM:
		metrics_json_allowfrom(&body, mx);
		break;
	case PAGE_POOL:
		if (http_query_param(req->hr_query, "name", name,
		    sizeof(name)) == -1)
			status = 400;
		else if (metrics_json_pool(&body, mx, name) == -1)
			status = 404;
		break;
	default:
		status = 404;
		break;
	}
	metrics_free(mx);
	if (body.sb_failed)
		status = 500;
	if (status != 200)
		web_error(wc, status, NULL);
	else
		web_answer(wc, 200, ctype, NULL, &body);
	sbuf_free(&body);
}

/*
 * A request for a function of registerWebHandler(): it runs in the
 * configuration's Lua state, under the configuration lock (read side, so
 * that no reload closes the state meanwhile) and the Lua lock, as a
 * packet hook does.
 */
static void
web_lua(struct webconn *wc, const struct http_request *req,
    const char *head, size_t headlen, const char *body)
{
	struct dlua_webreq	rq;
	struct dlua_webresp	rp;
	struct sbuf		err;
	int			rc;

	memset(&rq, 0, sizeof(rq));
	rq.wr_path = req->hr_path;
	rq.wr_method = req->hr_method;
	rq.wr_query = req->hr_query;
	rq.wr_head = head;
	rq.wr_headlen = headlen;
	rq.wr_body = body;
	rq.wr_bodylen = req->hr_clen > 0 ? (size_t)req->hr_clen : 0;
	rq.wr_version = 10 + req->hr_minor;
	sbuf_init(&rp.rp_body);
	sbuf_init(&rp.rp_headers);
	sbuf_init(&err);
	pthread_rwlock_rdlock(&config_lock);
	dlua_lock();
	rc = dlua_web_call(config_L, &rq, &rp, &err);
	dlua_unlock();
	pthread_rwlock_unlock(&config_lock);
	if (rc == -1)
		log_warnx("webserver: the Lua handler of %s failed: %s",
		    req->hr_path, sbuf_text(&err));
	if (rc != 1 || rp.rp_body.sb_failed || rp.rp_headers.sb_failed)
		web_error(wc, rc == 0 ? 404 : 500, NULL);
	else
		web_answer(wc, rp.rp_status, rp.rp_ctype[0] != '\0' ?
		    rp.rp_ctype : "text/plain; charset=utf-8",
		    sbuf_text(&rp.rp_headers),
		    &rp.rp_body);
	sbuf_free(&rp.rp_body);
	sbuf_free(&rp.rp_headers);
	sbuf_free(&err);
}

/*
 * /jsonstat?command=topclients and topqueries (ours): the n clients or
 * names (n=, 1 to WEB_TOPMAX, 10 by default) most seen in the query ring,
 * counted as the console's topClients() and topQueries() count them.
 */
static void
web_top(struct webconn *wc, const struct http_request *req, bool clients)
{
	struct ring_top_query	 q = { clients, false, 0, -1, 0 };
	struct ring_top		 rt = { 0 };
	struct sbuf		 out;
	char			 arg[16], *end;
	unsigned long		 n = 10;

	if (http_query_param(req->hr_query, "n", arg, sizeof(arg)) == 0) {
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (!isdigit((unsigned char)arg[0]) || *end != '\0' ||
		    errno != 0)
			n = 0;
	} else if (errno != ENOENT)
		n = 0;
	sbuf_init(&out);
	if (n < 1 || n > WEB_TOPMAX) {
		sbuf_printf(&out, "400 Bad Request: n must be a number from 1 "
		    "to %d\n", WEB_TOPMAX);
		web_answer(wc, 400, "text/plain; charset=utf-8", NULL, &out);
	} else if (ring_global_init() == -1) {
		sbuf_puts(&out, "500 Internal Server Error: out of memory\n");
		web_answer(wc, 500, "text/plain; charset=utf-8", NULL, &out);
	} else {
		ring_top(ring_queries, NULL, &q, &rt);
		metrics_json_top(&out, &rt, n, clients ? "client" : "name");
		ring_top_free(&rt);
		web_answer(wc, 200, "application/json", NULL, &out);
	}
	sbuf_free(&out);
}

/* Answer a request; auth and wait are what web_authorized() said. */
static void
web_request(struct webconn *wc, const struct http_request *req,
    const char *body, int auth, unsigned int wait, bool lua)
{
	struct sbuf	 out;
	enum web_page	 page;
	char		 command[32], retry[80];
	int		 status;

	if (req->hr_chunked || !req->hr_keepalive)
		wc->wc_close = true;
	switch (auth) {
	case 0:
		break;
	case 429:
		/*
		 * Unchecked, but a 401 as dnsdist's clients expect for a
		 * credential that does not pass; Retry-After tells when it
		 * will be checked again.
		 */
		stats_inc(STAT_WEB_AUTH_LIMITED);
		snprintf(retry, sizeof(retry), "WWW-Authenticate: Basic "
		    "realm=\"PowerDNS\"\r\nRetry-After: %u\r\n", wait);
		web_error(wc, 401, retry);
		return;
	default:
		web_error(wc, 401, "WWW-Authenticate: Basic realm=\"PowerDNS\""
		    "\r\n");
		return;
	}
	if (lua) {
		web_lua(wc, req, wc->wc_in, (size_t)(body - wc->wc_in), body);
		return;
	}
	if ((page = web_route(req->hr_path)) == PAGE_NONE) {
		web_error(wc, 404, NULL);
		return;
	}
	if (page == PAGE_CACHE) {
		web_cache_delete(wc, req);
		return;
	}
	if (page == PAGE_ALLOWFROM && strcmp(req->hr_method, "PUT") == 0) {
		if ((status = web_put_acl(body, req->hr_clen > 0 ?
		    (size_t)req->hr_clen : 0)) == 405)
			web_error(wc, 405, "Allow: GET\r\n");
		else if (status != 200)
			web_error(wc, status, NULL);
		else
			web_api(wc, req, page);
		return;
	}
	if (strcmp(req->hr_method, "GET") != 0) {
		web_error(wc, 405, "Allow: GET\r\n");
		return;
	}
	switch (page) {
	case PAGE_INDEX:
		web_static(wc, "text/html; charset=utf-8", dashboard_html);
		return;
	case PAGE_SCRIPT:
		web_static(wc, "application/javascript; charset=utf-8",
		    dashboard_js);
		return;
	case PAGE_JSONSTAT:
		if (http_query_param(req->hr_query, "command", command,
		    sizeof(command)) == -1) {
			web_error(wc, 404, NULL);
			return;
		}
		if (strcmp(command, "topclients") == 0 ||
		    strcmp(command, "topqueries") == 0) {
			web_top(wc, req, command[3] == 'c');
			return;
		}
		if (strcmp(command, "stats") != 0 &&
		    strcmp(command, "dynblocklist") != 0) {
			web_error(wc, 404, NULL);
			return;
		}
		if (strcmp(command, "dynblocklist") == 0) {
			sbuf_init(&out);
			metrics_json_dynblocks(&out);
			web_answer(wc, 200, "application/json", NULL, &out);
			sbuf_free(&out);
			return;
		}
		break;
	default:
		break;
	}
	web_api(wc, req, page);
}

/*
 * Answer the next whole request in the buffer; whether there was one.
 * A body (Content-Length) must fit in the buffer with its head.
 */
static bool
web_process(struct webconn *wc)
{
	struct http_request	req;
	unsigned int		wait;
	size_t			len;
	int			rc, auth;
	bool			lua;

	wc->wc_more = false;
	if (wc->wc_inlen == 0 ||
	    (rc = http_parse_request(wc->wc_in, wc->wc_inlen, &req)) == 0)
		return false;
	if (rc > 0 && req.hr_clen > (long long)(sizeof(wc->wc_in) -
	    (size_t)rc))
		rc = -413;
	if (rc < 0) {
		wc->wc_close = true;
		web_error(wc, -rc, NULL);
		return true;
	}
	len = (size_t)rc + (req.hr_clen > 0 ? (size_t)req.hr_clen : 0);
	if (wc->wc_inlen < len) {
		explicit_bzero(&req, sizeof(req));
		return false;		/* the body is on its way */
	}
	if ((auth = web_authorized(wc, &req, &wait, &lua)) == -1) {
		wc->wc_more = true;	/* the next round */
		explicit_bzero(&req, sizeof(req));
		return false;
	}
	web_request(wc, &req, wc->wc_in + rc, auth, wait, lua);
	memmove(wc->wc_in, wc->wc_in + len, wc->wc_inlen - len);
	wc->wc_inlen -= len;
	wc->wc_more = wc->wc_inlen > 0;
	explicit_bzero(&req, sizeof(req));
	return true;
}

/*
 * After the last answer: no more sending, and what the client still sends
 * is read and dropped until it closes or WEB_LINGER has passed.  0, or -1
 * when the connection was closed at once.
 */
static int
web_linger(struct webconn *wc)
{
	if (!wc->wc_linger) {
		if (nlinger >= WEB_LINGERMAX) {
			web_close(wc);
			return -1;
		}
		nconns--;
		nlinger++;
		wc->wc_linger = true;
	}
	if (shutdown(wc->wc_fd, SHUT_WR) == -1) {
		web_close(wc);
		return -1;
	}
	wc->wc_more = false;
	wc->wc_inlen = 0;
	wc->wc_deadline = mono_ns() + WEB_LINGER * WEB_SEC;
	return 0;
}

/* Write what is pending; 0, or -1 when the connection was closed. */
static int
web_write(struct webconn *wc)
{
	ssize_t	n;

	while (wc->wc_outoff < wc->wc_out.sb_len) {
		n = write(wc->wc_fd, wc->wc_out.sb_buf + wc->wc_outoff,
		    wc->wc_out.sb_len - wc->wc_outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			web_close(wc);
			return -1;
		}
		wc->wc_outoff += (size_t)n;
	}
	wc->wc_sending = false;
	sbuf_reset(&wc->wc_out);
	if (wc->wc_close)
		return web_linger(wc);
	wc->wc_deadline = mono_ns() + WEB_TIMEOUT * WEB_SEC;
	if (wc->wc_deadline > wc->wc_end)
		wc->wc_deadline = wc->wc_end;
	return 0;
}

/* Read what has arrived; 0, or -1 when the connection was closed. */
static int
web_read(struct webconn *wc)
{
	ssize_t	n;

	if (wc->wc_inlen == sizeof(wc->wc_in))
		return 0;	/* the parser answers 431 first */
	do
		n = read(wc->wc_fd, wc->wc_in + wc->wc_inlen,
		    sizeof(wc->wc_in) - wc->wc_inlen);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		web_close(wc);
		return -1;
	}
	wc->wc_inlen += (size_t)n;
	if (wc->wc_linger)
		wc->wc_inlen = 0;	/* dropped */
	return 0;
}

/* A connection that poll(2) reported, or that holds a request. */
static void
web_io(struct webconn *wc)
{
	short	rev = wc->wc_revents;

	if (rev & POLLNVAL) {
		web_close(wc);
		return;
	}
	if (wc->wc_sending) {
		if ((rev & (POLLHUP | POLLERR)) && !(rev & POLLOUT))
			web_close(wc);
		else if (rev & POLLOUT)
			web_write(wc);
		return;
	}
	if ((rev & (POLLIN | POLLHUP | POLLERR)) && web_read(wc) == -1)
		return;
	/* One request per round: the others wait for the next. */
	if (!wc->wc_linger && web_process(wc))
		web_write(wc);
}

/* A new connection in the list; NULL when out of memory. */
static struct webconn *
web_conn_new(int fd, const struct sockaddr_storage *ss, const char *peer)
{
	struct webconn	*wc;
	uint64_t	 now = mono_ns();

	if ((wc = calloc(1, sizeof(*wc))) == NULL)
		return NULL;
	wc->wc_fd = fd;
	wc->wc_ss = *ss;
	strlcpy(wc->wc_peer, peer, sizeof(wc->wc_peer));
	sbuf_init(&wc->wc_out);
	wc->wc_deadline = now + WEB_TIMEOUT * WEB_SEC;
	wc->wc_end = now + WEB_LIFETIME * WEB_SEC;
	TAILQ_INSERT_TAIL(&conns, wc, wc_entry);
	nconns++;
	return wc;
}

static void
web_accept(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 peer[ADDR_MAXTEXT];
	int			 fd, i, allowed, maxconns;

	for (i = 0; i < WEB_ACCEPTMAX; i++) {
		len = sizeof(ss);
		if ((fd = accept(web_fd, (struct sockaddr *)&ss, &len)) == -1)
			return;
		addr_to_text((struct sockaddr *)&ss, peer, sizeof(peer));
		pthread_rwlock_rdlock(&config_lock);
		allowed = netmask_group_match(&settings.st_webacl,
		    (struct sockaddr *)&ss);
		maxconns = settings.st_webmaxconns;
		pthread_rwlock_unlock(&config_lock);
		if (allowed != 1) {
			web_refused(peer, "not in the webserver ACL");
			close(fd);
			continue;
		}
		if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			close(fd);
			continue;
		}
		/* As dnsdist: past the limit, closed at once. */
		if (nconns >= maxconns) {
			web_refused(peer, "too many concurrent connections");
			close(fd);
			continue;
		}
		if (web_conn_new(fd, &ss, peer) == NULL)
			close(fd);
	}
}

static void *
web_main(void *arg)
{
	struct pollfd	*pfd = NULL, *np;
	struct webconn	*wc, *next;
	size_t		 cap = 0, n, i;
	uint64_t	 now, first;
	int		 timeout;

	(void)arg;
	for (;;) {
		if (cap < (size_t)(nconns + nlinger) + 2) {
			np = reallocarray(pfd, (size_t)(nconns + nlinger) + 16,
			    sizeof(*pfd));
			if (np == NULL) {
				/* Shed the connections rather than spin. */
				while (!TAILQ_EMPTY(&conns))
					web_close(TAILQ_FIRST(&conns));
				if (pfd == NULL)
					break;
			} else {
				pfd = np;
				cap = (size_t)(nconns + nlinger) + 16;
			}
		}
		pfd[0].fd = stop_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = web_fd;
		pfd[1].events = POLLIN;
		n = 2;
		first = UINT64_MAX;
		now = mono_ns();
		TAILQ_FOREACH(wc, &conns, wc_entry) {
			pfd[n].fd = wc->wc_fd;
			pfd[n++].events = wc->wc_sending ? POLLOUT : POLLIN;
			if (wc->wc_deadline < first)
				first = wc->wc_deadline;
			if (wc->wc_more && !wc->wc_sending)
				first = now;	/* the next request is in */
		}
		if (first == UINT64_MAX)
			timeout = -1;
		else if (first <= now)
			timeout = 0;
		else
			timeout = (int)((first - now) / 1000000 + 1);
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("webserver poll");
			break;
		}
		if (pfd[0].revents != 0)
			break;
		i = 2;
		TAILQ_FOREACH(wc, &conns, wc_entry)
			wc->wc_revents = pfd[i++].revents;
		round_hashed = false;
		for (wc = TAILQ_FIRST(&conns); wc != NULL; wc = next) {
			next = TAILQ_NEXT(wc, wc_entry);
			if (wc->wc_revents != 0 ||
			    (wc->wc_more && !wc->wc_sending))
				web_io(wc);
		}
		/* Who had scrypt goes last, for the others to have it. */
		if (hashed_conn != NULL) {
			TAILQ_REMOVE(&conns, hashed_conn, wc_entry);
			TAILQ_INSERT_TAIL(&conns, hashed_conn, wc_entry);
			hashed_conn = NULL;
		}
		now = mono_ns();
		for (wc = TAILQ_FIRST(&conns); wc != NULL; wc = next) {
			next = TAILQ_NEXT(wc, wc_entry);
			if (wc->wc_deadline <= now)
				web_close(wc);
		}
		if (pfd[1].revents & POLLIN)
			web_accept();
	}
	free(pfd);
	return NULL;
}

/* Listen on settings.st_webaddr.  0 or -1. */
static int
web_bind(void)
{
	const struct sockaddr	*sa = (struct sockaddr *)&settings.st_webaddr;
	int			 fd, on = 1, saved;

	if (web_fd != -1)
		return 0;
	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    bind(fd, sa, settings.st_webaddrlen) == -1 ||
	    listen(fd, 64) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	web_fd = fd;
	return 0;
}

/* Start the thread on the bound socket.  0 or -1. */
static int
web_launch(void)
{
	char	text[ADDR_MAXTEXT];
	int	saved;

	if (web_running || web_fd == -1)
		return 0;
	if (pipe(stop_pipe) == -1)
		return -1;
	if ((errno = pthread_create(&web_thread, NULL, web_main, NULL)) != 0) {
		saved = errno;
		close(stop_pipe[0]);
		close(stop_pipe[1]);
		stop_pipe[0] = stop_pipe[1] = -1;
		errno = saved;
		return -1;
	}
	web_running = true;
	log_info("Webserver launched on %s", addr_to_text(
	    (struct sockaddr *)&settings.st_webaddr, text, sizeof(text)));
	if (settings.st_webpassword == NULL && settings.st_webapikey == NULL)
		log_warnx("webserver: no password and no API key set with "
		    "setWebserverConfig(); only endpoints without "
		    "authentication answer");
	return 0;
}

/* webserver() at run time: both steps at once. */
static int
web_listen(void)
{
	if (web_bind() == -1)
		return -1;
	return web_launch();
}

void
web_start(void)
{
	char	text[ADDR_MAXTEXT];

	dlua_host.h_webserver = web_listen;
	if (settings.st_webaddrlen == 0)
		return;
	if (web_bind() == -1)
		fatal("unable to bind the webserver to %s", addr_to_text(
		    (struct sockaddr *)&settings.st_webaddr, text,
		    sizeof(text)));
}

void
web_run(void)
{
	if (web_launch() == -1)
		fatal("unable to start the webserver thread");
}

void
web_stop(void)
{
	if (web_running) {
		if (write(stop_pipe[1], "x", 1) == -1)
			log_warn("webserver stop");
		pthread_join(web_thread, NULL);
		web_running = false;
		close(stop_pipe[0]);
		close(stop_pipe[1]);
		stop_pipe[0] = stop_pipe[1] = -1;
	}
	while (!TAILQ_EMPTY(&conns))
		web_close(TAILQ_FIRST(&conns));
	if (web_fd != -1)
		close(web_fd);
	web_fd = -1;
}
