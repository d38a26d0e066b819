/*
 * http and credentials: request heads (well-formed, hostile, oversized),
 * query parameters, Basic credentials, password hashes, what verified
 * and failures per client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <sodium.h>

#include "credentials.h"
#include "http.h"

#include "lsan.h"

static int
parse(const char *text, struct http_request *req)
{
	return http_parse_request(text, strlen(text), req);
}

ATF_TC_WITHOUT_HEAD(request);
ATF_TC_BODY(request, tc)
{
	struct http_request	req;
	const char		*get = "GET /jsonstat?command=stats HTTP/1.1\r\n"
				    "Host: x\r\nX-API-Key:  k e y \r\n"
				    "authorization: Basic eDpzZWNyZXQ=\r\n\r\nNEXT";

	ATF_CHECK_EQ(parse(get, &req), (int)strlen(get) - 4);
	ATF_CHECK_STREQ(req.hr_method, "GET");
	ATF_CHECK_STREQ(req.hr_path, "/jsonstat");
	ATF_CHECK_STREQ(req.hr_query, "command=stats");
	ATF_CHECK_EQ(req.hr_minor, 1);
	ATF_CHECK(req.hr_keepalive);
	ATF_CHECK(!req.hr_body);
	ATF_CHECK(req.hr_apikey_set);
	ATF_CHECK_STREQ(req.hr_apikey, "k e y");
	ATF_CHECK_STREQ(req.hr_auth, "Basic eDpzZWNyZXQ=");
	/* Incomplete heads wait for more. */
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n", &req), 0);
	ATF_CHECK_EQ(parse("GET / HT", &req), 0);
	/* Bare LF, keep-alive rules of 1.0 and 1.1, bodies. */
	ATF_CHECK_EQ(parse("GET / HTTP/1.0\n\n", &req), 16);
	ATF_CHECK(!req.hr_keepalive);
	ATF_CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    &req) > 0);
	ATF_CHECK(req.hr_keepalive);
	ATF_CHECK(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n",
	    &req) > 0);
	ATF_CHECK(!req.hr_keepalive);
	ATF_CHECK(parse("PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
	    &req) > 0);
	ATF_CHECK(req.hr_body);
	ATF_CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    &req) > 0);
	ATF_CHECK(req.hr_body);
}

