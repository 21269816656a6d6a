/* offline.c — render on demand, on the calling thread, into a sound file.
 *
 * The file is a regular file (kr_sound_file_open refuses anything else), so
 * its writes go to the page cache and never wait for another process, as a
 * FIFO's would when its reader stalls. */
#include <sndfile.h>
#include <stdio.h>

#include "krach/backend.h"

int kr_offline_render(kr_rt *rt, long long frames, void *file, const char *path,
                      kr_render_prepare_fn prepare, void *ctx, char *err, size_t errlen)
{
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
