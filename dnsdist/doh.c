/*
 * DNS over HTTPS (RFC 8484) connections in the TCP workers: HTTP/1.1
 * through lib/http.c, HTTP/2 with prior knowledge through an nghttp2
 * server session.  A request's DNS message (GET ?dns=, or a POST body)
 * goes through client_query() like a TCP query, and its answer comes
 * back to doh_answer() by stream.  Bytes come and go through the client
 * connection's buffers (tcp_client.c reads and writes them), so that
 * whatever transport sits under a TCP client sits under HTTP too.
 *
 * Hostile clients are bounded per connection: the streams in flight
 * (SETTINGS_MAX_CONCURRENT_STREAMS, and the TCP in-flight cap, which a
 * reset stream still holds until its answer), resets per second (rapid
 * reset, CVE-2023-44487), queued SETTINGS and PING acknowledgements,
 * CONTINUATION frames, the size of a request's header fields and of its
 * body; past any of them the connection is closed and counted.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "addr.h"
#include "http.h"
#include "stats.h"
#include "tcp.h"

#define DOH_RESETS_PER_SEC	100	/* RST_STREAM frames from a client */
#define DOH_OUTBOUND_ACKS	100	/* SETTINGS and PING answers queued */
#define DOH_H1_MAX		(HTTP_HEADMAX + DOH_MSGMAX)
#define DOH_H2_BODIES		(256 * 1024)	/* POST bodies of a connection */
#define DOH_H2_PREFACE		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define DOH_H2_PREFACELEN	24

/* One HTTP/2 request, from its HEADERS to the end of its answer. */
struct doh_stream {
	LIST_ENTRY(doh_stream)	 st_entry;
	char		 st_method[8];
	char		 st_path[HTTP_PATHMAX];	/* with the query */
	char		 st_xff[HTTP_FIELDMAX];
	char		 st_host[256];
	size_t		 st_hbytes;	/* of header fields */
	char		*st_hdrs;	/* keepIncomingHeaders: name\0value\0 */
	size_t		 st_hlen;
	size_t		 st_nh;
	size_t		 st_hoff[DOH_MAXREQHEADERS];
	uint8_t		*st_body;
	size_t		 st_blen;
	bool		 st_toolarge;
	bool		 st_bad;
	bool		 st_answered;
	uint8_t		*st_resp;	/* the answer's body */
	size_t		 st_rlen;
	size_t		 st_roff;
};

struct doh_conn {
	struct doh_frontend		*dc_df;
	struct tcp_client		*dc_tc;
	struct tcp_worker		*dc_tw;
	int				 dc_version;	/* 0 until known, 1, 2 */
	nghttp2_session			*dc_h2;
	bool				 dc_h1busy;	/* a request at a backend */
	bool				 dc_h1close;	/* close after the answer */
	uint64_t			 dc_rsttime;	/* second of the resets */
	int				 dc_rsts;
	size_t				 dc_bodies;	/* bytes of POST bodies */
	char				*dc_head;	/* HTTP/1 head, its fields */
	LIST_HEAD(, doh_stream)		 dc_streams;
};

struct doh_header {
	const char	*h_name;
	const char	*h_value;
};
#define DOH_MAXHEADERS	32

static ssize_t
h2_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct doh_stream	*st = src->ptr;
	size_t			 n = st->st_rlen - st->st_roff;

	(void)s;
	(void)id;
	(void)arg;
	if (n > len)
		n = len;
	memcpy(buf, st->st_resp + st->st_roff, n);
	st->st_roff += n;
	if (st->st_roff == st->st_rlen)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static void
doh_flood(struct doh_conn *dc)
{
	atomic_fetch_add_explicit(&dc->dc_df->df_stats.ds_resets, 1,
	    memory_order_relaxed);
	dc->dc_tc->tc_dead = true;
}

/*
 * An answer: the status, dnsdist's headers and the body.  Over HTTP/1
 * straight into the output buffer; over HTTP/2 the stream keeps the body
 * for the data source.
 */
