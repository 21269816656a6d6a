/* null.c — a silent real-time clock: blocks are computed on schedule and
 * discarded, so timing behaves exactly as with a device. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io_internal.h"

typedef struct null_clock {
    pthread_t thread;
    kr_rt *rt;
    int block;
    long long block_ns;
    atomic_int stop;
    float *buffer;
} null_clock;

static long long timespec_ns(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static struct timespec ns_timespec(long long ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
    return ts;
}

/* This thread is the audio thread of the null backend: it only sleeps until the
 * next deadline and calls kr_rt_process. */
static void *null_run(void *arg)
{
    null_clock *clock = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long deadline = timespec_ns(&now);
    while (!atomic_load_explicit(&clock->stop, memory_order_relaxed)) {
        kr_rt_process(clock->rt, clock->buffer, (unsigned long)clock->block);
        deadline += clock->block_ns;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long late = timespec_ns(&now) - deadline;
        if (late > clock->block_ns) {
            /* We fell more than a block behind: a device would have dropped
             * out here. Count it and resume from now rather than racing. */
            kr_rt_count_xrun(clock->rt);
            deadline = timespec_ns(&now);
            continue;
        }
        struct timespec wake = ns_timespec(deadline);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) == EINTR) {
        }
    }
    return NULL;
}

int kr_null_start(kr_backend *backend, const kr_backend_options *options, kr_rt *rt,
                  kr_log *log, char *err, size_t errlen)
{
    null_clock *clock = calloc(1, sizeof *clock);
    float *buffer = calloc((size_t)options->block_size * (size_t)rt->channels, sizeof(float));
    if (!clock || !buffer) {
        free(clock);
        free(buffer);
        snprintf(err, errlen, "out of memory starting the null backend");
        return -1;
    }
    clock->rt = rt;
    clock->block = options->block_size;
    clock->block_ns = (long long)(1e9 * options->block_size / options->sample_rate + 0.5);
    clock->buffer = buffer;
    atomic_init(&clock->stop, 0);
    if (pthread_create(&clock->thread, NULL, null_run, clock) != 0) {
        free(buffer);
        free(clock);
        snprintf(err, errlen, "cannot start the null backend's clock thread");
        return -1;
    }
    backend->kind = KR_BACKEND_NULL;
    backend->impl = clock;
    snprintf(backend->device, sizeof backend->device, "none");
    kr_logf(log, KR_LOG_INFO, "null backend: silent real-time clock, %d Hz, %d-frame blocks",
            options->sample_rate, options->block_size);
    return 0;
}

void kr_null_stop(kr_backend *backend)
{
    null_clock *clock = backend->impl;
    if (!clock)
        return;
    atomic_store(&clock->stop, 1);
    pthread_join(clock->thread, NULL);
    free(clock->buffer);
    free(clock);
}
