/* test_transport.c — the sample ↔ cycle mapping stays exact across tempo
 * changes, and automation shapes. */
#include "kr_test.h"
#include "krach/automation.h"
#include "krach/transport.h"

static kr_rat rat(int64_t n, int64_t d)
{
    bool overflow = false;
    return kr_rat_make(n, d, &overflow);
}

static void test_128_bpm_beats_are_22500_samples(void)
{
    kr_transport t;
    bool overflow = false;
    kr_transport_init(&t, 48000, kr_rat_int(128), 4, &overflow);
    for (int64_t beat = 0; beat < 400; beat++) /* 100 cycles of quarter notes */
        CHECK(kr_transport_sample_at(&t, rat(beat, 4), &overflow) == beat * 22500);
    CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 90000, &overflow), kr_rat_int(1)));
    CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 45000, &overflow), rat(1, 2)));
    CHECK(!overflow);
}

static void test_events_sound_at_the_first_sample_at_or_after_their_time(void)
{
    kr_transport t;
    bool overflow = false;
    /* 140 BPM: a cycle is 576000/7 = 82285.71… samples. */
    kr_transport_init(&t, 48000, kr_rat_int(140), 4, &overflow);
    CHECK(kr_transport_sample_at(&t, kr_rat_int(1), &overflow) == 82286);
    CHECK(kr_transport_sample_at(&t, kr_rat_int(7), &overflow) == 576000); /* exact */
    CHECK(kr_transport_sample_at(&t, rat(1, 4), &overflow) == 20572); /* 20571.43 → 20572 */
    CHECK(!overflow);
}

/* A thousand cycles after many tempo changes the mapping is still exact: the
 * sample of every cycle equals the one computed by summing exact segment
 * lengths. */
static void test_tempo_changes_do_not_drift(void)
{
    kr_transport t;
    bool overflow = false;
    kr_transport_init(&t, 48000, kr_rat_int(128), 4, &overflow);
    const int tempos[] = {128, 140, 97, 173, 120, 66, 200, 128};
    int64_t start = 0;   /* sample where the current segment starts, computed here */
    kr_rat start_cycle = kr_rat_int(0);
    for (int cycle = 0; cycle < 1000; cycle++) {
        if (cycle % 125 == 0 && cycle > 0) {
            int bpm = tempos[(cycle / 125) % 8];
            int64_t at = kr_transport_sample_at(&t, kr_rat_int(cycle), &overflow);
            kr_transport_change(&t, at, kr_rat_int(bpm), 4, &overflow);
            start = at;
            start_cycle = kr_transport_cycle_at(&t, at, &overflow);
        }
        /* Independent expectation: start + ceil((c - c0) · 60·4·48000 / bpm),
         * except the change cycle itself, whose sample is the change point
         * (the segment starts just after the exact cycle, at that sample). */
        int bpm = (int)(t.current.bpm.num / t.current.bpm.den);
        kr_rat offset = kr_rat_mul(kr_rat_sub(kr_rat_int(cycle), start_cycle, &overflow),
                                   rat(60 * 4 * 48000, bpm), &overflow);
        int64_t want = cycle % 125 == 0 && cycle > 0 ? start : start + kr_rat_ceil(offset);
        CHECK(kr_transport_sample_at(&t, kr_rat_int(cycle), &overflow) == want);
    }
    CHECK(t.changes == 7);
    CHECK(!overflow);
}

static void test_change_point_denominators_stay_bounded(void)
{
    kr_transport t;
    bool overflow = false;
    kr_transport_init(&t, 48000, kr_rat_int(128), 4, &overflow);
    /* Changes at awkward samples with awkward tempos: denominators would grow
     * without the 2^-20 rounding. */
    int64_t at = 0;
    for (int i = 0; i < 5000; i++) {
        at += 12345 + i;
        kr_transport_change(&t, at, rat(120000 + 7 * i, 1000), 3 + i % 5, &overflow);
        CHECK(t.current.start_cycle.den <= (1 << 20));
    }
    CHECK(!overflow);
    /* Continuity: the cycle just before and at a change differ by one sample's worth. */
    kr_rat before = kr_transport_cycle_at(&t, at - 1, &overflow);
    kr_rat after = kr_transport_cycle_at(&t, at, &overflow);
    CHECK(kr_rat_cmp(before, after) < 0);
    CHECK(!overflow);
}

