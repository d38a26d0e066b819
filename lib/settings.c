#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <strings.h>

#include "addr.h"
#include "ctlproto.h"
#include "dnscrypt.h"
#include "doh.h"
#include "settings.h"

struct settings settings;

static const char *default_acl[] = {
	"127.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16",
	"192.168.0.0/16", "172.16.0.0/12", "::1/128", "fc00::/7", "fe80::/10",
};

int
settings_default_acl(struct netmask_group *ng)
{
	size_t	i;

	netmask_group_clear(ng);
	for (i = 0; i < sizeof(default_acl) / sizeof(default_acl[0]); i++)
		if (netmask_group_add_text(ng, default_acl[i]) == -1)
			return -1;
	return 0;
}

int
settings_default_console_acl(struct netmask_group *ng)
{
	netmask_group_clear(ng);
	return netmask_group_add_text(ng, "127.0.0.0/8, ::1/128");
}

int
settings_set_console_key(const char *text)
{
	uint8_t	key[CTLPROTO_KEYLEN];

	_Static_assert(sizeof(settings.st_consolekey) == CTLPROTO_KEYLEN,
	    "console key size");
	if (ctlproto_key_decode(text, key) == -1)
		return -1;
	explicit_bzero(settings.st_consolekey, sizeof(settings.st_consolekey));
	memcpy(settings.st_consolekey, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	settings.st_consolekeyset = true;
	return 0;
}

int
settings_set_secret(char **dst, const char *text)
{
	char	*n;

	if ((n = strdup(text)) == NULL)
		return -1;
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = n;
	return 0;
}

void
web_headers_free(struct web_header *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(h[i].wh_name);
		free(h[i].wh_value);
	}
	free(h);
}

int
settings_add_web_lua(const char *path, bool auth)
{
	struct web_luapath	*nl;
	size_t			 i;

	for (i = 0; i < settings.st_nweblua; i++)
		if (strcmp(settings.st_weblua[i].wl_path, path) == 0) {
			settings.st_weblua[i].wl_auth = auth;
			return 0;
		}
	nl = reallocarray(settings.st_weblua, settings.st_nweblua + 1,
	    sizeof(*nl));
	if (nl == NULL)
		return -1;
	settings.st_weblua = nl;
	nl += settings.st_nweblua;
	if ((nl->wl_path = strdup(path)) == NULL)
		return -1;
	nl->wl_auth = auth;
	settings.st_nweblua++;
	return 0;
}

void
settings_clear_web_headers(void)
{
	web_headers_free(settings.st_webheaders, settings.st_nwebheaders);
	settings.st_webheaders = NULL;
	settings.st_nwebheaders = 0;
}

int
settings_set_web_header(const char *name, const char *value)
{
	struct web_header	*nh;
	char			*v;
	size_t			 i;

	if ((v = strdup(value)) == NULL)
		return -1;
	for (i = 0; i < settings.st_nwebheaders; i++)
		if (strcasecmp(settings.st_webheaders[i].wh_name, name) == 0) {
			free(settings.st_webheaders[i].wh_value);
			settings.st_webheaders[i].wh_value = v;
			return 0;
		}
	nh = reallocarray(settings.st_webheaders, settings.st_nwebheaders + 1,
	    sizeof(*nh));
	if (nh == NULL) {
		free(v);
		return -1;
	}
	settings.st_webheaders = nh;
	nh += settings.st_nwebheaders;
	if ((nh->wh_name = strdup(name)) == NULL) {
		free(v);
		return -1;
	}
	nh->wh_value = v;
	settings.st_nwebheaders++;
	return 0;
}

int
settings_add_carbon(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *ourname, int interval, const char *ns, const char *instance)
{
	struct carbon_dest	*nc, *cd;

	nc = reallocarray(settings.st_carbon, settings.st_ncarbon + 1,
	    sizeof(*nc));
	if (nc == NULL)
		return -1;
	settings.st_carbon = nc;
	cd = &nc[settings.st_ncarbon];
	memset(cd, 0, sizeof(*cd));
	cd->cd_addr = *ss;
	cd->cd_addrlen = sslen;
	cd->cd_interval = interval;
	if ((ourname != NULL && (cd->cd_ourname = strdup(ourname)) == NULL) ||
	    (cd->cd_namespace = strdup(ns)) == NULL ||
	    (cd->cd_instance = strdup(instance)) == NULL) {
		free(cd->cd_ourname);
		free(cd->cd_namespace);
		return -1;
	}
	settings.st_ncarbon++;
	return 0;
}

