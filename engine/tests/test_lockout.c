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

int main(void)
{
    free_tries_then_doubling();
    bounded_table_keeps_locked_entries();
    return KR_TEST_REPORT("lockout");
}
