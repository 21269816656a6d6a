/* rtguard.c — the interposer of the real-time hygiene build (see
 * engine/include/krach/rtguard.h).
 *
 * Linked into the engine as a shared library ahead of libc, so its
 * definitions of the functions below win for every caller in the process
 * (the engine, PortAudio, JACK's client library). Each one checks a
 * thread-local depth: zero passes straight through to the real function,
 * above zero means "this thread is inside the audio callback" and the call is
 * a violation: the function's name and a backtrace go to stderr through raw
 * system calls (stdio could allocate or lock), then abort().
 *
 * The allocators forward to glibc's __libc_* entry points instead of
 * dlsym(RTLD_NEXT): dlsym itself calls calloc, which would recurse before the
 * real pointer is known. Everything else is looked up lazily with dlsym. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#define EXPORT __attribute__((visibility("default")))

/* initial-exec: reading it must not allocate (a dynamic TLS block would be
 * allocated on first touch, from inside malloc). */
static __thread int guard_depth __attribute__((tls_model("initial-exec")));

EXPORT void kr_rtguard_enter(void)
{
    guard_depth++;
}

EXPORT void kr_rtguard_leave(void)
{
    guard_depth--;
}

static void raw_write(const char *text)
{
    size_t n = strlen(text);
    while (n > 0) {
        long w = syscall(SYS_write, 2, text, n);
        if (w <= 0)
            return;
        text += w;
        n -= (size_t)w;
    }
}

__attribute__((noreturn, noinline)) static void violation(const char *name)
{
    guard_depth = 0; /* what follows may itself allocate (backtrace loads libgcc) */
    raw_write("krach rtguard: the audio thread called ");
    raw_write(name);
    raw_write("() inside kr_rt_process; it must not allocate, free, lock or block there\n");
    void *frames[64];
    int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, 2);
    abort();
}

#define CHECK(name)                                                                            \
    do {                                                                                       \
        if (__builtin_expect(guard_depth > 0, 0))                                              \
            violation(name);                                                                   \
    } while (0)

/* The next definition of `name` (libc's), found on first use. */
#define REAL(name)                                                                             \
    static __typeof__(name) *real_##name;                                                      \
    __typeof__(name) *fn_##name = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);             \
    if (!fn_##name) {                                                                          \
        fn_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);                               \
        __atomic_store_n(&real_##name, fn_##name, __ATOMIC_RELEASE);                           \
    }

/* ---- allocation -------------------------------------------------------- */

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);
void *__libc_memalign(size_t alignment, size_t size);

EXPORT void *malloc(size_t size)
{
    CHECK("malloc");
    return __libc_malloc(size);
}

EXPORT void *calloc(size_t count, size_t size)
{
    CHECK("calloc");
    return __libc_calloc(count, size);
}

EXPORT void *realloc(void *ptr, size_t size)
{
    CHECK("realloc");
    return __libc_realloc(ptr, size);
}

EXPORT void free(void *ptr)
{
    if (ptr) /* free(NULL) does nothing, anywhere */
        CHECK("free");
    __libc_free(ptr);
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    CHECK("memalign");
    return __libc_memalign(alignment, size);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    CHECK("aligned_alloc");
    return __libc_memalign(alignment, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    CHECK("posix_memalign");
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
        return 22; /* EINVAL */
    void *p = __libc_memalign(alignment, size);
    if (!p && size)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* ---- locks and waits --------------------------------------------------- */

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    CHECK("pthread_mutex_lock");
    REAL(pthread_mutex_lock);
    return fn_pthread_mutex_lock(m);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    CHECK("pthread_mutex_trylock");
    REAL(pthread_mutex_trylock);
    return fn_pthread_mutex_trylock(m);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict m,
                                   const struct timespec *restrict at)
{
    CHECK("pthread_mutex_timedlock");
    REAL(pthread_mutex_timedlock);
    return fn_pthread_mutex_timedlock(m, at);
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    CHECK("pthread_rwlock_rdlock");
    REAL(pthread_rwlock_rdlock);
    return fn_pthread_rwlock_rdlock(l);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    CHECK("pthread_rwlock_wrlock");
    REAL(pthread_rwlock_wrlock);
    return fn_pthread_rwlock_wrlock(l);
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    CHECK("pthread_rwlock_tryrdlock");
    REAL(pthread_rwlock_tryrdlock);
    return fn_pthread_rwlock_tryrdlock(l);
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    CHECK("pthread_rwlock_trywrlock");
    REAL(pthread_rwlock_trywrlock);
    return fn_pthread_rwlock_trywrlock(l);
}

EXPORT int pthread_cond_wait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m)
{
    CHECK("pthread_cond_wait");
    REAL(pthread_cond_wait);
    return fn_pthread_cond_wait(c, m);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
                                  const struct timespec *restrict at)
{
    CHECK("pthread_cond_timedwait");
    REAL(pthread_cond_timedwait);
    return fn_pthread_cond_timedwait(c, m, at);
}

