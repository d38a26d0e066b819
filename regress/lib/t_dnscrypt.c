/*
 * dnscrypt: certificates checked with libsodium's own Ed25519, queries
 * encrypted here as a client does and decrypted by dnscrypt_query(),
 * answers encrypted by dnscrypt_encrypt() and opened as a client does,
 * with both constructions; the certificate store; hostile queries.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <atf-c.h>
#include <sodium.h>

#include "dnscrypt.h"
#include "dnspacket.h"

#include "lsan.h"

#define NOW	1700000000

/* "www.example." A IN, ID 0x1234 */
static const uint8_t query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0x00, 0x01, 0x00, 0x01
};

struct fixture {
	uint8_t			 ppk[32], psk[64];
	uint8_t			 cert[DNSCRYPT_CERT_LEN], sk[32];
	struct dnscrypt_ctx	*dc;
	/* the client */
	uint8_t			 cpk[32], csk[32], nonce[12];
};

static void
fixture(struct fixture *f, int es)
{
	const char	*why;

	ATF_REQUIRE(sodium_init() >= 0);
	ATF_REQUIRE_EQ(dnscrypt_provider_keys(f->ppk, f->psk), 0);
	ATF_REQUIRE_EQ(dnscrypt_cert_make(f->psk, 42, NOW - 60, NOW + 3600, es,
	    f->cert, f->sk), 0);
	ATF_REQUIRE((f->dc = dnscrypt_ctx_new("2.provider.example")) != NULL);
	ATF_REQUIRE_EQ(dnscrypt_add(f->dc, f->cert, f->sk, true, &why), 0);
	crypto_box_keypair(f->cpk, f->csk);
	randombytes_buf(f->nonce, sizeof(f->nonce));
}

/* A client's query: magic, its key, nonce, box(q 0x80 0...) to total. */
static size_t
seal(const struct fixture *f, const uint8_t *q, size_t qlen, size_t total,
    uint8_t pad, uint8_t *out)
{
	uint8_t	plain[4096], n[24];
	size_t	plen = total - DNSCRYPT_QHDR - DNSCRYPT_MAC;

	memset(plain, 0, sizeof(plain));
	memcpy(plain, q, qlen);
	plain[qlen] = pad;
	memcpy(out, dnscrypt_cert_magic(f->cert), 8);
	memcpy(out + 8, f->cpk, 32);
	memcpy(out + 40, f->nonce, 12);
	memcpy(n, f->nonce, 12);
	memset(n + 12, 0, 12);
	if (dnscrypt_cert_es(f->cert) == DNSCRYPT_ES_XSALSA)
		ATF_REQUIRE_EQ(crypto_box_easy(out + DNSCRYPT_QHDR, plain,
		    plen, n, dnscrypt_cert_pk(f->cert), f->csk), 0);
	else
		ATF_REQUIRE_EQ(crypto_box_curve25519xchacha20poly1305_easy(out +
		    DNSCRYPT_QHDR, plain, plen, n, dnscrypt_cert_pk(f->cert),
		    f->csk), 0);
	return total;
}

/* Open an answer as a client; its plain length, or 0. */
static size_t
open_answer(const struct fixture *f, const uint8_t *a, size_t len,
    uint8_t *out)
{
	size_t	n;
	int	rv;

	if (len < DNSCRYPT_RHDR + DNSCRYPT_MAC ||
	    memcmp(a, "r6fnvWj8", 8) != 0 || memcmp(a + 8, f->nonce, 12) != 0)
		return 0;
	if (dnscrypt_cert_es(f->cert) == DNSCRYPT_ES_XSALSA)
		rv = crypto_box_open_easy(out, a + DNSCRYPT_RHDR,
		    len - DNSCRYPT_RHDR, a + 8, dnscrypt_cert_pk(f->cert),
		    f->csk);
	else
		rv = crypto_box_curve25519xchacha20poly1305_open_easy(out,
		    a + DNSCRYPT_RHDR, len - DNSCRYPT_RHDR, a + 8,
		    dnscrypt_cert_pk(f->cert), f->csk);
	if (rv != 0)
		return 0;
	n = len - DNSCRYPT_RHDR - DNSCRYPT_MAC;
	while (n > 0 && out[n - 1] == 0)
		n--;
	return n > 0 && out[n - 1] == 0x80 ? n - 1 : 0;
}

