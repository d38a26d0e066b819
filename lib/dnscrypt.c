/*
 * DNSCrypt v2, the resolver's side (see dnscrypt.h).  Wire formats:
 *
 *   certificate  "DNSC" es-version(2) minor(2, 0) signature(64)
 *                resolver-pk(32) client-magic(8) serial(4) start(4) end(4),
 *                the signature (Ed25519, provider key) over the last 52
 *   query        client-magic(8) client-pk(32) client-nonce(12)
 *                box(query 0x80 0x00...) under nonce client-nonce|0(12)
 *   answer       "r6fnvWj8" nonce(client-nonce|resolver-nonce)
 *                box(answer 0x80 0x00...)
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dnscrypt.h"
#include "dnsname.h"
#include "dnspacket.h"

#define CERT_SIG	8		/* signature, then the signed part */
#define CERT_SIGNED	72
#define CERT_PK		72
#define CERT_MAGIC	104
#define CERT_SERIAL	112
#define CERT_START	116
#define CERT_END	120
#define SIGNED_LEN	52
#define DNS_TYPE_TXT	16
#define DNS_CLASS_IN	1

static const uint8_t resolver_magic[8] = { 0x72, 0x36, 0x66, 0x6e, 0x76,
    0x57, 0x6a, 0x38 };

uint32_t
dnscrypt_cert_serial(const uint8_t *cert)
{
	return dnspacket_get32(cert + CERT_SERIAL);
}

uint32_t
dnscrypt_cert_start(const uint8_t *cert)
{
	return dnspacket_get32(cert + CERT_START);
}

uint32_t
dnscrypt_cert_end(const uint8_t *cert)
{
	return dnspacket_get32(cert + CERT_END);
}

int
dnscrypt_cert_es(const uint8_t *cert)
{
	if (cert[4] != 0 || (cert[5] != DNSCRYPT_ES_XSALSA &&
	    cert[5] != DNSCRYPT_ES_XCHACHA))
		return -1;
	return cert[5];
}

const uint8_t *
dnscrypt_cert_pk(const uint8_t *cert)
{
	return cert + CERT_PK;
}

const uint8_t *
dnscrypt_cert_magic(const uint8_t *cert)
{
	return cert + CERT_MAGIC;
}

static bool
cert_valid(const uint8_t *cert, time_t now)
{
	return (time_t)dnscrypt_cert_start(cert) <= now &&
	    now <= (time_t)dnscrypt_cert_end(cert);
}

static struct dnscrypt_set *
set_new(size_t n)
{
	struct dnscrypt_set	*s;

	if ((s = calloc(1, sizeof(*s) + n * sizeof(s->ds_pairs[0]))) == NULL)
		return NULL;
	s->ds_n = n;
	return s;
}

static void
set_free(struct dnscrypt_set *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s->ds_pairs, s->ds_n * sizeof(s->ds_pairs[0]));
	free(s);
}

static void
set_reclaim(struct qsbr_node *n)
{
	set_free((struct dnscrypt_set *)(void *)((char *)n -
	    offsetof(struct dnscrypt_set, ds_q)));
}

/* Publish s; the old set goes once no reader can hold it. */
static void
set_publish(struct dnscrypt_ctx *dc, struct dnscrypt_set *s)
{
	struct dnscrypt_set	*old;

	old = atomic_exchange_explicit(&dc->dc_set, s, memory_order_acq_rel);
	qsbr_retire(&old->ds_q, set_reclaim);
}

struct dnscrypt_ctx *
dnscrypt_ctx_new(const char *provider)
{
	struct dnscrypt_ctx	*dc;
	struct dnscrypt_set	*s;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return NULL;
	if (dnsname_from_text(provider, dc->dc_provider,
	    &dc->dc_providerlen) == -1 || (s = set_new(0)) == NULL) {
		free(dc);
		return NULL;
	}
	dnsname_to_text(dc->dc_provider, dc->dc_providerlen,
	    dc->dc_providertext, sizeof(dc->dc_providertext));
	atomic_init(&dc->dc_set, s);
	return dc;
}

void
dnscrypt_ctx_free(struct dnscrypt_ctx *dc)
{
	size_t	i;

	if (dc == NULL)
		return;
	set_free(atomic_load(&dc->dc_set));
	for (i = 0; i < dc->dc_npaths; i++)
		free(dc->dc_paths[i]);
	free(dc->dc_paths);
	free(dc);
}

