/* job.c — one FAUST compile in the helper process (see job.h). */
#define _GNU_SOURCE /* memfd_create */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "krach/faust.h"

#define KR_FAUST_ANSWER_MAX (256L << 20) /* the helper's RLIMIT_FSIZE */

extern char **environ;

struct kr_faust_job {
    pid_t pid;
    int answer_fd;              /* memfd the helper writes to */
    double deadline;            /* monotonic seconds */
    bool ended, killed;
    int status;                 /* wait status once ended */
    struct rusage usage;
    char name[128];
};

void kr_faust_one_line(const char *message, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = message; *p && n + 3 < size; p++) {
        if (*p == '\n') {
            if (p[1])
                out[n++] = ';', out[n++] = ' ';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* The helper next to this program (krach-engine's build or install folder),
 * else the one this build made (for the C tests elsewhere in the tree). */
static int helper_path(char *path, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        static const char leaf[] = "/krach-faust-child";
        char *slash = strrchr(self, '/');
        size_t dir_len = slash ? (size_t)(slash - self) : 0;
        if (slash && dir_len + sizeof leaf <= size) {
            memcpy(path, self, dir_len);
            memcpy(path + dir_len, leaf, sizeof leaf);
            if (access(path, X_OK) == 0)
                return 0;
        }
    }
#ifdef KRACH_FAUST_CHILD_BUILT
    snprintf(path, size, "%s", KRACH_FAUST_CHILD_BUILT);
    if (access(path, X_OK) == 0)
        return 0;
#endif
    return -1;
}

static int write_all(int fd, const char *text, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        text += w;
        n -= (size_t)w;
    }
    return 0;
}

static int spawn(kr_faust_job *job, const char *helper, int source_fd, const char *include_dir)
{
    char seconds[16], mib[16];
    snprintf(seconds, sizeof seconds, "%d", KR_FAUST_COMPILE_SECONDS);
    snprintf(mib, sizeof mib, "%d", KR_FAUST_COMPILE_MIB);
    char *argv[] = {(char *)helper, seconds, mib, job->name, (char *)include_dir, NULL};
    posix_spawn_file_actions_t files;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&files);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&files, source_fd, 0);
    posix_spawn_file_actions_adddup2(&files, job->answer_fd, 1);
    posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0);
    /* The engine's signal mask and ignored signals are not the helper's. */
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&job->pid, helper, &files, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
    return rc;
}

kr_faust_job *kr_faust_job_start(const char *name, const char *source, const char *include_dir,
                                 kr_error *error)
{
    char helper[PATH_MAX];
    if (helper_path(helper, sizeof helper)) {
        kr_error_set(error, "unavailable", "cannot compile %s: the FAUST compiler helper "
                     "krach-faust-child is not next to krach-engine (rebuild krach: make)", name);
        return NULL;
    }
    kr_faust_job *job = calloc(1, sizeof *job);
    int source_fd = memfd_create("krach-faust-source", MFD_CLOEXEC);
    if (job)
        job->answer_fd = memfd_create("krach-faust-answer", MFD_CLOEXEC);
    if (!job || source_fd < 0 || job->answer_fd < 0 ||
        write_all(source_fd, source, strlen(source)) || lseek(source_fd, 0, SEEK_SET) != 0) {
        kr_error_set(error, "io_error", "cannot hand %s to the FAUST compiler: %s", name,
                     strerror(errno));
        goto fail;
    }
    snprintf(job->name, sizeof job->name, "%s", name);
    int rc = spawn(job, helper, source_fd, include_dir);
    if (rc != 0) {
        kr_error_set(error, "io_error", "cannot start the FAUST compiler %s: %s", helper,
                     strerror(rc));
        goto fail;
    }
    close(source_fd);
    job->deadline = kr_monotonic_seconds() + KR_FAUST_COMPILE_SECONDS;
    return job;
fail:
    if (source_fd >= 0)
        close(source_fd);
    if (job && job->answer_fd >= 0)
        close(job->answer_fd);
    free(job);
    return NULL;
}