ATF_TC_WITHOUT_HEAD(certificate);
ATF_TC_BODY(certificate, tc)
{
	struct fixture		f;
	uint8_t			msg[124];
	unsigned long long	mlen;
	char			fp[80];

	fixture(&f, DNSCRYPT_ES_XSALSA);
	ATF_CHECK(memcmp(f.cert, "DNSC\x00\x01\x00\x00", 8) == 0);
	ATF_CHECK_EQ(dnscrypt_cert_serial(f.cert), 42);
	ATF_CHECK_EQ(dnscrypt_cert_start(f.cert), NOW - 60);
	ATF_CHECK_EQ(dnscrypt_cert_end(f.cert), NOW + 3600);
	/* The client magic is the start of the resolver's public key. */
	ATF_CHECK(memcmp(dnscrypt_cert_magic(f.cert), dnscrypt_cert_pk(f.cert),
	    8) == 0);
	/* Signature and signed part, as crypto_sign_open takes them. */
	ATF_CHECK_EQ(crypto_sign_open(msg, &mlen, f.cert + 8, 116, f.ppk), 0);
	ATF_CHECK_EQ(mlen, 52);
	f.cert[120] ^= 1;
	ATF_CHECK(crypto_sign_open(msg, &mlen, f.cert + 8, 116, f.ppk) != 0);
	f.ppk[0] = 0xe1;
	f.ppk[1] = 0xd7;
	f.ppk[31] = 0xaa;
	dnscrypt_fingerprint(f.ppk, fp);
	ATF_CHECK_EQ(strlen(fp), 79);
	ATF_CHECK(strncmp(fp, "E1D7:", 5) == 0);
	ATF_CHECK(strcmp(fp + 77, "AA") == 0);
	ATF_CHECK_EQ(dnscrypt_cert_make(f.psk, 1, 0, 1, 3, f.cert, f.sk), -1);
	dnscrypt_ctx_free(f.dc);
}

static void
roundtrip(int es, bool tcp)
{
	struct fixture	f;
	struct dnscrypt_query dq;
	uint8_t		pkt[4096], plain[4096];
	size_t		len, n;

	fixture(&f, es);
	len = seal(&f, query, sizeof(query), tcp ? 128 : 256, 0x80, pkt);
	ATF_REQUIRE_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, tcp, &dq),
	    DNSCRYPT_QUERY);
	ATF_REQUIRE_EQ(len, sizeof(query));
	ATF_CHECK(memcmp(pkt, query, sizeof(query)) == 0);
	ATF_CHECK_EQ(dq.dq_padded, (tcp ? 128 : 256) - 68);
	/* The answer: the query with QR, padded to a block. */
	dnspacket_set_qr(pkt, true);
	ATF_REQUIRE((n = dnscrypt_encrypt(&dq, pkt, len, sizeof(pkt), tcp)) >
	    0);
	ATF_CHECK_EQ(n % DNSCRYPT_BLOCK, 0);
	ATF_CHECK(n <= len + DNSCRYPT_OVERHEAD);
	ATF_REQUIRE_EQ(open_answer(&f, pkt, n, plain), sizeof(query));
	ATF_CHECK(dnspacket_qr(plain) && !dnspacket_tc(plain));
	ATF_CHECK(memcmp(plain + 2, query + 2, 1) != 0);
	/* No room for a whole block: the least padding, the 0x80 byte. */
	memcpy(pkt, plain, sizeof(query));
	n = dnscrypt_encrypt(&dq, pkt, sizeof(query), sizeof(query) + 49, tcp);
	ATF_CHECK_EQ(n, sizeof(query) + 49);
	ATF_CHECK_EQ(open_answer(&f, pkt, n, plain), sizeof(query));
	ATF_CHECK_EQ(dnscrypt_encrypt(&dq, pkt, sizeof(query),
	    sizeof(query) + 48, tcp), 0);
	dnscrypt_ctx_free(f.dc);
}

