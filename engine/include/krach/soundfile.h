/* soundfile.h — sound files to write, for offline renders and recordings.
 *
 * The format follows the file name: .wav (32-bit float unless `subtype` says
 * "pcm16" or "pcm24"), .flac (24-bit), .aiff/.aif (float), .ogg (Vorbis). */
#ifndef KRACH_SOUNDFILE_H
#define KRACH_SOUNDFILE_H

#include <stdbool.h>

#include "krach/error.h"

/* Opens `path` for writing through krach/safe_open.h (`dir`: NULL for a local
 * client, the files folder for a TCP client), so only a regular file is ever
 * written and opening never blocks. Creates (empties) the file, or with
 * `append` opens an existing .wav or .aiff file of the same rate and channel
 * count positioned at its end. Returns a SNDFILE* (as void*, so callers need
 * not include sndfile.h) or NULL with `error`: "bad_value" when the name,
 * subtype or append target is at fault, "forbidden" for a path outside the
 * folder, "io_error" for the file system. The name or subtype is checked
 * before the file is touched: a refused request creates nothing. */
void *kr_sound_file_open(const char *dir, const char *path, const char *subtype, bool append,
                         int rate, int channels, kr_error *error);

#endif
