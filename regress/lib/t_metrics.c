/*
 * metrics: escaping for JSON, Prometheus labels and carbon paths, and the
 * renderings of a snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "metrics.h"
#include "sbuf.h"
#include "settings.h"
#include "stats.h"

#include "lsan.h"

static void
check_json(const char *in, const char *want)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	metrics_json_string(&sb, in);
	ATF_CHECK_STREQ(sbuf_text(&sb), want);
	sbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(json);
ATF_TC_BODY(json, tc)
{
	check_json("plain.example.", "\"plain.example.\"");
	check_json("", "\"\"");
	check_json("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_json("\n\t\x01\x1f\x7f", "\"\\u000a\\u0009\\u0001\\u001f\\u007f\"");
	/* Bytes from 0x80 on, valid UTF-8 or not, become escapes. */
	check_json("\xc3\xa9\xff", "\"\\u00c3\\u00a9\\u00ff\"");
}

ATF_TC_WITHOUT_HEAD(prom);
ATF_TC_BODY(prom, tc)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	metrics_prom_label(&sb, "a\"b\\c\nd\re\xff");
	ATF_CHECK_STREQ(sbuf_text(&sb), "a\\\"b\\\\c\\nd_e_");
	sbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(carbon_name);
ATF_TC_BODY(carbon_name, tc)
{
	struct sbuf	sb;

	sbuf_init(&sb);
	metrics_carbon_name(&sb, "127.0.0.1:53 x/y\n", false);
	ATF_CHECK_STREQ(sbuf_text(&sb), "127_0_0_1:53_x_y_");
	sbuf_reset(&sb);
	metrics_carbon_name(&sb, "a.b-c_d", true);
	ATF_CHECK_STREQ(sbuf_text(&sb), "a.b-c_d");
	sbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(render);
ATF_TC_BODY(render, tc)
{
	struct metrics	*mx;
	struct sbuf	 sb;
	const char	*t;

	ATF_REQUIRE_EQ(settings_init(), 0);
	stats_add(STAT_QUERIES, 7);
	stats_latency(STATS_UDP, 500);
	stats_latency(STATS_UDP, 20000);
	ATF_REQUIRE((mx = metrics_snapshot()) != NULL);
	ATF_REQUIRE_EQ(metrics_add_frontend(mx, "127.0.0.1:53", "UDP", 5, 4),
	    0);
	sbuf_init(&sb);
	metrics_carbon(&sb, mx, "dnsdist.host.main", 1000);
	t = sbuf_text(&sb);
	ATF_CHECK(strstr(t, "\ndnsdist.host.main.queries 7 1000\n") != NULL);
	ATF_CHECK(strstr(t, "dnsdist.host.main.frontends.127_0_0_1:53_udp."
	    "queries 5 1000\n") != NULL);
	sbuf_reset(&sb);
	metrics_prometheus(&sb, mx);
	t = sbuf_text(&sb);
	ATF_CHECK(strstr(t, "# TYPE dnsdist_queries counter\n"
	    "dnsdist_queries 7\n") != NULL);
	ATF_CHECK(strstr(t, "dnsdist_latency_bucket{le=\"1\"} 1\n") != NULL);
	ATF_CHECK(strstr(t, "dnsdist_latency_bucket{le=\"50\"} 2\n") != NULL);
	ATF_CHECK(strstr(t, "dnsdist_latency_bucket{le=\"+Inf\"} 2\n") != NULL);
	ATF_CHECK(strstr(t, "dnsdist_latency_count 2\n") != NULL);
	ATF_CHECK(strstr(t, "# TYPE dnsdist_latency_sum") == NULL);
	ATF_CHECK(strstr(t, "dnsdist_frontend_queries{frontend=\"127.0.0.1:53\","
	    "proto=\"UDP\",thread=\"0\"} 5\n") != NULL);
	sbuf_reset(&sb);
	metrics_json_stats(&sb, mx);
	t = sbuf_text(&sb);
	ATF_CHECK(t[0] == '{' && strstr(t, "\"queries\": 7") != NULL);
	sbuf_reset(&sb);
	metrics_json_allowfrom(&sb, mx);
	ATF_CHECK(strstr(sbuf_text(&sb), "\"value\": [\"127.0.0.0/8\", ") !=
	    NULL);
	sbuf_free(&sb);
	metrics_free(mx);
	metrics_free(NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, json);
	ATF_TP_ADD_TC(tp, prom);
	ATF_TP_ADD_TC(tp, carbon_name);
	ATF_TP_ADD_TC(tp, render);
	return atf_no_error();
}
