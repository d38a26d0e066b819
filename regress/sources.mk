# Test programs, shared by Makefile (GNU make) and Makefile.bsd.
# atf-c programs, one per lib module; each is regress/lib/t_NAME.c.
REGRESS_LIB_TESTS = \
	regress/lib/t_dnsname \
	regress/lib/t_dnspacket \
	regress/lib/t_netmask \
	regress/lib/t_addr \
	regress/lib/t_qps \
	regress/lib/t_policy \
	regress/lib/t_stats

# The test responder: a backend that can misbehave on purpose.
RESPONDER_SRCS = regress/responder/responder.c
