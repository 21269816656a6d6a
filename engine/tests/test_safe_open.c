/* test_safe_open.c — opening the files clients ask the engine to write:
 * regular files only and never blocking; below the files folder, no absolute
 * path, no "..", no link (file, sub-folder, dangling, hard), nothing created
 * on a refusal. Everything happens in a private folder under /tmp. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kr_test.h"
#include "krach/safe_open.h"

static char root[64];
static char folder[128];

/* base/leaf, in one of 4 rotating buffers (copy a result kept longer). */
static const char *in(const char *base, const char *leaf)
{
    static char buf[4][256];
    static int next;
    char *out = buf[next++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", base, leaf);
    return out;
}

/* Opens, expects `code` (NULL: success), closes. */
static void expect(const char *dir, const char *path, bool append, const char *code,
                   const char *needle)
{
    kr_error error = {0};
    int fd = kr_safe_open_write(dir, path, append, &error);
    if (!code) {
        CHECK(fd >= 0);
        if (fd < 0)
            fprintf(stderr, "  %s: %s\n", path, error.message);
        else
            close(fd);
        return;
    }
    CHECK(fd < 0);
    CHECK(error.code && !strcmp(error.code, code));
    if (error.code && strcmp(error.code, code))
        fprintf(stderr, "  %s: got %s: %s\n", path, error.code, error.message);
    if (needle)
        CHECK_STR_CONTAINS(error.message, needle);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static long size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void confined_names(void)
{
    expect(folder, "a.wav", false, NULL, NULL);
    expect(folder, "./b.wav", false, NULL, NULL);
    mkdir(in(folder, "sub"), 0700);
    expect(folder, "sub//c.wav", false, NULL, NULL);
    CHECK(access(in(folder, "sub/c.wav"), F_OK) == 0);
    expect(folder, "/tmp/x.wav", false, "forbidden", "absolute");
    expect(folder, "..", false, "forbidden", "'..'");
    expect(folder, "sub/../../x.wav", false, "forbidden", "'..'");
    expect(folder, "sub/", false, "forbidden", "names a folder");
    expect(folder, ".", false, "forbidden", "names a folder");
    expect(folder, "", false, "bad_value", "empty");
    expect(folder, "missing/x.wav", false, "io_error", "missing/x.wav");
    CHECK(access(in(folder, "missing"), F_OK) != 0);
}

static void confined_links(void)
{
    char outside[256];
    snprintf(outside, sizeof outside, "%s", in(root, "outside.wav"));
    write_text(outside, "keep");
    CHECK(symlink(outside, in(folder, "link.wav")) == 0);
    expect(folder, "link.wav", false, "forbidden", "symbolic link");
    expect(folder, "link.wav", true, "forbidden", "symbolic link");
    CHECK(symlink(in(root, "nowhere.wav"), in(folder, "dangling.wav")) == 0);
    expect(folder, "dangling.wav", false, "forbidden", "symbolic link");
    CHECK(access(in(root, "nowhere.wav"), F_OK) != 0); /* not created through the link */
    CHECK(symlink(root, in(folder, "up")) == 0);
    expect(folder, "up/new.wav", false, "forbidden", "symbolic link");
    CHECK(access(in(root, "new.wav"), F_OK) != 0);
    CHECK(link(outside, in(folder, "hard.wav")) == 0);
    expect(folder, "hard.wav", false, "forbidden", "hard links");
    CHECK(size_of(outside) == 4);
}

static void regular_files_only(void)
{
    CHECK(mkfifo(in(folder, "fifo.wav"), 0600) == 0);
    expect(folder, "fifo.wav", false, "io_error", "FIFO");
    CHECK(mkfifo(in(root, "fifo.wav"), 0600) == 0);
    expect(NULL, in(root, "fifo.wav"), false, "io_error", "FIFO"); /* no reader: at once */
    int reader = open(in(root, "fifo.wav"), O_RDONLY | O_NONBLOCK);
    CHECK(reader >= 0);
    expect(NULL, in(root, "fifo.wav"), false, "io_error", "FIFO"); /* with a reader too */
    expect(NULL, in(root, "fifo.wav"), true, "io_error", "FIFO");
    if (reader >= 0)
        close(reader);
    expect(NULL, "/dev/null", false, "io_error", "is a device");
    expect(NULL, root, false, "io_error", "is a folder");
}

static void local_truncate_and_append(void)
{
    const char *path = in(root, "take.wav");
    write_text(path, "0123456789");
    expect(NULL, path, true, NULL, NULL);
    CHECK(size_of(path) == 10); /* append leaves it as it is */
    expect(NULL, path, false, NULL, NULL);
    CHECK(size_of(path) == 0); /* a new take empties it */
    expect(NULL, in(root, "missing.wav"), true, "io_error", "cannot append");
    CHECK(access(in(root, "missing.wav"), F_OK) != 0);
    mode_t mask = umask(0);
    umask(mask);
    struct stat st;
    CHECK(stat(in(folder, "a.wav"), &st) == 0 && (st.st_mode & 0777) == (0644 & ~mask));
}

static void folder_created_private(void)
{
    const char *fresh = in(root, "fresh");
    expect(fresh, "x.wav", false, NULL, NULL);
    struct stat st;
    CHECK(stat(fresh, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    expect(in(root, "no/such/parent"), "x.wav", false, "io_error", "--files-dir");
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/krach-safe-open-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(folder, sizeof folder, "%s/files", root);
    mkdir(folder, 0700);
    confined_names();
    confined_links();
    regular_files_only();
    local_truncate_and_append();
    folder_created_private();
    nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return KR_TEST_REPORT("safe_open");
}
