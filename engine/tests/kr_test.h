/* kr_test.h — the smallest test harness that says what failed and where.
 *
 * CHECK keeps going after a failure (so one run shows every broken case);
 * main() returns KR_TEST_REPORT(name), which is non-zero if any check failed
 * or if no check ran at all: a test that checked nothing proves nothing (a
 * loop over an empty fixture folder, a main that forgot its cases). A test
 * program that ends without reaching KR_TEST_REPORT fails too (exit status 1,
 * from a destructor), unless it ends with _exit (forked children do).
 * One translation unit per test program: the counters are static. */
#ifndef KRACH_TEST_H
#define KRACH_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int kr_test_failures;
static int kr_test_checks;
static int kr_test_reported;

/* Runs after main returns (or exit): a program that never reported fails. */
__attribute__((destructor)) static void kr_test_check_reported(void)
{
    if (!kr_test_reported) {
        fprintf(stderr, "kr_test: the program ended without KR_TEST_REPORT: "
                        "its checks were never counted; failing\n");
        fflush(stdout);
        _exit(1);
    }
}

/* What KR_TEST_REPORT evaluates to: 0 only if checks ran and none failed. */
static inline int kr_test_report(const char *name)
{
    kr_test_reported = 1;
    printf("%s: %d checks, %d failed\n", name, kr_test_checks, kr_test_failures);
    if (kr_test_checks == 0) {
        fprintf(stderr, "%s: no check ran: a test that checks nothing cannot fail, so it "
                        "fails here; add CHECKs or remove the test\n", name);
        return 1;
    }
    return kr_test_failures ? 1 : 0;
}

#define CHECK(cond)                                                                  \
    do {                                                                             \
        kr_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            kr_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
    do {                                                                             \
        double kr_a_ = (a), kr_b_ = (b);                                             \
        kr_test_checks++;                                                            \
        if (!(fabs(kr_a_ - kr_b_) <= (tol))) {                                       \
            kr_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (±%g)\n", __FILE__,    \
                    __LINE__, #a, kr_a_, kr_b_, (double)(tol));                      \
        }                                                                            \
    } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                         \
    do {                                                                             \
        const char *kr_h_ = (haystack);                                              \
        kr_test_checks++;                                                            \
        if (!kr_h_ || !strstr(kr_h_, (needle))) {                                    \
            kr_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: expected \"%s\" in: %s\n", __FILE__, __LINE__,   \
                    (needle), kr_h_ ? kr_h_ : "(null)");                             \
        }                                                                            \
    } while (0)

#define KR_TEST_REPORT(name) kr_test_report(name)

#endif
