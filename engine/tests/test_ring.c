/* test_ring.c — the SPSC ring: sizing, full/empty edges, FIFO order, counter
 * wraparound, odd item sizes, and a two-thread producer/consumer stress run. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "kr_test.h"
#include "krach/ring.h"

/* ---- sizing --------------------------------------------------------------- */

static void test_init_rounds_capacity_up_to_power_of_two(void)
{
    static const struct { size_t asked, got; } cases[] = {
        {1, 1},   {2, 2},     {3, 4},     {4, 4},       {5, 8},          {7, 8},
        {8, 8},   {9, 16},    {100, 128}, {1000, 1024}, {1024, 1024},    {1025, 2048},
        {4097, 8192},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kr_ring ring;
        CHECK(kr_ring_init(&ring, sizeof(int), cases[i].asked) == 0);
        CHECK(ring.capacity == cases[i].got);
        CHECK((ring.capacity & (ring.capacity - 1)) == 0);
        CHECK(ring.item_size == sizeof(int));
        CHECK(ring.items != NULL);
        CHECK(kr_ring_count(&ring) == 0);
        CHECK(kr_ring_space(&ring) == cases[i].got);
        kr_ring_free(&ring);
    }
}

static void test_init_rejects_zero_and_huge_arguments(void)
{
    kr_ring ring;
    CHECK(kr_ring_init(&ring, 0, 16) == -1);
    CHECK(ring.items == NULL);
    CHECK(kr_ring_init(&ring, sizeof(int), 0) == -1);
    CHECK(ring.items == NULL);
    CHECK(kr_ring_init(&ring, 0, 0) == -1);
    CHECK(kr_ring_init(&ring, 1, ((size_t)1 << 30) + 1) == -1);
    CHECK(ring.items == NULL);
    kr_ring_free(&ring); /* freeing a ring whose init failed is safe */
}

static void test_free_is_idempotent(void)
{
    kr_ring ring;
    CHECK(kr_ring_init(&ring, 8, 8) == 0);
    kr_ring_free(&ring);
    CHECK(ring.items == NULL);
    CHECK(ring.capacity == 0);
    kr_ring_free(&ring);
}

/* ---- single-thread behaviour ------------------------------------------------ */

static void test_push_fails_exactly_at_capacity(void)
{
    for (size_t cap = 1; cap <= 64; cap *= 2) {
        kr_ring ring;
        CHECK(kr_ring_init(&ring, sizeof(int), cap) == 0);
        for (size_t i = 0; i < cap; i++) {
            int v = (int)i;
            CHECK(kr_ring_push(&ring, &v));
            CHECK(kr_ring_count(&ring) == i + 1);
            CHECK(kr_ring_space(&ring) == cap - i - 1);
        }
        int extra = -1;
        CHECK(!kr_ring_push(&ring, &extra));
        CHECK(!kr_ring_push(&ring, &extra)); /* still full, still refused */
        CHECK(kr_ring_count(&ring) == cap);
        CHECK(kr_ring_space(&ring) == 0);
        /* The refused pushes copied nothing: contents are intact. */
        for (size_t i = 0; i < cap; i++) {
            int v = -99;
            CHECK(kr_ring_pop(&ring, &v));
            CHECK(v == (int)i);
        }
        CHECK(kr_ring_count(&ring) == 0);
        /* One pop from a full ring makes room for exactly one push. */
        for (size_t i = 0; i < cap; i++) {
            int v = (int)i;
            CHECK(kr_ring_push(&ring, &v));
        }
        int v;
        CHECK(kr_ring_pop(&ring, &v) && v == 0);
        CHECK(kr_ring_push(&ring, &extra));
        CHECK(!kr_ring_push(&ring, &extra));
        kr_ring_free(&ring);
    }
}

static void test_fifo_order(void)
{
    kr_ring ring;
    CHECK(kr_ring_init(&ring, sizeof(long), 16) == 0);
    for (long i = 0; i < 10; i++)
        CHECK(kr_ring_push(&ring, &i));
    for (long i = 0; i < 5; i++) {
        long v = -1;
        CHECK(kr_ring_pop(&ring, &v));
        CHECK(v == i);
    }
    for (long i = 10; i < 20; i++)
        CHECK(kr_ring_push(&ring, &i));
    CHECK(kr_ring_count(&ring) == 15);
    for (long i = 5; i < 20; i++) {
        long v = -1;
        CHECK(kr_ring_pop(&ring, &v));
        CHECK(v == i);
    }
    kr_ring_free(&ring);
}

