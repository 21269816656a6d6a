/* rt.c — the audio thread's side of the engine (see rt.h for the rules). */
#include "krach/rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "krach/rtguard.h"
#include "krach/safety.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

int kr_rt_init(kr_rt *rt, double sample_rate, int channels, float master)
{
    memset(rt, 0, sizeof *rt);
    rt->sample_rate = sample_rate;
    rt->channels = channels;
    rt->master = rt->master_target = master;
    /* 20 ms: fast enough to feel immediate, slow enough not to click. */
    rt->master_coef = (float)kr_smooth_coef(sample_rate, 0.02);
    rt->mix = calloc((size_t)KR_MAX_BLOCK * (size_t)channels, sizeof(float));
    if (!rt->mix || kr_ring_init(&rt->commands, sizeof(kr_rt_command), KR_RT_QUEUE) ||
        kr_ring_init(&rt->retired, sizeof(kr_rt_retired), KR_RT_QUEUE) ||
        kr_ring_init(&rt->notes, sizeof(kr_rt_note), KR_RT_NOTES) ||
        kr_ring_init(&rt->applied, sizeof(kr_applied_event), KR_RT_APPLIED) ||
        kr_ring_init(&rt->recording, (size_t)channels * sizeof(float), KR_RT_RECORDING) ||
        kr_event_queue_init(&rt->events, KR_RT_EVENTS)) {
        kr_rt_free(rt);
        return -1;
    }
    return 0;
}

void kr_rt_free(kr_rt *rt)
{
    kr_ring_free(&rt->commands);
    kr_ring_free(&rt->retired);
    kr_ring_free(&rt->notes);
    kr_ring_free(&rt->applied);
    kr_ring_free(&rt->recording);
    kr_event_queue_free(&rt->events);
    free(rt->mix);
    rt->mix = NULL;
}

int kr_rt_send(kr_rt *rt, const kr_rt_command *cmd)
{
    return kr_ring_push(&rt->commands, cmd);
}

void kr_rt_post_note(kr_rt *rt, kr_log_level level, const char *fmt, double a, double b)
{
    kr_rt_note note = {level, fmt, a, b};
    (void)kr_ring_push(&rt->notes, &note);
}

void kr_rt_retire(kr_rt *rt, int (*destroy)(void *ptr), void *ptr)
{
    kr_rt_retired item = {destroy, ptr};
    (void)kr_ring_push(&rt->retired, &item);
}

static int destroy_graph(void *graph)
{
    return kr_graph_destroy(graph);
}

void kr_rt_count_xrun(kr_rt *rt)
{
    atomic_fetch_add_explicit(&rt->xruns, 1, memory_order_relaxed);
}

void kr_rt_flush_denormals(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) and DAZ (bit 6) */
#elif defined(__aarch64__)
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" ::"r"(fpcr | (1UL << 24))); /* FZ */
#endif
}

static int free_batch(void *commands)
{
    free(commands);
    return 0;
}

static void apply_command(kr_rt *rt, const kr_rt_command *command)
{
    const kr_rt_command cmd = *command;
        switch (cmd.type) {
        case KR_RT_SWAP_GRAPH: {
            kr_graph *old = rt->graph;
            rt->graph = cmd.ptr;
            if (old)
                kr_rt_retire(rt, destroy_graph, old);
            break;
        }
        case KR_RT_SET_MASTER:
            rt->master_target = (float)cmd.value;
            break;
        case KR_RT_SET_PARAM: {
            kr_node *node = cmd.ptr;
            node->type->set_param(node, -1, cmd.index, cmd.value);
            break;
        }
        case KR_RT_EVENT:
            if (!kr_event_queue_push(&rt->events, &cmd.event))
                atomic_fetch_add_explicit(&rt->dropped_events, 1, memory_order_relaxed);
            break;
        case KR_RT_AUTOMATE:
            if (!kr_automations_set(&rt->automations, &cmd.automation))
                kr_rt_post_note(rt, KR_LOG_WARN, "automation dropped: at most %g at once",
                                KR_AUTOMATIONS, 0);
            break;
        case KR_RT_FORGET_NODE:
            kr_event_queue_cancel(&rt->events, 0, cmd.ptr, -1, INT64_MIN);
            kr_automations_remove_node(&rt->automations, cmd.ptr);
            break;
        case KR_RT_SET_ROUTE_LEVEL: {
            kr_route *route = cmd.ptr;
            route->level_target = (float)cmd.value;
            break;
        }
        case KR_RT_SET_AUDIBLE: {
            kr_node *node = cmd.ptr;
            node->audible_target = (float)cmd.value;
            break;
        }
        case KR_RT_CANCEL:
            kr_event_queue_cancel(&rt->events, cmd.event.tag, cmd.event.node, cmd.event.voice,
                                  cmd.event.sample);
            break;
        case KR_RT_SET_GAIN: {
            kr_node *node = cmd.ptr;
            node->gain_target = (float)cmd.value;
            break;
        }
        case KR_RT_NODE_SWAP: {
            kr_node *node = cmd.ptr;
            node->type->swap(node, cmd.payload, rt);
            /* What made it fault is gone with the old set (see dsp_swap). */
            atomic_store_explicit(&node->faulted, false, memory_order_relaxed);
            break;
        }
        case KR_RT_RECORD:
            rt->recording_on = cmd.index != 0;
            break;
        case KR_RT_BATCH: {
            /* One batch, one block boundary: everything changes at once. */
            const kr_rt_command *list = cmd.ptr;
            for (int i = 0; i < cmd.index; i++)
                apply_command(rt, &list[i]);
            kr_rt_retire(rt, free_batch, cmd.ptr);
            break;
        }
        }
}

