/* events.h — the audio thread's queue of timed parameter changes.
 *
 * The scheduler (server thread) stamps every pattern event with the sample at
 * which it must happen and sends it through the command ring; the audio thread
 * keeps them here, ordered by (sample, arrival), and kr_rt_process splits its
 * blocks so each one is applied exactly at its sample. The queue is a binary
 * min-heap in storage allocated up front: pushing, popping and cancelling
 * never allocate. Events for the same sample keep their arrival order (a
 * note's controls before its gate; a gate-off before the next gate-on). */
#ifndef KRACH_EVENTS_H
#define KRACH_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

struct kr_node;

typedef struct kr_timed_event {
    int64_t sample;
    uint64_t seq;           /* arrival order, breaks ties */
    struct kr_node *node;
    int voice;              /* -1: every voice */
    int index;              /* the node's parameter index, or KR_AUTOMATION_GAIN: its gain */
    double value;
    uint32_t tag;           /* the scheduler slot that made it (for cancelling) */
} kr_timed_event;

typedef struct kr_event_queue {
    kr_timed_event *heap;
    int count, capacity;
    uint64_t next_seq;
} kr_event_queue;

int kr_event_queue_init(kr_event_queue *q, int capacity); /* server thread */
void kr_event_queue_free(kr_event_queue *q);

/* Audio thread. False (event dropped) when full. */
bool kr_event_queue_push(kr_event_queue *q, const kr_timed_event *event);
/* The earliest event, or NULL. */
const kr_timed_event *kr_event_queue_peek(const kr_event_queue *q);
void kr_event_queue_pop(kr_event_queue *q, kr_timed_event *out);
/* Removes events with sample >= from whose tag matches (tag 0: any tag),
 * whose node matches (NULL: any) and whose voice matches (-1: any). Returns
 * how many went. */
int kr_event_queue_cancel(kr_event_queue *q, uint32_t tag, struct kr_node *node, int voice,
                          int64_t from);

#endif