ATF_TC_WITHOUT_HEAD(xsalsa);
ATF_TC_BODY(xsalsa, tc)
{
	roundtrip(DNSCRYPT_ES_XSALSA, false);
	roundtrip(DNSCRYPT_ES_XSALSA, true);
}

ATF_TC_WITHOUT_HEAD(xchacha);
ATF_TC_BODY(xchacha, tc)
{
	roundtrip(DNSCRYPT_ES_XCHACHA, false);
	roundtrip(DNSCRYPT_ES_XCHACHA, true);
}

/* Over UDP an answer longer than the padded query: its question, TC. */
ATF_TC_WITHOUT_HEAD(truncation);
ATF_TC_BODY(truncation, tc)
{
	struct fixture	f;
	struct dnscrypt_query dq;
	uint8_t		pkt[4096], plain[4096];
	size_t		len, n;

	fixture(&f, DNSCRYPT_ES_XSALSA);
	len = seal(&f, query, sizeof(query), 256, 0x80, pkt);
	ATF_REQUIRE_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_QUERY);
	dnspacket_set_qr(pkt, true);
	dnspacket_set_counts(pkt, 1, 1, 0, 0);
	memset(pkt + len, 0xab, 400);		/* an "answer" past 188 */
	ATF_REQUIRE((n = dnscrypt_encrypt(&dq, pkt, len + 400, sizeof(pkt),
	    false)) > 0);
	ATF_CHECK(n <= 256 + DNSCRYPT_OVERHEAD);
	ATF_REQUIRE_EQ(open_answer(&f, pkt, n, plain), sizeof(query));
	ATF_CHECK(dnspacket_tc(plain));
	ATF_CHECK_EQ(dnspacket_ancount(plain), 0);
	ATF_CHECK(memcmp(plain + 12, query + 12, sizeof(query) - 12) == 0);
	dnscrypt_ctx_free(f.dc);
}

ATF_TC_WITHOUT_HEAD(hostile);
ATF_TC_BODY(hostile, tc)
{
	struct fixture	f;
	struct dnscrypt_query dq;
	uint8_t		pkt[4096];
	size_t		len;

	fixture(&f, DNSCRYPT_ES_XSALSA);
	/* Under the UDP minimum (TCP takes it), and under a header. */
	len = seal(&f, query, sizeof(query), 128, 0x80, pkt);
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	len = 60;
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, true, &dq),
	    DNSCRYPT_BAD);
	len = 0;
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, true, &dq),
	    DNSCRYPT_BAD);
	/* A flipped byte, an unknown magic, no 0x80, a stale certificate. */
	len = seal(&f, query, sizeof(query), 256, 0x80, pkt);
	pkt[100] ^= 1;
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	len = seal(&f, query, sizeof(query), 256, 0x80, pkt);
	pkt[0] ^= 1;
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	len = seal(&f, query, sizeof(query), 256, 0x00, pkt);
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	len = seal(&f, query, sizeof(query), 256, 0x80, pkt);
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW + 3601, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	/* Over TCP no more than 256 bytes of padding. */
	len = seal(&f, query, sizeof(query), 512, 0x80, pkt);
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, true, &dq),
	    DNSCRYPT_BAD);
	/* A plain query, not the provider's TXT. */
	memcpy(pkt, query, sizeof(query));
	len = sizeof(query);
	ATF_CHECK_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_BAD);
	dnscrypt_ctx_free(f.dc);
}

