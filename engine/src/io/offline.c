/* offline.c — render on demand, on the calling thread, into a sound file. */
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "krach/backend.h"

/* Sets info->format from the extension and subtype, and checks that libsndfile
 * can write that combination (info->samplerate and channels already set).
 * A failure here is always the request's fault (kr_offline_render's -2). */
static int format_for(const char *path, const char *subtype, SF_INFO *info, char *err,
                      size_t errlen)
{
    static const struct { const char *ext; int major; int sub; } formats[] = {
        {".wav", SF_FORMAT_WAV, SF_FORMAT_FLOAT},
        {".flac", SF_FORMAT_FLAC, SF_FORMAT_PCM_24},
        {".aiff", SF_FORMAT_AIFF, SF_FORMAT_FLOAT},
        {".aif", SF_FORMAT_AIFF, SF_FORMAT_FLOAT},
        {".ogg", SF_FORMAT_OGG, SF_FORMAT_VORBIS},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof formats / sizeof formats[0]; i++) {
        if (strcasecmp(dot, formats[i].ext) != 0)
            continue;
        int sub = formats[i].sub;
        if (subtype) {
            if (strcmp(subtype, "float") == 0)
                sub = SF_FORMAT_FLOAT;
            else if (strcmp(subtype, "pcm16") == 0)
                sub = SF_FORMAT_PCM_16;
            else if (strcmp(subtype, "pcm24") == 0)
                sub = SF_FORMAT_PCM_24;
            else {
                snprintf(err, errlen, "unsupported subtype '%s' (use float, pcm16 or pcm24)",
                         subtype);
                return -1;
            }
        }
        info->format = formats[i].major | sub;
        if (!sf_format_check(info)) {
            snprintf(err, errlen, "unsupported subtype '%s' for %s files at %d Hz (.wav and "
                     ".aiff take float, pcm16 or pcm24; .flac pcm16 or pcm24; .ogg none)",
                     subtype ? subtype : "(default)", formats[i].ext, info->samplerate);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unsupported file format: cannot tell the format of '%s'; end the "
                          "name with .wav, .flac, .aiff or .ogg", path);
    return -1;
}

/* On failure returns NULL and sets *bad_request when the request, not the
 * file system, is at fault. */
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
    info.samplerate = (int)rt->sample_rate;
    info.channels = rt->channels;
    if (format_for(path, subtype, &info, err, errlen)) {
        *bad_request = 1;
        return NULL;
    }
    SNDFILE *file = sf_open(path, SFM_WRITE, &info);
    if (!file)
        snprintf(err, errlen, "cannot write %s: %s", path, sf_strerror(NULL));
    else /* the PEAK chunk carries the wall-clock time: renders must not */
        sf_command(file, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    return file;
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
        if (prepare && prepare(ctx, position + n)) {
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
