/*
 * stats: counters, latency accounting and the dumpStats() layout.
 */
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "dnspacket.h"
#include "sbuf.h"
#include "stats.h"

#include "lsan.h"

static double
value(const char *name)
{
	struct stat_value	sv;

	ATF_REQUIRE_MSG(stats_get(name, &sv) == 0, "no statistic %s", name);
	return sv.sv_value;
}

static double
gauge_fortytwo(void)
{
	return 42;
}

ATF_TC_WITHOUT_HEAD(counters);
ATF_TC_BODY(counters, tc)
{
	struct stat_value	sv;

	stats_inc(STAT_QUERIES);
	stats_inc(STAT_QUERIES);
	stats_add(STAT_ACL_DROPS, 5);
	ATF_CHECK_EQ(value("queries"), 2);
	ATF_CHECK_EQ(value("acl-drops"), 5);
	ATF_CHECK_EQ(stats_get("no-such-statistic", &sv), -1);
	stats_rcode(DNS_RCODE_NXDOMAIN);
	stats_rcode(DNS_RCODE_NOERROR);
	stats_rcode(DNS_RCODE_REFUSED);
	ATF_CHECK_EQ(value("frontend-nxdomain"), 1);
	ATF_CHECK_EQ(value("frontend-noerror"), 1);
	stats_set_gauge("uptime", gauge_fortytwo);
	ATF_CHECK_EQ(value("uptime"), 42);
}

ATF_TC_WITHOUT_HEAD(latency);
ATF_TC_BODY(latency, tc)
{
	stats_latency(STATS_UDP, 500);		/* 0.5 ms */
	stats_latency(STATS_UDP, 5000);
	stats_latency(STATS_UDP, 20000);
	stats_latency(STATS_UDP, 70000);
	stats_latency(STATS_UDP, 200000);
	stats_latency(STATS_UDP, 2000000);		/* 2 s */
	ATF_CHECK_EQ(value("latency0-1"), 1);
	ATF_CHECK_EQ(value("latency1-10"), 1);
	ATF_CHECK_EQ(value("latency10-50"), 1);
	ATF_CHECK_EQ(value("latency50-100"), 1);
	ATF_CHECK_EQ(value("latency100-1000"), 1);
	ATF_CHECK_EQ(value("latency-slow"), 1);
	ATF_CHECK_EQ(value("latency-count"), 6);
	ATF_CHECK_EQ(value("latency-sum"), 0 + 5 + 20 + 70 + 200 + 2000);
	ATF_CHECK(value("latency-avg100") > 0);
	ATF_CHECK(value("latency-avg100") > value("latency-avg1000"));
}

ATF_TC_WITHOUT_HEAD(dump);
ATF_TC_BODY(dump, tc)
{
	struct stat_value	 all[STATS_MAX];
	struct sbuf		 sb;
	const char		*p, *line;
	size_t			 n, lines = 0, i;

	stats_inc(STAT_RESPONSES);
	n = stats_snapshot(all, STATS_MAX);
	ATF_REQUIRE(n > 30);
	for (i = 1; i < n; i++)
		ATF_CHECK(strcmp(all[i - 1].sv_name, all[i].sv_name) < 0);
	sbuf_init(&sb);
	stats_dump(&sb);
	/* Two columns: name padded to 35, a tab, the value right-aligned. */
	for (line = p = sbuf_text(&sb); *p != '\0'; p++) {
		if (*p != '\n')
			continue;
		ATF_CHECK_MSG(p[-1] != ' ', "trailing blank: %.*s",
		    (int)(p - line), line);
		ATF_CHECK_EQ(line[35], '\t');
		line = p + 1;
		lines++;
	}
	ATF_CHECK_EQ(lines, (n + 1) / 2);
	ATF_CHECK(strstr(sbuf_text(&sb), "acl-drops                          "
	    "\t          0    ") == sbuf_text(&sb));
	ATF_CHECK(strstr(sbuf_text(&sb), "latency-avg100                     "
	    "\t") != NULL);
	sbuf_free(&sb);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, counters);
	ATF_TP_ADD_TC(tp, latency);
	ATF_TP_ADD_TC(tp, dump);
	return atf_no_error();
}
