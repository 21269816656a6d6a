/* test_lockout.c — failed-authentication lockout: free tries, exponential
 * lockout, cap, reset on success, per-address isolation, bounded table. */
#include "kr_test.h"
#include "krach/lockout.h"

static kr_peer_addr addr(int n)
{
    kr_peer_addr a = {{0}};
    a.bytes[10] = a.bytes[11] = 0xff;
    a.bytes[12] = 10;
    a.bytes[14] = (uint8_t)(n >> 8);
    a.bytes[15] = (uint8_t)n;
    return a;
}

static void free_tries_then_doubling(void)
{
    static kr_lockout lo;
    kr_peer_addr a = addr(1);
    double t = 100.0;
    for (int i = 0; i < KR_LOCKOUT_FREE; i++) {
        CHECK(kr_lockout_fail(&lo, &a, t) == 0.0);
        CHECK(kr_lockout_remaining(&lo, &a, t) == 0.0);
    }
    CHECK(kr_lockout_fail(&lo, &a, t) == KR_LOCKOUT_BASE);
    CHECK_NEAR(kr_lockout_remaining(&lo, &a, t + 0.25), KR_LOCKOUT_BASE - 0.25, 1e-9);
    CHECK(kr_lockout_remaining(&lo, &a, t + KR_LOCKOUT_BASE) == 0.0);
    t += KR_LOCKOUT_BASE;
    CHECK(kr_lockout_fail(&lo, &a, t) == 2 * KR_LOCKOUT_BASE);
    t += 2 * KR_LOCKOUT_BASE;
    CHECK(kr_lockout_fail(&lo, &a, t) == 4 * KR_LOCKOUT_BASE);
    double last = 0;
    for (int i = 0; i < 40; i++)
        last = kr_lockout_fail(&lo, &a, t);
    CHECK(last == KR_LOCKOUT_MAX);
    /* Another address is not affected; success forgets the first. */
    kr_peer_addr b = addr(2);
    CHECK(kr_lockout_remaining(&lo, &b, t) == 0.0);
    kr_lockout_success(&lo, &a);
    CHECK(kr_lockout_remaining(&lo, &a, t) == 0.0);
    CHECK(kr_lockout_fail(&lo, &a, t) == 0.0); /* free tries again */
}

static void bounded_table_keeps_locked_entries(void)
{
    static kr_lockout lo;
    kr_peer_addr guesser = addr(7);
    for (int i = 0; i <= KR_LOCKOUT_FREE + 3; i++)
        kr_lockout_fail(&lo, &guesser, 10.0);
    double locked = kr_lockout_remaining(&lo, &guesser, 10.0);
    CHECK(locked >= 8 * KR_LOCKOUT_BASE);
    /* A flood of other addresses (one failure each) cycles through the other
     * slots and never evicts the locked one while unlocked ones exist. */
    for (int i = 100; i < 100 + 10 * KR_LOCKOUT_SLOTS; i++) {
        kr_peer_addr other = addr(i);
        kr_lockout_fail(&lo, &other, 10.0 + i * 1e-3);
    }
    CHECK(kr_lockout_remaining(&lo, &guesser, 11.0) > 0.0);
    int used = 0;
    for (int i = 0; i < KR_LOCKOUT_SLOTS; i++)
        used += lo.slots[i].used;
    CHECK(used == KR_LOCKOUT_SLOTS);
}

/* Many addresses failing once each (none locked out on its own) exhaust the
 * global allowance: new addresses wait, known ones do not, and the wait ends
 * at the forgiving rate once the failures stop. */
static void global_rate_of_failures(void)
{
    static kr_lockout lo;
    kr_peer_addr good = addr(5000);
    kr_lockout_success(&lo, &good);
    double t = 50.0;
    int n = 0;
    while (kr_lockout_global_remaining(&lo, &good, t) == 0.0 &&
           kr_lockout_global_remaining(&lo, &(kr_peer_addr){{1}}, t) == 0.0 && n < 1000) {
        kr_peer_addr a = addr(6000 + n++);
        CHECK(kr_lockout_fail(&lo, &a, t) == 0.0); /* no address is locked out alone */
    }
    CHECK(n == (int)KR_LOCKOUT_GLOBAL_BURST + 1);
    kr_peer_addr fresh = addr(9999);
    double wait = kr_lockout_global_remaining(&lo, &fresh, t);
    CHECK_NEAR(wait, 1.0 / KR_LOCKOUT_GLOBAL_RATE, 1e-9);
    CHECK(kr_lockout_remaining(&lo, &fresh, t) == 0.0); /* its own count is clean */
    CHECK(kr_lockout_global_remaining(&lo, &good, t) == 0.0); /* a known address passes */
    CHECK(kr_lockout_global_remaining(&lo, &fresh, t + wait) == 0.0); /* not forever */
    /* The known list is bounded: the oldest is forgotten. */
    for (int i = 0; i < KR_LOCKOUT_KNOWN; i++) {
        kr_peer_addr k = addr(7000 + i);
        kr_lockout_success(&lo, &k);
    }
    CHECK(lo.known_count == KR_LOCKOUT_KNOWN);
    CHECK(kr_lockout_global_remaining(&lo, &good, t) > 0.0);
    kr_peer_addr recent = addr(7000 + KR_LOCKOUT_KNOWN - 1);
    CHECK(kr_lockout_global_remaining(&lo, &recent, t) == 0.0);
}

int main(void)
{
    global_rate_of_failures();
    free_tries_then_doubling();
    bounded_table_keeps_locked_entries();
    return KR_TEST_REPORT("lockout");
}
