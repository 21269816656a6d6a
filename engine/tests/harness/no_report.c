/* no_report.c — a test program that passes a check but returns before
 * KR_TEST_REPORT. The harness must fail it (ctest harness_no_report). */
#include "kr_test.h"

int main(void)
{
    CHECK(1 + 1 == 2);
    return 0;
}
