/* soundfile.c — opening sound files for writing through libsndfile. */
#include "krach/soundfile.h"

#include <sndfile.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "krach/safe_open.h"

/* Sets info->format from the extension and subtype, and checks that libsndfile
 * can write that combination (info->samplerate and channels already set).
 * A failure here is always the request's fault ("bad_value"). */
static int format_for(const char *path, const char *subtype, SF_INFO *info, kr_error *error)
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
                kr_error_set(error, "bad_value", "unsupported subtype '%s' (use float, pcm16 "
                             "or pcm24)", subtype);
                return -1;
            }
        }
        info->format = formats[i].major | sub;
        if (!sf_format_check(info)) {
            kr_error_set(error, "bad_value", "unsupported subtype '%s' for %s files at %d Hz (.wav and "
                     ".aiff take float, pcm16 or pcm24; .flac pcm16 or pcm24; .ogg none)",
                     subtype ? subtype : "(default)", formats[i].ext, info->samplerate);
            return -1;
        }
        return 0;
    }
    kr_error_set(error, "bad_value", "unsupported file format: cannot tell the format of '%s'; end the "
                          "name with .wav, .flac, .aiff or .ogg", path);
    return -1;
}

static void *create(const char *dir, const char *path, const char *subtype, int rate,
                    int channels, kr_error *error)
{
    SF_INFO info = {.samplerate = rate, .channels = channels};
    if (format_for(path, subtype, &info, error))
        return NULL;
    int fd = kr_safe_open_write(dir, path, false, error);
    if (fd < 0)
        return NULL;
    SNDFILE *file = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE); /* closes fd, even on failure */
    if (!file)
        kr_error_set(error, "io_error", "cannot write %s: %s", path, sf_strerror(NULL));
    else /* the PEAK chunk carries the wall-clock time: renders must not */
        sf_command(file, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    return file;
}

/* An existing WAV or AIFF file of the engine's shape, positioned at its end. */
static void *append_to(const char *dir, const char *path, int rate, int channels,
                       kr_error *error)
{
    const char *dot = strrchr(path, '.');
    if (!dot || !(strcasecmp(dot, ".wav") == 0 || strcasecmp(dot, ".aiff") == 0 ||
                  strcasecmp(dot, ".aif") == 0)) {
        kr_error_set(error, "bad_value", "append works for .wav and .aiff files only; render "
                     "FLAC and OGG in one request");
        return NULL;
    }
    int fd = kr_safe_open_write(dir, path, true, error); /* never creates a file */
    if (fd < 0)
        return NULL;
    SF_INFO info = {0};
    SNDFILE *file = sf_open_fd(fd, SFM_RDWR, &info, SF_TRUE);
    if (!file) {
        kr_error_set(error, "io_error", "cannot append to %s: %s", path, sf_strerror(NULL));
        return NULL;
    }
    if (info.samplerate != rate || info.channels != channels) {
        kr_error_set(error, "bad_value", "cannot append to %s: it has %d channels at %d Hz, the "
                     "engine renders %d at %d Hz", path, info.channels, info.samplerate,
                     channels, rate);
        sf_close(file);
        return NULL;
    }
    sf_seek(file, 0, SEEK_END);
    return file;
}

void *kr_sound_file_open(const char *dir, const char *path, const char *subtype, bool append,
                         int rate, int channels, kr_error *error)
{
    return append ? append_to(dir, path, rate, channels, error)
                  : create(dir, path, subtype, rate, channels, error);
}