static void
doh_respond_with(struct doh_conn *dc, int32_t id, int status,
    const char *ctype, const uint8_t *body, size_t blen, long maxage,
    const char *location, const struct web_header *xh, size_t nxh)
{
	struct doh_frontend	*df = dc->dc_df;
	struct doh_header	 h[DOH_MAXHEADERS];
	struct doh_stream	*st = NULL;
	nghttp2_nv		 nv[DOH_MAXHEADERS + 1];
	nghttp2_data_provider	 dp;
	struct sbuf		 sb;
	char			 sstatus[4], clen[24], cc[32];
	size_t			 n = 0, i;

	if (dc->dc_version == 2) {
		st = nghttp2_session_get_stream_user_data(dc->dc_h2, id);
		if (st == NULL || st->st_answered)
			return;		/* reset by the client meanwhile */
		st->st_answered = true;
	} else if (!dc->dc_h1busy)
		return;			/* a zone transfer's next message */
	doh_count_status(&df->df_stats, dc->dc_version, status);
	snprintf(clen, sizeof(clen), "%zu", blen);
	h[n++] = (struct doh_header){ "content-type", ctype };
	h[n++] = (struct doh_header){ "content-length", clen };
	if (df->df_servertokens[0] != '\0')
		h[n++] = (struct doh_header){ "server", df->df_servertokens };
	if (location != NULL)
		h[n++] = (struct doh_header){ "location", location };
	if (maxage >= 0) {
		snprintf(cc, sizeof(cc), "max-age=%ld", maxage);
		h[n++] = (struct doh_header){ "cache-control", cc };
	}
	for (i = 0; i < nxh && n < DOH_MAXHEADERS; i++)
		h[n++] = (struct doh_header){ xh[i].wh_name, xh[i].wh_value };
	if (dc->dc_version == 1) {
		sbuf_init(&sb);
		sbuf_printf(&sb, "HTTP/1.1 %d %s\r\n", status,
		    http_reason(status));
		for (i = 0; i < n; i++)
			sbuf_printf(&sb, "%s: %s\r\n", h[i].h_name,
			    h[i].h_value);
		sbuf_printf(&sb, "connection: %s\r\n\r\n", dc->dc_h1close ?
		    "close" : "keep-alive");
		if (client_out(dc->dc_tc, (const uint8_t *)sbuf_text(&sb),
		    sb.sb_len))
			client_out(dc->dc_tc, body, blen);
		sbuf_free(&sb);
		dc->dc_h1busy = false;
		if (dc->dc_h1close)
			dc->dc_tc->tc_eof = true;
		return;
	}
	snprintf(sstatus, sizeof(sstatus), "%d", status);
	nv[0] = (nghttp2_nv){ (uint8_t *)(uintptr_t)":status",
	    (uint8_t *)sstatus, 7, strlen(sstatus), NGHTTP2_NV_FLAG_NONE };
	for (i = 0; i < n; i++)
		nv[i + 1] = (nghttp2_nv){
		    (uint8_t *)(uintptr_t)h[i].h_name,
		    (uint8_t *)(uintptr_t)h[i].h_value, strlen(h[i].h_name),
		    strlen(h[i].h_value), NGHTTP2_NV_FLAG_NONE };
	if (blen > 0 && (st->st_resp = malloc(blen)) == NULL) {
		nghttp2_submit_rst_stream(dc->dc_h2, NGHTTP2_FLAG_NONE, id,
		    NGHTTP2_INTERNAL_ERROR);
		return;
	}
	if (blen > 0)
		memcpy(st->st_resp, body, blen);
	st->st_rlen = blen;
	dp.source.ptr = st;
	dp.read_callback = h2_body;
	if (nghttp2_submit_response(dc->dc_h2, id, nv, n + 1,
	    blen > 0 ? &dp : NULL) != 0)
		dc->dc_tc->tc_dead = true;
}

/*
 * A redirect to location, with the short HTML body h2o gives it (dnsdist
 * answers through h2o), the location escaped.
 */
