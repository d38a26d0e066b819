/*
 * Dynamic blocks: client netmasks and name suffixes blocked until a time,
 * with a reason and an action.  Packet threads look blocks up under a read
 * lock only when there is a block at all; the configuration adds them and
 * the maintenance thread purges the expired ones.  Times are monotonic
 * seconds.
 */
#ifndef DYNBLOCK_H
#define DYNBLOCK_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netmask.h"
#include "sbuf.h"

/* What a block does; the values are those of DNSAction. */
enum dynblock_action {
	DYN_DEFAULT = -1,	/* setDynBlocksAction()'s */
	DYN_DROP = 0,
	DYN_NXDOMAIN = 1,
	DYN_REFUSED = 2,
	DYN_TRUNCATE = 8,
	DYN_SERVFAIL = 9,
	DYN_NONE = 10,
	DYN_NOOP = 11,
	DYN_NORECURSE = 12
};

extern _Atomic size_t	dynblock_count;		/* live or not yet purged */
extern _Atomic int	dynblock_default_action;

/* Monotonic seconds. */
time_t	dynblock_now(void);
/*
 * Block the netmask until now + seconds.  A block already there is
 * extended (never shortened) and keeps its counter; a new one is logged
 * through log_fn once.  Returns 1 new, 0 extended or unchanged, -1 ENOMEM.
 */
int	dynblock_add_netmask(const struct netmask *, const char *reason,
	    int seconds, int action, bool warning, time_t now);
/*
 * Block an IPv4 address's ports that share their top bits (1-16) with
 * port (host order), as setMasks()' third argument asks.
 */
int	dynblock_add_portrange(const uint8_t addr[4], uint16_t port, int bits,
	    const char *reason, int seconds, int action, bool warning,
	    time_t now);
int	dynblock_add_suffix(const uint8_t *name, size_t namelen,
	    const char *reason, int seconds, int action, time_t now);
/*
 * The action for a query from client for qname, or DYN_NONE when nothing
 * blocks it (a warning-only block counts but returns DYN_NONE).  Counts
 * the match in the block.
 */
int	dynblock_check(const struct sockaddr *client, const uint8_t *qname,
	    size_t qnamelen, time_t now);
/* Remove the expired blocks; returns how many went. */
size_t	dynblock_purge(time_t now);
void	dynblock_clear(void);
/* A block in force, as listings see it. */
struct dynblock_info {
	const char	*di_what;	/* netmask or name, as text */
	const char	*di_reason;
	long long	 di_seconds;	/* left */
	uint64_t	 di_blocks;
	bool		 di_warning;
	int		 di_action;	/* resolved: never DYN_DEFAULT */
};
/* Call fn for each block in force (under the read lock: fn must not block). */
void	dynblock_foreach(time_t now,
	    void (*fn)(const struct dynblock_info *, void *), void *arg);
/* showDynBlocks()'s table, sorted. */
void	dynblock_show(struct sbuf *, time_t now);
/* Netmask blocks in force, for dyn-block-nmg-size. */
size_t	dynblock_nmg_size(void);
/* Where "Inserting dynamic block..." lines go; set by the daemon. */
extern void (*dynblock_log)(const char *);
const char *dynblock_action_name(int);

#endif /* DYNBLOCK_H */