bool kr_faust_job_poll(kr_faust_job *job)
{
    if (job->ended)
        return true;
    pid_t got;
    do
        got = wait4(job->pid, &job->status, WNOHANG, &job->usage);
    while (got < 0 && errno == EINTR);
    if (got == 0 && kr_monotonic_seconds() < job->deadline)
        return false;
    if (got == 0) { /* over its time: it ends now */
        kill(job->pid, SIGKILL);
        job->killed = true;
        do
            got = wait4(job->pid, &job->status, 0, &job->usage);
        while (got < 0 && errno == EINTR);
    }
    job->ended = true;
    return true;
}

/* The helper's answer ("ok\n..." or "error\n..."), NUL-terminated, or NULL. */
static char *read_answer(kr_faust_job *job)
{
    struct stat st;
    if (fstat(job->answer_fd, &st) || st.st_size < 3 || st.st_size > KR_FAUST_ANSWER_MAX)
        return NULL;
    char *text = malloc((size_t)st.st_size + 1);
    if (!text)
        return NULL;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(job->answer_fd, text + got, (size_t)st.st_size - got, (off_t)got);
        if (n <= 0) {
            free(text);
            return NULL;
        }
        got += (size_t)n;
    }
    text[got] = '\0';
    return text;
}

/* Why the helper ended without an answer, in the budget's words. */
static void budget_error(kr_faust_job *job, kr_error *error)
{
    int sig = WIFSIGNALED(job->status) ? WTERMSIG(job->status) : 0;
    long mib = job->usage.ru_maxrss / 1024;
    if (job->killed || sig == SIGXCPU)
        kr_error_set(error, "limit", "FAUST compile of %s exceeded its budget of %d s (it "
                     "was stopped); simplify the expression", job->name,
                     KR_FAUST_COMPILE_SECONDS);
    else if (sig == SIGABRT || sig == SIGSEGV || sig == SIGBUS || sig == SIGKILL)
        kr_error_set(error, "limit", "FAUST compile of %s exceeded its budget of %d MiB of "
                     "memory (the compiler stopped at %ld MiB, signal %d); simplify the "
                     "expression", job->name, KR_FAUST_COMPILE_MIB, mib, sig);
    else
        kr_error_set(error, "io_error", "the FAUST compiler ended without an answer for %s "
                     "(status %d); see the engine log", job->name, job->status);
}

kr_faust_code *kr_faust_job_result(kr_faust_job *job, kr_error *error)
{
    char *answer = job->killed ? NULL : read_answer(job);
    char *body = answer ? strchr(answer, '\n') : NULL;
    if (!body) {
        budget_error(job, error);
        free(answer);
        return NULL;
    }
    *body++ = '\0';
    kr_faust_code *code = NULL;
    if (!strcmp(answer, "ok")) {
        char *machine = strchr(body, '\n');
        if (machine) {
            *machine++ = '\0';
            code = kr_faust_code_load(job->name, body, machine, error);
        } else {
            kr_error_set(error, "io_error", "the FAUST compiler's answer for %s is cut short",
                         job->name);
        }
    } else if (strstr(body, "bad_alloc")) { /* libfaust caught the failed allocation */
        kr_error_set(error, "limit", "FAUST compile of %s exceeded its budget of %d MiB of "
                     "memory; simplify the expression", job->name, KR_FAUST_COMPILE_MIB);
    } else {
        char line[400];
        kr_faust_one_line(body, line, sizeof line);
        kr_error_set(error, "bad_ir", "FAUST could not compile %s: %s", job->name, line);
    }
    free(answer);
    return code;
}

void kr_faust_job_free(kr_faust_job *job)
{
    if (!job)
        return;
    if (!job->ended) {
        kill(job->pid, SIGKILL);
        while (waitpid(job->pid, &job->status, 0) < 0 && errno == EINTR) {
        }
    }
    close(job->answer_fd);
    free(job);
}