const struct dnscrypt_set *
dnscrypt_set(const struct dnscrypt_ctx *dc)
{
	return atomic_load_explicit(&dc->dc_set, memory_order_acquire);
}

/* A copy of the live set with room for more pairs. */
static struct dnscrypt_set *
set_copy(struct dnscrypt_ctx *dc, size_t more)
{
	const struct dnscrypt_set	*cur = dnscrypt_set(dc);
	struct dnscrypt_set		*s;

	if ((s = set_new(cur->ds_n + more)) == NULL)
		return NULL;
	memcpy(s->ds_pairs, cur->ds_pairs, cur->ds_n * sizeof(cur->ds_pairs[0]));
	s->ds_n = cur->ds_n;
	return s;
}

static long
set_find(const struct dnscrypt_set *s, uint32_t serial)
{
	size_t	i;

	for (i = 0; i < s->ds_n; i++)
		if (dnscrypt_cert_serial(s->ds_pairs[i].dp_cert) == serial)
			return (long)i;
	return -1;
}

static int
pair_check(const uint8_t *cert, const uint8_t *sk, const char **why)
{
	uint8_t	pk[DNSCRYPT_KEY];

	if (memcmp(cert, "DNSC", 4) != 0 || dnscrypt_cert_es(cert) == -1) {
		*why = "not a DNSCrypt certificate of a known version";
		return -1;
	}
	if (crypto_scalarmult_base(pk, sk) != 0 ||
	    memcmp(pk, dnscrypt_cert_pk(cert), sizeof(pk)) != 0) {
		*why = "the private key does not match the certificate";
		return -1;
	}
	return 0;
}

