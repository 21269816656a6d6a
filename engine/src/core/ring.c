/* ring.c — SPSC lock-free ring (see ring.h for the contract). */
#include "krach/ring.h"

#include <stdlib.h>
#include <string.h>

int kr_ring_init(kr_ring *ring, size_t item_size, size_t capacity)
{
    memset(ring, 0, sizeof *ring);
    if (item_size == 0 || capacity == 0 || capacity > ((size_t)1 << 30))
        return -1;
    size_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    ring->items = calloc(cap, item_size);
    if (!ring->items)
        return -1;
    ring->item_size = item_size;
    ring->capacity = cap;
    atomic_init(&ring->head, 0);
    atomic_init(&ring->tail, 0);
    return 0;
}

void kr_ring_free(kr_ring *ring)
{
    free(ring->items);
    ring->items = NULL;
    ring->capacity = 0;
}

/* Counters run freely and wrap modulo SIZE_MAX+1; since the capacity is a power
 * of two, (head - tail) is the fill level and (counter & (cap-1)) the slot. */
bool kr_ring_push(kr_ring *ring, const void *item)
{
    size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    if (head - tail >= ring->capacity)
        return false;
    memcpy(ring->items + (head & (ring->capacity - 1)) * ring->item_size, item,
           ring->item_size);
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
    return true;
}

bool kr_ring_pop(kr_ring *ring, void *item)
{
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    if (head == tail)
        return false;
    memcpy(item, ring->items + (tail & (ring->capacity - 1)) * ring->item_size,
           ring->item_size);
    atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
    return true;
}

size_t kr_ring_count(kr_ring *ring)
{
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    return head - tail;
}

size_t kr_ring_space(kr_ring *ring)
{
    return ring->capacity - kr_ring_count(ring);
}

size_t kr_ring_push_many(kr_ring *ring, const void *items, size_t n)
{
    size_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
    size_t room = ring->capacity - (head - tail);
    if (n > room)
        n = room;
    const unsigned char *src = items;
    for (size_t done = 0; done < n;) {
        /* Up to the end of the storage, then wrap. */
        size_t slot = (head + done) & (ring->capacity - 1);
        size_t run = ring->capacity - slot < n - done ? ring->capacity - slot : n - done;
        memcpy(ring->items + slot * ring->item_size, src + done * ring->item_size,
               run * ring->item_size);
        done += run;
    }
    atomic_store_explicit(&ring->head, head + n, memory_order_release);
    return n;
}

size_t kr_ring_pop_many(kr_ring *ring, void *items, size_t n)
{
    size_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    if (n > head - tail)
        n = head - tail;
    unsigned char *dst = items;
    for (size_t done = 0; done < n;) {
        size_t slot = (tail + done) & (ring->capacity - 1);
        size_t run = ring->capacity - slot < n - done ? ring->capacity - slot : n - done;
        memcpy(dst + done * ring->item_size, ring->items + slot * ring->item_size,
               run * ring->item_size);
        done += run;
    }
    atomic_store_explicit(&ring->tail, tail + n, memory_order_release);
    return n;
}
