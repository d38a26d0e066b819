/*
 * re2ere: RE2 expressions rewritten as POSIX ones match the whole names
 * RE2's FullMatch matches (the expectations are RE2's), and what POSIX
 * cannot say is refused with its name.
 */
#include <regex.h>
#include <stdbool.h>
#include <string.h>

#include <atf-c.h>

#include "re2ere.h"

#include "lsan.h"

static int
full_match(const char *re, const char *s)
{
	char	ere[4096], err[128];
	regex_t	rx;
	int	rc;

	if (re2_to_ere(re, ere, sizeof(ere), err, sizeof(err)) == -1)
		atf_tc_fail("'%s': %s", re, err);
	if ((rc = regcomp(&rx, ere, REG_EXTENDED | REG_NOSUB)) != 0)
		atf_tc_fail("'%s' as '%s' does not compile (%d)", re, ere, rc);
	rc = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return rc;
}

static const struct {
	const char	*re;
	const char	*s;
	int		 match;
} cases[] = {
	/* A full match, not a search. */
	{ "example", "www.example.com", 0 },
	{ ".*example.*", "www.example.com", 1 },
	{ "www\\.example\\.com", "www.example.com", 1 },
	{ "www\\.example\\.com", "wwwxexample.com", 0 },
	{ "a|b", "a", 1 },
	{ "a|b", "ab", 0 },
	{ "ab|cd", "cd", 1 },
	/* Case counts, unless (?i) starts the expression. */
	{ "www\\.example\\.com", "WWW.example.com", 0 },
	{ "(?i)www\\.example\\.com", "WWW.Example.COM", 1 },
	{ "(?is)www\\..*", "WWW.x", 1 },
	{ "(?i)a[`-d]+", "AbD`", 1 },
	{ "(?i)a[`-d]+", "Ae", 0 },
	{ "(?i)[^a-c]+", "xYz", 1 },
	{ "(?i)[^a-c]+", "xBz", 0 },
	{ "(?i)[[:lower:]]+", "aBc", 1 },
	{ "(?i)\\x41", "a", 1 },
	{ "[[:lower:]]+", "aBc", 0 },
	/* Classes. */
	{ "\\d+\\.example", "123.example", 1 },
	{ "\\d+\\.example", "12a.example", 0 },
	{ "\\D+", "abc", 1 },
	{ "\\D+", "a1c", 0 },
	{ "\\w+", "a_Z9", 1 },
	{ "\\w+", "a-b", 0 },
	{ "\\W", "-", 1 },
	{ "a\\sb", "a b", 1 },
	{ "a\\Sb", "a b", 0 },
	{ "[\\d.]+", "1.2.3", 1 },
	{ "[\\w-]+\\.com", "my-site.com", 1 },
	{ "[a-c]+", "abcab", 1 },
	{ "[^a-c]+", "xyz", 1 },
	{ "[^a-c]+", "xaz", 0 },
	{ "[[:digit:]]{3}", "123", 1 },
	{ "[[:word:]]+", "a_1", 1 },
	{ "[[:word:]]+", "a-1", 0 },
	{ "[]a]+", "]a]", 1 },
	{ "[a\\]]+", "]a", 1 },
	{ "[a-]+", "a-a", 1 },
	{ "[\\^x]+", "^x", 1 },
	{ "[\\^]", "^", 1 },
	{ "[-\\^]+", "-^", 1 },
	{ "[\\x41-\\x43]+", "ABC", 1 },
	{ "[\\x41-\\x43]+", "ABD", 0 },
	/* Escapes of characters. */
	{ "\\x61\\x{62}c", "abc", 1 },
	{ "a\\-b", "a-b", 1 },
	{ "\\(x\\)", "(x)", 1 },
	{ "a\\*", "a*", 1 },
	{ "\\052", "*", 1 },
	/* Groups, named and not, and repetition. */
	{ "(?:ab)+", "ababab", 1 },
	{ "(?P<l>[a-z]+)\\.com", "abc.com", 1 },
	{ "(?<l>[a-z]+)\\.com", "abc.com", 1 },
	{ "(ab){2}", "abab", 1 },
	{ "(ab){2}", "ababab", 0 },
	{ "a{2,3}", "aaa", 1 },
	{ "a{2,3}", "aaaa", 0 },
	{ "a{2,}", "aaaaa", 1 },
	{ "a{1000}", "a", 0 },
	{ "a{,2}", "a{,2}", 1 },
	{ "a{x}", "a{x}", 1 },
	/* Lazy quantifiers match the same whole strings. */
	{ ".*?\\.com", "a.b.com", 1 },
	{ "a+?b", "aab", 1 },
	{ "a??b", "b", 1 },
	{ "a{1,2}?b", "aab", 1 },
	/* Anchors. */
	{ "^a.*z$", "abcz", 1 },
	{ "\\Aab\\z", "ab", 1 },
	{ "", "", 1 },
	{ "", "a", 0 },
};

