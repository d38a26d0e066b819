/*
 * Global settings made by the configuration and the console, with
 * dnsdist's defaults.  The daemon reads them; set* functions in Lua write
 * them under the configuration lock.
 */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmask.h"

struct dnscrypt_ctx;

#define DNSDIST_VERSION	"0.1.0"

struct doh_frontend;
/*
 * addTLSLocal(): what a DNS over TLS frontend is made of.  The daemon
 * loads the files; the Lua bindings only record them.
 */
#define TLS_MAXKEYS	4	/* ticket keys libtls keeps */
#define TLS_MAXLIFE	86400	/* the longest session lifetime */
struct tls_local {
	char			**tl_certs;	/* a pair per SNI name; */
	char			**tl_keys;	/* ... vectors end in NULL */
	char			**tl_ocsp;	/* NULL, or one per pair */
	/*
	 * NULL, or one per pair (NULL: none), from newTLSCertificate():
	 * a key "" means the key is in the certificate's file (PKCS#12,
	 * or PEM holding both); the password opens it.
	 */
	char			**tl_pass;
	size_t			  tl_npairs;
	char			 *tl_provider;	/* "openssl" or "gnutls" */
	char			 *tl_ciphers;	/* NULL: libtls' default */
	int			  tl_minver;	/* minTLSVersion: 10 .. 13 */
	bool			  tl_tickets;
	int			  tl_nkeys;	/* 1 .. TLS_MAXKEYS */
	char			 *tl_keyfile;	/* ticketKeyFile */
	int			  tl_rotation;	/* seconds; 0: never */
	/* Through OpenSSL only (TLS=openssl): */
	char			 *tl_ciphers13;	/* ciphersTLS13; NULL: default */
	char			 *tl_keylog;	/* keyLogFile; NULL: none */
	int			  tl_nsessions;	/* numberOfStoredSessions */
	int			  tl_timeout;	/* sessionTimeout; 0: rotation */
};

struct local {
	struct sockaddr_storage	 lc_addr;
	socklen_t		 lc_addrlen;
	char			 lc_text[64];
	bool			 lc_reuseport;
	bool			 lc_udp;
	bool			 lc_tcp;
	int			 lc_tcpfastopen;
	int			 lc_tcplistenqueue;
	int			 lc_maxtcpconns;	/* 0: no limit of its own */
	int			 lc_maxinflight;	/* a TCP client's; 0: ours */
	struct dnscrypt_ctx	*lc_dnscrypt;	/* addDNSCryptBind; owned */
	struct doh_frontend	*lc_doh;	/* addDOHLocal(); owned */
	struct tls_local	*lc_tls;	/* DNS over TLS (TCP only) */
	bool			 lc_ppoff;	/* enableProxyProtocol=false */
	bool			 lc_ppoutside;	/* proxyProtocolOutsideTLS */
	char			 lc_ifname[16];	/* interface; "" for none */
	bool			 lc_pinned;	/* cpus given: lc_cpus holds them */
	uint64_t		 lc_cpus[1024 / 64];	/* for its UDP loop */
	/* bind.muted: no UDP answers.  Main thread writes, loops read. */
	_Atomic bool		 lc_muted;
};

/* carbonServer(): where and how statistics are sent. */
struct carbon_dest {
	struct sockaddr_storage	 cd_addr;
	socklen_t		 cd_addrlen;
	char			*cd_ourname;	/* NULL: the host name */
	char			*cd_namespace;
	char			*cd_instance;
	int			 cd_interval;	/* seconds */
};

/* A header of the web server's answers, set by customHeaders. */
struct web_header {
	char			*wh_name;
	char			*wh_value;	/* "": not sent */
};

/* A path that registerWebHandler() gave to Lua. */
struct web_luapath {
	char			*wl_path;
	bool			 wl_auth;	/* the password is needed */
};

