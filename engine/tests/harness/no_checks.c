/* no_checks.c — a test program whose main reports without running a check.
 * The harness must fail it (ctest harness_no_checks expects exit status 1). */
#include "kr_test.h"

int main(void)
{
    return KR_TEST_REPORT("no_checks");
}
