/*
 * DNS over HTTPS (RFC 8484) frontends: what addDOHLocal() sets, the
 * counters the daemon keeps for each, and the pure parts of a request:
 * the path, the dns= parameter, the Cache-Control of an answer.  No
 * sockets here: dnsdist/doh.c speaks HTTP/1.1 and HTTP/2.
 */
#ifndef DOH_H
#define DOH_H

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qsbr.h"
#include "settings.h"

/* Response codes counted apart, as showDOHResponseCodes() lists them. */
enum doh_code { DOH_200, DOH_400, DOH_403, DOH_500, DOH_502, DOH_OTHER,
	DOH_NCODES };

/*
 * Written by TCP workers with relaxed atomics, read by the console and
 * the web server.
 */
struct doh_stats {
	_Atomic uint64_t	ds_connects;	/* HTTP connections */
	_Atomic uint64_t	ds_http1;	/* queries over HTTP/1.x */
	_Atomic uint64_t	ds_http2;
	_Atomic uint64_t	ds_get;
	_Atomic uint64_t	ds_post;
	_Atomic uint64_t	ds_bad;		/* malformed requests */
	_Atomic uint64_t	ds_errors;	/* error responses */
	_Atomic uint64_t	ds_redirects;	/* 3xx responses */
	_Atomic uint64_t	ds_valid;	/* DNS answers sent */
	_Atomic uint64_t	ds_resets;	/* closed for a flood of frames */
	_Atomic uint64_t	ds_codes[2][DOH_NCODES];	/* HTTP/1, /2 */
};

/*
 * newDOHResponseMapEntry(): requests whose path (with its query) matches
 * get this answer without a backend.
 */
struct doh_mapentry {
	char			*me_regex;
	regex_t			 me_re;
	bool			 me_compiled;
	int			 me_status;
	char			*me_content;	/* a 3xx: the Location */
	size_t			 me_len;
	bool			 me_hasheaders;	/* else the frontend's */
	struct web_header	*me_headers;
	size_t			 me_nheaders;
};

/*
 * setResponsesMap(): immutable once published; a new map replaces it
 * and the old one is retired through QSBR.
 */
struct doh_map {
	struct qsbr_node	 dm_q;
	size_t			 dm_n;
	struct doh_mapentry	 dm_e[];
};

/*
 * One addDOHLocal(): made by the configuration, then read-only but for
 * its counters and its responses map; it lives as long as the listener
 * array that points to it (a reload keeps the running one).
 */
struct doh_frontend {
	char			**df_urls;	/* paths served */
	size_t			  df_nurls;
	bool			  df_exactpath;	/* exactPathMatching */
	struct web_header	 *df_headers;	/* customResponseHeaders */
	size_t			  df_nheaders;
	bool			  df_cachecontrol; /* sendCacheControlHeaders */
	bool			  df_trustxff;	/* trustForwardedForHeader */
	int			  df_idletimeout;	/* seconds */
	int			  df_maxinflight;	/* streams per connection */
	bool			  df_keepheaders;	/* keepIncomingHeaders */
	char			 *df_servertokens;
	_Atomic(struct doh_map *) df_map;	/* NULL: none */
	struct doh_stats	  df_stats;
};

/*
 * What the rules and Lua see of a DoH request (HTTPPathRule, dq:
 * getHTTPPath() ...): made by the TCP worker, alive while its query runs
 * the rules; its response's rules see a copy (doh_request_copy()).  The
 * header fields only with keepIncomingHeaders.
 */
#define DOH_MAXREQHEADERS	32
struct doh_request {
	char		 dr_path[1024];		/* without the query */
	const char	*dr_query;		/* from '?', or "" */
	const char	*dr_host;		/* Host, :authority, or "" */
	const char	*dr_scheme;
	size_t		 dr_nheaders;
	struct {
		const char	*h_name;	/* lower case */
		const char	*h_value;
	}		 dr_headers[DOH_MAXREQHEADERS];
};

/*
 * A copy of dr in one allocation, for the response rules of its query
 * (dnsq_tags_save()); the caller frees it.  NULL: no memory.
 */
struct doh_request *doh_request_copy(const struct doh_request *dr);

#define DOH_MSGMAX		65535	/* a DNS message */
#define DOH_HEADERSMAX		16384	/* a request's header fields */
#define DOH_MAXINFLIGHT		100	/* default streams per connection */

/* A frontend with dnsdist's defaults and "/dns-query"; NULL: no memory. */
struct doh_frontend *doh_frontend_new(void);
void	doh_frontend_free(struct doh_frontend *);
/* Add a path served (copied); 0, or -1 when it is not absolute. */
int	doh_frontend_add_url(struct doh_frontend *, const char *);
/*
 * Whether path (len bytes, without the query) is served (1): equal to one
 * of the URLs, or with exactPathMatching=false below one of them; 0 when
 * it is below one but exactPathMatching is set, -1 when below none.
 */
int	doh_path_ok(const struct doh_frontend *, const char *path, size_t len);
/*
 * The DNS message of a query string's dns= parameter (base64url without
 * padding, RFC 8484 4.1) into out; its length, 0 when there is no such
 * parameter, -1 when it does not decode or is larger than outsz.
 */
long	doh_query_param(const char *query, size_t len, uint8_t *out,
	    size_t outsz);
/*
 * The lowest TTL of the answer's records (the OPT record's aside), for
 * Cache-Control: max-age; -1 when it has none or does not parse.
 */
long	doh_min_ttl(const uint8_t *pkt, size_t len);
/*
 * A header field into an array, the name in lower case as HTTP/2 wants
 * it; 0, or -1 when out of memory.
 */
int	doh_header_add(struct web_header **, size_t *, const char *name,
	    const char *value);

/* A map of n entries, all empty; NULL: no memory. */
struct doh_map *doh_map_new(size_t n);
void	doh_map_free(struct doh_map *);
/*
 * Make entry e: 0, or -1 with the reason in err (a bad expression, no
 * memory).  Headers NULL with nh 0 and !hasheaders: the frontend's.
 */
int	doh_map_set(struct doh_mapentry *e, const char *regex, int status,
	    const char *content, size_t len, bool hasheaders,
	    const struct web_header *h, size_t nh, char *err, size_t errsz);
/* The first entry whose expression matches target, or NULL. */
const struct doh_mapentry *doh_map_match(const struct doh_map *,
	    const char *target);
/*
 * Publish m (NULL: no map) as df's map; the old one is freed once no
 * reader can hold it.  Called by the thread that owns the configuration.
 */
void	doh_frontend_set_map(struct doh_frontend *, struct doh_map *);
/* A reload: the map from's configuration made becomes to's. */
void	doh_frontend_move_map(struct doh_frontend *to,
	    struct doh_frontend *from);
/* The published map, for a QSBR reader until its next quiescent point. */
const struct doh_map *doh_frontend_map(struct doh_frontend *);

/* Count a response of HTTP version (1 or 2) with this status. */
void	doh_count_status(struct doh_stats *, int version, int status);

#endif /* DOH_H */
