/* log.h — the engine's log file, with levels.
 *
 * Any thread except the audio thread may log (a mutex serialises writes). The
 * audio thread never calls these: it posts notes through kr_rt_post_note (rt.h),
 * which the server thread drains into this log. */
#ifndef KRACH_LOG_H
#define KRACH_LOG_H

#include <stddef.h>

typedef enum kr_log_level {
    KR_LOG_ERROR = 0,
    KR_LOG_WARN,
    KR_LOG_INFO,
    KR_LOG_DEBUG
} kr_log_level;

typedef struct kr_log kr_log;

/* Opens (appends to) `path`; "-" means standard error. Creates the parent
 * directory when it is missing. On failure returns NULL and explains in err. */
kr_log *kr_log_open(const char *path, kr_log_level level, char *err, size_t errlen);
void kr_log_close(kr_log *log);

void kr_logf(kr_log *log, kr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 if unknown. */
int kr_log_level_parse(const char *name, kr_log_level *level);
const char *kr_log_level_name(kr_log_level level);

#endif
