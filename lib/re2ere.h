/*
 * RE2's regular expression syntax as a POSIX extended one (RE2Rule).
 */
#ifndef RE2ERE_H
#define RE2ERE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Rewrite RE2 expression re into buf (cap bytes) as an extended regular
 * expression matching the same whole strings (case counting in it, as
 * given); 0, or -1 and err naming what has no POSIX form.
 */
int	re2_to_ere(const char *re, char *buf, size_t cap, char *err,
	    size_t errlen);

#endif