static void
doh_redirect(struct doh_conn *dc, int32_t id, int status, const char *location,
    const struct web_header *xh, size_t nxh)
{
	struct sbuf	 sb;
	const char	*p;

	sbuf_init(&sb);
	sbuf_puts(&sb, "<!DOCTYPE html><TITLE>Moved</TITLE><P>The document "
	    "has moved <A HREF=\"");
	for (p = location; *p != '\0'; p++)
		switch (*p) {
		case '&': sbuf_puts(&sb, "&amp;"); break;
		case '<': sbuf_puts(&sb, "&lt;"); break;
		case '>': sbuf_puts(&sb, "&gt;"); break;
		case '"': sbuf_puts(&sb, "&quot;"); break;
		case '\'': sbuf_puts(&sb, "&#39;"); break;
		default: sbuf_add(&sb, p, 1); break;
		}
	sbuf_puts(&sb, "\">here</A>");
	doh_respond_with(dc, id, status, "text/html; charset=utf-8",
	    (const uint8_t *)sbuf_text(&sb), sb.sb_len, -1, location, xh, nxh);
	sbuf_free(&sb);
}

/* With the frontend's customResponseHeaders. */
static void
doh_respond(struct doh_conn *dc, int32_t id, int status, const char *ctype,
    const uint8_t *body, size_t blen, long maxage, const char *location)
{
	doh_respond_with(dc, id, status, ctype, body, blen, maxage, location,
	    dc->dc_df->df_headers, dc->dc_df->df_nheaders);
}

static void
doh_text(struct doh_conn *dc, int32_t id, int status, const char *text)
{
	doh_respond(dc, id, status, "text/plain; charset=utf-8",
	    (const uint8_t *)text, strlen(text), -1, NULL);
}

void
doh_error(struct tcp_client *tc, int32_t id, int status)
{
	doh_text(tc->tc_doh, id, status, status == 403 ? "dns query not "
	    "allowed" : status == 400 ? "invalid DNS query" : "error");
}

void
doh_answer(struct tcp_client *tc, int32_t id, const uint8_t *pkt, size_t len)
{
	struct doh_conn	*dc = tc->tc_doh;
	long		 ttl = -1;

	if (dc->dc_df->df_cachecontrol)
		ttl = doh_min_ttl(pkt, len);
	doh_respond(dc, id, 200, "application/dns-message", pkt, len, ttl,
	    NULL);
}

void
doh_status(struct tcp_client *tc, int32_t id, int status, const char *ctype,
    const uint8_t *body, size_t len)
{
	struct doh_conn	*dc = tc->tc_doh;

	if (status / 100 == 3)
		doh_redirect(dc, id, status, (const char *)body,
		    dc->dc_df->df_headers, dc->dc_df->df_nheaders);
	else
		doh_respond(tc->tc_doh, id, status, ctype[0] != '\0' ? ctype :
		    "text/plain; charset=utf-8", body, len, -1, NULL);
}

/*
 * A whole request: the path, the method and the DNS message it carries;
 * an answer now for what is wrong, else the query goes on.
 */
