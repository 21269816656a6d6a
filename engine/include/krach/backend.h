/* backend.h — where the audio goes: a device, a silent clock, or a file.
 *
 *   portaudio  a real device through PortAudio (ALSA, JACK, …); its callback is
 *              the audio thread.
 *   null       a thread that paces blocks against CLOCK_MONOTONIC: real time
 *              without a device, so everything else works on a silent machine.
 *   offline    no clock at all: time advances only in kr_offline_render, on the
 *              calling thread, so renders are exactly repeatable. */
#ifndef KRACH_BACKEND_H
#define KRACH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "krach/log.h"
#include "krach/rt.h"

typedef enum kr_backend_kind {
    KR_BACKEND_AUTO = 0,  /* PortAudio, falling back to null */
    KR_BACKEND_PORTAUDIO,
    KR_BACKEND_NULL,
    KR_BACKEND_OFFLINE
} kr_backend_kind;

typedef struct kr_backend_options {
    kr_backend_kind kind;
    int sample_rate;
    int block_size;
    const char *device;     /* NULL: default; an index or a name substring */
    const char *audio_api;  /* NULL: default; a host API name substring */
    int inputs;             /* input channels to open (0: none), when the device has them */
} kr_backend_options;

typedef struct kr_backend {
    kr_backend_kind kind;   /* what actually runs (never AUTO) */
    char device[128];       /* device name, "none" for null/offline */
    int input_channels;     /* input channels actually open (0: none) */
    char fallback_reason[256]; /* why AUTO fell back to null, or "" */
    bool stalled;           /* set by the engine when the device stopped calling
                             * back: stopping then leaves the device alone */
    void *impl;
} kr_backend;

/* Starts audio. For AUTO, tries PortAudio and falls back to null (logging the
 * reason). Returns 0, or -1 with a message in err. */
int kr_backend_start(kr_backend *backend, const kr_backend_options *options,
                     kr_rt *rt, kr_log *log, char *err, size_t errlen);
/* Stops audio; afterwards no thread runs kr_rt_process. */
void kr_backend_stop(kr_backend *backend);
const char *kr_backend_name(kr_backend_kind kind);

/* Offline only: process exactly `frames` frames on the calling thread, calling
 * `prepare(ctx, until)` (when not NULL) before each chunk so that every event
 * before sample `until` is queued first; a non-zero return stops the render.
 * With `file` (a SNDFILE* from kr_sound_file_open, NULL to discard the
 * frames), write them to it and close it, whatever happens; `path` names it in
 * messages. Returns 0, or -1 with err saying why (scheduling or writing). */
#define KR_OFFLINE_LOOKAHEAD 1024 /* frames queued beyond each rendered chunk */
typedef int (*kr_render_prepare_fn)(void *ctx, int64_t until);
int kr_offline_render(kr_rt *rt, long long frames, void *file, const char *path,
                      kr_render_prepare_fn prepare, void *ctx, char *err, size_t errlen);

#endif
