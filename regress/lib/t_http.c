/*
 * http and credentials: request heads (well-formed, hostile, oversized),
 * query parameters, Basic credentials, password hashes.
 */
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
	ATF_CHECK_EQ(http_query_param("command=%00", "command", out,
	    sizeof(out)), -1);
	ATF_CHECK_EQ(http_query_param("command=%4", "command", out,
	    sizeof(out)), -1);
	ATF_CHECK_EQ(http_query_param("command=0123456789abcdef", "command",
	    out, sizeof(out)), -1);
	ATF_CHECK_EQ(http_query_param("", "command", out, sizeof(out)), -1);
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

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, request);
	ATF_TP_ADD_TC(tp, hostile);
	ATF_TP_ADD_TC(tp, query);
	ATF_TP_ADD_TC(tp, basic);
	ATF_TP_ADD_TC(tp, credentials);
	return atf_no_error();
}