static void
doh_request(struct doh_conn *dc, int32_t id, const char *method,
    const char *target, const uint8_t *body, size_t blen, bool toolarge,
    const char *xff, struct doh_request *dr)
{
	struct doh_stats	*ds = &dc->dc_df->df_stats;
	const struct doh_mapentry *me;
	const struct web_header	*xh;
	struct sockaddr_storage	 from;
	const char		*q;
	const char		*comma;
	uint8_t			 msg[DOH_MSGMAX];
	socklen_t		 fromlen;
	size_t			 nxh;
	long			 len;
	int			 rc;

	atomic_fetch_add_explicit(dc->dc_version == 1 ? &ds->ds_http1 :
	    &ds->ds_http2, 1, memory_order_relaxed);
	/*
	 * The client: the last address of X-Forwarded-For, when trusted,
	 * else the PROXY header's, else the peer.
	 */
	from = dc->dc_tc->tc_proxied ? dc->dc_tc->tc_ppsrc :
	    dc->dc_tc->tc_addr;
	if (dc->dc_df->df_trustxff && xff[0] != '\0') {
		comma = strrchr(xff, ',');
		comma = comma != NULL ? comma + 1 : xff;
		while (*comma == ' ')
			comma++;
		if (addr_parse(comma, 0, &from, &fromlen) == -1)
			from = dc->dc_tc->tc_proxied ? dc->dc_tc->tc_ppsrc :
			    dc->dc_tc->tc_addr;
	}
	/* As dnsdist: the ACL, on that address, before anything else. */
	if (!frontend_acl_allows((struct sockaddr *)&from)) {
		stats_inc(STAT_ACL_DROPS);
		doh_text(dc, id, 403, "dns query not allowed because of ACL");
		return;
	}
	if ((q = strchr(target, '?')) == NULL)
		q = target + strlen(target);
	/* dnsdist's words, and those of h2o in front of it. */
	if ((rc = doh_path_ok(dc->dc_df, target, (size_t)(q - target))) != 1 ||
	    (size_t)(q - target) >= sizeof(dr->dr_path)) {
		doh_text(dc, id, 404, rc == 0 ? "there is no endpoint "
		    "configured for this path" : "not found");
		return;
	}
	/* setResponsesMap(): answered here, whatever the method. */
	if ((me = doh_map_match(doh_frontend_map(dc->dc_df), target)) !=
	    NULL) {
		xh = me->me_hasheaders ? me->me_headers : dc->dc_df->df_headers;
		nxh = me->me_hasheaders ? me->me_nheaders :
		    dc->dc_df->df_nheaders;
		if (me->me_status / 100 == 3)
			doh_redirect(dc, id, me->me_status, me->me_content, xh,
			    nxh);
		else
			doh_respond_with(dc, id, me->me_status, "text/plain; "
			    "charset=utf-8", (const uint8_t *)me->me_content,
			    me->me_len, -1, NULL, xh, nxh);
		return;
	}
	memcpy(dr->dr_path, target, (size_t)(q - target));
	dr->dr_path[q - target] = '\0';
	dr->dr_query = q;	/* as dnsdist's, with its '?' */
	dr->dr_scheme = dc->dc_tc->tc_tls != NULL ? "https" : "http";
	if (strcmp(method, "GET") == 0) {
		atomic_fetch_add_explicit(&ds->ds_get, 1,
		    memory_order_relaxed);
		len = *q == '?' ? doh_query_param(q + 1, strlen(q + 1), msg,
		    sizeof(msg)) : 0;
		body = msg;
	} else if (strcmp(method, "POST") == 0) {
		atomic_fetch_add_explicit(&ds->ds_post, 1,
		    memory_order_relaxed);
		len = toolarge ? -1 : (long)blen;
	} else {
		doh_text(dc, id, 405, "method not allowed");
		return;
	}
	if (len < DNS_HDRLEN) {
		atomic_fetch_add_explicit(&ds->ds_bad, 1, memory_order_relaxed);
		if (toolarge)
			doh_text(dc, id, 413, "payload too large");
		else
			doh_error(dc->dc_tc, id, 400);
		return;
	}
	client_query(dc->dc_tw, dc->dc_tc, body, (size_t)len, id, &from, dr);
}

/* HTTP/2 */

