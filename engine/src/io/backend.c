/* backend.c — choose and start the audio backend (see backend.h). */
#include "krach/backend.h"

#include <stdio.h>
#include <string.h>

#include "io_internal.h"

const char *kr_backend_name(kr_backend_kind kind)
{
    switch (kind) {
    case KR_BACKEND_AUTO: return "auto";
    case KR_BACKEND_PORTAUDIO: return "portaudio";
    case KR_BACKEND_NULL: return "null";
    case KR_BACKEND_OFFLINE: return "offline";
    }
    return "?";
}

int kr_backend_start(kr_backend *backend, const kr_backend_options *options, kr_rt *rt,
                     kr_log *log, char *err, size_t errlen)
{
    memset(backend, 0, sizeof *backend);
    snprintf(backend->device, sizeof backend->device, "none");
    switch (options->kind) {
    case KR_BACKEND_OFFLINE:
        backend->kind = KR_BACKEND_OFFLINE;
        kr_logf(log, KR_LOG_INFO, "offline backend: time advances only on render");
        return 0;
    case KR_BACKEND_NULL:
        return kr_null_start(backend, options, rt, log, err, errlen);
    case KR_BACKEND_PORTAUDIO:
        return kr_portaudio_start(backend, options, rt, log, err, errlen);
    case KR_BACKEND_AUTO:
        if (kr_portaudio_start(backend, options, rt, log, err, errlen) == 0)
            return 0;
        snprintf(backend->fallback_reason, sizeof backend->fallback_reason, "%s", err);
        kr_logf(log, KR_LOG_WARN,
                "no audio device opened (%s); running on a silent real-time clock "
                "(null backend): render offline or record to hear the output",
                err);
        return kr_null_start(backend, options, rt, log, err, errlen);
    }
    snprintf(err, errlen, "unknown backend");
    return -1;
}

void kr_backend_stop(kr_backend *backend)
{
    switch (backend->kind) {
    case KR_BACKEND_PORTAUDIO:
        kr_portaudio_stop(backend);
        break;
    case KR_BACKEND_NULL:
        kr_null_stop(backend);
        break;
    default:
        break;
    }
    backend->impl = NULL;
}
