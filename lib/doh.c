/*
 * DNS over HTTPS frontends: their settings and counters, and the parts of
 * a request that need no socket.
 */
#include <ctype.h>
#include <stddef.h>
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
	web_headers_free(df->df_headers, df->df_nheaders);
	free(df->df_servertokens);
	/* No reader is left: the listeners are gone or were never up. */
	doh_map_free(atomic_load_explicit(&df->df_map, memory_order_relaxed));
	free(df);
}

int
doh_header_add(struct web_header **hp, size_t *np, const char *name,
    const char *value)
{
	struct web_header	*nh;
	char			*p;

	if ((nh = reallocarray(*hp, *np + 1, sizeof(*nh))) == NULL)
		return -1;
	*hp = nh;
	nh = &nh[*np];
	nh->wh_name = strdup(name);
	nh->wh_value = strdup(value);
	if (nh->wh_name == NULL || nh->wh_value == NULL) {
		free(nh->wh_name);
		free(nh->wh_value);
		return -1;
	}
	for (p = nh->wh_name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	(*np)++;
	return 0;
}

struct doh_map *
doh_map_new(size_t n)
{
	struct doh_map	*m;

	if ((m = calloc(1, sizeof(*m) + n * sizeof(m->dm_e[0]))) == NULL)
		return NULL;
	m->dm_n = n;
	return m;
}

void
doh_map_free(struct doh_map *m)
{
	struct doh_mapentry	*e;
	size_t			 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->dm_n; i++) {
		e = &m->dm_e[i];
		if (e->me_compiled)
			regfree(&e->me_re);
		free(e->me_regex);
		free(e->me_content);
		web_headers_free(e->me_headers, e->me_nheaders);
	}
	free(m);
}

int
doh_map_set(struct doh_mapentry *e, const char *regex, int status,
    const char *content, size_t len, bool hasheaders,
    const struct web_header *h, size_t nh, char *err, size_t errsz)
{
	size_t	i;
	int	rc;

	/* As dnsdist's expressions: extended, case-insensitive. */
	if ((rc = regcomp(&e->me_re, regex, REG_EXTENDED | REG_ICASE |
	    REG_NOSUB)) != 0) {
		regerror(rc, &e->me_re, err, errsz);
		return -1;
	}
	e->me_compiled = true;
	e->me_status = status;
	e->me_hasheaders = hasheaders;
	if ((e->me_regex = strdup(regex)) == NULL ||
	    (e->me_content = malloc(len + 1)) == NULL)
		goto nomem;
	memcpy(e->me_content, content, len);
	e->me_content[len] = '\0';
	e->me_len = len;
	for (i = 0; i < nh; i++)
		if (doh_header_add(&e->me_headers, &e->me_nheaders,
		    h[i].wh_name, h[i].wh_value) == -1)
			goto nomem;
	return 0;
nomem:
	strlcpy(err, "out of memory", errsz);
	return -1;
}

const struct doh_mapentry *
doh_map_match(const struct doh_map *m, const char *target)
{
	size_t	i;

	for (i = 0; m != NULL && i < m->dm_n; i++)
		if (regexec(&m->dm_e[i].me_re, target, 0, NULL, 0) == 0)
			return &m->dm_e[i];
	return NULL;
}

static void
map_reclaim(struct qsbr_node *n)
{
	doh_map_free((struct doh_map *)(void *)((char *)n -
	    offsetof(struct doh_map, dm_q)));
}

void
doh_frontend_set_map(struct doh_frontend *df, struct doh_map *m)
{
	struct doh_map	*old;

	old = atomic_exchange_explicit(&df->df_map, m, memory_order_acq_rel);
	if (old != NULL)
		qsbr_retire(&old->dm_q, map_reclaim);
}

void
doh_frontend_move_map(struct doh_frontend *to, struct doh_frontend *from)
{
	doh_frontend_set_map(to, atomic_exchange_explicit(&from->df_map, NULL,
	    memory_order_acq_rel));
}

const struct doh_map *
doh_frontend_map(struct doh_frontend *df)
{
	return atomic_load_explicit(&df->df_map, memory_order_acquire);
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

int
doh_path_ok(const struct doh_frontend *df, const char *path, size_t len)
{
	const char	*u;
	size_t		 i, ulen;
	int		 rc = -1;

	for (i = 0; i < df->df_nurls; i++) {
		u = df->df_urls[i];
		ulen = strlen(u);
		if (ulen == len && memcmp(path, u, len) == 0)
			return 1;
		/* Below it, at a segment's boundary, as h2o matches paths. */
		if (len > ulen && memcmp(path, u, ulen) == 0 &&
		    (u[ulen - 1] == '/' || path[ulen] == '/'))
			rc = df->df_exactpath ? 0 : 1;
		if (rc == 1)
			return 1;
	}
	return rc;
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

/* Append s to the copy at *p: its new place. */
static const char *
copy_str(char **p, const char *s)
{
	size_t	n = strlen(s) + 1;
	char	*d = memcpy(*p, s, n);

	*p += n;
	return d;
}

struct doh_request *
doh_request_copy(const struct doh_request *dr)
{
	struct doh_request	*c;
	size_t			 need, i;
	char			*p;

	need = strlen(dr->dr_query) + strlen(dr->dr_host) +
	    strlen(dr->dr_scheme) + 3;
	for (i = 0; i < dr->dr_nheaders; i++)
		need += strlen(dr->dr_headers[i].h_name) +
		    strlen(dr->dr_headers[i].h_value) + 2;
	if ((c = malloc(sizeof(*c) + need)) == NULL)
		return NULL;
	*c = *dr;
	p = (char *)(c + 1);
	c->dr_query = copy_str(&p, dr->dr_query);
	c->dr_host = copy_str(&p, dr->dr_host);
	c->dr_scheme = copy_str(&p, dr->dr_scheme);
	for (i = 0; i < dr->dr_nheaders; i++) {
		c->dr_headers[i].h_name = copy_str(&p, dr->dr_headers[i].h_name);
		c->dr_headers[i].h_value = copy_str(&p,
		    dr->dr_headers[i].h_value);
	}
	return c;
}