_Atomic int	settings_syslogfacility = LOG_DAEMON;
_Atomic bool	settings_verbosehealthchecks;
_Atomic unsigned settings_dohdump;
_Atomic long settings_tlssessions;

int
settings_init(void)
{
	memset(&settings, 0, sizeof(settings));
	netmask_group_init(&settings.st_acl);
	netmask_group_init(&settings.st_ppacl);
	settings.st_ppmaxsize = 512;
	settings.st_maxudpoutstanding = 65535;
	settings.st_randomids = true;
	settings.st_udptimeout = 2;
	settings.st_tcprecvtimeout = 2;
	settings.st_tcpsendtimeout = 2;
	settings.st_maxtcpclientthreads = 10;
	settings.st_maxtcpqueuedconns = 1000;
	settings.st_maxtcpqueuedbytes = 32 << 20;
	settings.st_ringsize = 10000;
	settings.st_tcpcachedperds = 10;
	settings.st_tcpdsmaxidle = 300;
	settings.st_tcpdscleanup = 60;
	settings.st_dohcachedperds = 10;
	settings.st_dohdsmaxidle = 300;
	settings.st_dohdscleanup = 60;
	settings.st_dohworkers = 1;
	settings.st_tlssessmax = 20;
	settings.st_tlssessvalid = 600;
	settings.st_tlssesscleanup = 60;
	/* Room for a burst of a few thousand queries. */
	settings.st_udprcvbuf = 4 << 20;
	settings.st_udpsndbuf = 4 << 20;
	settings.st_cachecleaningdelay = 60;
	settings.st_failoverms = 500;
	settings.st_cachecleaningpct = 100;
	settings.st_dynblockpurge = 60;
	settings.st_ecsv4 = 24;
	settings.st_ecsv6 = 56;
	netmask_group_init(&settings.st_consoleacl);
	settings.st_consolelog = true;
	settings.st_consolemaxconns = 100;
	settings.st_consolemaxmsg = 10000000;
	if (settings_default_console_acl(&settings.st_consoleacl) == -1)
		return -1;
	netmask_group_init(&settings.st_webacl);
	if (netmask_group_add_text(&settings.st_webacl, "127.0.0.1, ::1") == -1)
		return -1;
	settings.st_webstatsauth = true;
	settings.st_webapiauth = true;
	settings.st_webdashauth = true;
	settings.st_webmaxconns = 100;
	return settings_default_acl(&settings.st_acl);
}

void
settings_free(struct settings *st)
{
	size_t	i;

	settings_free_locals(st->st_locals, st->st_nlocals);
	netmask_group_clear(&st->st_acl);
	netmask_group_clear(&st->st_ppacl);
	netmask_group_clear(&st->st_consoleacl);
	netmask_group_clear(&st->st_webacl);
	explicit_bzero(st->st_consolekey, sizeof(st->st_consolekey));
	if (st->st_webpassword != NULL)
		explicit_bzero(st->st_webpassword, strlen(st->st_webpassword));
	if (st->st_webapikey != NULL)
		explicit_bzero(st->st_webapikey, strlen(st->st_webapikey));
	free(st->st_webpassword);
	free(st->st_webapikey);
	web_headers_free(st->st_webheaders, st->st_nwebheaders);
	free(st->st_apiconfdir);
	for (i = 0; i < st->st_nweblua; i++)
		free(st->st_weblua[i].wl_path);
	free(st->st_weblua);
	for (i = 0; i < st->st_ncarbon; i++) {
		free(st->st_carbon[i].cd_ourname);
		free(st->st_carbon[i].cd_namespace);
		free(st->st_carbon[i].cd_instance);
	}
	free(st->st_carbon);
	memset(st, 0, sizeof(*st));
}

struct local *
settings_add_local(const char *text, uint16_t defport, bool reuseport,
    int tcpfastopen)
{
	struct local	*nl, *lc;

	nl = realloc(settings.st_locals,
	    (settings.st_nlocals + 1) * sizeof(*nl));
	if (nl == NULL)
		return NULL;
	settings.st_locals = nl;
	lc = &nl[settings.st_nlocals];
	memset(lc, 0, sizeof(*lc));
	if (addr_parse(text, defport, &lc->lc_addr, &lc->lc_addrlen) == -1)
		return NULL;
	addr_to_text((struct sockaddr *)&lc->lc_addr, lc->lc_text,
	    sizeof(lc->lc_text));
	lc->lc_reuseport = reuseport;
	lc->lc_tcpfastopen = tcpfastopen;
	lc->lc_udp = lc->lc_tcp = true;
	lc->lc_tcplistenqueue = 64;
	settings.st_nlocals++;
	return lc;
}