static int
h2_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct doh_stream	*st;

	struct doh_conn		*dc = arg;

	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	LIST_INSERT_HEAD(&dc->dc_streams, st, st_entry);
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static void
h2_copy(char *dst, size_t dstsz, const uint8_t *v, size_t vlen,
    struct doh_stream *st)
{
	if (vlen >= dstsz) {
		st->st_bad = true;
		return;
	}
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static int
h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
    size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *arg)
{
	struct doh_conn		*dc = arg;
	struct doh_stream	*st;
	char			*nb;

	(void)flags;
	st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st == NULL)
		return 0;
	/* A client that sends more than any DNS request needs goes. */
	st->st_hbytes += nlen + vlen + 32;
	if (st->st_hbytes > DOH_HEADERSMAX) {
		doh_flood(dc);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if (nlen == 7 && memcmp(name, ":method", 7) == 0)
		h2_copy(st->st_method, sizeof(st->st_method), value, vlen, st);
	else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
		h2_copy(st->st_path, sizeof(st->st_path), value, vlen, st);
	else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
		h2_copy(st->st_host, sizeof(st->st_host), value, vlen, st);
	else if (nlen == 15 && memcmp(name, "x-forwarded-for", 15) == 0)
		h2_copy(st->st_xff, sizeof(st->st_xff), value, vlen, st);
	/* Kept for the rules and Lua: within st_hbytes' bound. */
	if (dc->dc_df->df_keepheaders && name[0] != ':' &&
	    st->st_nh < DOH_MAXREQHEADERS) {
		if ((nb = realloc(st->st_hdrs, st->st_hlen + nlen + vlen +
		    2)) == NULL)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		st->st_hdrs = nb;
		st->st_hoff[st->st_nh++] = st->st_hlen;
		memcpy(nb + st->st_hlen, name, nlen);
		nb[st->st_hlen + nlen] = '\0';
		memcpy(nb + st->st_hlen + nlen + 1, value, vlen);
		nb[st->st_hlen + nlen + 1 + vlen] = '\0';
		st->st_hlen += nlen + vlen + 2;
	}
	return 0;
}

static int
h2_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *arg)
{
	struct doh_conn		*dc = arg;
	struct doh_stream	*st;
	uint8_t			*nb;

	(void)flags;
	if ((st = nghttp2_session_get_stream_user_data(s, id)) == NULL ||
	    st->st_toolarge)
		return 0;
	if (st->st_blen + len > DOH_MSGMAX) {
		st->st_toolarge = true;
		dc->dc_bodies -= st->st_blen;
		free(st->st_body);
		st->st_body = NULL;
		st->st_blen = 0;
		return 0;
	}
	if (dc->dc_bodies + len > DOH_H2_BODIES) {
		doh_flood(dc);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	if ((nb = realloc(st->st_body, st->st_blen + len)) == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	dc->dc_bodies += len;
	memcpy(nb + st->st_blen, data, len);
	st->st_body = nb;
	st->st_blen += len;
	return 0;
}

static int
h2_frame(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	struct doh_conn		*dc = arg;
	struct doh_stream	*st;
	struct doh_request	 dr;
	uint64_t		 sec;
	size_t			 i;

	if (f->hd.type == NGHTTP2_RST_STREAM) {
		sec = dc->dc_tw->tw_now / 1000000000ULL;
		if (sec != dc->dc_rsttime) {
			dc->dc_rsttime = sec;
			dc->dc_rsts = 0;
		}
		if (++dc->dc_rsts > DOH_RESETS_PER_SEC) {
			doh_flood(dc);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		return 0;
	}
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
	    (st = nghttp2_session_get_stream_user_data(s,
	    f->hd.stream_id)) == NULL)
		return 0;
	if (st->st_bad) {
		atomic_fetch_add_explicit(&dc->dc_df->df_stats.ds_bad, 1,
		    memory_order_relaxed);
		doh_error(dc->dc_tc, f->hd.stream_id, 400);
		return 0;
	}
	memset(&dr, 0, sizeof(dr));
	dr.dr_host = st->st_host;
	for (i = 0; i < st->st_nh; i++) {
		dr.dr_headers[i].h_name = st->st_hdrs + st->st_hoff[i];
		dr.dr_headers[i].h_value = st->st_hdrs + st->st_hoff[i] +
		    strlen(st->st_hdrs + st->st_hoff[i]) + 1;
	}
	dr.dr_nheaders = st->st_nh;
	doh_request(dc, f->hd.stream_id, st->st_method, st->st_path,
	    st->st_body, st->st_blen, st->st_toolarge, st->st_xff, &dr);
	return 0;
}

static void
stream_free(struct doh_conn *dc, struct doh_stream *st)
{
	LIST_REMOVE(st, st_entry);
	dc->dc_bodies -= st->st_blen;
	free(st->st_body);
	free(st->st_hdrs);
	free(st->st_resp);
	free(st);
}

static int
h2_close(nghttp2_session *s, int32_t id, uint32_t err, void *arg)
{
	struct doh_stream	*st;

	(void)err;
	if ((st = nghttp2_session_get_stream_user_data(s, id)) == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(s, id, NULL);
	stream_free(arg, st);
	return 0;
}

static bool
h2_start(struct doh_conn *dc)
{
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 set[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
		    (uint32_t)dc->dc_df->df_maxinflight },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, DOH_HEADERSMAX },
	};
	int				 rc;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return false;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		return false;
	}
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    h2_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_close);
	nghttp2_option_set_max_outbound_ack(opt, DOH_OUTBOUND_ACKS);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_send_header_block_length(opt, 16384);
	rc = nghttp2_session_server_new2(&dc->dc_h2, cb, dc, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rc != 0)
		return false;
	return nghttp2_submit_settings(dc->dc_h2, NGHTTP2_FLAG_NONE, set,
	    sizeof(set) / sizeof(set[0])) == 0;
}

