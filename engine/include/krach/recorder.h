/* recorder.h — the master output into a sound file, live or offline.
 *
 * The audio thread copies each block it outputs into a ring (rt.recording)
 * while recording is on; the server thread drains the ring into the file
 * every few milliseconds (and before each offline chunk), so disk writes never
 * touch the audio thread. A ring that fills (the disk fell behind by seconds)
 * loses frames, which are counted and reported, never waited for.
 *
 * Draining on the server thread cannot stall it behind another process: the
 * file is always a regular file (kr_sound_file_open refuses FIFOs, devices
 * and sockets), whose writes go to the page cache; only a FIFO's writes wait
 * for a reader. */
#ifndef KRACH_RECORDER_H
#define KRACH_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "krach/error.h"

struct kr_engine;

typedef struct kr_recorder {
    void *file;               /* SNDFILE*, NULL when not recording */
    char path[1024];
    uint64_t written;         /* frames written to the file */
    uint64_t dropped_at_start;/* rt.dropped_frames when this recording began */
} kr_recorder;

/* Opens `path` through kr_sound_file_open (`dir` as there: NULL for a local
 * client, the files folder for a TCP client) and starts recording. */
int kr_recorder_start(struct kr_engine *engine, const char *dir, const char *path,
                      const char *subtype, kr_error *error);
/* Writes what the audio thread has handed over so far. */
void kr_recorder_drain(struct kr_engine *engine);
/* Stops, writes the rest and closes; *frames and *dropped describe the file. */
int kr_recorder_stop(struct kr_engine *engine, uint64_t *frames, uint64_t *dropped,
                     kr_error *error);

#endif
