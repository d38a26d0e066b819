# Test programs, shared by Makefile (GNU make) and Makefile.bsd.
# atf-c programs, one per lib module; each is regress/lib/t_NAME.c.
REGRESS_LIB_TESTS = \
	regress/lib/t_dnsname \
	regress/lib/t_dnspacket \
	regress/lib/t_netmask \
	regress/lib/t_addr \
	regress/lib/t_qps \
	regress/lib/t_policy \
	regress/lib/t_stats \
	regress/lib/t_ctlproto \
	regress/lib/t_ring \
	regress/lib/t_http \
	regress/lib/t_metrics \
	regress/lib/t_compat \
	regress/lib/t_inflight \
	regress/lib/t_cache \
	regress/lib/t_qsbr \
	regress/lib/t_siphash \
	regress/lib/t_hostcount \
	regress/lib/t_edns \
	regress/lib/t_proxyproto \
	regress/lib/t_dnscrypt \
	regress/lib/t_ddr \
	regress/lib/t_pbwire \
	regress/lib/t_re2ere

# The test responder: a backend that can misbehave on purpose.
RESPONDER_SRCS = regress/responder/responder.c

# libFuzzer targets (make fuzz), each regress/fuzz/fuzz_NAME.c with its seed
# corpus in regress/fuzz/corpus/NAME, and the library sources compiled into
# every target with the fuzzer's flags (apart from the normal objects).
FUZZ_TARGETS = \
	regress/fuzz/fuzz_dnsname \
	regress/fuzz/fuzz_question \
	regress/fuzz/fuzz_netmask \
	regress/fuzz/fuzz_addr \
	regress/fuzz/fuzz_rewrite \
	regress/fuzz/fuzz_rules \
	regress/fuzz/fuzz_ctlproto \
	regress/fuzz/fuzz_inflight \
	regress/fuzz/fuzz_proxyproto \
	regress/fuzz/fuzz_dnscrypt \
	regress/fuzz/fuzz_re2ere
FUZZ_LIB_SRCS = lib/addr.c lib/dnsname.c lib/dnspacket.c lib/netmask.c \
	lib/edns.c lib/cache.c lib/qsbr.c lib/sbuf.c lib/rule.c lib/action.c \
	lib/suffix.c lib/qps.c lib/policy.c lib/server.c lib/ctlproto.c \
	lib/inflight.c lib/siphash.c lib/config.c lib/settings.c lib/kvs.c \
	lib/proxyproto.c lib/dnscrypt.c lib/remotelog.c lib/doh.c \
	lib/pb/dnsmessage.pb-c.c lib/pb/dnstap.pb-c.c lib/uuid.c \
	lib/compat/nonlocal.c lib/compat/neigh.c lib/re2ere.c lib/pbwire.c
