/* soundfile.h — sound files to write, for offline renders and recordings.
 *
 * The format follows the file name: .wav (32-bit float unless `subtype` says
 * "pcm16" or "pcm24"), .flac (24-bit), .aiff/.aif (float), .ogg (Vorbis). */
#ifndef KRACH_SOUNDFILE_H
#define KRACH_SOUNDFILE_H

#include <stddef.h>

/* Creates (truncates) the file; returns a SNDFILE* (as void*, so callers need
 * not include sndfile.h) or NULL with a message in err and *bad_request set
 * when the name or subtype, not the file system, is at fault. */
void *kr_sound_file_create(const char *path, const char *subtype, int rate, int channels,
                           int *bad_request, char *err, size_t errlen);

#endif
