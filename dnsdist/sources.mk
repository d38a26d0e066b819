# Sources of the daemon, shared by Makefile (GNU make) and Makefile.bsd.
DNSDIST_SRCS = \
	dnsdist/main.c \
	dnsdist/log.c \
	dnsdist/loop.c \
	dnsdist/frontend.c \
	dnsdist/pipeline.c \
	dnsdist/async.c \
	dnsdist/backend.c \
	dnsdist/health.c \
	dnsdist/tcp.c \
	dnsdist/tcp_client.c \
	dnsdist/tcp_backend.c \
	dnsdist/tcp_xfr.c \
	dnsdist/doh.c \
	dnsdist/doh_client.c \
	dnsdist/maint.c \
	dnsdist/discovery.c \
	dnsdist/sysstats.c \
	dnsdist/reload.c \
	dnsdist/console.c \
	dnsdist/control.c \
	dnsdist/web.c \
	dnsdist/dashboard.c \
	dnsdist/carbon.c \
	dnsdist/remotelog.c \
	dnsdist/client.c
# DNS over TLS: the frontends' bookkeeping, and under it OpenSSL's libssl
# (TLS=openssl) or libtls (TLS=libtls); or the stubs of a build without
# it (TLS=no).
DNSDIST_TLS_SRCS = dnsdist/tls.c
DNSDIST_OSSL_SRCS = dnsdist/tls_ossl.c
DNSDIST_LIBTLS_SRCS = dnsdist/tls_libtls.c
DNSDIST_NOTLS_SRCS = dnsdist/tls_none.c