struct settings {
	struct local		*st_locals;
	size_t			 st_nlocals;
	bool			 st_locals_from_config;
	struct netmask_group	 st_acl;
	/* The PROXY protocol: who must send a header, and how long. */
	struct netmask_group	 st_ppacl;
	bool			 st_ppapplyacl;	/* ACL on the proxied source */
	size_t			 st_ppmaxsize;
	int			 st_maxudpoutstanding;
	int			 st_udptimeout;		/* seconds */
	int			 st_failoverms;	/* silence that means death */
	int			 st_tcprecvtimeout;
	int			 st_tcpsendtimeout;
	int			 st_maxtcpclientthreads;
	int			 st_maxtcpconnperclient;	/* 0: no limit */
	int			 st_maxtcpqueriesperconn;	/* 0: no limit */
	int			 st_maxtcpconnduration;		/* 0: no limit */
	int			 st_maxtcpqueuedconns;
	int			 st_maxtcpqueuedbytes;	/* for all clients */
	bool			 st_servfailwhennoserver;
	bool			 st_truncatetc;		/* truncateTC() */
	bool			 st_dropemptyqueries;	/* else NOTIMP */
	bool			 st_randomids;	/* to the backends over UDP */
	bool			 st_randomsockets;	/* not in turn */
	bool			 st_verbose;
	bool			 st_running;	/* the configuration has run */
	uint64_t		 st_capretain;	/* Linux capabilities kept */
	bool			 st_configcheck;	/* --check-config */
	bool			 st_clientmode;		/* -c, -e */
	bool			 st_fixupcase;	/* the query's case back */
	bool			 st_querycount;	/* setQueryCount() */
	/* Idle TCP connections to each backend, per worker; seconds. */
	int			 st_tcpcachedperds;
	int			 st_tcpdsmaxidle;
	int			 st_tcpdscleanup;
	/* ... and DNS over HTTPS ones (dohPath). */
	int			 st_dohcachedperds;
	int			 st_dohdsmaxidle;
	int			 st_dohdscleanup;
	/* TLS sessions kept to resume, per backend; seconds. */
	int			 st_tlssessmax;
	int			 st_tlssessvalid;
	int			 st_tlssesscleanup;
	/* TCP workers that take UDP queries for DoH backends. */
	int			 st_dohworkers;
	size_t			 st_ringsize;
	int			 st_udprcvbuf;	/* listeners, bytes */
	uint8_t			 st_tfokey[16];	/* setTCPFastOpenKey */
	bool			 st_tfokeyset;
	int			 st_udpsndbuf;
	/* The remote console: controlSocket(), setKey(), its ACL. */
	struct sockaddr_storage	 st_ctladdr;
	socklen_t		 st_ctladdrlen;		/* 0: none */
	uint8_t			 st_consolekey[32];
	bool			 st_consolekeyset;
	bool			 st_consolekeycmdline;	/* -k: beats the file */
	struct netmask_group	 st_consoleacl;
	bool			 st_consolelog;		/* log connections */
	int			 st_consolemaxconns;	/* 0: no limit */
	int			 st_consolemaxmsg;	/* bytes per message */
	/* packet caches and dynamic blocks */
	uint32_t		 st_staleentriesttl;	/* seconds */
	int			 st_cachecleaningdelay;	/* seconds */
	int			 st_cachecleaningpct;	/* 0-100 */
	int			 st_dynblockpurge;	/* seconds, 0: never */
	/* EDNS Client Subnet */
	int			 st_ecsv4;		/* source prefix bits */
	int			 st_ecsv6;
	bool			 st_ecsoverride;
	/* The web server: webserver(), setWebserverConfig(). */
	struct sockaddr_storage	 st_webaddr;
	socklen_t		 st_webaddrlen;		/* 0: none */
	char			*st_webpassword;	/* plain or hashed */
	char			*st_webapikey;
	struct netmask_group	 st_webacl;
	struct web_header	*st_webheaders;
	size_t			 st_nwebheaders;
	bool			 st_webstatsauth;	/* /metrics, /jsonstat */
	bool			 st_webapiauth;		/* /api */
	bool			 st_webdashauth;	/* the dashboard */
	bool			 st_apiwritable;	/* setAPIWritable() */
	char			*st_apiconfdir;		/* NULL: not saved */
	struct web_luapath	*st_weblua;	/* functions in the Lua state */
	size_t			 st_nweblua;
	bool			 st_webhashplain;	/* hash plain texts */
	int			 st_webmaxconns;
	/* carbonServer() */
	struct carbon_dest	*st_carbon;
	size_t			 st_ncarbon;
};

extern struct settings settings;
/*
 * Read by any thread, outside the snapshots: the syslog facility of every
 * message (setSyslogFacility, LOG_DAEMON) and whether failed health
 * checks are logged without -v (setVerboseHealthChecks).
 */
extern _Atomic int	settings_syslogfacility;
extern _Atomic bool	settings_verbosehealthchecks;
/* requestDoHStatesDump(): each request, once, by every TCP worker. */
extern _Atomic unsigned	settings_dohdump;
/* TLS sessions to backends held to resume, all servers (tls_ossl.c). */
extern _Atomic long	settings_tlssessions;

/* Defaults: no locals, dnsdist's ACL, tunables as dnsdist 1.7. */
int	settings_init(void);
/* Free what st holds (a copy of settings, taken aside by a reload). */
void	settings_free(struct settings *st);
/* Parse and add a listener ("127.0.0.1:5300", defport by default). */
struct local *settings_add_local(const char *text, uint16_t defport,
	    bool reuseport, int tcpfastopen);
/*
 * setLocal(), -l: the plain listeners go; addTLSLocal's, DoH and
 * DNSCrypt binds stay, as in dnsdist.
 */
void	settings_clear_locals(void);
/* Where a listener binds and runs (interface, cpus), from one to another. */
void	settings_local_place(struct local *to, const struct local *from);
void	settings_free_locals(struct local *, size_t);
void	tls_local_free(struct tls_local *);
bool	tls_local_same(const struct tls_local *, const struct tls_local *);
/*
 * The frontends as showBinds() and getBind() number them: a listener's
 * UDP socket then its TCP one; TLS listeners have only the TCP one.
 * The listener of bind n and whether it is the TCP socket, or -1.
 */
size_t	settings_nbinds(void);
int	settings_bind(size_t n, size_t *local, bool *tcp);
/* dnsdist's default ACL: loopback and the private ranges. */
int	settings_default_acl(struct netmask_group *);
/* The console's default ACL: 127.0.0.0/8 and ::1/128. */
int	settings_default_console_acl(struct netmask_group *);
/*
 * Replace the console key with base64 text (setKey(), -k); the old key is
 * wiped.  0, or -1 when the text is not the base64 of 32 bytes, and the
 * old key stays.
 */
int	settings_set_console_key(const char *text);
/* Replace a web credential (*dst is wiped and freed).  0 or -1. */
int	settings_set_secret(char **dst, const char *text);
/* Set a header of the web server's answers ("" to drop it).  0 or -1. */
int	settings_set_web_header(const char *name, const char *value);
/* Note a path of registerWebHandler() (again: its flag).  0 or -1. */
int	settings_add_web_lua(const char *path, bool auth);
/* Forget the customHeaders set so far. */
void	settings_clear_web_headers(void);
/* An array of n header fields, and their names and values. */
void	web_headers_free(struct web_header *, size_t n);
/* Add a carbon destination; copies the strings.  0 or -1. */
int	settings_add_carbon(const struct sockaddr_storage *, socklen_t,
	    const char *ourname, int interval, const char *ns,
	    const char *instance);

#endif /* SETTINGS_H */
