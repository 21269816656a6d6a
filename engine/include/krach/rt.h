/* rt.h — the real-time core: everything the audio thread touches.
 *
 * Threads: the *server* thread is the single producer of `commands` and the
 * single consumer of `retired` and `notes`; the *audio* thread (a PortAudio
 * callback, the null backend's clock thread, or the server thread itself while
 * rendering offline) is the other side. kr_rt_process never allocates, frees,
 * locks, blocks, logs or does I/O: prepared objects arrive as commands, replaced
 * objects leave through `retired`, and messages leave as `notes` (static format
 * strings plus two numbers, formatted later by the server thread). */
#ifndef KRACH_RT_H
#define KRACH_RT_H

#include <stdatomic.h>
#include <stdint.h>

#include "krach/automation.h"
#include "krach/events.h"
#include "krach/graph.h"
#include "krach/log.h"
#include "krach/ring.h"

typedef enum kr_rt_command_type {
    KR_RT_SWAP_GRAPH = 1, /* ptr: the new kr_graph; the old one is retired */
    KR_RT_SET_MASTER,     /* value: master gain target */
    KR_RT_SET_PARAM,      /* ptr: kr_node (live), index, value */
    KR_RT_SET_GAIN,       /* ptr: kr_node (live), value: gain target */
    KR_RT_NODE_SWAP,      /* ptr: kr_node (live), payload: handed to its type's swap */
    KR_RT_EVENT,          /* a timed parameter change: event (see events.h) */
    KR_RT_CANCEL,         /* drop queued events: event.tag (0 = any), event.node (NULL =
                           * any), event.voice (-1 = any), from event.sample on */
    KR_RT_AUTOMATE,       /* automation: add, replace or (shape NONE) remove */
    KR_RT_FORGET_NODE,    /* ptr: a node about to leave: drop its events and automations */
    KR_RT_SET_ROUTE_LEVEL,/* ptr: kr_route (live), value: level target */
    KR_RT_SET_AUDIBLE,    /* ptr: kr_node (live), value: 1 heard, 0 muted */
    KR_RT_BATCH,          /* ptr: index commands to apply together (then retired) */
    KR_RT_RECORD          /* index 1: copy the output into `recording` from now; 0: stop */
} kr_rt_command_type;

typedef struct kr_rt_command {
    kr_rt_command_type type;
    int index;
    void *ptr;
    void *payload;
    double value;
    kr_timed_event event; /* KR_RT_EVENT, KR_RT_CANCEL */
    kr_automation automation; /* KR_RT_AUTOMATE */
} kr_rt_command;

/* For tests: when an event was due and when it was applied. */
typedef struct kr_applied_event {
    int64_t due, applied;
    uint32_t tag;
    int index;
    double value;
} kr_applied_event;

/* Something the audio thread no longer uses, to be freed on the server thread
 * by calling destroy(ptr). destroy returns how many *other* pending
 * retirements it settled by freeing their objects too (a removed node that was
 * still crossfading takes its outgoing instance with it), so the server's count
 * of pending retirements stays exact. */
typedef struct kr_rt_retired {
    int (*destroy)(void *ptr);
    void *ptr;
} kr_rt_retired;

typedef struct kr_rt_note {
    kr_log_level level;
    const char *fmt; /* static string with at most two %g conversions */
    double a, b;
} kr_rt_note;

typedef struct kr_rt {
    double sample_rate;
    int channels;
    kr_ring commands;       /* server → audio: kr_rt_command */
    kr_ring retired;        /* audio → server: kr_rt_retired */
    kr_ring notes;          /* audio → server: kr_rt_note */
    kr_graph *graph;        /* the graph being played; audio thread's while running */
    kr_event_queue events;  /* audio thread: timed events waiting for their sample */
    kr_automations automations; /* audio thread: controls it moves itself */
    bool record_events;     /* tests: report every applied event through `applied` */
    kr_ring applied;        /* audio → server: kr_applied_event */
    kr_ring recording;      /* audio → server: output frames while recording */
    bool recording_on;      /* audio thread */
    float master;           /* audio thread: smoothed master gain */
    float master_target;
    float master_coef;
    float *mix;             /* KR_MAX_BLOCK * channels scratch */
    /* Audio input of the current callback (set by the backend around
     * kr_rt_process; NULL when there is none) and where the slice being
     * rendered starts in it. */
    const float *input;
    int input_channels;
    unsigned long input_offset;
    /* Read by any thread (relaxed atomics; they are statistics). */
    atomic_uint_fast64_t frames;     /* frames processed since start */
    atomic_uint_fast64_t xruns;      /* deadlines missed (reported by backends) */
    atomic_uint_fast64_t nonfinite;  /* NaN/Inf samples scrubbed */
    atomic_uint_fast64_t node_faults;/* nodes silenced for non-finite output (graph.c) */
    atomic_uint_fast32_t cpu_load_permille; /* smoothed, 0..1000+ */
    atomic_uint_fast64_t late_events;    /* applied after their sample (queued too late) */
    atomic_uint_fast64_t dropped_events; /* lost because the event queue was full */
    atomic_uint_fast64_t recorded_frames;/* frames handed to the recorder */
    atomic_uint_fast64_t dropped_frames; /* frames lost because the recorder fell behind */
    uint64_t nonfinite_reported;     /* audio thread: last count noted */
    uint64_t nonfinite_report_frame; /* audio thread: frame of that note */
} kr_rt;

/* Server thread, before audio starts. Returns 0 or -1 (out of memory). */
int kr_rt_init(kr_rt *rt, double sample_rate, int channels, float master);
/* Server thread, after audio stopped. Frees rings and the scratch buffer (not
 * the graph, which the engine owns: take it with kr_rt_take_graph first). */
void kr_rt_free(kr_rt *rt);

/* Server thread: queue a command. False when the queue is full. */
int kr_rt_send(kr_rt *rt, const kr_rt_command *cmd);

/* Audio thread: render `frames` interleaved frames into `out` (any count; it
 * is sliced into KR_MAX_BLOCK pieces). Applies queued commands first. */
void kr_rt_process(kr_rt *rt, float *out, unsigned long frames);

/* Audio thread: apply queued commands without rendering. Used by the offline
 * backend to drain a full queue, and at shutdown. */
void kr_rt_apply_commands(kr_rt *rt);

/* Audio thread: hand an object back to be freed. The server never has more
 * retirements outstanding than the ring holds (see kr_engine), so this cannot
 * fail. */
void kr_rt_retire(kr_rt *rt, int (*destroy)(void *ptr), void *ptr);

/* Audio thread: post a log note (dropped silently if the ring is full). */
void kr_rt_post_note(kr_rt *rt, kr_log_level level, const char *fmt, double a, double b);

/* Audio thread: count a missed deadline. */
void kr_rt_count_xrun(kr_rt *rt);

/* Flush denormals to zero on this thread (x86 SSE, ARM FPCR). */
void kr_rt_flush_denormals(void);

#endif
