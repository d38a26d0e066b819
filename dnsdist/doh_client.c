/*
 * DNS over HTTPS to backends (newServer's dohPath): an nghttp2 client
 * session over a connection that its owner reads and writes (a TCP
 * worker's backend connection, or a health check).  Each query is a POST
 * of application/dns-message on its own stream, named by a tag of the
 * owner's; its answer, or what became of it, comes back by the done
 * callback.  Nothing here touches a socket.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "addr.h"
#include "dnsdist.h"

#define DOHC_BODYMAX	65535	/* a DNS message */

struct dohc_stream {
	LIST_ENTRY(dohc_stream)	 ds_entry;
	uint16_t	 ds_tag;
	size_t		 ds_off;	/* of the query sent */
	int		 ds_status;	/* HTTP; 0 until the headers */
	uint8_t		*ds_body;	/* the answer */
	size_t		 ds_len;
	size_t		 ds_cap;
	bool		 ds_toolarge;
};

struct dohc {
	nghttp2_session		*dh_h2;
	void			*dh_arg;
	dohc_body_fn		 dh_body;
	dohc_done_fn		 dh_done;
	LIST_HEAD(, dohc_stream) dh_streams;	/* open */
	uint32_t		 dh_nstreams;
};

static void
dohc_stream_free(struct dohc *dh, struct dohc_stream *st)
{
	LIST_REMOVE(st, ds_entry);
	dh->dh_nstreams--;
	free(st->ds_body);
	free(st);
}

static ssize_t
dohc_read_body(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct dohc		*dh = arg;
	struct dohc_stream	*st = src->ptr;
	const uint8_t		*body;
	size_t			 blen, n;

	(void)h2;
	(void)id;
	/* Its query is gone (the owner failed it): the stream goes too. */
	if ((body = dh->dh_body(dh->dh_arg, st->ds_tag, &blen)) == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	n = blen - st->ds_off < len ? blen - st->ds_off : len;
	memcpy(buf, body + st->ds_off, n);
	st->ds_off += n;
	if (st->ds_off == blen)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int
dohc_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
    void *arg)
{
	struct dohc_stream	*st;
	char			 num[4];

	(void)flags;
	(void)arg;
	if (f->hd.type != NGHTTP2_HEADERS || namelen != 7 ||
	    memcmp(name, ":status", 7) != 0 || valuelen != 3 ||
	    (st = nghttp2_session_get_stream_user_data(h2,
	    f->hd.stream_id)) == NULL)
		return 0;
	memcpy(num, value, 3);
	num[3] = '\0';
	st->ds_status = atoi(num);
	return 0;
}

static int
dohc_data(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *arg)
{
	struct dohc_stream	*st;
	uint8_t			*nb;
	size_t			 cap;

	(void)flags;
	(void)arg;
	if ((st = nghttp2_session_get_stream_user_data(h2, id)) == NULL ||
	    st->ds_toolarge)
		return 0;
	if (st->ds_len + len > DOHC_BODYMAX) {
		st->ds_toolarge = true;
		nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, id,
		    NGHTTP2_CANCEL);
		return 0;
	}
	if (st->ds_len + len > st->ds_cap) {
		cap = st->ds_len + len < 512 ? 512 : st->ds_len + len;
		if ((nb = realloc(st->ds_body, cap)) == NULL)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		st->ds_body = nb;
		st->ds_cap = cap;
	}
	memcpy(st->ds_body + st->ds_len, data, len);
	st->ds_len += len;
	return 0;
}

static int
dohc_close(nghttp2_session *h2, int32_t id, uint32_t err, void *arg)
{
	struct dohc		*dh = arg;
	struct dohc_stream	*st;
	int			 status;

	if ((st = nghttp2_session_get_stream_user_data(h2, id)) == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(h2, id, NULL);
	if (err == NGHTTP2_REFUSED_STREAM)
		status = DOHC_REFUSED;
	else if (err != NGHTTP2_NO_ERROR || st->ds_toolarge)
		status = DOHC_FAILED;
	else
		status = st->ds_status;
	dh->dh_done(dh->dh_arg, st->ds_tag, status, st->ds_body, st->ds_len);
	dohc_stream_free(dh, st);
	return 0;
}

struct dohc *
dohc_new(void *arg, dohc_body_fn body, dohc_done_fn done)
{
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 set[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 },
	};
	struct dohc			*dh;
	int				 rc;

	if ((dh = calloc(1, sizeof(*dh))) == NULL)
		return NULL;
	dh->dh_arg = arg;
	dh->dh_body = body;
	dh->dh_done = done;
	LIST_INIT(&dh->dh_streams);
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		free(dh);
		return NULL;
	}
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		free(dh);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, dohc_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    dohc_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    dohc_close);
	/* A server that floods us with SETTINGS or PINGs is cut off. */
	nghttp2_option_set_max_outbound_ack(opt, 100);
	nghttp2_option_set_max_settings(opt, 32);
	rc = nghttp2_session_client_new2(&dh->dh_h2, cb, dh, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (rc != 0 || nghttp2_submit_settings(dh->dh_h2, NGHTTP2_FLAG_NONE,
	    set, sizeof(set) / sizeof(set[0])) != 0) {
		dohc_free(dh);
		return NULL;
	}
	return dh;
}

