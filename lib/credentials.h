/*
 * Web server credentials: hashPassword() and checking a password or an
 * API key against what the configuration holds, plain or hashed.  Hashes
 * are dnsdist's "$scrypt$ln=10,p=1,r=8$<salt>$<hash>" (scrypt with a
 * 16-byte salt and a 32-byte output, base64), made with libsodium, so
 * either program reads the other's.
 *
 * scrypt is slow on purpose, so that a request must not cost it without
 * bound: a cred_memo remembers the credential that verified against a
 * hash, and a cred_limit counts failed verifications per client.
 */
#ifndef CREDENTIALS_H
#define CREDENTIALS_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netmask.h"

#define CRED_MAXLEN		128	/* a hashed credential, with NUL */
#define CRED_WORKFACTOR		1024	/* scrypt N, dnsdist's default */
#define CRED_MAXWORKFACTOR	32768

/* Whether text has the form of a hashed credential. */
bool	cred_is_hashed(const char *text);
/*
 * Hash password with a random salt and scrypt's N = workfactor (a power
 * of two up to CRED_MAXWORKFACTOR) into out.  0, or -1 for a bad work
 * factor or when out is too small (CRED_MAXLEN is enough).
 */
int	cred_hash(const char *password, uint64_t workfactor, char *out,
	    size_t outsz);
/*
 * Whether given matches stored, a plain text or a hashed credential.
 * Plain texts are compared in constant time through keyed hashes, so
 * neither their contents nor their lengths leak.  An empty stored
 * credential matches nothing.
 */
bool	cred_check(const char *stored, const char *given);

#define CRED_DIGESTLEN		32
/*
 * What verified against one stored credential, as keyed digests (the key
 * random, made with the memo), never in plain text.  A hash has one
 * matching credential, so one digest is enough.  Zeroed memory is an
 * empty memo.
 */
struct cred_memo {
	uint8_t	cm_key[CRED_DIGESTLEN];
	uint8_t	cm_stored[CRED_DIGESTLEN];	/* what it verified against */
	uint8_t	cm_given[CRED_DIGESTLEN];	/* what matched */
	bool	cm_keyed;			/* key and cm_stored set */
	bool	cm_matched;			/* cm_given set */
};

enum cred_result {
	CRED_MATCH,
	CRED_MISMATCH,
	CRED_UNCHECKED		/* it needed scrypt, which was not allowed */
};

/*
 * cred_check() that runs scrypt at most once for a matching credential:
 * a hashed stored credential is verified from memo when given matched it
 * before; otherwise with scrypt if may_hash, and remembered when it
 * matches.  A memo made for another stored credential is emptied first.
 * Plain stored credentials are compared at once, without the memo.
 */
enum cred_result cred_verify(struct cred_memo *memo, const char *stored,
	    const char *given, bool may_hash);
/* Empty a memo, its key zeroed. */
void	cred_memo_clear(struct cred_memo *memo);

#define CRED_LIMIT_SLOTS	64	/* client networks tracked */
#define CRED_LIMIT_FAILS	10	/* failures allowed in a window */
#define CRED_LIMIT_WINDOW	60	/* seconds, from the first failure */

struct cred_limit_slot {
	struct netmask	ls_net;		/* the client's /32 or /64 */
	uint64_t	ls_start;	/* ns, of the first failure */
	uint32_t	ls_fails;	/* 0: free */
};

/*
 * Failed verifications per client network (IPv4 /32, IPv6 /64), at most
 * CRED_LIMIT_FAILS in CRED_LIMIT_WINDOW seconds from the first.  Clients
 * beyond CRED_LIMIT_SLOTS with failures in their window share the last
 * slot.  Zeroed memory is an empty table.  Times are monotonic ns.
 */
struct cred_limit {
	struct cred_limit_slot	cl_slots[CRED_LIMIT_SLOTS + 1];
};

/*
 * 0 when sa may have a credential verified with scrypt now; otherwise the
 * seconds (at least 1) until it may again.
 */
unsigned int cred_limit_wait(struct cred_limit *, const struct sockaddr *sa,
	    uint64_t now);
/* Count a failed verification from sa. */
void	cred_limit_fail(struct cred_limit *, const struct sockaddr *sa,
	    uint64_t now);

#endif /* CREDENTIALS_H */
