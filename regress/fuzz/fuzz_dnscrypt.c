/*
 * libFuzzer target for DNSCrypt queries: what comes to a DNSCrypt
 * listener is parsed and decrypted by dnscrypt_query(), and a query that
 * decrypts gets its answer encrypted by dnscrypt_encrypt(), which must
 * stay within its room.  The first byte chooses: bit 0 TCP, bit 1 the
 * second certificate (XChacha20) rather than the first, bit 2 the rest is
 * the plain text of a query that the harness encrypts as a client would
 * (so that the padding and what follows are reached), bit 3 the rest
 * starts with the certificate's client magic.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dnscrypt.h"
#include "dnspacket.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static struct dnscrypt_ctx	*ctx;
static uint8_t			 certs[2][DNSCRYPT_CERT_LEN];
static const uint8_t		 csk[32] = { 7, 7, 7 };
static uint8_t			 cpk[32];

/* A certificate of fixed keys; dnscrypt_add() does not check signatures. */
static void
make_cert(int i, int es)
{
	uint8_t		sk[32];
	const char	*why;

	memset(sk, 0x11 * (i + 1), sizeof(sk));
	memcpy(certs[i], "DNSC", 4);
	certs[i][5] = (uint8_t)es;
	CHECK(crypto_scalarmult_base(certs[i] + 72, sk) == 0);
	memcpy(certs[i] + 104, certs[i] + 72, 8);
	dnspacket_put32(certs[i] + 112, (uint32_t)i + 1);
	dnspacket_put32(certs[i] + 116, 0);
	dnspacket_put32(certs[i] + 120, UINT32_MAX);
	CHECK(dnscrypt_add(ctx, certs[i], sk, true, &why) == 0);
}

static void
init(void)
{
	CHECK(sodium_init() >= 0);
	CHECK((ctx = dnscrypt_ctx_new("2.provider.example")) != NULL);
	make_cert(0, DNSCRYPT_ES_XSALSA);
	make_cert(1, DNSCRYPT_ES_XCHACHA);
	CHECK(crypto_scalarmult_base(cpk, csk) == 0);
}

/* The client's query: plain[0..n) boxed, the nonce from the input. */
static size_t
seal(const uint8_t *cert, const uint8_t *plain, size_t n, uint8_t *out)
{
	uint8_t	nonce[24] = { 0 };

	memcpy(out, cert + 104, 8);
	memcpy(out + 8, cpk, 32);
	memcpy(out + 40, nonce, 12);
	if (cert[5] == DNSCRYPT_ES_XSALSA)
		CHECK(crypto_box_easy(out + DNSCRYPT_QHDR, plain, n, nonce,
		    cert + 72, csk) == 0);
	else
		CHECK(crypto_box_curve25519xchacha20poly1305_easy(out +
		    DNSCRYPT_QHDR, plain, n, nonce, cert + 72, csk) == 0);
	return DNSCRYPT_QHDR + DNSCRYPT_MAC + n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnscrypt_query	 dq;
	const uint8_t		*cert;
	uint8_t			*pkt;
	size_t			 len, room, n;
	bool			 tcp;

	if (ctx == NULL)
		init();
	if (size < 1 || size > 8192)
		return 0;
	tcp = data[0] & 1;
	cert = certs[(data[0] >> 1) & 1];
	len = size - 1;
	room = len + DNSCRYPT_QHDR + DNSCRYPT_MAC + DNSCRYPT_OVERHEAD + 512;
	/* Exactly the room on the heap: ASan sees a write past it. */
	CHECK((pkt = malloc(room)) != NULL);
	if (data[0] & 4)
		len = seal(cert, data + 1, len, pkt);
	else {
		memcpy(pkt, data + 1, len);
		if ((data[0] & 8) && len >= 8)
			memcpy(pkt, cert + 104, 8);
	}
	switch (dnscrypt_query(ctx, 1000, pkt, &len, tcp, &dq)) {
	case DNSCRYPT_QUERY:
		CHECK(len <= dq.dq_padded);
		n = dnscrypt_encrypt(&dq, pkt, len, room, tcp);
		CHECK(n <= room);
		CHECK(n == 0 || memcmp(pkt, "r6fnvWj8", 8) == 0);
		break;
	case DNSCRYPT_CERTREQ:
		n = dnscrypt_cert_answer(ctx, 1000, pkt, len, room);
		CHECK(n <= room);
		break;
	case DNSCRYPT_BAD:
		break;
	}
	free(pkt);
	return 0;
}
