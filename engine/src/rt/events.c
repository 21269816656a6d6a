/* events.c — the audio thread's timed-event heap (see events.h). */
#include "krach/events.h"

#include <stdlib.h>

int kr_event_queue_init(kr_event_queue *q, int capacity)
{
    q->heap = calloc((size_t)capacity, sizeof *q->heap);
    q->count = 0;
    q->capacity = q->heap ? capacity : 0;
    q->next_seq = 0;
    return q->heap ? 0 : -1;
}

void kr_event_queue_free(kr_event_queue *q)
{
    free(q->heap);
    q->heap = NULL;
    q->count = q->capacity = 0;
}

static bool earlier(const kr_timed_event *a, const kr_timed_event *b)
{
    return a->sample < b->sample || (a->sample == b->sample && a->seq < b->seq);
}

static void sift_up(kr_timed_event *h, int i)
{
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!earlier(&h[i], &h[parent]))
            break;
        kr_timed_event t = h[i];
        h[i] = h[parent];
        h[parent] = t;
        i = parent;
    }
}

static void sift_down(kr_timed_event *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && earlier(&h[l], &h[m]))
            m = l;
        if (r < n && earlier(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        kr_timed_event t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

bool kr_event_queue_push(kr_event_queue *q, const kr_timed_event *event)
{
    if (q->count >= q->capacity)
        return false;
    kr_timed_event *slot = &q->heap[q->count];
    *slot = *event;
    slot->seq = q->next_seq++;
    sift_up(q->heap, q->count++);
    return true;
}

const kr_timed_event *kr_event_queue_peek(const kr_event_queue *q)
{
    return q->count ? &q->heap[0] : NULL;
}

void kr_event_queue_pop(kr_event_queue *q, kr_timed_event *out)
{
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->count];
    sift_down(q->heap, q->count, 0);
}

int kr_event_queue_cancel(kr_event_queue *q, uint32_t tag, struct kr_node *node, int voice,
                          int64_t from)
{
    int kept = 0, removed = 0;
    for (int i = 0; i < q->count; i++) {
        const kr_timed_event *e = &q->heap[i];
        bool match = e->sample >= from && (tag == 0 || e->tag == tag) &&
                     (node == NULL || e->node == node) && (voice < 0 || e->voice == voice);
        if (match)
            removed++;
        else
            q->heap[kept++] = *e;
    }
    q->count = kept;
    /* Rebuild the heap (bounded by the capacity; cancels are rare). */
    for (int i = kept / 2 - 1; i >= 0; i--)
        sift_down(q->heap, kept, i);
    return removed;
}