static void test_pop_from_empty_leaves_item_untouched(void)
{
    kr_ring ring;
    CHECK(kr_ring_init(&ring, sizeof(int), 4) == 0);
    int v = 12345;
    CHECK(!kr_ring_pop(&ring, &v));
    CHECK(v == 12345);
    CHECK(kr_ring_count(&ring) == 0);
    int one = 1;
    CHECK(kr_ring_push(&ring, &one));
    CHECK(kr_ring_pop(&ring, &v) && v == 1);
    v = 777;
    CHECK(!kr_ring_pop(&ring, &v)); /* empty again after draining */
    CHECK(v == 777);
    CHECK(kr_ring_space(&ring) == 4);
    kr_ring_free(&ring);
}

static void test_wraparound_many_cycles(void)
{
    /* Capacity 8; varying fill levels so the slots wrap at every offset and the
     * counters pass the capacity thousands of times. */
    kr_ring ring;
    CHECK(kr_ring_init(&ring, sizeof(unsigned), 8) == 0);
    unsigned next_push = 0, next_pop = 0;
    int order_errors = 0, count_errors = 0;
    for (unsigned cycle = 0; cycle < 5000; cycle++) {
        unsigned burst = 1 + cycle % 8;
        for (unsigned i = 0; i < burst; i++) {
            if (kr_ring_count(&ring) == 8)
                break;
            if (!kr_ring_push(&ring, &next_push))
                count_errors++;
            next_push++;
        }
        unsigned drain = 1 + (cycle * 7) % 8;
        for (unsigned i = 0; i < drain; i++) {
            unsigned v;
            if (!kr_ring_pop(&ring, &v))
                break;
            if (v != next_pop)
                order_errors++;
            next_pop++;
        }
        if (kr_ring_count(&ring) != next_push - next_pop ||
            kr_ring_space(&ring) != 8 - (next_push - next_pop))
            count_errors++;
    }
    CHECK(order_errors == 0);
    CHECK(count_errors == 0);
    CHECK(next_push > 8 * 1000); /* the counters really went round many times */
    unsigned v;
    while (kr_ring_pop(&ring, &v))
        CHECK(v == next_pop++);
    CHECK(next_pop == next_push);
    kr_ring_free(&ring);
}

static void test_counters_wrap_past_size_max(void)
{
    /* The counters run freely; start them just below SIZE_MAX so they overflow
     * while items are queued, and check count/space/order stay exact. */
    kr_ring ring;
    CHECK(kr_ring_init(&ring, sizeof(int), 4) == 0);
    atomic_store(&ring.head, SIZE_MAX - 2);
    atomic_store(&ring.tail, SIZE_MAX - 2);
    CHECK(kr_ring_count(&ring) == 0);
    CHECK(kr_ring_space(&ring) == 4);
    int next_push = 0, next_pop = 0;
    for (int round = 0; round < 20; round++) {
        while (kr_ring_push(&ring, &next_push))
            next_push++;
        CHECK(kr_ring_count(&ring) == 4);
        CHECK(kr_ring_space(&ring) == 0);
        int v;
        for (int i = 0; i < 3; i++) {
            CHECK(kr_ring_pop(&ring, &v));
            CHECK(v == next_pop);
            next_pop++;
        }
        CHECK(kr_ring_count(&ring) == 1);
    }
    CHECK(atomic_load(&ring.head) < 100); /* it did wrap */
    int v;
    while (kr_ring_pop(&ring, &v))
        CHECK(v == next_pop++);
    CHECK(next_pop == next_push);
    kr_ring_free(&ring);
}

typedef struct odd24 {
    uint32_t seq;
    uint32_t inverted;
    unsigned char bytes[16];
} odd24;

static void fill_odd24(odd24 *item, uint32_t seq)
{
    item->seq = seq;
    item->inverted = ~seq;
    for (int i = 0; i < 16; i++)
        item->bytes[i] = (unsigned char)(seq * 31u + (unsigned)i * 7u);
}

static int odd24_ok(const odd24 *item, uint32_t seq)
{
    odd24 want;
    fill_odd24(&want, seq);
    return memcmp(item, &want, sizeof want) == 0;
}

