/*
 * Built without TLS (make TLS=no): addTLSLocal() and the other names are
 * refused by lib/lua/lua_absent.c, so no listener ever asks for these.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "dnsdist.h"
#include "tcp.h"

void
tls_front_init(struct listener *li)
{
	fatalx("%s: DNS over TLS is not built in", li->li_local->lc_text);
}

void
tls_start(void)
{
}

void
tls_front_counters(const struct listener *li, uint64_t *out)
{
	(void)li;
	memset(out, 0, TLSC_COUNT * sizeof(*out));
}

int
tls_client_start(struct tcp_client *tc)
{
	(void)tc;
	return -1;
}

void
tls_stop(void)
{
}

struct tls *
tls_backend_start(struct server *ds, int fd, bool sessions)
{
	(void)ds;
	(void)fd;
	(void)sessions;
	return NULL;
}

ssize_t
tls_backend_io(struct tls *ctx, void *buf, size_t len, bool wr, short *want)
{
	(void)ctx;
	(void)buf;
	(void)len;
	(void)wr;
	*want = 0;
	return -1;
}

int
tls_backend_handshake(struct tls *ctx, short *want)
{
	(void)ctx;
	*want = 0;
	errno = EIO;
	return -1;
}

void
tls_backend_close(struct tls *ctx)
{
	(void)ctx;
}
