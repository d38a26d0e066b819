/* UUIDs as text: random ones, and checking those given. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "uuid.h"

void
uuid_random(char *out)
{
	unsigned char	u[16];

	randombytes_buf(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, UUID_TEXTLEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4],
	    u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
	    u[14], u[15]);
}

int
uuid_parse(const char *text, char *out)
{
	size_t	i;

	if (strlen(text) != UUID_TEXTLEN)
		return -1;
	for (i = 0; i < UUID_TEXTLEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return -1;
		} else if (!isxdigit((unsigned char)text[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)text[i]);
	}
	out[UUID_TEXTLEN] = '\0';
	return 0;
}
