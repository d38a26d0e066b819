/*
 * OpenSSL engines and providers (dnsdist's loadTLSEngine and
 * loadTLSProvider), loaded into libcrypto for every TLS context made
 * after them.  Only with OpenSSL's libssl (TLS=openssl): engines where
 * the library still has them (deprecated in OpenSSL 3, whose headers
 * then need OPENSSL_SUPPRESS_DEPRECATED), providers from OpenSSL 3 on.
 * A name loaded again is kept, not loaded twice, so that a reload of a
 * configuration that loads one succeeds.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "ossl.h"

#ifdef DNSDIST_TLS_OPENSSL
#include <openssl/err.h>
#include <openssl/opensslv.h>
#ifndef OPENSSL_NO_ENGINE
#include <openssl/engine.h>
#define HAVE_ENGINES
#endif
#if defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR >= 3 && \
    !defined(LIBRESSL_VERSION_NUMBER)
#include <openssl/provider.h>
#define HAVE_PROVIDERS
#endif
#endif

#define OSSL_MAXLOADED	32	/* of each, as dnsdist */

#if defined(HAVE_ENGINES) || defined(HAVE_PROVIDERS)
static pthread_mutex_t	load_lock = PTHREAD_MUTEX_INITIALIZER;

/* err as "what 'name': libcrypto's reason", the error queue emptied. */
static int
load_fail(char *err, size_t errlen, const char *what, const char *name)
{
	unsigned long	e = ERR_peek_last_error();
	const char	*r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s '%s'%s%s", what, name, r != NULL ? ": " : "",
	    r != NULL ? r : "");
	ERR_clear_error();
	return -1;
}
#endif

#ifdef HAVE_ENGINES
static struct {
	char	 name[64];
	ENGINE	*e;
} engines[OSSL_MAXLOADED];
static size_t	nengines;

int
ossl_load_engine(const char *name, const char *defstr, char *err,
    size_t errlen)
{
	ENGINE	*e = NULL;
	size_t	 i;
	int	 rc = -1;

	pthread_mutex_lock(&load_lock);
	for (i = 0; i < nengines; i++)
		if (strcmp(engines[i].name, name) == 0)
			break;
	if (i < nengines)
		e = engines[i].e;
	else if (nengines == OSSL_MAXLOADED ||
	    strlen(name) >= sizeof(engines[0].name)) {
		snprintf(err, errlen, "TLS engine '%s': at most %d engines, of "
		    "names up to %zu bytes", name, OSSL_MAXLOADED,
		    sizeof(engines[0].name) - 1);
		goto done;
	} else if ((e = ENGINE_by_id(name)) == NULL) {
		load_fail(err, errlen, "unable to load TLS engine", name);
		goto done;
	} else if (!ENGINE_init(e)) {
		ENGINE_free(e);
		load_fail(err, errlen, "unable to initialize TLS engine", name);
		goto done;
	} else {
		/* ENGINE_init took a functional reference of its own. */
		ENGINE_free(e);
		snprintf(engines[nengines].name, sizeof(engines[0].name), "%s",
		    name);
		engines[nengines++].e = e;
	}
	if (defstr != NULL && !ENGINE_set_default_string(e, defstr)) {
		load_fail(err, errlen, "unable to set the default string of "
		    "TLS engine", name);
		goto done;
	}
	rc = 0;
done:
	pthread_mutex_unlock(&load_lock);
	return rc;
}
#else
int
ossl_load_engine(const char *name, const char *defstr, char *err,
    size_t errlen)
{
	(void)defstr;
	snprintf(err, errlen, "TLS engine '%s': the TLS library has no "
	    "engines", name);
	return -1;
}
#endif

#ifdef HAVE_PROVIDERS
static struct {
	char		 name[64];
	OSSL_PROVIDER	*p;
} providers[OSSL_MAXLOADED];
static size_t	nproviders;

int
ossl_load_provider(const char *name, char *err, size_t errlen)
{
	OSSL_PROVIDER	*p;
	size_t		 i;
	int		 rc = -1;

	pthread_mutex_lock(&load_lock);
	for (i = 0; i < nproviders; i++)
		if (strcmp(providers[i].name, name) == 0)
			break;
	if (i < nproviders)
		rc = 0;
	else if (nproviders == OSSL_MAXLOADED ||
	    strlen(name) >= sizeof(providers[0].name))
		snprintf(err, errlen, "TLS provider '%s': at most %d "
		    "providers, of names up to %zu bytes", name,
		    OSSL_MAXLOADED, sizeof(providers[0].name) - 1);
	else if ((p = OSSL_PROVIDER_load(NULL, name)) == NULL)
		load_fail(err, errlen, "unable to load TLS provider", name);
	else {
		snprintf(providers[nproviders].name, sizeof(providers[0].name),
		    "%s", name);
		providers[nproviders++].p = p;
		rc = 0;
	}
	pthread_mutex_unlock(&load_lock);
	return rc;
}
#else
int
ossl_load_provider(const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "TLS provider '%s': providers need OpenSSL 3",
	    name);
	return -1;
}
#endif