ATF_TC_WITHOUT_HEAD(certreq);
ATF_TC_BODY(certreq, tc)
{
	/* "2.provider.EXAMPLE." TXT IN */
	static const uint8_t txt[] = {
		0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 1, '2', 8, 'p', 'r', 'o', 'v', 'i', 'd', 'e', 'r',
		7, 'E', 'X', 'A', 'M', 'P', 'L', 'E', 0, 0x00, 0x10, 0x00, 0x01
	};
	struct fixture	f;
	struct dnscrypt_query dq;
	uint8_t		pkt[1024], cert2[DNSCRYPT_CERT_LEN], sk2[32];
	size_t		len = sizeof(txt), n;
	const char	*why;

	fixture(&f, DNSCRYPT_ES_XSALSA);
	ATF_REQUIRE_EQ(dnscrypt_cert_make(f.psk, 43, NOW - 60, NOW + 60,
	    DNSCRYPT_ES_XCHACHA, cert2, sk2), 0);
	ATF_REQUIRE_EQ(dnscrypt_add(f.dc, cert2, sk2, true, &why), 0);
	memcpy(pkt, txt, sizeof(txt));
	ATF_REQUIRE_EQ(dnscrypt_query(f.dc, NOW, pkt, &len, false, &dq),
	    DNSCRYPT_CERTREQ);
	n = dnscrypt_cert_answer(f.dc, NOW, pkt, len, sizeof(pkt));
	ATF_CHECK_EQ(n, sizeof(txt) + 2 * (12 + 1 + DNSCRYPT_CERT_LEN));
	ATF_CHECK_EQ(dnspacket_id(pkt), 0xabcd);
	ATF_CHECK(dnspacket_qr(pkt));
	ATF_CHECK_EQ(dnspacket_ancount(pkt), 2);
	ATF_CHECK_EQ(pkt[sizeof(txt) + 12], DNSCRYPT_CERT_LEN);
	ATF_CHECK(memcmp(pkt + sizeof(txt) + 13, f.cert,
	    DNSCRYPT_CERT_LEN) == 0);
	/* Inactive, or not valid now: not advertised. */
	ATF_REQUIRE_EQ(dnscrypt_mark(f.dc, 42, false, &why), 0);
	memcpy(pkt, txt, sizeof(txt));
	n = dnscrypt_cert_answer(f.dc, NOW + 61, pkt, len, sizeof(pkt));
	ATF_CHECK_EQ(n, sizeof(txt));
	ATF_CHECK_EQ(dnspacket_ancount(pkt), 0);
	/* No room: nothing. */
	memcpy(pkt, txt, sizeof(txt));
	ATF_CHECK_EQ(dnscrypt_cert_answer(f.dc, NOW, pkt, len, len + 100), 0);
	dnscrypt_ctx_free(f.dc);
}

ATF_TC_WITHOUT_HEAD(store);
ATF_TC_BODY(store, tc)
{
	struct fixture	f;
	const char	*why;
	uint8_t		other[32];

	fixture(&f, DNSCRYPT_ES_XSALSA);
	ATF_CHECK_EQ(dnscrypt_add(f.dc, f.cert, f.sk, true, &why), -1);
	ATF_CHECK(strstr(why, "same serial") != NULL);
	randombytes_buf(other, sizeof(other));
	f.cert[112] = 0;	/* another serial, the key does not match */
	ATF_CHECK_EQ(dnscrypt_add(f.dc, f.cert, other, true, &why), -1);
	ATF_CHECK(strstr(why, "does not match") != NULL);
	ATF_CHECK_EQ(dnscrypt_remove(f.dc, 42, &why), -1);	/* active */
	ATF_CHECK_EQ(dnscrypt_mark(f.dc, 42, true, &why), -1);
	ATF_CHECK_EQ(dnscrypt_mark(f.dc, 7, false, &why), -1);
	ATF_CHECK_EQ(dnscrypt_mark(f.dc, 42, false, &why), 0);
	ATF_CHECK(!dnscrypt_set(f.dc)->ds_pairs[0].dp_active);
	ATF_CHECK_EQ(dnscrypt_remove(f.dc, 42, &why), 0);
	ATF_CHECK_EQ(dnscrypt_set(f.dc)->ds_n, 0);
	ATF_CHECK(dnscrypt_ctx_new("bad..name") == NULL);
	dnscrypt_ctx_free(f.dc);
	dnscrypt_ctx_free(NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, certificate);
	ATF_TP_ADD_TC(tp, xsalsa);
	ATF_TP_ADD_TC(tp, xchacha);
	ATF_TP_ADD_TC(tp, truncation);
	ATF_TP_ADD_TC(tp, hostile);
	ATF_TP_ADD_TC(tp, certreq);
	ATF_TP_ADD_TC(tp, store);
	return atf_no_error();
}
