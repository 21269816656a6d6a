/* offline.c — render on demand, on the calling thread, into a sound file. */
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "krach/backend.h"

static int format_for(const char *path, const char *subtype, int *format, char *err,
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
                snprintf(err, errlen, "unknown subtype '%s' (use float, pcm16 or pcm24)", subtype);
                return -1;
            }
        }
        *format = formats[i].major | sub;
        return 0;
    }
    snprintf(err, errlen, "cannot tell the file format of '%s': end the name with .wav, .flac, "
                          ".aiff or .ogg", path);
    return -1;
}

static SNDFILE *open_output(kr_rt *rt, const char *path, const char *subtype, int append,
                            char *err, size_t errlen)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (append) {
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
            return NULL;
        }
        sf_seek(file, 0, SEEK_END);
        return file;
    }
    if (format_for(path, subtype, &info.format, err, errlen))
        return NULL;
    info.samplerate = (int)rt->sample_rate;
    info.channels = rt->channels;
    SNDFILE *file = sf_open(path, SFM_WRITE, &info);
    if (!file)
        snprintf(err, errlen, "cannot write %s: %s", path, sf_strerror(NULL));
    return file;
}

int kr_offline_render(kr_rt *rt, long long frames, const char *path, const char *subtype,
                      int append, char *err, size_t errlen)
{
    SNDFILE *file = NULL;
    if (path && !(file = open_output(rt, path, subtype, append, err, errlen)))
        return -1;
    enum { CHUNK = 1024 };
    float buffer[CHUNK * KR_MAX_CHANNELS];
    int status = 0;
    for (long long done = 0; done < frames;) {
        long long n = frames - done < CHUNK ? frames - done : CHUNK;
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
