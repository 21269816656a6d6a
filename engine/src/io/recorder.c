/* recorder.c — the master output into a sound file (see recorder.h). */
#include "krach/recorder.h"

#include <sndfile.h>
#include <stdio.h>
#include <time.h>

#include "krach/engine.h"
#include "krach/soundfile.h"

int kr_recorder_start(kr_engine *engine, const char *dir, const char *path,
                      const char *subtype, kr_error *error)
{
    kr_recorder *r = &engine->recorder;
    if (r->file) {
        kr_error_set(error, "busy", "already recording to %s; stop it first (kr.record_stop())",
                     r->path);
        return -1;
    }
    kr_error open_error = {0};
    void *file = kr_sound_file_open(dir, path, subtype, false, (int)engine->rt.sample_rate,
                                    engine->rt.channels, &open_error);
    if (!file) {
        kr_error_set(error, open_error.code, "record: %s", open_error.message);
        return -1;
    }
    /* Leftovers from an earlier recording must not start this one. */
    float scratch[1024 * KR_MAX_CHANNELS];
    while (kr_ring_pop_many(&engine->rt.recording, scratch, 1024) > 0) {
    }
    r->file = file;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->written = 0;
    r->dropped_at_start = atomic_load(&engine->rt.dropped_frames);
    kr_rt_command cmd = {.type = KR_RT_RECORD, .index = 1};
    if (kr_engine_send(engine, &cmd, error)) {
        sf_close(file);
        r->file = NULL;
        return -1;
    }
    kr_logf(engine->log, KR_LOG_INFO, "recording to %s", path);
    return 0;
}

void kr_recorder_drain(kr_engine *engine)
{
    kr_recorder *r = &engine->recorder;
    if (!r->file)
        return;
    float frames[1024 * KR_MAX_CHANNELS];
    size_t n;
    while ((n = kr_ring_pop_many(&engine->rt.recording, frames, 1024)) > 0) {
        sf_count_t wrote = sf_writef_float(r->file, frames, (sf_count_t)n);
        r->written += wrote > 0 ? (uint64_t)wrote : 0;
        if (wrote != (sf_count_t)n) {
            kr_logf(engine->log, KR_LOG_ERROR, "recording to %s: %s", r->path,
                    sf_strerror(r->file));
            break;
        }
    }
}

int kr_recorder_stop(kr_engine *engine, uint64_t *frames, uint64_t *dropped, kr_error *error)
{
    kr_recorder *r = &engine->recorder;
    if (!r->file) {
        kr_error_set(error, "bad_request", "not recording; start with kr.record(path)");
        return -1;
    }
    kr_rt_command cmd = {.type = KR_RT_RECORD, .index = 0};
    if (kr_engine_send(engine, &cmd, error))
        return -1;
    if (kr_engine_is_offline(engine) || !engine->audio_running) {
        kr_rt_apply_commands(&engine->rt); /* no audio thread: take effect now */
    } else {
        /* Let the audio thread see the stop: two blocks, at most 0.2 s. */
        uint64_t from = atomic_load(&engine->rt.frames);
        uint64_t wait = 2 * (uint64_t)engine->config.audio.block_size;
        for (int i = 0; i < 200 && atomic_load(&engine->rt.frames) < from + wait; i++) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    kr_recorder_drain(engine);
    *frames = r->written;
    *dropped = atomic_load(&engine->rt.dropped_frames) - r->dropped_at_start;
    int closed = sf_close(r->file);
    r->file = NULL;
    kr_logf(engine->log, KR_LOG_INFO, "recorded %llu frames to %s (%llu dropped)",
            (unsigned long long)*frames, r->path, (unsigned long long)*dropped);
    if (closed != 0) {
        kr_error_set(error, "io_error", "closing %s failed", r->path);
        return -1;
    }
    return 0;
}
