/* faust_dir.h — the folder of FAUST files that become node types.
 *
 * `NAME.dsp` in the folder (default ~/.krach/dsp, --dsp-dir or KRACH_DSP_DIR)
 * is the node type "faust:NAME". The folder is watched with inotify: a change
 * to any file in it (written, moved, deleted) is reported by kr_faust_dir_poll,
 * and the server recompiles the FAUST-file nodes (a program may import other
 * files of the folder). Names are 1 to
 * KR_FAUST_NAME_MAX letters, digits, '_' or '-', so a type can never reach
 * outside the folder. Server thread only. */
#ifndef KRACH_FAUST_DIR_H
#define KRACH_FAUST_DIR_H

#include <stdbool.h>

#include "krach/error.h"

#define KR_FAUST_NAME_MAX 64
#define KR_FAUST_FILE_MAX (1 << 20)   /* bytes of one .dsp file */

typedef struct kr_faust_dir kr_faust_dir;

/* Watches `path`, creating it if missing. NULL with an error if it cannot. */
kr_faust_dir *kr_faust_dir_open(const char *path, kr_error *error);
void kr_faust_dir_close(kr_faust_dir *dir);
const char *kr_faust_dir_path(const kr_faust_dir *dir);

/* True when `name` is a valid type name (see above). */
bool kr_faust_dir_valid_name(const char *name);

/* Never blocks: calls `changed` once for each NAME.dsp written, moved in or
 * out, or deleted since the last call. Returns true when anything in the
 * folder changed (any file: a program may import it), or when notifications
 * were lost; the caller then treats every program from the folder as stale. */
bool kr_faust_dir_poll(kr_faust_dir *dir, void (*changed)(const char *name, void *ctx),
                       void *ctx);

/* The text of NAME.dsp (malloc'd, NUL-terminated), or NULL with an error that
 * names the file and what to do. Only a regular file is read, opened without
 * blocking and without following a symbolic link: a FIFO, device, folder or
 * link named NAME.dsp is refused, so nothing in the folder can stall the
 * server. */
char *kr_faust_dir_read(const kr_faust_dir *dir, const char *name, kr_error *error);

/* The text of `file`, a bare file name (no '/', no leading '.') in the
 * folder, read as kr_faust_dir_read reads; error "not_found" when absent. */
char *kr_faust_dir_read_file(const kr_faust_dir *dir, const char *file, kr_error *error);

/* Reloads that wait for a FAUST compile (faust_watch.c keeps them with the
 * folder whose changes they are): the type, whether its file itself was
 * saved, the compile task it waits for (faust.h), and when it began. */
#define KR_FAUST_DIR_WAITS 64
typedef struct kr_faust_dir_waits {
    struct kr_faust_dir_wait {
        char name[KR_FAUST_NAME_MAX + 1];
        bool saved;
        long task;
        double since;
    } list[KR_FAUST_DIR_WAITS];
    int count;
} kr_faust_dir_waits;
kr_faust_dir_waits *kr_faust_dir_waiting(kr_faust_dir *dir);

#endif
