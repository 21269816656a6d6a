/* faust_child.c — krach-faust-child: one FAUST compile in a process of its own.
 *
 * The engine (src/faust/job.c) runs this program for every compile its cache
 * does not hold, so that libfaust works under a budget the engine can enforce
 * and never on the engine's own threads: this process limits its CPU time and
 * its address space before compiling, and the engine kills it at a wall-clock
 * deadline. Whatever libfaust does with a hostile program (unbounded time or
 * memory), it ends with this process.
 *
 *   krach-faust-child SECONDS MIB NAME [INCLUDE_DIR]
 *   stdin:  the FAUST source, read to its end
 *   stdout: "ok\n<libfaust's SHA key>\n<base64 machine code>", or
 *           "error\n<libfaust's message>"; exit status 0 once written.
 *
 * It works in INCLUDE_DIR (or "/"), so the only places libfaust finds files
 * are that folder and FAUST's own libraries. Built without sanitizers: ASan
 * reserves terabytes of address space, which RLIMIT_AS would refuse. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define FAUSTFLOAT double
#include <faust/dsp/libfaust-c.h> /* freeCMemory */
#include <faust/dsp/llvm-dsp-c.h>

static int write_all(const char *text, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, text, n);
        if (w <= 0)
            return -1;
        text += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the answer and ends at once: libfaust's and LLVM's static
 * destructors have nothing to do for the engine. */
static _Noreturn void answer(const char *kind, const char *a, const char *b)
{
    int failed = write_all(kind, strlen(kind)) || write_all("\n", 1) ||
                 write_all(a, strlen(a)) || (b && (write_all("\n", 1) ||
                 write_all(b, strlen(b))));
    _exit(failed ? 1 : 0);
}

/* This process's address space now, in bytes (the loaded compiler). */
static unsigned long long address_space(void)
{
    unsigned long long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* The budget: SECONDS of CPU (SIGXCPU ends us), and MIB of address space
 * beyond what the loaded compiler already maps; no core files, no output
 * larger than 256 MiB. */
static void limit_self(long seconds, long mib)
{
    struct rlimit cpu = {(rlim_t)seconds, (rlim_t)seconds + 1};
    struct rlimit as = {(rlim_t)(address_space() + (unsigned long long)mib * 1048576ULL),
                        0};
    as.rlim_max = as.rlim_cur;
    struct rlimit none = {0, 0}, out = {256UL << 20, 256UL << 20};
    setrlimit(RLIMIT_CPU, &cpu);
    setrlimit(RLIMIT_AS, &as);
    setrlimit(RLIMIT_CORE, &none);
    setrlimit(RLIMIT_FSIZE, &out);
}

static char *read_source(void)
{
    size_t len = 0, cap = 65536;
    char *text = malloc(cap);
    for (ssize_t n; text; len += (size_t)n) {
        if (len + 1 == cap) {
            char *grown = realloc(text, cap * 2);
            if (!grown)
                break;
            text = grown;
            cap *= 2;
        }
        n = read(0, text + len, cap - 1 - len);
        if (n <= 0) {
            text[len] = '\0';
            return n == 0 ? text : (free(text), NULL);
        }
    }
    free(text);
    return NULL;
}

/* libfaust keys its factories by the source before imports are read, so a
 * folder program is expanded first (imports inlined) and compiled from that
 * text: its SHA key then follows the imported files (see llvm.c). */
static llvm_dsp_factory *compile(const char *name, const char *source, const char *dir,
                                 char *message)
{
    const char *argv[] = {"-double", "-I", dir, NULL};
    int argc = dir ? 3 : 1;
    if (!dir)
        return createCDSPFactoryFromString(name, source, argc, argv, "", message, -1);
    char sha[64];
    const char *expanded = expandCDSPFromString(name, source, argc, argv, sha, message);
    if (!expanded || message[0] || !expanded[0]) {
        if (expanded)
            freeCMemory((void *)expanded);
        if (!message[0]) /* unsaid: let the compiler say it */
            return createCDSPFactoryFromString(name, source, argc, argv, "", message, -1);
        return NULL;
    }
    llvm_dsp_factory *factory = createCDSPFactoryFromString(name, expanded, argc, argv, "",
                                                            message, -1);
    freeCMemory((void *)expanded);
    return factory;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: krach-faust-child SECONDS MIB NAME [INCLUDE_DIR] < source "
                "(run by krach-engine)\n");
        return 2;
    }
    /* Only stdin, stdout and stderr: nothing of the engine's stays open here. */
    closefrom(3);
    const char *dir = argc == 5 ? argv[4] : NULL;
    if (chdir(dir ? dir : "/") != 0)
        answer("error", "cannot enter the FAUST folder", NULL);
    limit_self(atol(argv[1]), atol(argv[2]));
    char *source = read_source();
    if (!source)
        answer("error", "cannot read the program from the engine", NULL);
    char message[4096] = "";
    llvm_dsp_factory *factory = compile(argv[3], source, dir, message);
    free(source);
    if (!factory)
        answer("error", message[0] ? message : "unknown error", NULL);
    char *sha = getCSHAKey(factory);
    char *machine = writeCDSPFactoryToMachine(factory, "");
    if (!machine)
        answer("error", "libfaust could not write the compiled code", NULL);
    answer("ok", sha ? sha : "", machine);
}