static void test_automation_shapes(void)
{
    kr_automation a = {.shape = KR_AUTO_SINE, .lo = 200, .hi = 2000};
    CHECK_NEAR(kr_automation_value(&a, 0.0), 200, 1e-9);
    CHECK_NEAR(kr_automation_value(&a, 0.5), 2000, 1e-9);
    CHECK_NEAR(kr_automation_value(&a, 1.25), 1100, 1e-9);
    a.shape = KR_AUTO_TRI;
    CHECK_NEAR(kr_automation_value(&a, 0.25), 1100, 1e-9);
    a.shape = KR_AUTO_RAMP;
    CHECK_NEAR(kr_automation_value(&a, 0.75), 1550, 1e-9);
    a.shape = KR_AUTO_SQUARE;
    CHECK(kr_automation_value(&a, 0.25) == 2000 && kr_automation_value(&a, 0.75) == 200);
    a.shape = KR_AUTO_FADE;
    CHECK(kr_automation_value(&a, -1) == 200 && kr_automation_value(&a, 7) == 2000);
    CHECK_NEAR(kr_automation_value(&a, 0.5), 1100, 1e-9);
}

/* Live changes land ahead of the audio (the scheduling margin): after
 * `tempo 999` then `meter 1`, the audio position, still before both, lies in
 * the first segment — not in the second extended backwards (issue 12, D18:
 * `transport` answered cycle -33/800). */
static void test_audio_behind_two_changes_stays_in_the_first_segment(void)
{
    bool overflow = false;
    for (int same = 0; same < 2; same++) {
        kr_transport t;
        kr_transport_init(&t, 48000, kr_rat_int(120), 4, &overflow); /* 96000 samples per cycle */
        CHECK(kr_transport_change(&t, 960, kr_rat_int(999), 4, &overflow) == 0);
        CHECK(kr_transport_change(&t, same ? 960 : 1200, kr_rat_int(999), 1, &overflow) == 0);
        CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 485, &overflow), rat(485, 96000)));
        CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 959, &overflow), rat(959, 96000)));
        CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 960, &overflow), rat(960, 96000)));
        CHECK(kr_transport_sample_at(&t, rat(485, 96000), &overflow) == 485);
        if (!same) /* 999 bpm, 4 beats: 11520000/999 samples per cycle */
            CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 1200, &overflow),
                            rat(960 * 120 + 240 * 999, 11520000)));
        CHECK(t.npast == 1 + !same);
        CHECK(!overflow);
    }
}

/* Segments the audio has passed are forgotten; while KR_TRANSPORT_PAST are
 * still ahead of it, a further change is refused and changes nothing. */
static void test_past_segments_are_bounded(void)
{
    bool overflow = false;
    kr_transport t;
    kr_transport_init(&t, 48000, kr_rat_int(120), 4, &overflow);
    for (int i = 1; i <= KR_TRANSPORT_PAST; i++)
        CHECK(kr_transport_change(&t, 100 * i, kr_rat_int(120 + i), 4, &overflow) == 0);
    CHECK(t.npast == KR_TRANSPORT_PAST);
    kr_rat before = kr_transport_cycle_at(&t, 50, &overflow);
    CHECK(kr_transport_full(&t, 100000));
    CHECK(kr_transport_change(&t, 100000, kr_rat_int(60), 3, &overflow) == -1);
    CHECK(t.current.start_sample == 100 * KR_TRANSPORT_PAST && t.current.meter == 4);
    CHECK(!kr_transport_full(&t, 100 * KR_TRANSPORT_PAST)); /* a replacement needs no room */
    CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 50, &overflow), before));
    kr_transport_forget_before(&t, 250); /* the audio is at 250: segments from 200 on stay */
    CHECK(t.npast == KR_TRANSPORT_PAST - 2 && t.past[0].start_sample == 200);
    kr_rat at_250 = kr_transport_cycle_at(&t, 250, &overflow);
    CHECK(kr_transport_change(&t, 100000, kr_rat_int(60), 3, &overflow) == 0);
    CHECK(kr_rat_eq(kr_transport_cycle_at(&t, 250, &overflow), at_250));
    kr_transport_forget_before(&t, 200000);
    CHECK(t.npast == 0 && !overflow);
}

int main(void)
{
    test_audio_behind_two_changes_stays_in_the_first_segment();
    test_past_segments_are_bounded();
    test_128_bpm_beats_are_22500_samples();
    test_events_sound_at_the_first_sample_at_or_after_their_time();
    test_tempo_changes_do_not_drift();
    test_change_point_denominators_stay_bounded();
    test_automation_shapes();
    return KR_TEST_REPORT("transport");
}