static void test_odd_item_sizes_copied_intact(void)
{
    CHECK(sizeof(odd24) == 24);
    kr_ring ring;
    CHECK(kr_ring_init(&ring, sizeof(odd24), 5) == 0); /* 8 slots of 24 bytes */
    CHECK(ring.capacity == 8);
    uint32_t next_push = 0, next_pop = 0;
    int bad = 0;
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 5; i++) {
            odd24 item;
            fill_odd24(&item, next_push);
            if (!kr_ring_push(&ring, &item))
                bad++;
            next_push++;
        }
        for (int i = 0; i < 5; i++) {
            odd24 item;
            memset(&item, 0xAA, sizeof item);
            if (!kr_ring_pop(&ring, &item) || !odd24_ok(&item, next_pop))
                bad++;
            next_pop++;
        }
    }
    CHECK(bad == 0);
    kr_ring_free(&ring);

    /* Sizes that are not a multiple of anything: 1, 3, 7, 13 and 1000 bytes. */
    static const size_t sizes[] = {1, 3, 7, 13, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t size = sizes[s];
        CHECK(kr_ring_init(&ring, size, 3) == 0);
        unsigned char *in = malloc(size), *out = malloc(size);
        int mismatches = 0;
        for (unsigned n = 0; n < 50; n++) {
            for (size_t b = 0; b < size; b++)
                in[b] = (unsigned char)(n * 13u + b);
            CHECK(kr_ring_push(&ring, in));
            memset(out, 0, size);
            CHECK(kr_ring_pop(&ring, out));
            if (memcmp(in, out, size) != 0)
                mismatches++;
        }
        CHECK(mismatches == 0);
        free(in);
        free(out);
        kr_ring_free(&ring);
    }
}

/* ---- two threads ------------------------------------------------------------ */

enum { STRESS_ITEMS = 1000000 };

typedef struct stress {
    kr_ring ring;
    long full_spins;
} stress;

static void *producer(void *arg)
{
    stress *s = arg;
    for (uint32_t seq = 0; seq < STRESS_ITEMS;) {
        odd24 item;
        fill_odd24(&item, seq);
        if (kr_ring_push(&s->ring, &item)) {
            seq++;
        } else {
            s->full_spins++;
            sched_yield();
        }
    }
    return NULL;
}

static void test_two_threads_strict_order_no_loss(void)
{
    stress s = {.full_spins = 0};
    /* A small ring so the producer regularly finds it full and the consumer
     * regularly finds it empty: both edges are exercised under contention. */
    CHECK(kr_ring_init(&s.ring, sizeof(odd24), 64) == 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, producer, &s) == 0);

    uint32_t expected = 0;
    long out_of_order = 0, corrupted = 0, empty_spins = 0;
    while (expected < STRESS_ITEMS) {
        odd24 item;
        if (!kr_ring_pop(&s.ring, &item)) {
            empty_spins++;
            sched_yield();
            continue;
        }
        if (item.seq != expected)
            out_of_order++;
        if (!odd24_ok(&item, item.seq))
            corrupted++;
        if (kr_ring_count(&s.ring) > s.ring.capacity)
            corrupted++;
        expected = item.seq + 1; /* resynchronise so one slip is one error */
    }
    pthread_join(thread, NULL);
    odd24 item;
    CHECK(!kr_ring_pop(&s.ring, &item)); /* nothing duplicated or left over */
    CHECK(out_of_order == 0);
    CHECK(corrupted == 0);
    CHECK(expected == STRESS_ITEMS);
    CHECK(kr_ring_count(&s.ring) == 0);
    printf("stress: %d items, producer found it full %ld times, consumer found it empty %ld "
           "times\n", STRESS_ITEMS, s.full_spins, empty_spins);
    kr_ring_free(&s.ring);
}

int main(void)
{
    test_init_rounds_capacity_up_to_power_of_two();
    test_init_rejects_zero_and_huge_arguments();
    test_free_is_idempotent();
    test_push_fails_exactly_at_capacity();
    test_fifo_order();
    test_pop_from_empty_leaves_item_untouched();
    test_wraparound_many_cycles();
    test_counters_wrap_past_size_max();
    test_odd_item_sizes_copied_intact();
    test_two_threads_strict_order_no_loss();
    return KR_TEST_REPORT("ring");
}
