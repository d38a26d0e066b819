/*
 * libFuzzer target for RE2Rule's rewriting of RE2 expressions: any input
 * either is refused with a reason or becomes an expression that regcomp
 * takes (a rewrite that does not compile would be a bug of ours, since
 * the daemon reports it as the user's); the rewrite never writes past
 * its buffer, at any size of it.
 */
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "re2ere.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 re[512], err[128], *small;
	char	 ere[4096];
	regex_t	 rx;
	size_t	 cap;

	if (size >= sizeof(re))
		return 0;
	memcpy(re, data, size);
	re[size] = '\0';
	err[0] = '\0';
	if (re2_to_ere(re, ere, sizeof(ere), err, sizeof(err)) == -1) {
		CHECK(err[0] != '\0');
		return 0;
	}
	CHECK(strlen(ere) < sizeof(ere));
	CHECK(regcomp(&rx, ere, REG_EXTENDED | REG_NOSUB) == 0);
	(void)regexec(&rx, "www.example.com", 0, NULL, 0);
	regfree(&rx);
	/* Shorter buffers: refused, or the same, never past their end. */
	cap = strlen(ere) / 2 + 1;
	CHECK((small = malloc(cap)) != NULL);
	if (re2_to_ere(re, small, cap, err, sizeof(err)) == 0)
		CHECK(strcmp(small, ere) == 0);
	free(small);
	return 0;
}
