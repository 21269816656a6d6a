/* log.c — leveled log file; never used from the audio thread. */
#include "krach/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct kr_log {
    FILE *file;
    int owns_file;
    kr_log_level level;
    pthread_mutex_t lock;
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void make_parent_dir(const char *path)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t)(slash - path) >= sizeof dir)
        return;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    mkdir(dir, 0700); /* an existing directory is fine; other failures show at fopen */
}

kr_log *kr_log_open(const char *path, kr_log_level level, char *err, size_t errlen)
{
    kr_log *log = calloc(1, sizeof *log);
    if (!log) {
        snprintf(err, errlen, "out of memory opening the log");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        log->file = stderr;
    } else {
        make_parent_dir(path);
        log->file = fopen(path, "a");
        if (!log->file) {
            snprintf(err, errlen, "cannot open log file %s: %s (choose another with --log PATH)",
                     path, strerror(errno));
            free(log);
            return NULL;
        }
        log->owns_file = 1;
    }
    log->level = level;
    pthread_mutex_init(&log->lock, NULL);
    return log;
}

void kr_log_close(kr_log *log)
{
    if (!log)
        return;
    if (log->owns_file)
        fclose(log->file);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

void kr_logf(kr_log *log, kr_log_level level, const char *fmt, ...)
{
    if (!log || level > log->level)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    localtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);

    pthread_mutex_lock(&log->lock);
    fprintf(log->file, "%s.%03ld [%s] ", stamp, now.tv_nsec / 1000000L, level_names[level]);
    va_list args;
    va_start(args, fmt);
    vfprintf(log->file, fmt, args);
    va_end(args);
    fputc('\n', log->file);
    fflush(log->file);
    pthread_mutex_unlock(&log->lock);
}

int kr_log_level_parse(const char *name, kr_log_level *level)
{
    for (int i = 0; i <= KR_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (kr_log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *kr_log_level_name(kr_log_level level)
{
    return level <= KR_LOG_DEBUG ? level_names[level] : "?";
}
