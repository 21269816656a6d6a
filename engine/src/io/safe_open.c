/* safe_open.c — regular files only, never blocking, confined for TCP clients
 * (see safe_open.h).
 *
 * Every open carries O_NONBLOCK and O_NOCTTY: opening a FIFO for writing with
 * no reader then fails at once (ENXIO) instead of waiting for one, and a
 * terminal never becomes the engine's. The descriptor is checked with fstat
 * before anything is written or truncated; only then is O_NONBLOCK cleared
 * (it means nothing for regular files, but libsndfile should see a plain
 * descriptor). A path that exists is also checked before the open, so a
 * device is refused without being opened at all. */
#include "krach/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "krach/engine.h"

#define OPEN_FLAGS (O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

static const char *type_name(mode_t mode)
{
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

static int refuse_type(const char *path, mode_t mode, kr_error *error)
{
    kr_error_set(error, "io_error", "cannot write %s: it is %s, and the engine writes only "
                 "regular files (a pipe or device could stall it); give the name of a new or "
                 "existing sound file", path, type_name(mode));
    return -1;
}

static int open_failed(const char *path, int err, bool append, kr_error *error)
{
    if (append)
        kr_error_set(error, "io_error", "cannot append to %s: %s (render without append to "
                     "create it)", path, strerror(err));
    else if (err == ENXIO) /* only a FIFO or socket with no reader gets here */
        kr_error_set(error, "io_error", "cannot write %s: it is a FIFO or socket with no "
                     "reader, and the engine writes only regular files", path);
    else
        kr_error_set(error, "io_error", "cannot write %s: %s", path, strerror(err));
    return -1;
}

static int forbid(const char *dir, const char *path, const char *why, kr_error *error)
{
    kr_error_set(error, "forbidden", "cannot write %s: %s; TCP clients write only inside the "
                 "engine's files folder %s (--files-dir): give a file name relative to it, "
                 "such as take.wav", path, why, dir);
    return -1;
}

/* The descriptor if it is a regular file (emptied unless appending), else
 * closes it and returns -1. Confined to `dir` (not NULL): also refuse a file
 * with other hard links, which may be a file outside the folder by a second
 * name. */
static int finish(int fd, const char *dir, const char *path, bool append, kr_error *error)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        open_failed(path, errno, append, error);
    } else if (!S_ISREG(st.st_mode)) {
        refuse_type(path, st.st_mode, error);
    } else if (dir && st.st_nlink > 1) {
        forbid(dir, path, "it has other hard links, which may lead outside the folder", error);
    } else {
        int flags = fcntl(fd, F_GETFL);
        if (flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 &&
            (append || ftruncate(fd, 0) == 0))
            return fd;
        open_failed(path, errno, append, error);
    }
    close(fd);
    return -1;
}

/* A local client's path, as the user's shell would take it. */
static int open_local(const char *path, bool append, kr_error *error)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return refuse_type(path, st.st_mode, error);
    int fd = append ? open(path, O_RDWR | OPEN_FLAGS)
                    : open(path, O_WRONLY | O_CREAT | OPEN_FLAGS, 0644);
    if (fd < 0)
        return open_failed(path, errno, append, error);
    return finish(fd, NULL, path, append, error);
}

/* The files folder, created (private) the first time it is needed. */
static int open_folder(const char *dir, kr_error *error)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mkdir(dir, 0700) == 0)
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        kr_error_set(error, "io_error", "cannot open the engine's files folder %s: %s (create "
                     "it, or start the engine with --files-dir DIR)", dir, strerror(errno));
    return fd;
}

/* Why a component below the folder could not be opened without following. */
static int component_failed(const char *dir, const char *path, int at, const char *name,
                            int err, bool append, kr_error *error)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return forbid(dir, path, "it goes through a symbolic link", error);
    return open_failed(path, err, append, error);
}

/* The file itself, in folder `at`: a regular file or a new one, never a link. */
static int open_leaf(const char *dir, const char *path, int at, const char *name, bool append,
                     kr_error *error)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return S_ISLNK(st.st_mode) ? forbid(dir, path, "it is a symbolic link", error)
                                   : refuse_type(path, st.st_mode, error);
    int fd = append ? openat(at, name, O_RDWR | O_NOFOLLOW | OPEN_FLAGS)
                    : openat(at, name, O_WRONLY | O_CREAT | O_NOFOLLOW | OPEN_FLAGS, 0644);
    if (fd < 0)
        return component_failed(dir, path, at, name, errno, append, error);
    return finish(fd, dir, path, append, error);
}

/* Opens the last component of `rest` under `at` (which it closes), walking
 * the sub-folders before it one openat at a time, never following a link. */
static int walk(const char *dir, const char *path, int at, char *rest, bool append,
                kr_error *error)
{
    char *slash;
    while ((slash = strchr(rest, '/')) != NULL) {
        *slash = '\0';
        if (*rest && strcmp(rest, ".") != 0) {
            int next = openat(at, rest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0) {
                component_failed(dir, path, at, rest, errno, append, error);
                close(at);
                return -1;
            }
            close(at);
            at = next;
        }
        rest = slash + 1;
    }
    int fd = open_leaf(dir, path, at, rest, append, error);
    close(at);
    return fd;
}

/* A TCP client's path: a relative name below `dir`, no "..", no links. */
static int open_confined(const char *dir, const char *path, bool append, kr_error *error)
{
    char rest[KR_PATH_MAX];
    if (path[0] == '/')
        return forbid(dir, path, "it is an absolute path", error);
    if (strlen(path) >= sizeof rest) {
        kr_error_set(error, "bad_value", "cannot write %.60s...: the path is longer than %d "
                     "bytes", path, KR_PATH_MAX - 1);
        return -1;
    }
    snprintf(rest, sizeof rest, "%s", path);
    const char *last = strrchr(rest, '/');
    last = last ? last + 1 : rest;
    if (!*last || !strcmp(last, "."))
        return forbid(dir, path, "it names a folder, not a file", error);
    for (const char *p = rest; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return forbid(dir, path, "it contains '..'", error);
        p += n + (p[n] == '/');
    }
    int at = open_folder(dir, error);
    return at < 0 ? -1 : walk(dir, path, at, rest, append, error);
}

int kr_safe_open_write(const char *dir, const char *path, bool append, kr_error *error)
{
    if (!*path) {
        kr_error_set(error, "bad_value", "the path is empty; give a file name such as take.wav");
        return -1;
    }
    return dir ? open_confined(dir, path, append, error) : open_local(path, append, error);
}
