/* offline.c — render on demand, on the calling thread, into a sound file. */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "krach/backend.h"
#include "krach/soundfile.h"

static SNDFILE *open_output(kr_rt *rt, const char *path, const char *subtype, int append,
                            int *bad_request, char *err, size_t errlen)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (append) {
        const char *dot = strrchr(path, '.');
        if (!dot || !(strcasecmp(dot, ".wav") == 0 || strcasecmp(dot, ".aiff") == 0 ||
                      strcasecmp(dot, ".aif") == 0)) {
            snprintf(err, errlen, "append works for .wav and .aiff files only; render FLAC "
                     "and OGG in one request");
            *bad_request = 1;
            return NULL;
        }
        /* sf_open(SFM_RDWR) creates a missing file: check first, so a failed
         * append leaves nothing behind. */
        struct stat st;
        if (stat(path, &st) != 0) {
            snprintf(err, errlen, "cannot append to %s: %s (render without append to create "
                     "it)", path, strerror(errno));
            return NULL;
        }
        SNDFILE *file = sf_open(path, SFM_RDWR, &info);
        if (!file) {
            snprintf(err, errlen, "cannot append to %s: %s", path, sf_strerror(NULL));
            return NULL;
        }
        if (info.samplerate != (int)rt->sample_rate || info.channels != rt->channels) {
            snprintf(err, errlen, "cannot append to %s: it has %d channels at %d Hz, the engine "
                     "renders %d at %d Hz", path, info.channels, info.samplerate,
                     rt->channels, (int)rt->sample_rate);
            sf_close(file);
            *bad_request = 1;
            return NULL;
        }
        sf_seek(file, 0, SEEK_END);
        return file;
    }
    return kr_sound_file_create(path, subtype, (int)rt->sample_rate, rt->channels, bad_request,
                                err, errlen);
}

int kr_offline_render(kr_rt *rt, long long frames, const char *path, const char *subtype,
                      int append, kr_render_prepare_fn prepare, void *ctx, char *err,
                      size_t errlen)
{
    SNDFILE *file = NULL;
    int bad_request = 0;
    if (path && !(file = open_output(rt, path, subtype, append, &bad_request, err, errlen)))
        return bad_request ? -2 : -1;
    enum { CHUNK = 1024 };
    float buffer[CHUNK * KR_MAX_CHANNELS];
    int status = 0;
    for (long long done = 0; done < frames;) {
        long long n = frames - done < CHUNK ? frames - done : CHUNK;
        int64_t position = (int64_t)atomic_load(&rt->frames);
        /* Events are queued a block beyond the chunk: a note due on the
         * chunk's last sample + 1 may need to end the previous one a sample
         * early (see the scheduler), inside this chunk. */
        if (prepare && prepare(ctx, position + n + KR_OFFLINE_LOOKAHEAD)) {
            snprintf(err, errlen, "scheduling failed (see the engine log)");
            status = -1;
            break;
        }
        kr_rt_process(rt, buffer, (unsigned long)n);
        if (file && sf_writef_float(file, buffer, n) != n) {
            snprintf(err, errlen, "writing %s failed: %s", path, sf_strerror(file));
            status = -1;
            break;
        }
        done += n;
    }
    if (file && sf_close(file) != 0 && status == 0) {
        snprintf(err, errlen, "closing %s failed", path);
        status = -1;
    }
    return status;
}
