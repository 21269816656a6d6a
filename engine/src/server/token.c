/* token.c — the TCP secret: read it (only from a private file), or make one
 * with mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "krach/server.h"

static void make_parent_dir(const char *path)
{
    char dir[KR_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir)
        return;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    mkdir(dir, 0700);
}

int kr_token_load_or_create(const char *path, char *token, size_t len, char *err, size_t errlen)
{
    FILE *file = fopen(path, "r");
    if (file) {
        /* A token others can read is no secret: refuse it rather than guess
         * whether it leaked (checked on the open file, not the path). */
        struct stat st;
        if (fstat(fileno(file), &st) == 0 &&
            ((st.st_mode & 077) != 0 || st.st_uid != geteuid() || !S_ISREG(st.st_mode))) {
            fclose(file);
            snprintf(err, errlen, "token file %s is %s (mode %03o); a token must be private: "
                     "run `chmod 600 %s` if nobody else could have read it, else delete it "
                     "to have a new one made", path,
                     !S_ISREG(st.st_mode) ? "not a regular file"
                     : st.st_uid != geteuid() ? "owned by another user"
                                              : "readable or writable by others",
                     (unsigned)(st.st_mode & 0777), path);
            return -1;
        }
        char line[256] = "";
        if (!fgets(line, sizeof line, file))
            line[0] = '\0';
        fclose(file);
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) < 16 || strlen(line) >= len) {
            snprintf(err, errlen, "token file %s holds no usable token (16 to %zu characters); "
                     "delete it to have a new one made", path, len - 1);
            return -1;
        }
        snprintf(token, len, "%s", line);
        return 0;
    }
    unsigned char bytes[32];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) {
        snprintf(err, errlen, "cannot read random bytes for the token: %s", strerror(errno));
        return -1;
    }
    if (len < 2 * sizeof bytes + 1) {
        snprintf(err, errlen, "token buffer too small");
        return -1;
    }
    for (size_t i = 0; i < sizeof bytes; i++)
        snprintf(token + 2 * i, 3, "%02x", bytes[i]);
    make_parent_dir(path);
    /* O_EXCL + mode 0600: never widen an existing file, never race another engine. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create token file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = strlen(token);
    int ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    close(fd);
    if (!ok) {
        snprintf(err, errlen, "cannot write token file %s", path);
        return -1;
    }
    return 0;
}
