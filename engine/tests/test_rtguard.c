/* test_rtguard.c — proves the hygiene build's interposer works (built only
 * with KRACH_RT_GUARD): each forbidden call made inside a guarded section
 * kills a forked child with SIGABRT and a message naming the function; the
 * same calls outside the section, and a real kr_rt_process over a playing
 * graph inside it, pass. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "kr_test.h"
#include "krach/graph.h"
#include "krach/rt.h"
#include "krach/rtguard.h"
#include "krach/tone.h"

/* Volatile sinks so the compiler cannot drop a malloc/free pair. */
static void *volatile sink;
static volatile int isink;

static void do_malloc(void) { sink = malloc(64); }
static void do_calloc(void) { sink = calloc(4, 16); }
static void do_realloc(void) { sink = realloc(sink, 4096); }
static void do_free(void) { free(sink); }
static void do_aligned(void) { sink = aligned_alloc(64, 128); }
static void do_posix_memalign(void)
{
    void *p = NULL;
    isink = posix_memalign(&p, 64, 128);
    sink = p;
}
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static void do_lock(void) { isink = pthread_mutex_lock(&mutex); }
static void do_trylock(void) { isink = pthread_mutex_trylock(&mutex); }
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static void do_rdlock(void) { isink = pthread_rwlock_rdlock(&rwlock); }
static void do_wrlock(void) { isink = pthread_rwlock_wrlock(&rwlock); }
static void do_sem_wait(void)
{
    sem_t sem;
    sem_init(&sem, 0, 1);
    isink = sem_wait(&sem);
}
static int pipe_fds[2];
static void do_write(void) { isink = (int)write(pipe_fds[1], "x", 1); }
static void do_read(void)
{
    char c;
    isink = (int)read(pipe_fds[0], &c, 0);
}
static void do_poll(void) { isink = poll(NULL, 0, 0); }
static void do_select(void)
{
    struct timeval tv = {0, 0};
    isink = select(0, NULL, NULL, NULL, &tv);
}
static void do_nanosleep(void)
{
    struct timespec ts = {0, 1};
    isink = nanosleep(&ts, NULL);
}
static void do_clock_nanosleep(void)
{
    struct timespec ts = {0, 1};
    isink = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}
static void do_usleep(void) { isink = usleep(1); }
static void do_open(void) { isink = open("/dev/null", O_RDONLY); }
static void do_fopen(void) { sink = fopen("/dev/null", "r"); }
static void do_fsync(void) { isink = fsync(pipe_fds[1]); }
static void do_send(void) { isink = (int)send(-1, "x", 1, 0); }
static void do_futex(void)
{
    int word = 1; /* != expected value: the kernel returns at once (EAGAIN) */
    isink = (int)syscall(SYS_futex, &word, FUTEX_WAIT, 0, NULL, NULL, 0);
}

static const struct {
    const char *name;
    void (*call)(void);
} cases[] = {
    {"malloc", do_malloc},
    {"calloc", do_calloc},
    {"realloc", do_realloc},
    {"free", do_free},
    {"aligned_alloc", do_aligned},
    {"posix_memalign", do_posix_memalign},
    {"pthread_mutex_lock", do_lock},
    {"pthread_mutex_trylock", do_trylock},
    {"pthread_rwlock_rdlock", do_rdlock},
    {"pthread_rwlock_wrlock", do_wrlock},
    {"sem_wait", do_sem_wait},
    {"write", do_write},
    {"read", do_read},
    {"poll", do_poll},
    {"select", do_select},
    {"nanosleep", do_nanosleep},
    {"clock_nanosleep", do_clock_nanosleep},
    {"usleep", do_usleep},
    {"open", do_open},
    {"fopen", do_fopen},
    {"fsync", do_fsync},
    {"send", do_send},
    {"syscall(SYS_futex, FUTEX_WAIT)", do_futex},
};

/* Runs `body` in a child whose stderr is captured into `err`; returns the
 * wait status. */