/* What nghttp2 has to send, into the output buffer while there is room. */
void
doh_flush(struct tcp_client *tc)
{
	struct doh_conn	*dc = tc->tc_doh;
	const uint8_t	*p;
	ssize_t		 n;

	if (dc->dc_h2 == NULL)
		return;
	while (!tc->tc_dead && tc->tc_olen - tc->tc_ooff < TCP_OUTMAX &&
	    (n = nghttp2_session_mem_send(dc->dc_h2, &p)) > 0)
		client_out(tc, p, (size_t)n);
	if (!nghttp2_session_want_read(dc->dc_h2) &&
	    !nghttp2_session_want_write(dc->dc_h2))
		tc->tc_eof = true;
}

bool
doh_want_write(const struct tcp_client *tc)
{
	return tc->tc_doh->dc_h2 != NULL &&
	    nghttp2_session_want_write(tc->tc_doh->dc_h2) &&
	    tc->tc_olen - tc->tc_ooff < TCP_OUTMAX;
}

bool
doh_reading(const struct tcp_client *tc)
{
	const struct doh_conn	*dc = tc->tc_doh;

	if (dc->dc_version == 1)
		return !dc->dc_h1busy && !dc->dc_h1close;
	return dc->dc_h2 == NULL || tc->tc_inflight < dc->dc_df->df_maxinflight;
}

/*
 * The header fields of an HTTP/1 head (len bytes, valid: parsed already)
 * into dr, names in lower case, from a copy the connection keeps.
 */
static void
h1_headers(struct doh_conn *dc, const char *head, size_t len,
    struct doh_request *dr)
{
	char	*p, *end, *nl, *colon, *v, *e;

	if (dc->dc_head == NULL && (dc->dc_head = malloc(HTTP_HEADMAX +
	    1)) == NULL)
		return;
	memcpy(dc->dc_head, head, len);
	dc->dc_head[len] = '\0';
	end = dc->dc_head + len;
	/* Past the request line. */
	if ((p = memchr(dc->dc_head, '\n', len)) == NULL)
		return;
	for (p++; p < end && dr->dr_nheaders < DOH_MAXREQHEADERS; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		*nl = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			continue;
		*colon = '\0';
		for (e = p; *e != '\0'; e++)
			*e = (char)tolower((unsigned char)*e);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = nl; e > v && (e[-1] == '\r' || e[-1] == ' ' ||
		    e[-1] == '\t'); e--)
			;
		*e = '\0';
		dr->dr_headers[dr->dr_nheaders].h_name = p;
		dr->dr_headers[dr->dr_nheaders++].h_value = v;
	}
}

