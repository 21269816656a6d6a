/* dir.c — the watched folder of .dsp files (see faust_dir.h). */
#include "krach/faust_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Written, moved in or out, deleted: what can change a program. */
#define KR_FAUST_DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

struct kr_faust_dir {
    int fd;                     /* inotify, non-blocking */
    char path[PATH_MAX];
    kr_faust_dir_waits waits;
};

kr_faust_dir_waits *kr_faust_dir_waiting(kr_faust_dir *dir) { return &dir->waits; }

/* mkdir -p, for the folder and its parents. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

kr_faust_dir *kr_faust_dir_open(const char *path, kr_error *error)
{
    if (!path || !*path || strlen(path) >= PATH_MAX) {
        kr_error_set(error, "bad_value", "the FAUST folder needs a path (--dsp-dir)");
        return NULL;
    }
    if (make_dirs(path)) {
        kr_error_set(error, "io_error", "cannot create the FAUST folder %s: %s", path,
                     strerror(errno));
        return NULL;
    }
    kr_faust_dir *dir = calloc(1, sizeof *dir);
    if (!dir) {
        kr_error_set(error, "io_error", "out of memory");
        return NULL;
    }
    snprintf(dir->path, sizeof dir->path, "%s", path);
    dir->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (dir->fd < 0 || inotify_add_watch(dir->fd, path, KR_FAUST_DIR_EVENTS) < 0) {
        kr_error_set(error, "io_error", "cannot watch the FAUST folder %s: %s", path,
                     strerror(errno));
        kr_faust_dir_close(dir);
        return NULL;
    }
    return dir;
}

void kr_faust_dir_close(kr_faust_dir *dir)
{
    if (!dir)
        return;
    if (dir->fd >= 0)
        close(dir->fd);
    free(dir);
}

const char *kr_faust_dir_path(const kr_faust_dir *dir) { return dir->path; }

bool kr_faust_dir_valid_name(const char *name)
{
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return n >= 1 && n <= KR_FAUST_NAME_MAX;
}

/* "NAME.dsp" → NAME in `out`; false for other files. */
static bool type_of_file(const char *file, char *out, size_t size)
{
    size_t len = strlen(file);
    if (len <= 4 || strcmp(file + len - 4, ".dsp") != 0 || len - 4 >= size)
        return false;
    memcpy(out, file, len - 4);
    out[len - 4] = '\0';
    return kr_faust_dir_valid_name(out);
}

bool kr_faust_dir_poll(kr_faust_dir *dir, void (*changed)(const char *name, void *ctx),
                       void *ctx)
{
    /* An editor's save is often several events for one file: collect the
     * names of everything pending, then report each once. */
    char names[16][KR_FAUST_NAME_MAX + 1];
    int count = 0;
    bool any = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t len = read(dir->fd, buf, sizeof buf);
        if (len <= 0)
            break;
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            char name[KR_FAUST_NAME_MAX + 1];
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_IGNORED) { /* the folder went away: watch it again */
                inotify_add_watch(dir->fd, dir->path, KR_FAUST_DIR_EVENTS);
                any = true;
                continue;
            }
            any = true; /* any file may be imported; lost events (IN_Q_OVERFLOW) too */
            if (!ev->len || !type_of_file(ev->name, name, sizeof name))
                continue;
            int i = 0;
            while (i < count && strcmp(names[i], name) != 0)
                i++;
            if (i == count && count == 16) { /* full: report what we have */
                for (int k = 0; k < count; k++)
                    changed(names[k], ctx);
                count = i = 0;
            }
            if (i == count)
                snprintf(names[count++], sizeof names[0], "%s", name);
        }
    }
    for (int k = 0; k < count; k++)
        changed(names[k], ctx);
    return any;
}

/* The regular file `path` (NUL-terminated, malloc'd), or NULL with `error`
 * set ("not_found" when there is no such file). `what` names it in errors. */
static char *read_regular(const char *path, const char *what, kr_error *error)
{
    /* A FIFO would block open() and read() until a writer comes: open
     * without blocking, and read only what fstat says is a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) {
        kr_error_set(error, "io_error", "%s is a symbolic link; krach reads only regular files "
                     "in the FAUST folder (copy the program there)", path);
        return NULL;
    }
    if (fd < 0) {
        kr_error_set(error, "not_found", "no FAUST file for %s: %s: %s (write the program "
                     "there, or set the folder with --dsp-dir)", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        kr_error_set(error, "io_error", "%s is not a regular file (a FIFO, device or folder); "
                     "krach reads only regular files in the FAUST folder: replace it with the "
                     "program's text", path);
        close(fd);
        return NULL;
    }
    char *text = malloc(KR_FAUST_FILE_MAX + 1);
    size_t len = 0;
    bool failed = false;
    while (text && len <= KR_FAUST_FILE_MAX) {
        ssize_t n = read(fd, text + len, KR_FAUST_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        failed = n < 0;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!text || failed || len > KR_FAUST_FILE_MAX) {
        kr_error_set(error, "io_error", !text ? "out of memory reading %s" : failed ?
                     "cannot read %s" : "%s is larger than 1 MiB", path);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

char *kr_faust_dir_read(const kr_faust_dir *dir, const char *name, kr_error *error)
{
    if (!kr_faust_dir_valid_name(name)) {
        kr_error_set(error, "bad_value", "'faust:%.80s' is not a valid FAUST node type: the "
                     "name must be 1 to %d letters, digits, '_' or '-' (the file NAME.dsp in "
                     "%s)", name, KR_FAUST_NAME_MAX, dir->path);
        return NULL;
    }
    char path[PATH_MAX + KR_FAUST_NAME_MAX + 8], what[KR_FAUST_NAME_MAX + 16];
    snprintf(path, sizeof path, "%s/%s.dsp", dir->path, name);
    snprintf(what, sizeof what, "'faust:%s'", name);
    return read_regular(path, what, error);
}

char *kr_faust_dir_read_file(const kr_faust_dir *dir, const char *file, kr_error *error)
{
    char path[PATH_MAX + 160];
    if (strchr(file, '/') || file[0] == '.' || strlen(file) > 128) {
        kr_error_set(error, "bad_value", "'%.60s' is not a bare file name of the FAUST folder",
                     file);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", dir->path, file);
    return read_regular(path, file, error);
}
