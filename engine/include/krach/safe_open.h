/* safe_open.h — opening a file that a client asked the engine to write.
 *
 * Only regular files are ever written. A FIFO, device, socket or folder is
 * refused with a clear error and never blocks the server thread: the open is
 * non-blocking (a FIFO with no reader fails at once instead of waiting), and
 * the type is checked on the open descriptor (fstat), so a file swapped for a
 * FIFO between a check and the open cannot slip through. Writes to a regular
 * file never wait for another process (a stalled FIFO reader would).
 *
 * Two policies, chosen by `dir`:
 *   NULL   a local (Unix-socket) client: it is the engine's user, so the path
 *          is used as given (relative to the engine's working directory,
 *          links followed), as the user's own shell would.
 *   a dir  a TCP client: the path must name a file below `dir` (created with
 *          mode 0700 when missing). Absolute paths and ".." are refused, and
 *          every component is opened with O_NOFOLLOW relative to the folder's
 *          descriptor (openat), so no symbolic link — in a sub-folder or as the
 *          file itself — and no hard link to a file elsewhere can take a write
 *          outside the folder. Sub-folders must already exist.
 *
 * Server thread only (it does file-system calls). */
#ifndef KRACH_SAFE_OPEN_H
#define KRACH_SAFE_OPEN_H

#include <stdbool.h>

#include "krach/error.h"

/* Returns a descriptor (blocking, close-on-exec) of a regular file: created
 * with mode 0644 if missing and emptied, or with `append` an existing file
 * opened for reading and writing, untouched. On failure returns -1 and sets
 * `error`: "forbidden" for a path a TCP client may not use, else "io_error". */
int kr_safe_open_write(const char *dir, const char *path, bool append, kr_error *error);

#endif
