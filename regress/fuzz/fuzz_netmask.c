/*
 * libFuzzer target for netmasks as text.  A mask that parses must come
 * back from its text form unchanged and contain its own network address;
 * a group takes a list all or nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netmask.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
check_mask(const struct netmask *nm)
{
	struct netmask		 back;
	struct sockaddr_storage	 ss;
	char			 t[NETMASK_MAXTEXT], t2[NETMASK_MAXTEXT];
	char			 small[8];
	unsigned int		 i, max;

	CHECK(nm->nm_family == AF_INET || nm->nm_family == AF_INET6);
	max = nm->nm_family == AF_INET ? 32 : 128;
	CHECK(nm->nm_bits <= max);
	/* Host bits are clear. */
	for (i = nm->nm_bits; i < 128; i++)
		CHECK((nm->nm_addr[i / 8] & (0x80 >> (i % 8))) == 0);
	netmask_to_text(nm, t, sizeof(t));
	CHECK(netmask_parse(t, &back) == 0);
	CHECK(back.nm_family == nm->nm_family && back.nm_bits == nm->nm_bits &&
	    back.nm_negated == nm->nm_negated &&
	    memcmp(back.nm_addr, nm->nm_addr, sizeof(nm->nm_addr)) == 0);
	netmask_to_text(&back, t2, sizeof(t2));
	CHECK(strcmp(t, t2) == 0);
	netmask_to_text(nm, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small) && strncmp(small, t,
	    strlen(small)) == 0);
	netmask_network(nm, &ss);
	CHECK(netmask_match(nm, (struct sockaddr *)&ss) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netmask_group	 ng, copy;
	struct netmask		 nm;
	struct sockaddr_storage	 ss;
	char			*s;
	size_t			 i, before;
	int			 r;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (netmask_parse(s, &nm) == 0)
		check_mask(&nm);

	netmask_group_init(&ng);
	CHECK(netmask_group_add_text(&ng, "192.0.2.0/24") == 0);
	before = ng.ng_count;
	r = netmask_group_add_text(&ng, s);
	if (r == -1)
		CHECK(ng.ng_count == before);
	else
		CHECK(ng.ng_count >= before);
	for (i = 0; i < ng.ng_count; i++) {
		check_mask(&ng.ng_masks[i]);
		netmask_network(&ng.ng_masks[i], &ss);
		(void)netmask_group_match(&ng, (struct sockaddr *)&ss);
	}
	netmask_group_init(&copy);
	CHECK(netmask_group_copy(&copy, &ng) == 0);
	CHECK(copy.ng_count == ng.ng_count);
	for (i = 0; i < ng.ng_count; i++) {
		netmask_network(&ng.ng_masks[i], &ss);
		CHECK(netmask_group_match(&copy, (struct sockaddr *)&ss) ==
		    netmask_group_match(&ng, (struct sockaddr *)&ss));
	}
	netmask_group_clear(&copy);
	netmask_group_clear(&ng);
	CHECK(ng.ng_count == 0 && ng.ng_masks == NULL);
	free(s);
	return 0;
}
