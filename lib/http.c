/*
 * HTTP/1.1 request heads, query strings and Basic credentials.  The
 * parser reads only within the given length and copies what it keeps
 * into fixed fields, so a request costs no allocation.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http.h"

/* The next line in buf[off..len): its length without CRLF or LF. */
static int
next_line(const char *buf, size_t len, size_t *off, const char **line,
    size_t *linelen)
{
	const char	*nl;

	nl = memchr(buf + *off, '\n', len - *off);
	if (nl == NULL)
		return 0;
	*line = buf + *off;
	*linelen = (size_t)(nl - *line);
	if (*linelen > 0 && (*line)[*linelen - 1] == '\r')
		(*linelen)--;
	*off = (size_t)(nl - buf) + 1;
	return 1;
}

static bool
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Copy a value with its blanks trimmed; -1 when it does not fit. */
static int
copy_value(const char *v, size_t vlen, char *out, size_t outsz)
{
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen >= outsz)
		return -1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 0;
}

/* Whether a comma-separated header value holds token (any case). */
static bool
has_token(const char *v, size_t vlen, const char *token)
{
	size_t	tl = strlen(token), i = 0, start, end;

	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < vlen && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tl && strncasecmp(v + start, token, tl) == 0)
			return true;
	}
	return false;
}

