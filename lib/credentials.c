/*
 * Credentials of the web server, plain or scrypt-hashed; what verified
 * already, and failed verifications per client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "credentials.h"

#define CRED_PREFIX	"$scrypt$"
#define CRED_SALTLEN	16
#define CRED_HASHLEN	32

struct cred_parsed {
	uint64_t	cp_n;
	uint32_t	cp_r;
	uint32_t	cp_p;
	uint8_t		cp_salt[CRED_SALTLEN];
	uint8_t		cp_hash[CRED_HASHLEN];
};

/* "$scrypt$ln=10,p=1,r=8$<b64 salt>$<b64 hash>"; 0 or -1. */
static int
cred_parse(const char *text, struct cred_parsed *cp)
{
	unsigned int	 ln, p, r;
	int		 used = 0;
	const char	*salt, *hash;
	size_t		 len;

	if (strlen(text) >= CRED_MAXLEN ||
	    strncmp(text, CRED_PREFIX, strlen(CRED_PREFIX)) != 0)
		return -1;
	text += strlen(CRED_PREFIX);
	if (sscanf(text, "ln=%2u,p=%4u,r=%4u$%n", &ln, &p, &r, &used) != 3 ||
	    used == 0 || ln < 1 || ln > 15 || p < 1 || r < 1)
		return -1;
	salt = text + used;
	if ((hash = strchr(salt, '$')) == NULL)
		return -1;
	if (sodium_base642bin(cp->cp_salt, sizeof(cp->cp_salt), salt,
	    (size_t)(hash - salt), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || len != CRED_SALTLEN)
		return -1;
	hash++;
	if (sodium_base642bin(cp->cp_hash, sizeof(cp->cp_hash), hash,
	    strlen(hash), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || len != CRED_HASHLEN)
		return -1;
	cp->cp_n = (uint64_t)1 << ln;
	cp->cp_p = p;
	cp->cp_r = r;
	/* Bounded work per request, as dnsdist: N at most 32768. */
	if (cp->cp_n > CRED_MAXWORKFACTOR || (uint64_t)r * p > 64)
		return -1;
	return 0;
}

bool
cred_is_hashed(const char *text)
{
	struct cred_parsed	cp;

	return cred_parse(text, &cp) == 0;
}

static int
cred_scrypt(const char *password, const struct cred_parsed *cp,
    uint8_t out[CRED_HASHLEN])
{
	return crypto_pwhash_scryptsalsa208sha256_ll(
	    (const uint8_t *)password, strlen(password), cp->cp_salt,
	    sizeof(cp->cp_salt), cp->cp_n, cp->cp_r, cp->cp_p, out,
	    CRED_HASHLEN);
}

/* Whether password hashes to cp's hash. */
static bool
cred_scrypt_match(const char *password, const struct cred_parsed *cp)
{
	uint8_t	out[CRED_HASHLEN];
	bool	ok;

	ok = cred_scrypt(password, cp, out) == 0 &&
	    sodium_memcmp(out, cp->cp_hash, sizeof(out)) == 0;
	sodium_memzero(out, sizeof(out));
	return ok;
}

int
cred_hash(const char *password, uint64_t workfactor, char *out, size_t outsz)
{
	struct cred_parsed	cp;
	char			salt64[sodium_base64_ENCODED_LEN(CRED_SALTLEN,
				    sodium_base64_VARIANT_ORIGINAL)];
	char			hash64[sodium_base64_ENCODED_LEN(CRED_HASHLEN,
				    sodium_base64_VARIANT_ORIGINAL)];
	unsigned int		ln = 0;
	int			n;

	if (workfactor < 2 || workfactor > CRED_MAXWORKFACTOR ||
	    (workfactor & (workfactor - 1)) != 0)
		return -1;
	while (((uint64_t)1 << ln) < workfactor)
		ln++;
	memset(&cp, 0, sizeof(cp));
	cp.cp_n = workfactor;
	cp.cp_r = 8;
	cp.cp_p = 1;
	randombytes_buf(cp.cp_salt, sizeof(cp.cp_salt));
	if (cred_scrypt(password, &cp, cp.cp_hash) != 0)
		return -1;
	sodium_bin2base64(salt64, sizeof(salt64), cp.cp_salt,
	    sizeof(cp.cp_salt), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(hash64, sizeof(hash64), cp.cp_hash,
	    sizeof(cp.cp_hash), sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, outsz, "%sln=%u,p=%u,r=%u$%s$%s", CRED_PREFIX, ln,
	    cp.cp_p, cp.cp_r, salt64, hash64);
	sodium_memzero(&cp, sizeof(cp));
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

bool
cred_check(const char *stored, const char *given)
{
	struct cred_parsed	cp;
	uint8_t			key[crypto_generichash_KEYBYTES];
	uint8_t			a[CRED_HASHLEN], b[CRED_HASHLEN];
	bool			ok;

	if (stored == NULL || stored[0] == '\0' || given == NULL)
		return false;
	if (cred_parse(stored, &cp) == 0)
		ok = cred_scrypt_match(given, &cp);
	else {
		/* Equal-length keyed digests: a constant-time comparison. */
		randombytes_buf(key, sizeof(key));
		crypto_generichash(a, sizeof(a), (const uint8_t *)stored,
		    strlen(stored), key, sizeof(key));
		crypto_generichash(b, sizeof(b), (const uint8_t *)given,
		    strlen(given), key, sizeof(key));
		ok = sodium_memcmp(a, b, sizeof(a)) == 0;
		sodium_memzero(key, sizeof(key));
	}
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	sodium_memzero(&cp, sizeof(cp));
	return ok;
}

static void
memo_digest(const struct cred_memo *memo, const char *text,
    uint8_t out[CRED_DIGESTLEN])
{
	crypto_generichash(out, CRED_DIGESTLEN, (const uint8_t *)text,
	    strlen(text), memo->cm_key, sizeof(memo->cm_key));
}

void
cred_memo_clear(struct cred_memo *memo)
{
	sodium_memzero(memo, sizeof(*memo));
}

enum cred_result
cred_verify(struct cred_memo *memo, const char *stored, const char *given,
    bool may_hash)
{
	struct cred_parsed	cp;
	uint8_t			d[CRED_DIGESTLEN];
	enum cred_result	r;

	if (stored == NULL || stored[0] == '\0' || given == NULL)
		return CRED_MISMATCH;
	if (cred_parse(stored, &cp) == -1)
		return cred_check(stored, given) ? CRED_MATCH : CRED_MISMATCH;
	if (memo->cm_keyed) {
		memo_digest(memo, stored, d);
		if (sodium_memcmp(d, memo->cm_stored, sizeof(d)) != 0)
			cred_memo_clear(memo);
	}
	if (!memo->cm_keyed) {
		randombytes_buf(memo->cm_key, sizeof(memo->cm_key));
		memo_digest(memo, stored, memo->cm_stored);
		memo->cm_keyed = true;
	}
	memo_digest(memo, given, d);
	if (memo->cm_matched &&
	    sodium_memcmp(d, memo->cm_given, sizeof(d)) == 0)
		r = CRED_MATCH;
	else if (!may_hash)
		r = CRED_UNCHECKED;
	else if (cred_scrypt_match(given, &cp)) {
		memcpy(memo->cm_given, d, sizeof(d));
		memo->cm_matched = true;
		r = CRED_MATCH;
	} else
		r = CRED_MISMATCH;
	sodium_memzero(d, sizeof(d));
	sodium_memzero(&cp, sizeof(cp));
	return r;
}

/*
 * The slot that counts sa's failures: its own while its window lasts,
 * else (create) a free one, else the shared last one.  NULL when sa has
 * none and create is false.
 */
static struct cred_limit_slot *
limit_slot(struct cred_limit *cl, const struct sockaddr *sa, uint64_t now,
    bool create)
{
	struct cred_limit_slot	*ls, *free_ls = NULL;
	struct netmask		 nm;
	bool			 known;
	size_t			 i;

	known = netmask_from_sockaddr(sa, 32, 64, &nm) == 0;
	for (i = 0; i <= CRED_LIMIT_SLOTS; i++) {
		ls = &cl->cl_slots[i];
		if (ls->ls_fails == 0 || now - ls->ls_start >=
		    CRED_LIMIT_WINDOW * UINT64_C(1000000000)) {
			ls->ls_fails = 0;
			if (free_ls == NULL && i < CRED_LIMIT_SLOTS)
				free_ls = ls;
			continue;
		}
		if (known && i < CRED_LIMIT_SLOTS &&
		    ls->ls_net.nm_family == nm.nm_family &&
		    memcmp(ls->ls_net.nm_addr, nm.nm_addr,
		    sizeof(nm.nm_addr)) == 0)
			return ls;
	}
	if (free_ls == NULL || !known)
		ls = &cl->cl_slots[CRED_LIMIT_SLOTS];
	else if (create) {
		ls = free_ls;
		ls->ls_net = nm;
	} else
		return NULL;
	if (ls->ls_fails == 0) {
		if (!create)
			return NULL;
		ls->ls_start = now;
	}
	return ls;
}

unsigned int
cred_limit_wait(struct cred_limit *cl, const struct sockaddr *sa,
    uint64_t now)
{
	struct cred_limit_slot	*ls;
	uint64_t		 end;

	if ((ls = limit_slot(cl, sa, now, false)) == NULL ||
	    ls->ls_fails < CRED_LIMIT_FAILS)
		return 0;
	end = ls->ls_start + CRED_LIMIT_WINDOW * UINT64_C(1000000000);
	return (unsigned int)((end - now + 999999999) / 1000000000);
}

void
cred_limit_fail(struct cred_limit *cl, const struct sockaddr *sa,
    uint64_t now)
{
	struct cred_limit_slot	*ls;

	ls = limit_slot(cl, sa, now, true);
	if (ls->ls_fails < UINT32_MAX)
		ls->ls_fails++;
}
