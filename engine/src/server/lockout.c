/* lockout.c — per-address failed-authentication lockout (see lockout.h). */
#include "krach/lockout.h"

#include <string.h>

static kr_lockout_entry *find(kr_lockout *lo, const kr_peer_addr *addr)
{
    for (int i = 0; i < KR_LOCKOUT_SLOTS; i++)
        if (lo->slots[i].used && memcmp(&lo->slots[i].addr, addr, sizeof *addr) == 0)
            return &lo->slots[i];
    return NULL;
}

double kr_lockout_remaining(const kr_lockout *lo, const kr_peer_addr *addr, double now)
{
    const kr_lockout_entry *e = find((kr_lockout *)lo, addr);
    return e && e->locked_until > now ? e->locked_until - now : 0.0;
}

/* A free slot, else the one idle longest (unlocked ones first): a flood of
 * addresses can push out old entries but never unlock a locked one early
 * while an unlocked one is there to take. */
static kr_lockout_entry *claim(kr_lockout *lo, double now)
{
    kr_lockout_entry *best = NULL;
    for (int i = 0; i < KR_LOCKOUT_SLOTS; i++) {
        kr_lockout_entry *e = &lo->slots[i];
        if (!e->used || (e->locked_until <= now && now - e->last > KR_LOCKOUT_FORGET))
            return e;
        bool locked = e->locked_until > now;
        bool best_locked = best && best->locked_until > now;
        if (!best || (best_locked && !locked) || (best_locked == locked && e->last < best->last))
            best = e;
    }
    return best;
}

/* The global debt at `now`: what was owed, less what has been forgiven since. */
static double debt_at(const kr_lockout *lo, double now)
{
    double debt = lo->debt - (now - lo->debt_at) * KR_LOCKOUT_GLOBAL_RATE;
    return debt > 0.0 ? debt : 0.0;
}

static int known_index(const kr_lockout *lo, const kr_peer_addr *addr)
{
    for (int i = 0; i < lo->known_count; i++)
        if (memcmp(&lo->known[i], addr, sizeof *addr) == 0)
            return i;
    return -1;
}

double kr_lockout_global_remaining(const kr_lockout *lo, const kr_peer_addr *addr, double now)
{
    double over = debt_at(lo, now) - KR_LOCKOUT_GLOBAL_BURST;
    if (over <= 0.0 || known_index(lo, addr) >= 0)
        return 0.0;
    return over / KR_LOCKOUT_GLOBAL_RATE;
}

double kr_lockout_fail(kr_lockout *lo, const kr_peer_addr *addr, double now)
{
    lo->debt = debt_at(lo, now) + 1.0;
    lo->debt_at = now;
    kr_lockout_entry *e = find(lo, addr);
    if (!e) {
        e = claim(lo, now);
        memset(e, 0, sizeof *e);
        e->used = true;
        e->addr = *addr;
    }
    e->failures++;
    e->last = now;
    if (e->failures <= KR_LOCKOUT_FREE)
        return 0.0;
    double lock = KR_LOCKOUT_BASE;
    for (int n = e->failures - KR_LOCKOUT_FREE - 1; n > 0 && lock < KR_LOCKOUT_MAX; n--)
        lock *= 2.0;
    if (lock > KR_LOCKOUT_MAX)
        lock = KR_LOCKOUT_MAX;
    e->locked_until = now + lock;
    return lock;
}

void kr_lockout_success(kr_lockout *lo, const kr_peer_addr *addr)
{
    kr_lockout_entry *e = find(lo, addr);
    if (e)
        memset(e, 0, sizeof *e);
    /* Remembered most recent last; a full list forgets its oldest. */
    int i = known_index(lo, addr);
    if (i < 0 && lo->known_count < KR_LOCKOUT_KNOWN)
        i = lo->known_count++;
    else if (i < 0)
        i = 0;
    memmove(&lo->known[i], &lo->known[i + 1], (size_t)(lo->known_count - 1 - i) * sizeof *addr);
    lo->known[lo->known_count - 1] = *addr;
}