ATF_TC_WITHOUT_HEAD(hostile);
ATF_TC_BODY(hostile, tc)
{
	struct http_request	 req;
	char			*big;

	ATF_CHECK_EQ(parse("GET /\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET  / HTTP/1.1\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET x HTTP/1.1\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/2.0\r\n\r\n", &req), -505);
	ATF_CHECK_EQ(parse("GET / FOO/1.1\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("G(T / HTTP/1.1\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET /\x01 HTTP/1.1\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nA b: c\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
	    &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    &req), -400);
	ATF_CHECK_EQ(parse("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    &req), -400);
	/* Too large: a field, the path, the whole head. */
	big = malloc(HTTP_HEADMAX + 64);
	ATF_REQUIRE(big != NULL);
	strcpy(big, "GET / HTTP/1.1\r\nX-API-Key: ");
	memset(big + strlen(big), 'k', HTTP_FIELDMAX);
	strcpy(big + 27 + HTTP_FIELDMAX, "\r\n\r\n");
	ATF_CHECK_EQ(parse(big, &req), -431);
	strcpy(big, "GET /");
	memset(big + 5, 'p', HTTP_PATHMAX);
	strcpy(big + 5 + HTTP_PATHMAX, " HTTP/1.1\r\n\r\n");
	ATF_CHECK_EQ(parse(big, &req), -431);
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + 19, 'x', HTTP_HEADMAX + 10);
	ATF_CHECK_EQ(http_parse_request(big, HTTP_HEADMAX + 29, &req), -431);
	ATF_CHECK_EQ(http_parse_request(big, 100, &req), 0);
	free(big);
}

ATF_TC_WITHOUT_HEAD(query);
ATF_TC_BODY(query, tc)
{
	char	out[16];

	ATF_CHECK_EQ(http_query_param("command=stats", "command", out,
	    sizeof(out)), 0);
	ATF_CHECK_STREQ(out, "stats");
	ATF_CHECK_EQ(http_query_param("a=1&command=dyn%62lock+x&b", "command",
	    out, sizeof(out)), 0);
	ATF_CHECK_STREQ(out, "dynblock x");
	ATF_CHECK_EQ(http_query_param("xcommand=1", "command", out,
	    sizeof(out)), -1);
	ATF_CHECK_EQ(errno, ENOENT);
	ATF_CHECK_EQ(http_query_param("command=%00", "command", out,
	    sizeof(out)), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_CHECK_EQ(http_query_param("command=%4", "command", out,
	    sizeof(out)), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_CHECK_EQ(http_query_param("command=0123456789abcdef", "command",
	    out, sizeof(out)), -1);
	ATF_CHECK_EQ(errno, EINVAL);
	ATF_CHECK_EQ(http_query_param("command=", "command", out,
	    sizeof(out)), 0);
	ATF_CHECK_STREQ(out, "");
	ATF_CHECK_EQ(http_query_param("", "command", out, sizeof(out)), -1);
	ATF_CHECK_EQ(errno, ENOENT);
}

ATF_TC_WITHOUT_HEAD(basic);
ATF_TC_BODY(basic, tc)
{
	char	pw[64];

	ATF_CHECK_EQ(http_basic_password("Basic eDpzZWNyZXQ=", pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(pw, "secret");
	/* "user:pa:ss": the password is what follows the first colon. */
	ATF_CHECK_EQ(http_basic_password("basic   dXNlcjpwYTpzcw==", pw,
	    sizeof(pw)), 0);
	ATF_CHECK_STREQ(pw, "pa:ss");
	ATF_CHECK_EQ(http_basic_password("Bearer eDpzZWNyZXQ=", pw,
	    sizeof(pw)), -1);
	ATF_CHECK_EQ(http_basic_password("Basic !!!", pw, sizeof(pw)), -1);
	ATF_CHECK_EQ(http_basic_password("Basic bm9jb2xvbg==", pw,
	    sizeof(pw)), -1);
	ATF_CHECK_EQ(http_basic_password("Basic eDpzZWNyZXQ=", pw, 4), -1);
}

ATF_TC_WITHOUT_HEAD(credentials);
ATF_TC_BODY(credentials, tc)
{
	char	hash[CRED_MAXLEN], other[CRED_MAXLEN];

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE_EQ(cred_hash("secret", CRED_WORKFACTOR, hash,
	    sizeof(hash)), 0);
	ATF_CHECK(strncmp(hash, "$scrypt$ln=10,p=1,r=8$", 22) == 0);
	ATF_CHECK(cred_is_hashed(hash));
	ATF_CHECK(cred_check(hash, "secret"));
	ATF_CHECK(!cred_check(hash, "secreT"));
	ATF_CHECK(!cred_check(hash, ""));
	/* A new salt each time. */
	ATF_REQUIRE_EQ(cred_hash("secret", 16, other, sizeof(other)), 0);
	ATF_CHECK(strcmp(hash, other) != 0);
	ATF_CHECK(cred_check(other, "secret"));
	ATF_CHECK_EQ(cred_hash("secret", 1000, other, sizeof(other)), -1);
	ATF_CHECK_EQ(cred_hash("secret", 65536, other, sizeof(other)), -1);
	ATF_CHECK_EQ(cred_hash("secret", 1024, other, 20), -1);
	/* Plain texts, and hashes that are not quite. */
	ATF_CHECK(cred_check("plain", "plain"));
	ATF_CHECK(!cred_check("plain", "plain2"));
	ATF_CHECK(!cred_check("", ""));
	ATF_CHECK(!cred_is_hashed("$scrypt$ln=10,p=1,r=8$short$short"));
	ATF_CHECK(!cred_is_hashed("$scrypt$ln=20,p=1,r=8$"
	    "AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	ATF_CHECK(cred_is_hashed("$scrypt$ln=10,p=1,r=8$"
	    "AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
}

ATF_TC_WITHOUT_HEAD(memo);
ATF_TC_BODY(memo, tc)
{
	struct cred_memo	memo;
	char			hash[CRED_MAXLEN], other[CRED_MAXLEN];
	size_t			i;

	ATF_REQUIRE(sodium_init() >= 0);
	memset(&memo, 0, sizeof(memo));
	ATF_REQUIRE_EQ(cred_hash("secret", 16, hash, sizeof(hash)), 0);
	ATF_REQUIRE_EQ(cred_hash("secret", 16, other, sizeof(other)), 0);
	/* Unchecked until scrypt may run; a mismatch is not remembered. */
	ATF_CHECK_EQ(cred_verify(&memo, hash, "secret", false),
	    CRED_UNCHECKED);
	ATF_CHECK_EQ(cred_verify(&memo, hash, "wrong", true), CRED_MISMATCH);
	ATF_CHECK_EQ(cred_verify(&memo, hash, "wrong", false),
	    CRED_UNCHECKED);
	ATF_CHECK_EQ(cred_verify(&memo, hash, "secret", true), CRED_MATCH);
	/* Then without scrypt; only a digest is kept, never the text. */
	ATF_CHECK_EQ(cred_verify(&memo, hash, "secret", false), CRED_MATCH);
	ATF_CHECK_EQ(cred_verify(&memo, hash, "secreT", false),
	    CRED_UNCHECKED);
	for (i = 0; i + 6 <= sizeof(memo); i++)
		ATF_CHECK(memcmp((uint8_t *)&memo + i, "secret", 6) != 0);
	/* Another stored credential, even of the same text, forgets it. */
	ATF_CHECK_EQ(cred_verify(&memo, other, "secret", false),
	    CRED_UNCHECKED);
	ATF_CHECK_EQ(cred_verify(&memo, hash, "secret", false),
	    CRED_UNCHECKED);
	/* Plain texts are compared at once; nothing stored matches nothing. */
	ATF_CHECK_EQ(cred_verify(&memo, "plain", "plain", false), CRED_MATCH);
	ATF_CHECK_EQ(cred_verify(&memo, "plain", "plan", false),
	    CRED_MISMATCH);
	ATF_CHECK_EQ(cred_verify(&memo, NULL, "x", true), CRED_MISMATCH);
	ATF_CHECK_EQ(cred_verify(&memo, "", "", true), CRED_MISMATCH);
	cred_memo_clear(&memo);
	ATF_CHECK(!memo.cm_keyed && !memo.cm_matched);
}

static const struct sockaddr *
sin4(struct sockaddr_in *sin, const char *text)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, text, &sin->sin_addr);
	return (const struct sockaddr *)sin;
}

static const struct sockaddr *
sin6(struct sockaddr_in6 *sin, const char *text)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin6_family = AF_INET6;
	inet_pton(AF_INET6, text, &sin->sin6_addr);
	return (const struct sockaddr *)sin;
}

#define SEC	UINT64_C(1000000000)

ATF_TC_WITHOUT_HEAD(limit);
ATF_TC_BODY(limit, tc)
{
	struct cred_limit	*cl;
	struct sockaddr_in	 a, b;
	struct sockaddr_in6	 c, d;
	uint64_t		 t0 = 1000 * SEC;
	char			 text[32];
	int			 i;

	ATF_REQUIRE((cl = calloc(1, sizeof(*cl))) != NULL);
	for (i = 0; i < CRED_LIMIT_FAILS; i++) {
		ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "192.0.2.1"),
		    t0 + (uint64_t)i * SEC), 0);
		cred_limit_fail(cl, sin4(&a, "192.0.2.1"),
		    t0 + (uint64_t)i * SEC);
	}
	/* The window runs from the first failure. */
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "192.0.2.1"), t0 + 10 * SEC),
	    CRED_LIMIT_WINDOW - 10);
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "192.0.2.1"),
	    t0 + CRED_LIMIT_WINDOW * SEC - 1), 1);
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&b, "192.0.2.2"), t0 + 10 * SEC),
	    0);
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "192.0.2.1"),
	    t0 + CRED_LIMIT_WINDOW * SEC), 0);
	/* IPv6 clients count per /64. */
	for (i = 0; i < CRED_LIMIT_FAILS; i++)
		cred_limit_fail(cl, sin6(&c, "2001:db8::1"), t0);
	ATF_CHECK(cred_limit_wait(cl, sin6(&d, "2001:db8::ffff"), t0) > 0);
	ATF_CHECK_EQ(cred_limit_wait(cl, sin6(&d, "2001:db8:0:1::1"), t0), 0);
	/* A full table: the others share one slot. */
	memset(cl, 0, sizeof(*cl));
	for (i = 0; i < CRED_LIMIT_SLOTS; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		cred_limit_fail(cl, sin4(&a, text), t0);
	}
	for (i = 0; i < CRED_LIMIT_FAILS; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", i);
		ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, text), t0), 0);
		cred_limit_fail(cl, sin4(&a, text), t0);
	}
	ATF_CHECK(cred_limit_wait(cl, sin4(&a, "203.0.113.200"), t0) > 0);
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "198.51.100.1"), t0), 0);
	/* Once the table has room, a newcomer has a slot of its own. */
	ATF_CHECK_EQ(cred_limit_wait(cl, sin4(&a, "203.0.113.200"),
	    t0 + CRED_LIMIT_WINDOW * SEC), 0);
	free(cl);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, request);
	ATF_TP_ADD_TC(tp, hostile);
	ATF_TP_ADD_TC(tp, query);
	ATF_TP_ADD_TC(tp, basic);
	ATF_TP_ADD_TC(tp, credentials);
	ATF_TP_ADD_TC(tp, memo);
	ATF_TP_ADD_TC(tp, limit);
	return atf_no_error();
}
