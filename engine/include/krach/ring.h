/* ring.h — single-producer/single-consumer lock-free ring of fixed-size items.
 *
 * Contract: exactly one thread pushes and exactly one thread pops. Push and pop
 * never block, never allocate and never take a lock, so the audio thread may
 * call them. Memory is allocated once by kr_ring_init (off the audio thread).
 * Items are copied in and out; the head and tail counters are C11 atomics with
 * release/acquire ordering, so an item is fully written before it is visible. */
#ifndef KRACH_RING_H
#define KRACH_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kr_ring {
    unsigned char *items;
    size_t item_size;
    size_t capacity;              /* a power of two */
    /* Producer and consumer counters live on separate cache lines so the two
     * threads do not contend for one line on every operation. */
    _Alignas(64) atomic_size_t head; /* next slot to write; written by producer */
    _Alignas(64) atomic_size_t tail; /* next slot to read; written by consumer */
} kr_ring;

/* Allocates room for at least `capacity` items (rounded up to a power of two).
 * Returns 0, or -1 when out of memory or when an argument is zero. */
int kr_ring_init(kr_ring *ring, size_t item_size, size_t capacity);
void kr_ring_free(kr_ring *ring);

/* Copies `item` in. Returns false (and copies nothing) when the ring is full. */
bool kr_ring_push(kr_ring *ring, const void *item);
/* Copies the oldest item out. Returns false when the ring is empty. */
bool kr_ring_pop(kr_ring *ring, void *item);
/* Copies up to n items in (as many as fit) with one publication; returns how
 * many went in. */
size_t kr_ring_push_many(kr_ring *ring, const void *items, size_t n);
/* Copies up to n items out; returns how many came out. */
size_t kr_ring_pop_many(kr_ring *ring, void *items, size_t n);

/* Items waiting; exact for the consumer, a lower bound for the producer. */
size_t kr_ring_count(kr_ring *ring);
/* Free slots; exact for the producer, a lower bound for the consumer. */
size_t kr_ring_space(kr_ring *ring);

#endif
