/*
 * RE2's syntax (dnsdist's RE2Rule) rewritten as a POSIX extended regular
 * expression that matches the same names, anchored at both ends since
 * RE2Rule asks for a full match.  A rule only asks whether a name
 * matches, so what RE2 adds for captures or for which match is found
 * (non-capturing and named groups, lazy quantifiers, the U flag) becomes
 * the plain form.  Its escapes become bracket expressions: \d [0-9],
 * \w [0-9A-Za-z_], \s [\t\n\f\r ], \x41, \n and the like the character.
 * What POSIX cannot say is refused with its name, never approximated:
 * word boundaries, Unicode classes, \C, \Q...\E, back references, the i
 * flag anywhere but at the start, and negated classes inside brackets.
 * At the start, (?i) gives each letter both cases in the expression
 * itself ([aA], a-d also A-D), since REG_ICASE refuses ranges such as
 * `-d that RE2 takes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "re2ere.h"

struct out {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	char	*err;
	size_t	 errlen;
	bool	 failed;
	bool	 icase;		/* (?i): letters of either case */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		snprintf(o->err, o->errlen, "expression too long");
		o->failed = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int fail(struct out *, const char *, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static int
fail(struct out *o, const char *fmt, ...)
{
	va_list	ap;

	if (!o->failed) {
		va_start(ap, fmt);
		vsnprintf(o->err, o->errlen, fmt, ap);
		va_end(ap);
	}
	o->failed = true;
	return -1;
}

/* One character as a literal outside brackets. */
static void
put_literal(struct out *o, unsigned char c)
{
	char	b[8];

	if (o->icase && isalpha(c))
		snprintf(b, sizeof(b), "[%c%c]", tolower(c), toupper(c));
	else if (strchr(".[]()*+?{}|^$\\", c) != NULL && c != '\0')
		snprintf(b, sizeof(b), "\\%c", c);
	else {
		b[0] = (char)c;
		b[1] = '\0';
	}
	puts_(o, b);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The character of an escape that stands for one (\n, \x41, \x{41},
 * \0, \052, \.): its value, and *p past it; -1 when it is not one.
 */
static int
escape_char(const char **p)
{
	const char	*s = *p;
	int		 v = 0, d, n;

	switch (*s) {
	case 'a': *p = s + 1; return '\a';
	case 'f': *p = s + 1; return '\f';
	case 'n': *p = s + 1; return '\n';
	case 'r': *p = s + 1; return '\r';
	case 't': *p = s + 1; return '\t';
	case 'v': *p = s + 1; return '\v';
	case 'x':
		s++;
		if (*s == '{') {
			for (s++, n = 0; (d = hexval(*s)) != -1 && n < 3; s++, n++)
				v = v * 16 + d;
			if (*s != '}' || n == 0 || v > 255)
				return -1;
			*p = s + 1;
			return v;
		}
		if (hexval(s[0]) == -1 || hexval(s[1]) == -1)
			return -1;
		*p = s + 2;
		return hexval(s[0]) * 16 + hexval(s[1]);
	case '0':
		for (s++, n = 0; n < 2 && *s >= '0' && *s <= '7'; s++, n++)
			v = v * 8 + (*s - '0');
		*p = s;
		return v;
	}
	if (*s != '\0' && !isalnum((unsigned char)*s)) {
		*p = s + 1;
		return (unsigned char)*s;
	}
	return -1;
}

/* The set of a class escape (\d, \w, \s), without brackets; NULL if none. */
static const char *
class_set(char c)
{
	switch (c) {
	case 'd': case 'D':
		return "0-9";
	case 'w': case 'W':
		return "0-9A-Za-z_";
	case 's': case 'S':
		return "\t\n\f\r ";
	}
	return NULL;
}

/*
 * A class of RE2's [[:name:]] as POSIX writes it inside brackets; NULL
 * for one POSIX lacks (negated ones among them).
 */
static const char *
posix_class(const char *name, size_t len, bool icase)
{
	static const char *const same[] = {
		"[:alnum:]", "[:alpha:]", "[:blank:]", "[:cntrl:]",
		"[:digit:]", "[:graph:]", "[:lower:]", "[:print:]",
		"[:punct:]", "[:space:]", "[:upper:]", "[:xdigit:]"
	};
	size_t	i;

	/* Ignoring case, either case's letters are all the letters. */
	if (icase && len == 5 && (strncmp(name, "lower", 5) == 0 ||
	    strncmp(name, "upper", 5) == 0))
		return "[:alpha:]";
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (strlen(same[i]) == len + 4 &&
		    strncmp(same[i] + 2, name, len) == 0)
			return same[i];
	if (len == 4 && strncmp(name, "word", 4) == 0)
		return "0-9A-Za-z_";
	return NULL;
}

/*
 * The letters of lo-hi in their other case, as up to two ranges into
 * out (room for 6): their length.
 */
static size_t
case_range(char *out, int lo, int hi)
{
	size_t	n = 0;
	int	l, h;

	l = lo > 'a' ? lo : 'a';
	h = hi < 'z' ? hi : 'z';
	if (l <= h) {
		out[n++] = (char)toupper(l);
		out[n++] = '-';
		out[n++] = (char)toupper(h);
	}
	l = lo > 'A' ? lo : 'A';
	h = hi < 'Z' ? hi : 'Z';
	if (l <= h) {
		out[n++] = (char)tolower(l);
		out[n++] = '-';
		out[n++] = (char)tolower(h);
	}
	return n;
}

/*
 * A bracket expression from just past its '['.  POSIX brackets have no
 * escapes and want ']' first and '-' last to take them literally, so
 * the members are gathered first and laid out after.
 */
static const char *
bracket(struct out *o, const char *p)
{
	char		 body[1024];
	size_t		 bl = 0;
	bool		 neg = false, rb = false, dash = false, caret = false;
	int		 c, hi;
	const char	*set, *e;

	if (*p == '^') {
		neg = true;
		p++;
	}
	for (bool first = true; ; first = false) {
		if (*p == '\0') {
			fail(o, "%s", "missing ]");
			return p;
		}
		if (*p == ']' && !first)
			break;
		if (p[0] == '[' && p[1] == ':') {
			if ((e = strstr(p + 2, ":]")) == NULL ||
			    (set = posix_class(p + 2, (size_t)(e - p - 2),
			    o->icase)) == NULL) {
				fail(o, "%s", "bad character class");
				return p;
			}
			if (bl + strlen(set) >= sizeof(body))
				goto long_;
			memcpy(body + bl, set, strlen(set));
			bl += strlen(set);
			p = e + 2;
			continue;
		}
		if (p[0] == '[' && (p[1] == '.' || p[1] == '=')) {
			fail(o, "%s", "collating elements are not RE2's");
			return p;
		}
		if (*p == '\\') {
			p++;
			if ((set = class_set(*p)) != NULL) {
				if (isupper((unsigned char)*p)) {
					fail(o, "\\%c inside brackets is not "
					    "supported", *p);
					return p;
				}
				if (bl + strlen(set) >= sizeof(body))
					goto long_;
				memcpy(body + bl, set, strlen(set));
				bl += strlen(set);
				p++;
				continue;
			}
			e = p;
			if ((c = escape_char(&e)) == -1) {
				fail(o, "\\%c is not supported", *p);
				return p;
			}
			p = e;
		} else
			c = (unsigned char)*p++;
		/* A range, its end escaped or not. */
		hi = -1;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			e = p + 1;
			if (*e == '\\') {
				e++;
				if ((hi = escape_char(&e)) == -1) {
					fail(o, "%s", "bad range");
					return p;
				}
			} else
				hi = (unsigned char)*e++;
			if (hi < c) {
				fail(o, "%s", "bad range");
				return p;
			}
			p = e;
		}
		if (hi == -1 && (c == ']' || c == '-' || c == '^')) {
			rb |= c == ']';
			dash |= c == '-';
			caret |= c == '^';
			continue;
		}
		if (c == ']' || c == '-' || c == '^' || c == '[' ||
		    hi == ']' || hi == '-' || hi == '^' || hi == '[' ||
		    c == '\0') {
			fail(o, "%s", "a range from or to ], -, ^ or [ is not "
			    "supported");
			return p;
		}
		if (bl + 9 >= sizeof(body))
			goto long_;
		body[bl++] = (char)c;
		if (hi != -1) {
			body[bl++] = '-';
			body[bl++] = (char)hi;
		}
		/*
		 * Ignoring case, the other case of the letters in it:
		 * POSIX's REG_ICASE refuses ranges like `-d.
		 */
		if (o->icase)
			bl += case_range(body + bl, c, hi == -1 ? c : hi);
	}
	p++;	/* the closing ] */
	if (!neg && !rb && bl == 0 && caret) {
		/* Only ^ (and -): "[^]" would mean something else. */
		puts_(o, dash ? "[-^]" : "\\^");
		return p;
	}
	puts_(o, "[");
	if (neg)
		puts_(o, "^");
	if (rb)
		puts_(o, "]");
	put(o, body, bl);
	if (caret)
		puts_(o, "^");
	if (dash)
		puts_(o, "-");
	puts_(o, "]");
	return p;
long_:
	fail(o, "%s", "bracket expression too long");
	return p;
}

/*
 * {n}, {n,} or {n,m}: its length, or 0 when RE2 reads it as text; *bad
 * when RE2 refuses the counts (more than 1000, or m below n).
 */
static size_t
repeat_len(const char *p, bool *bad)
{
	const char	*s = p + 1;
	long		 n, m;
	char		*e;

	*bad = false;
	if (!isdigit((unsigned char)*s))
		return 0;
	n = m = strtol(s, &e, 10);
	s = e;
	if (*s == ',') {
		s++;
		if (isdigit((unsigned char)*s)) {
			m = strtol(s, &e, 10);
			s = e;
		} else
			m = n;
	}
	if (*s != '}')
		return 0;
	*bad = n > 1000 || m > 1000 || m < n;
	return (size_t)(s + 1 - p);
}

int
re2_to_ere(const char *re, char *buf, size_t cap, char *err, size_t errlen)
{
	struct out	 o = { buf, 0, cap, err, errlen, false, false };
	const char	*p = re, *set, *e;
	size_t		 n;
	int		 c, depth = 0;
	bool		 quantifiable = false, bad;

	if (cap > 0)
		buf[0] = '\0';
	puts_(&o, "^(");
	/* Flags for the whole expression: (?i) and the harmless ones. */
	if (p[0] == '(' && p[1] == '?' && p[2] != ':' && p[2] != 'P' &&
	    p[2] != '<' && (e = strchr(p, ')')) != NULL &&
	    strspn(p + 2, "imsU") == (size_t)(e - p - 2)) {
		o.icase = memchr(p + 2, 'i', (size_t)(e - p - 2)) != NULL;
		p = e + 1;
	}
	while (*p != '\0' && !o.failed) {
		switch (*p) {
		case '\\':
			p++;
			if ((set = class_set(*p)) != NULL) {
				puts_(&o, isupper((unsigned char)*p) ? "[^" : "[");
				puts_(&o, set);
				puts_(&o, "]");
				p++;
				quantifiable = true;
				break;
			}
			if (*p == 'A' || *p == 'z') {
				puts_(&o, *p == 'A' ? "^" : "$");
				p++;
				quantifiable = false;
				break;
			}
			e = p;
			if (*p == '\0')
				return fail(&o, "trailing \\");
			if ((c = escape_char(&e)) == -1)
				return fail(&o, "\\%c is not supported", *p);
			if (c == '\0')
				return fail(&o, "%s", "\\0 is not supported");
			put_literal(&o, (unsigned char)c);
			p = e;
			quantifiable = true;
			break;
		case '[':
			p = bracket(&o, p + 1);
			quantifiable = true;
			break;
		case '(':
			if (p[1] == '?') {
				if (p[2] == ':')
					p += 3;
				else if ((p[2] == 'P' && p[3] == '<') ||
				    p[2] == '<') {
					if ((e = strchr(p, '>')) == NULL)
						return fail(&o, "%s",
						    "bad group name");
					p = e + 1;
				} else
					return fail(&o, "%s", "flags other than "
					    "at the start are not supported");
			} else
				p++;
			puts_(&o, "(");
			depth++;
			quantifiable = false;
			break;
		case ')':
			if (depth-- == 0)
				return fail(&o, "%s", "unmatched )");
			puts_(&o, ")");
			p++;
			quantifiable = true;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			n = *p == '{' ? repeat_len(p, &bad) : 1;
			if (n > 0 && *p == '{' && bad)
				return fail(&o, "%s", "bad repetition operator");
			if (n == 0) {
				puts_(&o, "\\{");
				p++;
				quantifiable = true;
				break;
			}
			if (!quantifiable)
				return fail(&o, "%s", "missing argument to "
				    "repetition operator");
			put(&o, p, n);
			p += n;
			/* Lazy: the same names match. */
			if (*p == '?')
				p++;
			if (*p == '*' || *p == '+' || *p == '?' ||
			    (*p == '{' && repeat_len(p, &bad) > 0))
				return fail(&o, "%s", "bad repetition operator");
			quantifiable = false;
			break;
		case '|':
		case '^':
		case '$':
			put(&o, p++, 1);
			quantifiable = false;
			break;
		case '.':
			put(&o, p++, 1);
			quantifiable = true;
			break;
		default:
			put_literal(&o, (unsigned char)*p++);
			quantifiable = true;
			break;
		}
	}
	if (!o.failed && depth != 0)
		return fail(&o, "%s", "missing )");
	puts_(&o, ")$");
	return o.failed ? -1 : 0;
}