static int
parse_request_line(const char *line, size_t len, struct http_request *req)
{
	const char	*sp1, *sp2, *target, *q;
	size_t		 mlen, tlen;

	if ((sp1 = memchr(line, ' ', len)) == NULL)
		return -400;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(req->hr_method))
		return -400;
	target = sp1 + 1;
	if ((sp2 = memchr(target, ' ', len - (size_t)(target - line))) == NULL)
		return -400;
	tlen = (size_t)(sp2 - target);
	if (tlen == 0 || target[0] != '/')
		return -400;
	if (tlen >= HTTP_PATHMAX)
		return -431;
	if ((size_t)(line + len - (sp2 + 1)) != 8 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? -505 : -400;
	if (!isdigit((unsigned char)sp2[8]))
		return -400;
	memcpy(req->hr_method, line, mlen);
	req->hr_method[mlen] = '\0';
	for (q = line; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return -400;
	for (q = target; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return -400;
	if ((q = memchr(target, '?', tlen)) == NULL)
		q = sp2;
	memcpy(req->hr_path, target, (size_t)(q - target));
	req->hr_path[q - target] = '\0';
	if (q < sp2) {
		memcpy(req->hr_query, q + 1, (size_t)(sp2 - q - 1));
		req->hr_query[sp2 - q - 1] = '\0';
	}
	req->hr_minor = sp2[8] - '0';
	/* HTTP/1.1 keeps the connection by default, 1.0 closes it. */
	req->hr_keepalive = req->hr_minor >= 1;
	return 0;
}

static int
parse_header(const char *line, size_t len, struct http_request *req)
{
	const char	*colon, *v, *p;
	size_t		 nlen, vlen;
	char		*end, num[24];
	long long	 clen;

	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return -400;
	nlen = (size_t)(colon - line);
	for (p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return -400;	/* also a blank before the colon */
	v = colon + 1;
	vlen = len - nlen - 1;
	for (p = v; p < v + vlen; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -400;
	if (nlen == 9 && strncasecmp(line, "X-API-Key", 9) == 0) {
		if (copy_value(v, vlen, req->hr_apikey,
		    sizeof(req->hr_apikey)) == -1)
			return -431;
		req->hr_apikey_set = true;
	} else if (nlen == 13 && strncasecmp(line, "Authorization", 13) == 0) {
		if (copy_value(v, vlen, req->hr_auth,
		    sizeof(req->hr_auth)) == -1)
			return -431;
		req->hr_auth_set = true;
	} else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
		if (has_token(v, vlen, "close"))
			req->hr_keepalive = false;
		else if (has_token(v, vlen, "keep-alive"))
			req->hr_keepalive = true;
	} else if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
		if (copy_value(v, vlen, num, sizeof(num)) == -1 ||
		    !isdigit((unsigned char)num[0]))
			return -400;
		clen = strtoll(num, &end, 10);
		if (*end != '\0' || clen < 0)
			return -400;
		if (clen > 0)
			req->hr_body = true;
		req->hr_clen = clen;
	} else if (nlen == 17 &&
	    strncasecmp(line, "Transfer-Encoding", 17) == 0) {
		req->hr_body = true;
		req->hr_chunked = true;
	} else if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
		if (copy_value(v, vlen, req->hr_ctype,
		    sizeof(req->hr_ctype)) == -1)
			return -400;
	} else if (nlen == 4 && strncasecmp(line, "Host", 4) == 0) {
		if (copy_value(v, vlen, req->hr_host,
		    sizeof(req->hr_host)) == -1)
			return -400;
	} else if (nlen == 15 &&
	    strncasecmp(line, "X-Forwarded-For", 15) == 0) {
		if (copy_value(v, vlen, req->hr_xff,
		    sizeof(req->hr_xff)) == -1)
			return -431;
	}
	return 0;
}

int
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char	*line;
	size_t		 off = 0, linelen;
	int		 rc, first = 1;

	memset(req, 0, sizeof(*req));
	req->hr_clen = -1;
	if (len > HTTP_HEADMAX)
		len = HTTP_HEADMAX;
	for (;;) {
		if (!next_line(buf, len, &off, &line, &linelen))
			return len >= HTTP_HEADMAX ? -431 : 0;
		if (first && linelen == 0)
			continue;	/* RFC 9112 2.2: blank lines first */
		if (linelen == 0)
			return (int)off;
		if (first) {
			if ((rc = parse_request_line(line, linelen, req)) < 0)
				return rc;
			first = 0;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			return -400;	/* obsolete line folding */
		if ((rc = parse_header(line, linelen, req)) < 0)
			return rc;
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_decode(const char *s, size_t len, char *out, size_t outsz)
{
	const char	*end = s + len;
	size_t		 n;
	int		 hi, lo;

	for (n = 0; s < end; s++) {
		if (n + 1 >= outsz)
			return -1;
		if (*s == '+')
			out[n++] = ' ';
		else if (*s == '%') {
			if (end - s < 3 || (hi = hexval(s[1])) < 0 ||
			    (lo = hexval(s[2])) < 0 || (hi == 0 && lo == 0))
				return -1;
			out[n++] = (char)(hi << 4 | lo);
			s += 2;
		} else
			out[n++] = *s;
	}
	if (outsz == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

int
http_query_param(const char *query, const char *name, char *out,
    size_t outsz)
{
	const char	*p = query, *end, *eq;
	size_t		 nlen = strlen(name);

	while (*p != '\0') {
		if ((end = strchr(p, '&')) == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    strncmp(p, name, nlen) == 0) {
			if (http_decode(eq + 1, (size_t)(end - eq - 1), out,
			    outsz) == -1) {
				errno = EINVAL;
				return -1;
			}
			return 0;
		}
		p = *end == '&' ? end + 1 : end;
	}
	errno = ENOENT;
	return -1;
}

int
http_basic_password(const char *auth, char *out, size_t outsz)
{
	unsigned char	 dec[HTTP_FIELDMAX];
	size_t		 declen;
	const char	*b64;
	unsigned char	*colon;

	if (strncasecmp(auth, "Basic", 5) != 0 || (auth[5] != ' ' &&
	    auth[5] != '\t'))
		return -1;
	for (b64 = auth + 5; *b64 == ' ' || *b64 == '\t'; b64++)
		;
	if (sodium_base642bin(dec, sizeof(dec) - 1, b64, strlen(b64), NULL,
	    &declen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	dec[declen] = '\0';
	if ((colon = memchr(dec, ':', declen)) == NULL ||
	    memchr(dec, '\0', declen) != NULL ||
	    declen - (size_t)(colon + 1 - dec) >= outsz) {
		sodium_memzero(dec, sizeof(dec));
		return -1;
	}
	memcpy(out, colon + 1, declen - (size_t)(colon + 1 - dec));
	out[declen - (size_t)(colon + 1 - dec)] = '\0';
	sodium_memzero(dec, sizeof(dec));
	return 0;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 429:
		return "Too Many Requests";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

void
http_response_head(struct sbuf *sb, int status, const char *ctype,
    size_t clen, bool keepalive)
{
	sbuf_printf(sb, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	sbuf_printf(sb, "Content-Type: %s\r\n", ctype);
	sbuf_printf(sb, "Content-Length: %zu\r\n", clen);
	sbuf_printf(sb, "Connection: %s\r\n", keepalive ? "keep-alive" :
	    "close");
}