ATF_TC_WITHOUT_HEAD(matches);
ATF_TC_BODY(matches, tc)
{
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ATF_CHECK_EQ_MSG(full_match(cases[i].re, cases[i].s),
		    cases[i].match, "'%s' on '%s'", cases[i].re, cases[i].s);
}

static const struct {
	const char	*re;
	const char	*why;
} refused[] = {
	{ "\\bwww", "\\b is not supported" },
	{ "a\\Bb", "\\B is not supported" },
	{ "\\pL+", "\\p is not supported" },
	{ "\\PL", "\\P is not supported" },
	{ "\\C", "\\C is not supported" },
	{ "\\Qa.b\\E", "\\Q is not supported" },
	{ "(a)\\1", "\\1 is not supported" },
	{ "a(?i)b", "flags other than at the start" },
	{ "(?i:a)b", "flags other than at the start" },
	{ "[\\D]", "\\D inside brackets is not supported" },
	{ "[\\W]", "\\W inside brackets is not supported" },
	{ "[abc", "missing ]" },
	{ "(abc", "missing )" },
	{ "abc)", "unmatched )" },
	{ "*a", "missing argument to repetition operator" },
	{ "a**", "bad repetition operator" },
	{ "[z-a]", "bad range" },
	{ "a{6,3}", "bad repetition operator" },
	{ "a{1001}", "bad repetition operator" },
	{ "[[.a.]]", "collating elements" },
	{ "[[:^alpha:]]", "bad character class" },
	{ "[[:nope:]]", "bad character class" },
	{ "\\x{100}", "\\x is not supported" },
	{ "a\\", "trailing \\" },
	{ "\\0", "\\0 is not supported" },
};

ATF_TC_WITHOUT_HEAD(refused);
ATF_TC_BODY(refused, tc)
{
	char	ere[4096], err[128];
	size_t	i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		ATF_CHECK_EQ_MSG(re2_to_ere(refused[i].re, ere, sizeof(ere),
		    err, sizeof(err)), -1, "'%s' accepted as '%s'",
		    refused[i].re, ere);
		ATF_CHECK_MSG(strstr(err, refused[i].why) != NULL,
		    "'%s': '%s', not '%s'", refused[i].re, err,
		    refused[i].why);
	}
}

/* An expression longer than the room: refused, the buffer ends in NUL. */
ATF_TC_WITHOUT_HEAD(too_long);
ATF_TC_BODY(too_long, tc)
{
	char	re[2000], ere[64], err[128];

	memset(re, 'a', sizeof(re) - 1);
	re[sizeof(re) - 1] = '\0';
	ATF_CHECK_EQ(re2_to_ere(re, ere, sizeof(ere), err, sizeof(err)), -1);
	ATF_CHECK(memchr(ere, '\0', sizeof(ere)) != NULL);
	ATF_CHECK(strstr(err, "too long") != NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, matches);
	ATF_TP_ADD_TC(tp, refused);
	ATF_TP_ADD_TC(tp, too_long);
	return atf_no_error();
}