/* HTTP/1.1: one request at a time, in order. */
static void
h1_parse(struct doh_conn *dc)
{
	struct tcp_client	*tc = dc->dc_tc;
	struct http_request	 req;
	struct doh_request	 dr;
	char			 target[2 * HTTP_PATHMAX];
	size_t			 used;
	int			 rc;

	while (!dc->dc_h1busy && !dc->dc_h1close && !tc->tc_dead &&
	    tc->tc_rlen > 0) {
		rc = http_parse_request((const char *)tc->tc_rbuf, tc->tc_rlen,
		    &req);
		if (rc == 0)
			return;
		dc->dc_h1busy = true;	/* until it is answered */
		if (rc < 0 || req.hr_chunked || req.hr_clen > DOH_MSGMAX) {
			atomic_fetch_add_explicit(&dc->dc_df->df_stats.ds_bad,
			    1, memory_order_relaxed);
			dc->dc_h1close = true;
			if (rc < 0)
				doh_text(dc, 0, -rc, "bad request");
			else if (req.hr_chunked)
				doh_text(dc, 0, 411, "length required");
			else
				doh_text(dc, 0, 413, "payload too large");
			tc->tc_rlen = 0;
			return;
		}
		used = (size_t)rc + (size_t)(req.hr_clen > 0 ? req.hr_clen : 0);
		if (tc->tc_rlen < used) {
			dc->dc_h1busy = false;
			return;
		}
		dc->dc_h1close = !req.hr_keepalive;
		snprintf(target, sizeof(target), "%s%s%s", req.hr_path,
		    req.hr_query[0] != '\0' ? "?" : "", req.hr_query);
		memset(&dr, 0, sizeof(dr));
		dr.dr_host = req.hr_host;
		if (dc->dc_df->df_keepheaders)
			h1_headers(dc, (const char *)tc->tc_rbuf, (size_t)rc,
			    &dr);
		doh_request(dc, 0, req.hr_method, target,
		    tc->tc_rbuf + rc, used - (size_t)rc, false, req.hr_xff,
		    &dr);
		memmove(tc->tc_rbuf, tc->tc_rbuf + used, tc->tc_rlen - used);
		tc->tc_rlen -= used;
	}
}

void
doh_parse(struct tcp_worker *tw, struct tcp_client *tc)
{
	struct doh_conn	*dc = tc->tc_doh;
	size_t		 n;
	ssize_t		 rc;

	dc->dc_tw = tw;
	if (tc->tc_rlen == 0)
		return;
	if (dc->dc_version == 0) {
		n = tc->tc_rlen < DOH_H2_PREFACELEN ? tc->tc_rlen :
		    DOH_H2_PREFACELEN;
		if (memcmp(tc->tc_rbuf, DOH_H2_PREFACE, n) != 0)
			dc->dc_version = 1;
		else if (n < DOH_H2_PREFACELEN)
			return;
		else if (!h2_start(dc)) {
			tc->tc_dead = true;
			return;
		} else
			dc->dc_version = 2;
	}
	if (dc->dc_version == 1) {
		if (tc->tc_rlen >= DOH_H1_MAX) {
			dc->dc_h1close = dc->dc_h1busy = true;
			doh_text(dc, 0, 431, "request too large");
			tc->tc_rlen = 0;
		}
		h1_parse(dc);
		return;
	}
	rc = nghttp2_session_mem_recv(dc->dc_h2, tc->tc_rbuf, tc->tc_rlen);
	tc->tc_rlen = 0;
	if (rc < 0) {
		log_debug("doh_parse: %s", nghttp2_strerror((int)rc));
		if (rc == NGHTTP2_ERR_FLOODED)
			doh_flood(dc);
		tc->tc_dead = true;
		return;
	}
	doh_flush(tc);
}

bool
doh_conn_new(struct tcp_client *tc, struct doh_frontend *df)
{
	struct doh_conn	*dc;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return false;
	dc->dc_df = df;
	dc->dc_tc = tc;
	LIST_INIT(&dc->dc_streams);
	dc->dc_tw = tc->tc_tw;
	tc->tc_doh = dc;
	atomic_fetch_add_explicit(&df->df_stats.ds_connects, 1,
	    memory_order_relaxed);
	return true;
}

void
doh_conn_free(struct tcp_client *tc)
{
	struct doh_conn	*dc = tc->tc_doh;

	if (dc == NULL)
		return;
	/* nghttp2 frees its streams without a word: ours go here. */
	nghttp2_session_del(dc->dc_h2);
	while (!LIST_EMPTY(&dc->dc_streams))
		stream_free(dc, LIST_FIRST(&dc->dc_streams));
	free(dc->dc_head);
	free(dc);
	tc->tc_doh = NULL;
}