void
dohc_free(struct dohc *dh)
{
	if (dh == NULL)
		return;
	/* Streams still open go without a word: their owner is going. */
	if (dh->dh_h2 != NULL)
		nghttp2_session_del(dh->dh_h2);
	while (!LIST_EMPTY(&dh->dh_streams))
		dohc_stream_free(dh, LIST_FIRST(&dh->dh_streams));
	free(dh);
}

#define NV(n, v, vl)	{ (uint8_t *)(n), (uint8_t *)(uintptr_t)(v), \
	sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE }

/*
 * A POST of len bytes (the body callback gives them) to ds's dohPath;
 * client (NULL: none, a health check) and its protocol go in
 * X-Forwarded-* with addXForwardedHeaders.
 */
int
dohc_submit(struct dohc *dh, uint16_t tag, const struct server *ds,
    size_t len, const struct sockaddr *client, const char *proto)
{
	struct dohc_stream	*st;
	nghttp2_data_provider	 prd;
	nghttp2_nv		 nv[11];
	char			 clen[16], host[INET6_ADDRSTRLEN], port[8];
	const char		*auth;
	size_t			 n = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	st->ds_tag = tag;
	auth = ds->ds_tlsname != NULL ? ds->ds_tlsname : ds->ds_addrtext;
	snprintf(clen, sizeof(clen), "%zu", len);
	nv[n++] = (nghttp2_nv)NV(":method", "POST", 4);
	nv[n++] = (nghttp2_nv)NV(":scheme", "https", 5);
	nv[n++] = (nghttp2_nv)NV(":authority", auth, strlen(auth));
	nv[n++] = (nghttp2_nv)NV(":path", ds->ds_dohpath,
	    strlen(ds->ds_dohpath));
	nv[n++] = (nghttp2_nv)NV("accept", "application/dns-message", 23);
	nv[n++] = (nghttp2_nv)NV("content-type", "application/dns-message",
	    23);
	nv[n++] = (nghttp2_nv)NV("user-agent", "dnsdist", 7);
	nv[n++] = (nghttp2_nv)NV("content-length", clen, strlen(clen));
	if (ds->ds_dohxff && client != NULL &&
	    addr_host_to_text(client, host, sizeof(host)) != NULL) {
		snprintf(port, sizeof(port), "%u", addr_port(client));
		nv[n++] = (nghttp2_nv)NV("x-forwarded-for", host, strlen(host));
		nv[n++] = (nghttp2_nv)NV("x-forwarded-port", port,
		    strlen(port));
		nv[n++] = (nghttp2_nv)NV("x-forwarded-proto", proto,
		    strlen(proto));
	}
	prd.source.ptr = st;
	prd.read_callback = dohc_read_body;
	if (nghttp2_submit_request(dh->dh_h2, NULL, nv, n, &prd, st) < 0) {
		free(st);
		return -1;
	}
	LIST_INSERT_HEAD(&dh->dh_streams, st, ds_entry);
	dh->dh_nstreams++;
	return 0;
}

/* The next bytes to send: 0 when there are none, -1 when it failed. */
ssize_t
dohc_output(struct dohc *dh, const uint8_t **data)
{
	ssize_t	n;

	if ((n = nghttp2_session_mem_send(dh->dh_h2, data)) < 0)
		return -1;
	return n;
}

/* Bytes the server sent; -1: the session is over, with its streams. */
int
dohc_input(struct dohc *dh, const uint8_t *buf, size_t len)
{
	return nghttp2_session_mem_recv(dh->dh_h2, buf, len) == (ssize_t)len ?
	    0 : -1;
}

/* May another query go on this session (SETTINGS, GOAWAY)? */
bool
dohc_room(struct dohc *dh)
{
	return nghttp2_session_check_request_allowed(dh->dh_h2) != 0 &&
	    dh->dh_nstreams < nghttp2_session_get_remote_settings(dh->dh_h2,
	    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

/* Is the session still going (no GOAWAY done with, no fatal error)? */
bool
dohc_alive(struct dohc *dh)
{
	return nghttp2_session_want_read(dh->dh_h2) ||
	    nghttp2_session_want_write(dh->dh_h2);
}
