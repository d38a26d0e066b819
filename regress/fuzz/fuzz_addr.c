/*
 * libFuzzer target for socket addresses as text.  An address that parses
 * must come back from addr_to_text (and, without its port, from
 * addr_host_to_text) as the same address.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage	 ss, back;
	socklen_t		 sslen, backlen;
	char			 t[ADDR_MAXTEXT], h[ADDR_MAXTEXT], small[8];
	char			*s;
	uint16_t		 defport;

	if (size < 2)
		return 0;
	defport = (uint16_t)(data[0] << 8 | data[1]);
	data += 2;
	size -= 2;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_parse(s, defport, &ss, &sslen) == -1) {
		free(s);
		return 0;
	}
	CHECK(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	CHECK(sslen == addr_len((struct sockaddr *)&ss));

	addr_to_text((struct sockaddr *)&ss, t, sizeof(t));
	CHECK(strlen(t) < sizeof(t) - 1);	/* not cut short */
	CHECK(addr_parse(t, (uint16_t)(defport + 1), &back, &backlen) == 0);
	CHECK(backlen == sslen);
	CHECK(addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&back));

	addr_host_to_text((struct sockaddr *)&ss, h, sizeof(h));
	CHECK(addr_parse(h, addr_port((struct sockaddr *)&ss), &back,
	    &backlen) == 0);
	CHECK(addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&back));

	addr_to_text((struct sockaddr *)&ss, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small) && strncmp(small, t,
	    strlen(small)) == 0);
	addr_set_port((struct sockaddr *)&back, 0);
	CHECK(addr_port((struct sockaddr *)&back) == 0);
	(void)addr_is_wildcard((struct sockaddr *)&ss);
	free(s);
	return 0;
}
