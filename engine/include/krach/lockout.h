/* lockout.h — slowing down token guessing over TCP.
 *
 * The server keeps, per peer address (IPv4 or IPv6, port ignored), a count of
 * failed authentications. The first KR_LOCKOUT_FREE failures cost nothing (a
 * typo); every further one locks the address out for KR_LOCKOUT_BASE seconds,
 * doubled per failure up to KR_LOCKOUT_MAX. While locked out, new connections
 * from the address are refused at once, before anything is read, so a guesser
 * gets a handful of tries a minute instead of thousands a second. A successful
 * authentication forgets the address. The table is bounded (KR_LOCKOUT_SLOTS):
 * when full, the entry idle longest is reused, preferring unlocked ones. Time
 * is passed in (monotonic seconds) so the module is pure and testable.
 *
 * Many addresses (a botnet, an IPv6 prefix) would each get their free tries,
 * so failures are also counted for all addresses together, as a debt that is
 * forgiven at KR_LOCKOUT_GLOBAL_RATE per second: once more than
 * KR_LOCKOUT_GLOBAL_BURST are unforgiven, new connections from addresses that
 * have not authenticated before are refused at once (nothing is read, nothing
 * counts). The trade-off: while such a flood lasts, a good client connecting
 * from a new address competes with the flood for the few tries a second that
 * are let through; one whose address authenticated before (the last
 * KR_LOCKOUT_KNOWN such addresses are remembered) is let through, subject
 * only to its own address's count. Refused connections add no debt, so the
 * refusal ends at most (KR_LOCKOUT_GLOBAL_BURST + the failures already in
 * flight) / KR_LOCKOUT_GLOBAL_RATE seconds after the flood stops: an attacker
 * cannot keep anyone out longer than it keeps failing. */
#ifndef KRACH_LOCKOUT_H
#define KRACH_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>

#define KR_LOCKOUT_SLOTS 64
#define KR_LOCKOUT_FREE  3       /* failures before the first lockout */
#define KR_LOCKOUT_BASE  1.0     /* seconds of the first lockout */
#define KR_LOCKOUT_MAX   300.0   /* longest lockout */
#define KR_LOCKOUT_FORGET 3600.0 /* an unlocked entry idle this long is dropped */
#define KR_LOCKOUT_GLOBAL_BURST 30.0 /* failures from all addresses before new ones wait */
#define KR_LOCKOUT_GLOBAL_RATE  2.0  /* failures forgiven per second, all addresses */
#define KR_LOCKOUT_KNOWN 16          /* addresses that authenticated, let through a flood */

typedef struct kr_peer_addr {
    uint8_t bytes[16];           /* IPv4 as ::ffff:a.b.c.d */
} kr_peer_addr;

typedef struct kr_lockout_entry {
    kr_peer_addr addr;
    bool used;
    int failures;
    double locked_until, last;
} kr_lockout_entry;

typedef struct kr_lockout {
    kr_lockout_entry slots[KR_LOCKOUT_SLOTS];
    double debt, debt_at;        /* failures of all addresses not yet forgiven, as of debt_at */
    kr_peer_addr known[KR_LOCKOUT_KNOWN]; /* addresses that authenticated (most recent last) */
    int known_count;
} kr_lockout;

/* 0 when `addr` may try now, else the seconds left of its lockout. */
double kr_lockout_remaining(const kr_lockout *lo, const kr_peer_addr *addr, double now);
/* Counts a failed authentication; returns the lockout it starts (0 if none). */
double kr_lockout_fail(kr_lockout *lo, const kr_peer_addr *addr, double now);
/* A successful authentication: the address starts afresh, and is known. */
void kr_lockout_success(kr_lockout *lo, const kr_peer_addr *addr);
/* 0 when the failures of all addresses let `addr` try now (always for a known
 * address), else the seconds until they do. */
double kr_lockout_global_remaining(const kr_lockout *lo, const kr_peer_addr *addr, double now);

#endif
