/* kr_test.h — the smallest test harness that says what failed and where.
 *
 * CHECK keeps going after a failure (so one run shows every broken case);
 * main() returns non-zero if any check failed. */
#ifndef KRACH_TEST_H
#define KRACH_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int kr_test_failures;
static int kr_test_checks;

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

#define KR_TEST_REPORT(name)                                                         \
    (printf("%s: %d checks, %d failed\n", (name), kr_test_checks, kr_test_failures), \
     kr_test_failures ? 1 : 0)

#endif
