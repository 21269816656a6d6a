/* test_overload.c — overload events: first reading primes, growth reports,
 * rate limit (counting every xrun since the last report), recovery once. */
#include <stdlib.h>

#include "kr_test.h"
#include "krach/overload.h"

static char *check(kr_overload *ov, uint64_t xruns, double now)
{
    return kr_overload_check(ov, xruns, 1.25, true, now);
}

int main(void)
{
    kr_overload ov = {0};
    CHECK(check(&ov, 7, 0.0) == NULL); /* xruns from before: not news */
    CHECK(check(&ov, 7, 1.0) == NULL);
    char *ev = check(&ov, 9, 1.5);
    CHECK_STR_CONTAINS(ev, "\"event\":\"overload\"");
    CHECK_STR_CONTAINS(ev, "\"missed\":2");
    CHECK_STR_CONTAINS(ev, "2 blocks missed their deadline (DSP load 125%");
    CHECK(ev && ev[strlen(ev) - 1] == '\n');
    free(ev);
    CHECK(check(&ov, 12, 2.0) == NULL);  /* within the interval: held back */
    CHECK(check(&ov, 13, 3.0) == NULL);
    ev = check(&ov, 14, 3.6);            /* 2.1 s after the first: all 5 since */
    CHECK_STR_CONTAINS(ev, "\"missed\":5");
    free(ev);
    CHECK(check(&ov, 14, 6.0) == NULL);  /* calm for 2.4 s: not yet */
    ev = check(&ov, 14, 6.7);
    CHECK_STR_CONTAINS(ev, "\"event\":\"overload_over\"");
    CHECK_STR_CONTAINS(ev, "back to normal");
    free(ev);
    CHECK(check(&ov, 14, 20.0) == NULL); /* said once */
    ev = check(&ov, 15, 21.0);           /* a new overload is reported at once */
    CHECK_STR_CONTAINS(ev, "1 block missed its deadline");
    free(ev);

    /* A silent clock at low load: hiccups are absorbed; a heavy load is news. */
    kr_overload quiet = {0};
    CHECK(kr_overload_check(&quiet, 0, 0.1, false, 0.0) == NULL);
    CHECK(kr_overload_check(&quiet, 3, 0.1, false, 1.0) == NULL);
    CHECK(kr_overload_check(&quiet, 3, 0.1, false, 1.6) == NULL); /* judged: absorbed */
    ev = kr_overload_check(&quiet, 5, 0.95, false, 2.0);
    CHECK_STR_CONTAINS(ev, "\"missed\":2"); /* the absorbed ones are not counted */
    free(ev);
    /* An audible device at low load: after the settling time, a dropout with
     * advice that fits. */
    kr_overload device = {0};
    CHECK(kr_overload_check(&device, 0, 0.1, true, 0.0) == NULL);
    CHECK(kr_overload_check(&device, 1, 0.1, true, 1.0) == NULL); /* the load may catch up */
    ev = kr_overload_check(&device, 1, 0.1, true, 1.6);
    CHECK_STR_CONTAINS(ev, "audio dropout: 1 block missed its deadline while the DSP load was only 10%");
    free(ev);
    return KR_TEST_REPORT("overload");
}
