/* one_check.c — the control: one passing check and a report pass. */
#include "kr_test.h"

int main(void)
{
    CHECK(1 + 1 == 2);
    return KR_TEST_REPORT("one_check");
}
