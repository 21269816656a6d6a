/* soundfile.c — opening sound files for writing through libsndfile. */
#include "krach/soundfile.h"

#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

void *kr_sound_file_create(const char *path, const char *subtype, int rate, int channels,
                           int *bad_request, char *err, size_t errlen)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = channels;
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