void
settings_local_place(struct local *to, const struct local *from)
{
	memcpy(to->lc_ifname, from->lc_ifname, sizeof(to->lc_ifname));
	to->lc_pinned = from->lc_pinned;
	memcpy(to->lc_cpus, from->lc_cpus, sizeof(to->lc_cpus));
}

/* As dnsdist's setLocal() and -l: the DNSCrypt binds and DoH stay. */
void
settings_clear_locals(void)
{
	size_t	i, j;

	for (i = j = 0; i < settings.st_nlocals; i++)
		if (settings.st_locals[i].lc_tls != NULL ||
		    settings.st_locals[i].lc_dnscrypt != NULL ||
		    settings.st_locals[i].lc_doh != NULL)
			settings.st_locals[j++] = settings.st_locals[i];
	settings.st_nlocals = j;
	if (j == 0) {
		free(settings.st_locals);
		settings.st_locals = NULL;
	}
}

void
settings_free_locals(struct local *lc, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		tls_local_free(lc[i].lc_tls);
		dnscrypt_ctx_free(lc[i].lc_dnscrypt);
		doh_frontend_free(lc[i].lc_doh);
	}
	free(lc);
}

/* A vector of strings ending in NULL. */
static void
strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
tls_local_free(struct tls_local *tl)
{
	size_t	i;

	if (tl == NULL)
		return;
	strv_free(tl->tl_certs);
	strv_free(tl->tl_keys);
	strv_free(tl->tl_ocsp);
	for (i = 0; tl->tl_pass != NULL && i < tl->tl_npairs; i++)
		if (tl->tl_pass[i] != NULL) {
			explicit_bzero(tl->tl_pass[i], strlen(tl->tl_pass[i]));
			free(tl->tl_pass[i]);
		}
	free(tl->tl_pass);
	free(tl->tl_provider);
	free(tl->tl_ciphers);
	free(tl->tl_keyfile);
	free(tl->tl_ciphers13);
	free(tl->tl_keylog);
	free(tl);
}

static bool
str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
tls_local_same(const struct tls_local *a, const struct tls_local *b)
{
	size_t	i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->tl_npairs != b->tl_npairs || (a->tl_ocsp == NULL) !=
	    (b->tl_ocsp == NULL) || !str_same(a->tl_provider, b->tl_provider) ||
	    !str_same(a->tl_ciphers, b->tl_ciphers) ||
	    !str_same(a->tl_keyfile, b->tl_keyfile) ||
	    a->tl_minver != b->tl_minver ||
	    a->tl_tickets != b->tl_tickets || a->tl_nkeys != b->tl_nkeys ||
	    a->tl_rotation != b->tl_rotation)
		return false;
	for (i = 0; i < a->tl_npairs; i++)
		if (strcmp(a->tl_certs[i], b->tl_certs[i]) != 0 ||
		    strcmp(a->tl_keys[i], b->tl_keys[i]) != 0 ||
		    !str_same(a->tl_pass != NULL ? a->tl_pass[i] : NULL,
		    b->tl_pass != NULL ? b->tl_pass[i] : NULL) ||
		    (a->tl_ocsp != NULL &&
		    strcmp(a->tl_ocsp[i], b->tl_ocsp[i]) != 0))
			return false;
	return true;
}

size_t
settings_nbinds(void)
{
	size_t	i, n = 0;

	for (i = 0; i < settings.st_nlocals; i++)
		n += (settings.st_locals[i].lc_udp ? 1 : 0) +
		    (settings.st_locals[i].lc_tcp ? 1 : 0);
	return n;
}

int
settings_bind(size_t n, size_t *local, bool *tcp)
{
	struct local	*lc;
	size_t		 i;

	for (i = 0; i < settings.st_nlocals; i++) {
		lc = &settings.st_locals[i];
		if (lc->lc_udp && n-- == 0) {
			*local = i;
			*tcp = false;
			return 0;
		}
		if (lc->lc_tcp && n-- == 0) {
			*local = i;
			*tcp = true;
			return 0;
		}
	}
	return -1;
}