static int run_child(void (*body)(int), int arg, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        body(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < errlen && (n = read(fds[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* Not static: -rdynamic puts it in the backtrace by name. */
void guarded_case(int i);
void guarded_case(int i)
{
    sink = malloc(16); /* for do_free: allocated outside the section */
    kr_rtguard_enter();
    cases[i].call();
    kr_rtguard_leave();
}

static void unguarded_case(int i)
{
    sink = malloc(16);
    cases[i].call();
    /* Nested sections: leaving the inner one still leaves this thread guarded
     * by the outer one, so the final leave must be needed. */
    kr_rtguard_enter();
    kr_rtguard_enter();
    kr_rtguard_leave();
    kr_rtguard_leave();
    sink = malloc(16);
    cases[i].call();
}

static void test_each_call_aborts_inside_the_guard(void)
{
    char err[16384];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int status = run_child(guarded_case, (int)i, err, sizeof err);
        char expected[128];
        snprintf(expected, sizeof expected, "the audio thread called %s() inside kr_rt_process",
                 cases[i].name);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK_STR_CONTAINS(err, expected);
        CHECK_STR_CONTAINS(err, "guarded_case"); /* the backtrace names the caller */
    }
}

static void test_calls_pass_outside_the_guard(void)
{
    char err[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].call == do_lock || cases[i].call == do_wrlock ||
            cases[i].call == do_rdlock || cases[i].call == do_sem_wait)
            continue; /* would deadlock on the second call */
        int status = run_child(unguarded_case, (int)i, err, sizeof err);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(strstr(err, "rtguard") == NULL);
    }
}

/* The real audio path: a tone graph rendered inside the guard (as
 * kr_rt_process raises it itself) passes and produces sound. */
static void render_tone(int unused)
{
    (void)unused;
    kr_rt rt;
    if (kr_rt_init(&rt, 48000.0, 2, 1.0f))
        _exit(3);
    kr_node *tone = kr_tone_create("t", 48000.0, 440.0, 0.5, KR_TONE_FAULT_NONE);
    kr_graph *graph = kr_graph_create(&tone, 1, NULL, 0);
    kr_rt_command cmd = {.type = KR_RT_SWAP_GRAPH, .ptr = graph};
    kr_rt_send(&rt, &cmd);
    float *out = calloc(2 * 4096, sizeof(float));
    float peak = 0;
    kr_rtguard_enter();
    for (int block = 0; block < 100; block++) {
        kr_rt_process(&rt, out, 256);
        for (int i = 0; i < 512; i++)
            peak = fabsf(out[i]) > peak ? fabsf(out[i]) : peak;
    }
    kr_rtguard_leave();
    _exit(peak > 0.4f ? 0 : 4);
}

static void test_rt_process_is_clean(void)
{
    char err[4096];
    int status = run_child(render_tone, 0, err, sizeof err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(err, "rtguard") == NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || err[0])
        fprintf(stderr, "render child: status %#x\n", (unsigned)status);
    if (err[0])
        fprintf(stderr, "child said: %s\n", err);
}

/* kr_rt_process raises the guard itself: a node that allocates in its
 * process callback kills the engine with the message. */
static void greedy_process(kr_node *node, unsigned frames, struct kr_rt *rt)
{
    (void)rt;
    sink = malloc(frames);
    memset(node->out[0], 0, frames * sizeof(float));
}

static void greedy_set_param(kr_node *node, int voice, int index, double value)
{
    (void)node, (void)voice, (void)index, (void)value;
}

static const kr_node_type greedy_type = {
    .kind = "greedy", .process = greedy_process, .set_param = greedy_set_param,
};

static void render_greedy(int unused)
{
    (void)unused;
    kr_rt rt;
    if (kr_rt_init(&rt, 48000.0, 2, 1.0f))
        _exit(3);
    kr_node *node = kr_node_create(&greedy_type, "greedy", 1, 48000.0, 1.0f, NULL);
    kr_graph *graph = kr_graph_create(&node, 1, NULL, 0);
    kr_rt_command cmd = {.type = KR_RT_SWAP_GRAPH, .ptr = graph};
    kr_rt_send(&rt, &cmd);
    static float out[2 * 256];
    kr_rt_process(&rt, out, 256); /* no explicit enter: kr_rt_process guards itself */
    _exit(0);
}

static void test_rt_process_raises_the_guard(void)
{
    char err[16384];
    int status = run_child(render_greedy, 0, err, sizeof err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK_STR_CONTAINS(err, "the audio thread called malloc() inside kr_rt_process");
    CHECK_STR_CONTAINS(err, "kr_rt_process"); /* in the backtrace */
}

int main(void)
{
    if (pipe(pipe_fds) != 0)
        return 2;
    test_each_call_aborts_inside_the_guard();
    test_calls_pass_outside_the_guard();
    test_rt_process_is_clean();
    test_rt_process_raises_the_guard();
    return KR_TEST_REPORT("rtguard");
}