EXPORT int sem_wait(sem_t *s)
{
    CHECK("sem_wait");
    REAL(sem_wait);
    return fn_sem_wait(s);
}

EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict at)
{
    CHECK("sem_timedwait");
    REAL(sem_timedwait);
    return fn_sem_timedwait(s, at);
}

/* ---- blocking system calls --------------------------------------------- */

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    CHECK("read");
    REAL(read);
    return fn_read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    CHECK("write");
    REAL(write);
    return fn_write(fd, buf, n);
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    CHECK("poll");
    REAL(poll);
    return fn_poll(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
                 const sigset_t *mask)
{
    CHECK("ppoll");
    REAL(ppoll);
    return fn_ppoll(fds, n, timeout, mask);
}

EXPORT int select(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
                  struct timeval *restrict timeout)
{
    CHECK("select");
    REAL(select);
    return fn_select(n, r, w, e, timeout);
}

EXPORT int nanosleep(const struct timespec *want, struct timespec *left)
{
    CHECK("nanosleep");
    REAL(nanosleep);
    return fn_nanosleep(want, left);
}

EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *want,
                           struct timespec *left)
{
    CHECK("clock_nanosleep");
    REAL(clock_nanosleep);
    return fn_clock_nanosleep(clock, flags, want, left);
}

EXPORT int usleep(useconds_t us)
{
    CHECK("usleep");
    REAL(usleep);
    return fn_usleep(us);
}

EXPORT unsigned int sleep(unsigned int seconds)
{
    CHECK("sleep");
    REAL(sleep);
    return fn_sleep(seconds);
}

EXPORT int open(const char *path, int flags, ...)
{
    CHECK("open");
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    REAL(open);
    return fn_open(path, flags, mode);
}

EXPORT FILE *fopen(const char *restrict path, const char *restrict mode)
{
    CHECK("fopen");
    REAL(fopen);
    return fn_fopen(path, mode);
}

EXPORT int fsync(int fd)
{
    CHECK("fsync");
    REAL(fsync);
    return fn_fsync(fd);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    CHECK("recv");
    REAL(recv);
    return fn_recv(fd, buf, n, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    CHECK("send");
    REAL(send);
    return fn_send(fd, buf, n, flags);
}

EXPORT int accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict len)
{
    CHECK("accept");
    REAL(accept);
    return fn_accept(fd, addr, len);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    CHECK("connect");
    REAL(connect);
    return fn_connect(fd, addr, len);
}

/* syscall(2) itself: only a futex *wait* is a violation (a wake never
 * blocks). glibc's own locks do not come through here; this catches code
 * that rolls its own futex locks. */
EXPORT long syscall(long number, ...)
{
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_futex) {
        int op = (int)a[1] & FUTEX_CMD_MASK;
        if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET || op == FUTEX_LOCK_PI)
            CHECK("syscall(SYS_futex, FUTEX_WAIT)");
    }
    REAL(syscall);
    return fn_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
