/*
 * DNS over HTTPS frontends: their settings and counters, and the parts of
 * a request that need no socket.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnspacket.h"
#include "doh.h"

struct doh_frontend *
doh_frontend_new(void)
{
	struct doh_frontend	*df;

	if ((df = calloc(1, sizeof(*df))) == NULL)
		return NULL;
	df->df_exactpath = true;
	df->df_cachecontrol = true;
	df->df_idletimeout = 30;
	df->df_maxinflight = DOH_MAXINFLIGHT;
	if ((df->df_servertokens = strdup("h2o/dnsdist")) == NULL) {
		free(df);
		return NULL;
	}
	return df;
}

void
doh_frontend_free(struct doh_frontend *df)
{
	size_t	i;

	if (df == NULL)
		return;
	for (i = 0; i < df->df_nurls; i++)
		free(df->df_urls[i]);
	free(df->df_urls);
	for (i = 0; i < df->df_nheaders; i++) {
		free(df->df_headers[i].wh_name);
		free(df->df_headers[i].wh_value);
	}
	free(df->df_headers);
	free(df->df_servertokens);
	free(df);
}

int
doh_frontend_add_url(struct doh_frontend *df, const char *url)
{
	char	**nu, *s;

	if (url[0] != '/' || (s = strdup(url)) == NULL)
		return -1;
	if ((nu = reallocarray(df->df_urls, df->df_nurls + 1,
	    sizeof(*nu))) == NULL) {
		free(s);
		return -1;
	}
	nu[df->df_nurls++] = s;
	df->df_urls = nu;
	return 0;
}

bool
doh_path_ok(const struct doh_frontend *df, const char *path, size_t len)
{
	size_t	i, ulen;

	for (i = 0; i < df->df_nurls; i++) {
		ulen = strlen(df->df_urls[i]);
		if (ulen == len && memcmp(path, df->df_urls[i], len) == 0)
			return true;
		if (!df->df_exactpath && len > ulen &&
		    memcmp(path, df->df_urls[i], ulen) == 0)
			return true;
	}
	return false;
}

long
doh_query_param(const char *query, size_t len, uint8_t *out, size_t outsz)
{
	const char	*p = query, *end = query + len, *amp, *val;
	size_t		 olen;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp - p >= 4 && memcmp(p, "dns=", 4) == 0) {
			val = p + 4;
			/* What fits in outsz, and not a byte more. */
			if ((size_t)(amp - val) > (outsz + 2) / 3 * 4 ||
			    amp == val ||
			    sodium_base642bin(out, outsz, val,
			    (size_t)(amp - val), NULL, &olen, NULL,
			    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
				return -1;
			return (long)olen;
		}
		p = amp + 1;
	}
	return 0;
}

struct minttl {
	long	mt_min;
};

static void
min_ttl_rr(void *arg, const struct dnsrr *rr)
{
	struct minttl	*mt = arg;

	if (rr->rr_type == DNS_TYPE_OPT)
		return;
	if (mt->mt_min == -1 || (long)rr->rr_ttl < mt->mt_min)
		mt->mt_min = (long)rr->rr_ttl;
}

long
doh_min_ttl(const uint8_t *pkt, size_t len)
{
	struct dnsquestion	q;
	struct minttl		mt = { -1 };

	if (dnspacket_question(pkt, len, &q) == -1 ||
	    dnspacket_walk(pkt, len, q.q_end, min_ttl_rr, &mt) == -1)
		return -1;
	return mt.mt_min;
}

void
doh_count_status(struct doh_stats *ds, int version, int status)
{
	enum doh_code	c;

	switch (status) {
	case 200: c = DOH_200; break;
	case 400: c = DOH_400; break;
	case 403: c = DOH_403; break;
	case 500: c = DOH_500; break;
	case 502: c = DOH_502; break;
	default: c = DOH_OTHER; break;
	}
	atomic_fetch_add_explicit(&ds->ds_codes[version == 2][c], 1,
	    memory_order_relaxed);
	if (status / 100 == 2)
		atomic_fetch_add_explicit(&ds->ds_valid, 1,
		    memory_order_relaxed);
	else if (status / 100 == 3)
		atomic_fetch_add_explicit(&ds->ds_redirects, 1,
		    memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&ds->ds_errors, 1,
		    memory_order_relaxed);
}