void kr_rt_apply_commands(kr_rt *rt)
{
    kr_rt_command cmd;
    while (kr_ring_pop(&rt->commands, &cmd))
        apply_command(rt, &cmd);
}

static double now_seconds(void)
{
    struct timespec ts; /* clock_gettime is a vDSO call: no syscall, no blocking */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void render_slice(kr_rt *rt, float *out, unsigned frames)
{
    const int channels = rt->channels;
    const size_t n = (size_t)frames * (size_t)channels;
    memset(rt->mix, 0, n * sizeof(float));
    if (rt->graph)
        kr_graph_process(rt->graph, rt->mix, frames, channels, rt);

    float master = rt->master;
    const float target = rt->master_target, coef = rt->master_coef;
    for (unsigned i = 0; i < frames; i++) {
        master = target + (master - target) * coef;
        for (int ch = 0; ch < channels; ch++)
            out[i * (unsigned)channels + (unsigned)ch] =
                rt->mix[i * (unsigned)channels + (unsigned)ch] * master;
    }
    rt->master = fabsf(master - target) < 1e-6f ? target : master;

    size_t bad = kr_safety_process(out, n);
    if (bad)
        atomic_fetch_add_explicit(&rt->nonfinite, bad, memory_order_relaxed);
    if (rt->recording_on) {
        /* What the speakers get goes to the recorder; a full ring (the
         * writer fell behind) loses frames, counted, never blocks. */
        size_t kept = kr_ring_push_many(&rt->recording, out, frames);
        atomic_fetch_add_explicit(&rt->recorded_frames, kept, memory_order_relaxed);
        if (kept < frames)
            atomic_fetch_add_explicit(&rt->dropped_frames, frames - kept, memory_order_relaxed);
    }
}

/* Applies every queued event due at or before `now`. */
static void apply_due_events(kr_rt *rt, int64_t now)
{
    const kr_timed_event *next;
    while ((next = kr_event_queue_peek(&rt->events)) && next->sample <= now) {
        kr_timed_event e;
        kr_event_queue_pop(&rt->events, &e);
        if (e.index == KR_AUTOMATION_GAIN) /* a pattern on the node's gain */
            e.node->gain_target = (float)e.value;
        else
            e.node->type->set_param(e.node, e.voice, e.index, e.value);
        if (e.sample < now)
            atomic_fetch_add_explicit(&rt->late_events, 1, memory_order_relaxed);
        if (rt->record_events) {
            kr_applied_event rec = {e.sample, now, e.tag, e.index, e.value};
            (void)kr_ring_push(&rt->applied, &rec);
        }
    }
}

void kr_rt_process(kr_rt *rt, float *out, unsigned long frames)
{
    KR_RTGUARD_ENTER(); /* hygiene build: any malloc, lock or blocking call aborts */
    const double start = now_seconds();
    kr_rt_flush_denormals();
    kr_rt_apply_commands(rt);

    /* Split the block at every event so each lands on its exact sample. */
    const int64_t first = (int64_t)atomic_load_explicit(&rt->frames, memory_order_relaxed);
    unsigned long done = 0;
    while (done < frames) {
        int64_t now = first + (int64_t)done;
        apply_due_events(rt, now);
        unsigned long slice = frames - done > KR_MAX_BLOCK ? KR_MAX_BLOCK : frames - done;
        if (rt->automations.count) {
            kr_automations_apply(&rt->automations, now);
            if (slice > KR_AUTOMATION_STEP)
                slice = KR_AUTOMATION_STEP;
        }
        const kr_timed_event *next = kr_event_queue_peek(&rt->events);
        if (next && next->sample - now < (int64_t)slice)
            slice = (unsigned long)(next->sample - now);
        rt->input_offset = done;
        render_slice(rt, out + done * (unsigned long)rt->channels, (unsigned)slice);
        done += slice;
    }
    atomic_fetch_add_explicit(&rt->frames, frames, memory_order_relaxed);

    /* Report scrubbed samples at most once per second of audio, not per block. */
    uint64_t bad = atomic_load_explicit(&rt->nonfinite, memory_order_relaxed);
    uint64_t now_frame = atomic_load_explicit(&rt->frames, memory_order_relaxed);
    if (bad != rt->nonfinite_reported &&
        (rt->nonfinite_reported == 0 ||
         now_frame - rt->nonfinite_report_frame >= (uint64_t)rt->sample_rate)) {
        rt->nonfinite_report_frame = now_frame;
        kr_rt_post_note(rt, KR_LOG_WARN,
                   "replaced %g non-finite output samples with silence (total %g)",
                   (double)(bad - rt->nonfinite_reported), (double)bad);
        rt->nonfinite_reported = bad;
    }

    /* CPU load: share of the block's duration spent computing it, smoothed. */
    if (frames > 0) {
        double load = (now_seconds() - start) * rt->sample_rate / (double)frames;
        unsigned prev = (unsigned)atomic_load_explicit(&rt->cpu_load_permille,
                                                       memory_order_relaxed);
        double smoothed = 0.9 * prev + 0.1 * load * 1000.0;
        atomic_store_explicit(&rt->cpu_load_permille, (uint_fast32_t)(smoothed + 0.5),
                              memory_order_relaxed);
    }
    KR_RTGUARD_LEAVE();
}