int
dnscrypt_add(struct dnscrypt_ctx *dc, const uint8_t *cert, const uint8_t *sk,
    bool active, const char **why)
{
	struct dnscrypt_set	*s;
	struct dnscrypt_pair	*p;

	if (pair_check(cert, sk, why) == -1)
		return -1;
	if (set_find(dnscrypt_set(dc), dnscrypt_cert_serial(cert)) != -1) {
		*why = "Error adding a new certificate: we already have a "
		    "certificate with the same serial";
		return -1;
	}
	if ((s = set_copy(dc, 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	p = &s->ds_pairs[s->ds_n++];
	memcpy(p->dp_cert, cert, DNSCRYPT_CERT_LEN);
	memcpy(p->dp_sk, sk, DNSCRYPT_KEY);
	p->dp_active = active;
	set_publish(dc, s);
	return 0;
}

int
dnscrypt_mark(struct dnscrypt_ctx *dc, uint32_t serial, bool active,
    const char **why)
{
	const struct dnscrypt_set	*cur = dnscrypt_set(dc);
	struct dnscrypt_set		*s;
	size_t				 i;

	for (i = 0; i < cur->ds_n; i++)
		if (cur->ds_pairs[i].dp_active != active &&
		    dnscrypt_cert_serial(cur->ds_pairs[i].dp_cert) == serial)
			break;
	if (i == cur->ds_n) {
		*why = active ? "No inactive certificate found with this "
		    "serial" : "No active certificate found with this serial";
		return -1;
	}
	if ((s = set_copy(dc, 0)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	s->ds_pairs[i].dp_active = active;
	set_publish(dc, s);
	return 0;
}

int
dnscrypt_remove(struct dnscrypt_ctx *dc, uint32_t serial, const char **why)
{
	const struct dnscrypt_set	*cur = dnscrypt_set(dc);
	struct dnscrypt_set		*s;
	size_t				 i;

	for (i = 0; i < cur->ds_n; i++)
		if (!cur->ds_pairs[i].dp_active &&
		    dnscrypt_cert_serial(cur->ds_pairs[i].dp_cert) == serial)
			break;
	if (i == cur->ds_n) {
		*why = "No inactive certificate found with this serial";
		return -1;
	}
	if ((s = set_copy(dc, 0)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	memmove(&s->ds_pairs[i], &s->ds_pairs[i + 1],
	    (s->ds_n - i - 1) * sizeof(s->ds_pairs[0]));
	s->ds_n--;
	set_publish(dc, s);
	return 0;
}

int
dnscrypt_read_file(const char *path, uint8_t *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += (size_t)n;
	close(fd);
	return got == len ? 0 : -1;
}

int
dnscrypt_write_file(const char *path, const uint8_t *buf, size_t len)
{
	ssize_t	n;
	size_t	done = 0;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	while (done < len && (n = write(fd, buf + done, len - done)) > 0)
		done += (size_t)n;
	if (close(fd) == -1 || done != len)
		return -1;
	return 0;
}

static int
load_pair(const char *certfile, const char *keyfile, uint8_t *cert,
    uint8_t *sk, const char **why)
{
	if (dnscrypt_read_file(certfile, cert, DNSCRYPT_CERT_LEN) == -1) {
		*why = "Invalid dnscrypt certificate file";
		return -1;
	}
	if (dnscrypt_read_file(keyfile, sk, DNSCRYPT_KEY) == -1) {
		*why = "Invalid DNSCrypt key file";
		return -1;
	}
	return pair_check(cert, sk, why);
}

static int
remember(struct dnscrypt_ctx *dc, const char *certfile, const char *keyfile)
{
	char	**np;

	if ((np = reallocarray(dc->dc_paths, dc->dc_npaths + 2,
	    sizeof(*np))) == NULL)
		return -1;
	dc->dc_paths = np;
	if ((np[dc->dc_npaths] = strdup(certfile)) == NULL)
		return -1;
	if ((np[dc->dc_npaths + 1] = strdup(keyfile)) == NULL) {
		free(np[dc->dc_npaths]);
		return -1;
	}
	dc->dc_npaths += 2;
	return 0;
}

int
dnscrypt_load(struct dnscrypt_ctx *dc, const char *certfile,
    const char *keyfile, bool active, const char **why)
{
	uint8_t	cert[DNSCRYPT_CERT_LEN], sk[DNSCRYPT_KEY];
	int	rv = -1;

	if (load_pair(certfile, keyfile, cert, sk, why) == 0 &&
	    dnscrypt_add(dc, cert, sk, active, why) == 0) {
		rv = 0;
		if (remember(dc, certfile, keyfile) == -1)
			*why = "out of memory";	/* loaded all the same */
	}
	sodium_memzero(sk, sizeof(sk));
	return rv;
}

int
dnscrypt_reload(struct dnscrypt_ctx *dc, const char **why)
{
	struct dnscrypt_set	*s;
	size_t			 i;

	if ((s = set_new(dc->dc_npaths / 2)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (i = 0; i < s->ds_n; i++) {
		s->ds_pairs[i].dp_active = true;
		if (load_pair(dc->dc_paths[2 * i], dc->dc_paths[2 * i + 1],
		    s->ds_pairs[i].dp_cert, s->ds_pairs[i].dp_sk, why) == -1) {
			set_free(s);
			return -1;
		}
	}
	set_publish(dc, s);
	return 0;
}

int
dnscrypt_provider_keys(uint8_t *pk, uint8_t *sk)
{
	return crypto_sign_ed25519_keypair(pk, sk);
}

void
dnscrypt_fingerprint(const uint8_t *pk, char *out)
{
	static const char	hex[] = "0123456789ABCDEF";
	size_t			i;

	for (i = 0; i < DNSCRYPT_PROVIDER_PK; i++) {
		*out++ = hex[pk[i] >> 4];
		*out++ = hex[pk[i] & 0xf];
		if (i % 2 == 1 && i + 1 < DNSCRYPT_PROVIDER_PK)
			*out++ = ':';
	}
	*out = '\0';
}

int
dnscrypt_cert_make(const uint8_t *providersk, uint32_t serial, uint32_t from,
    uint32_t until, int es, uint8_t *cert, uint8_t *sk)
{
	unsigned long long	siglen;
	uint8_t			signedmsg[64 + SIGNED_LEN];

	if (es != DNSCRYPT_ES_XSALSA && es != DNSCRYPT_ES_XCHACHA)
		return -1;
	memset(cert, 0, DNSCRYPT_CERT_LEN);
	memcpy(cert, "DNSC", 4);
	cert[5] = (uint8_t)es;
	if (crypto_box_keypair(cert + CERT_PK, sk) != 0)
		return -1;
	/* The client magic is the first 8 bytes of the public key. */
	memcpy(cert + CERT_MAGIC, cert + CERT_PK, 8);
	dnspacket_put32(cert + CERT_SERIAL, serial);
	dnspacket_put32(cert + CERT_START, from);
	dnspacket_put32(cert + CERT_END, until);
	/* The combined form is the signature followed by the message. */
	if (crypto_sign_ed25519(signedmsg, &siglen, cert + CERT_SIGNED,
	    SIGNED_LEN, providersk) != 0 || siglen != sizeof(signedmsg))
		return -1;
	memcpy(cert + CERT_SIG, signedmsg, 64);
	return 0;
}

static int
shared_key(int es, uint8_t *key, const uint8_t *pk, const uint8_t *sk)
{
	if (es == DNSCRYPT_ES_XSALSA)
		return crypto_box_beforenm(key, pk, sk);
	return crypto_box_curve25519xchacha20poly1305_beforenm(key, pk, sk);
}

/* The provider's TXT query, as dnsdist takes it. */
static bool
is_certreq(const struct dnscrypt_ctx *dc, const uint8_t *pkt, size_t len)
{
	struct dnsquestion	q;

	return len >= DNS_HDRLEN && !dnspacket_qr(pkt) &&
	    dnspacket_opcode(pkt) == 0 && dnspacket_qdcount(pkt) == 1 &&
	    dnspacket_ancount(pkt) == 0 && dnspacket_nscount(pkt) == 0 &&
	    dnspacket_question(pkt, len, &q) == 0 &&
	    q.q_type == DNS_TYPE_TXT && q.q_class == DNS_CLASS_IN &&
	    dnsname_equal(q.q_name, q.q_namelen, dc->dc_provider,
	    dc->dc_providerlen) == 1;
}

enum dnscrypt_kind
dnscrypt_query(const struct dnscrypt_ctx *dc, time_t now, uint8_t *pkt,
    size_t *len, bool tcp, struct dnscrypt_query *dq)
{
	const struct dnscrypt_set	*s = dnscrypt_set(dc);
	const struct dnscrypt_pair	*p = NULL;
	uint8_t				 nonce[24];
	size_t				 i, n = *len, pos;
	int				 rv;

	if (n >= DNSCRYPT_QHDR + DNSCRYPT_MAC && (tcp || n >= DNSCRYPT_MINUDP))
		for (i = 0; i < s->ds_n; i++)
			if (memcmp(pkt, dnscrypt_cert_magic(
			    s->ds_pairs[i].dp_cert), 8) == 0 &&
			    cert_valid(s->ds_pairs[i].dp_cert, now)) {
				p = &s->ds_pairs[i];
				break;
			}
	if (p == NULL)
		return is_certreq(dc, pkt, n) ? DNSCRYPT_CERTREQ : DNSCRYPT_BAD;
	dq->dq_es = (uint8_t)dnscrypt_cert_es(p->dp_cert);
	memcpy(dq->dq_nonce, pkt + 40, 12);
	memcpy(nonce, dq->dq_nonce, 12);
	memset(nonce + 12, 0, 12);
	if (shared_key(dq->dq_es, dq->dq_key, pkt + 8, p->dp_sk) != 0)
		return DNSCRYPT_BAD;
	/* The plain text lands at the start of the packet. */
	if (dq->dq_es == DNSCRYPT_ES_XSALSA)
		rv = crypto_box_open_easy_afternm(
		    pkt, pkt + DNSCRYPT_QHDR, n - DNSCRYPT_QHDR, nonce,
		    dq->dq_key);
	else
		rv = crypto_box_curve25519xchacha20poly1305_open_easy_afternm(
		    pkt, pkt + DNSCRYPT_QHDR, n - DNSCRYPT_QHDR, nonce,
		    dq->dq_key);
	if (rv != 0)
		return DNSCRYPT_BAD;
	pos = n - DNSCRYPT_QHDR - DNSCRYPT_MAC;
	dq->dq_padded = (uint16_t)pos;
	while (pos > 0 && pkt[pos - 1] == 0)
		pos--;
	if (pos == 0 || pkt[pos - 1] != 0x80)
		return DNSCRYPT_BAD;
	pos--;
	if (tcp && dq->dq_padded - pos > DNSCRYPT_MAXPAD)
		return DNSCRYPT_BAD;
	*len = pos;
	return DNSCRYPT_QUERY;
}

size_t
dnscrypt_cert_answer(const struct dnscrypt_ctx *dc, time_t now, uint8_t *pkt,
    size_t len, size_t size)
{
	const struct dnscrypt_set	*s = dnscrypt_set(dc);
	struct dnsquestion		 q;
	size_t				 i, off;
	uint16_t			 an = 0;
	uint8_t				*rr;

	if (dnspacket_question(pkt, len, &q) == -1)
		return 0;
	off = q.q_end;
	for (i = 0; i < s->ds_n; i++) {
		if (!s->ds_pairs[i].dp_active ||
		    !cert_valid(s->ds_pairs[i].dp_cert, now))
			continue;
		if (off + 12 + 1 + DNSCRYPT_CERT_LEN > size)
			return 0;
		rr = pkt + off;
		dnspacket_put16(rr, 0xc000 | DNS_HDRLEN);
		dnspacket_put16(rr + 2, DNS_TYPE_TXT);
		dnspacket_put16(rr + 4, DNS_CLASS_IN);
		dnspacket_put32(rr + 6, DNSCRYPT_CERT_TTL);
		dnspacket_put16(rr + 10, 1 + DNSCRYPT_CERT_LEN);
		rr[12] = DNSCRYPT_CERT_LEN;
		memcpy(rr + 13, s->ds_pairs[i].dp_cert, DNSCRYPT_CERT_LEN);
		off += 13 + DNSCRYPT_CERT_LEN;
		an++;
	}
	dnspacket_set_qr(pkt, true);
	dnspacket_set_aa(pkt, false);
	dnspacket_set_tc(pkt, false);
	dnspacket_set_ra(pkt, false);
	dnspacket_set_ad(pkt, false);
	dnspacket_set_rcode(pkt, 0);
	dnspacket_set_counts(pkt, 1, an, 0, 0);
	return off;
}

size_t
dnscrypt_encrypt(const struct dnscrypt_query *dq, uint8_t *pkt, size_t len,
    size_t size, bool tcp)
{
	struct dnsquestion	q;
	uint8_t			nonce[24];
	uint32_t		rnd;
	size_t			need, max, lo, hi, padded, pad;
	int			rv;

	if (len < DNS_HDRLEN)
		return 0;
	/* Over UDP no longer than the padded query: its question, TC. */
	if (!tcp && len > dq->dq_padded) {
		len = dnspacket_question(pkt, len, &q) == 0 ? q.q_end :
		    DNS_HDRLEN;
		if (len > dq->dq_padded)
			len = dq->dq_padded;
		dnspacket_set_counts(pkt, dnspacket_qdcount(pkt), 0, 0, 0);
		dnspacket_set_tc(pkt, true);
	}
	if (tcp && size > 65535)
		size = 65535;
	need = DNSCRYPT_RHDR + DNSCRYPT_MAC + len + 1;
	max = need - 1 + DNSCRYPT_MAXPAD < size ? need - 1 + DNSCRYPT_MAXPAD :
	    size;
	if (need > max)
		return 0;
	/*
	 * Padding of a length constant for the shared key and the client's
	 * nonce, as the protocol asks: drawn from a keyed hash of them.
	 */
	crypto_generichash((uint8_t *)&rnd, sizeof(rnd), dq->dq_nonce,
	    sizeof(dq->dq_nonce), dq->dq_key, sizeof(dq->dq_key));
	/* A multiple of the block that fits, or else the least. */
	lo = (need + DNSCRYPT_BLOCK - 1) / DNSCRYPT_BLOCK * DNSCRYPT_BLOCK;
	hi = max / DNSCRYPT_BLOCK * DNSCRYPT_BLOCK;
	padded = lo > hi ? need :
	    lo + rnd % ((hi - lo) / DNSCRYPT_BLOCK + 1) * DNSCRYPT_BLOCK;
	pad = padded - (need - 1);
	memmove(pkt + DNSCRYPT_RHDR + DNSCRYPT_MAC, pkt, len);
	pkt[DNSCRYPT_RHDR + DNSCRYPT_MAC + len] = 0x80;
	memset(pkt + DNSCRYPT_RHDR + DNSCRYPT_MAC + len + 1, 0, pad - 1);
	memcpy(nonce, dq->dq_nonce, 12);
	randombytes_buf(nonce + 12, 12);
	memcpy(pkt, resolver_magic, sizeof(resolver_magic));
	memcpy(pkt + 8, nonce, sizeof(nonce));
	if (dq->dq_es == DNSCRYPT_ES_XSALSA)
		rv = crypto_box_easy_afternm(
		    pkt + DNSCRYPT_RHDR, pkt + DNSCRYPT_RHDR + DNSCRYPT_MAC,
		    len + pad, nonce, dq->dq_key);
	else
		rv = crypto_box_curve25519xchacha20poly1305_easy_afternm(
		    pkt + DNSCRYPT_RHDR, pkt + DNSCRYPT_RHDR + DNSCRYPT_MAC,
		    len + pad, nonce, dq->dq_key);
	return rv == 0 ? padded : 0;
}
