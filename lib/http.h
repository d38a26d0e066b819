/*
 * The small part of HTTP/1.1 (RFC 9110, 9112) that the web server needs:
 * one request head parsed from a bounded buffer, query parameters, Basic
 * credentials and the status line of a response.  No sockets here.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "sbuf.h"

#define HTTP_HEADMAX	8192		/* request line and headers */
#define HTTP_PATHMAX	1024
#define HTTP_FIELDMAX	512		/* X-API-Key, Authorization */

struct http_request {
	char	hr_method[16];
	char	hr_path[HTTP_PATHMAX];		/* without the query */
	char	hr_query[HTTP_PATHMAX];		/* after '?', raw */
	int	hr_minor;			/* HTTP/1.hr_minor */
	bool	hr_keepalive;
	bool	hr_body;		/* Content-Length > 0 or chunked */
	bool	hr_apikey_set;
	char	hr_apikey[HTTP_FIELDMAX];
	bool	hr_auth_set;
	char	hr_auth[HTTP_FIELDMAX];
	/* for DNS over HTTPS */
	long long hr_clen;			/* Content-Length, -1: none */
	bool	hr_chunked;
	char	hr_ctype[64];			/* Content-Type */
	char	hr_host[256];
	char	hr_xff[HTTP_FIELDMAX];		/* X-Forwarded-For */
};

/*
 * Parse the request head at the start of buf (len bytes).  Returns the
 * length of the head (through the empty line) with req filled in; 0 when
 * more bytes are needed; or minus a status code: -400 malformed, -431 a
 * field or the head too large (also when len reaches HTTP_HEADMAX without
 * an end), -505 not HTTP/1.x.
 */
int	http_parse_request(const char *buf, size_t len,
	    struct http_request *req);
/*
 * The value of parameter name in a query string ("a=1&command=stats"),
 * percent-decoded into out.  0, or -1 with errno ENOENT when absent, or
 * EINVAL when too long, malformed or when it decodes to a NUL byte.
 */
int	http_query_param(const char *query, const char *name, char *out,
	    size_t outsz);
/*
 * Percent-decode len bytes of s ('+' as a space) into out with a NUL.
 * The decoded length, or -1 when it does not fit, is malformed or holds
 * a NUL byte.
 */
int	http_decode(const char *s, size_t len, char *out, size_t outsz);
/*
 * The password of "Basic <base64 of user:password>" (the user is
 * ignored) into out.  0, or -1 when it is not Basic or not valid.
 */
int	http_basic_password(const char *auth, char *out, size_t outsz);
/* "OK", "Not Found", ...: the reason phrase of a status code. */
const char *http_reason(int status);
/* The status line and the headers every answer has. */
void	http_response_head(struct sbuf *, int status, const char *ctype,
	    size_t clen, bool keepalive);

#endif /* HTTP_H */
