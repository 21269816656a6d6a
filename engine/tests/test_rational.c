/* test_rational.c — exact time: reduction, arithmetic, comparison, overflow at
 * the edges, parsing and formatting. */
#include <stdint.h>
#include <string.h>

#include "kr_test.h"
#include "krach/rational.h"

static kr_rat R(int64_t n, int64_t d)
{
    bool ov = false;
    return kr_rat_make(n, d, &ov);
}

static bool is(kr_rat r, int64_t n, int64_t d) { return r.num == n && r.den == d; }

static void test_make(void)
{
    bool ov = false;
    CHECK(is(kr_rat_make(2, 4, &ov), 1, 2));
    CHECK(is(kr_rat_make(-2, 4, &ov), -1, 2));
    CHECK(is(kr_rat_make(2, -4, &ov), -1, 2));
    CHECK(is(kr_rat_make(-2, -4, &ov), 1, 2));
    CHECK(is(kr_rat_make(0, -7, &ov), 0, 1));
    CHECK(is(kr_rat_make(INT64_MIN, 2, &ov), INT64_MIN / 2, 1));
    CHECK(is(kr_rat_make(INT64_MAX, INT64_MAX, &ov), 1, 1));
    CHECK(is(kr_rat_make(INT64_MIN, INT64_MIN, &ov), 1, 1));
    CHECK(!ov);
    CHECK(is(kr_rat_make(INT64_MIN, -1, &ov), 0, 1) && ov); /* 2^63 does not fit */
    ov = false;
    kr_rat_make(1, INT64_MIN, &ov); /* denominator 2^63 does not fit */
    CHECK(ov);
    ov = false;
    CHECK(is(kr_rat_make(2, INT64_MIN, &ov), -1, INT64_MIN / -2) && !ov);
    kr_rat_make(1, 0, &ov);
    CHECK(ov);
}

static void test_arithmetic(void)
{
    bool ov = false;
    CHECK(is(kr_rat_add(R(1, 3), R(1, 6), &ov), 1, 2));
    CHECK(is(kr_rat_add(R(1, 2), R(1, 2), &ov), 1, 1));
    CHECK(is(kr_rat_sub(R(1, 3), R(1, 2), &ov), -1, 6));
    CHECK(is(kr_rat_sub(R(5, 7), R(5, 7), &ov), 0, 1));
    CHECK(is(kr_rat_mul(R(2, 3), R(9, 4), &ov), 3, 2));
    CHECK(is(kr_rat_mul(R(-2, 3), R(3, 2), &ov), -1, 1));
    CHECK(is(kr_rat_mul(R(0, 1), R(INT64_MAX, 1), &ov), 0, 1));
    CHECK(is(kr_rat_div(R(2, 3), R(4, 9), &ov), 3, 2));
    CHECK(is(kr_rat_div(R(2, 3), R(-4, 9), &ov), -3, 2));
    CHECK(is(kr_rat_neg(R(3, 4), &ov), -3, 4));
    CHECK(!ov);
    /* large operands whose results fit */
    CHECK(is(kr_rat_add(R(1, INT64_MAX), R(-1, INT64_MAX), &ov), 0, 1));
    CHECK(is(kr_rat_add(R(INT64_MAX - 1, INT64_MAX), R(1, INT64_MAX), &ov), 1, 1));
    CHECK(is(kr_rat_mul(R(INT64_MAX, 3), R(3, INT64_MAX), &ov), 1, 1));
    CHECK(is(kr_rat_sub(R(INT64_MIN, 1), R(-1, 1), &ov), INT64_MIN + 1, 1));
    CHECK(is(kr_rat_add(R(INT64_MAX / 2, 1), R(INT64_MAX / 2 + 1, 1), &ov), INT64_MAX, 1));
    CHECK(!ov);
    /* sums whose reduced denominator needs the 128-bit path */
    kr_rat a = R(1, 3037000493), b = R(1, 3037000499); /* two large primes */
    kr_rat s = kr_rat_add(a, b, &ov);
    CHECK(!ov && s.den == (int64_t)3037000493 * 3037000499 && s.num == 6074000992);
    /* the sticky flag: one overflow poisons the chain */
    ov = false;
    kr_rat x = kr_rat_add(R(INT64_MAX, 1), R(1, 1), &ov);
    CHECK(ov);
    x = kr_rat_add(x, R(1, 2), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_sub(R(INT64_MIN, 1), R(1, 1), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_mul(R(INT64_MAX, 1), R(2, 1), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_mul(R(1, INT64_MAX), R(1, 2), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_div(R(1, 1), R(0, 1), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_neg(R(INT64_MIN, 1), &ov);
    CHECK(ov);
    ov = false;
    kr_rat_add(R(1, INT64_MAX), R(1, INT64_MAX - 1), &ov);
    CHECK(ov);
    ov = false;
    CHECK(is(kr_rat_mul(R(INT64_MIN, 1), R(1, 1), &ov), INT64_MIN, 1) && !ov);
    CHECK(is(kr_rat_mul(R(INT64_MIN, 1), R(-1, 2), &ov), (int64_t)1 << 62, 1) && !ov);
    kr_rat_mul(R(INT64_MIN, 1), R(-1, 1), &ov);
    CHECK(ov);
}

static void test_compare(void)
{
    CHECK(kr_rat_cmp(R(1, 3), R(1, 2)) < 0);
    CHECK(kr_rat_cmp(R(1, 2), R(1, 3)) > 0);
    CHECK(kr_rat_cmp(R(2, 4), R(1, 2)) == 0);
    CHECK(kr_rat_cmp(R(-1, 2), R(1, 3)) < 0);
    /* cross products beyond 64 bits */
    CHECK(kr_rat_cmp(R(INT64_MAX - 1, INT64_MAX), R(INT64_MAX - 2, INT64_MAX - 1)) > 0);
    CHECK(kr_rat_cmp(R(INT64_MIN, 1), R(INT64_MAX, 1)) < 0);
    CHECK(kr_rat_cmp(R(INT64_MAX, 1), R(INT64_MAX - 1, 1)) > 0);
    CHECK(kr_rat_cmp(R(1, INT64_MAX), R(1, INT64_MAX - 1)) < 0);
    CHECK(kr_rat_cmp(R(INT64_MIN, 3), R(INT64_MIN + 1, 3)) < 0);
    CHECK(kr_rat_eq(kr_rat_min(R(1, 3), R(1, 2)), R(1, 3)));
    CHECK(kr_rat_eq(kr_rat_max(R(1, 3), R(1, 2)), R(1, 2)));
}

static void test_floor(void)
{
    bool ov = false;
    CHECK(kr_rat_floor(R(7, 2)) == 3 && kr_rat_ceil(R(7, 2)) == 4);
    CHECK(kr_rat_floor(R(-7, 2)) == -4 && kr_rat_ceil(R(-7, 2)) == -3);
    CHECK(kr_rat_floor(R(3, 1)) == 3 && kr_rat_ceil(R(3, 1)) == 3);
    CHECK(kr_rat_floor(R(-3, 1)) == -3 && kr_rat_ceil(R(-3, 1)) == -3);
    CHECK(kr_rat_floor(R(INT64_MIN, 1)) == INT64_MIN);
    CHECK(kr_rat_floor(R(INT64_MIN + 1, 2)) == INT64_MIN / 2);
    CHECK(is(kr_rat_frac(R(7, 2), &ov), 1, 2));
    CHECK(is(kr_rat_frac(R(-7, 2), &ov), 1, 2));
    CHECK(is(kr_rat_frac(R(-1, 3), &ov), 2, 3));
    CHECK(is(kr_rat_frac(R(5, 1), &ov), 0, 1));
    CHECK(is(kr_rat_frac(R(INT64_MIN, 1), &ov), 0, 1));
    CHECK(!ov);
    CHECK_NEAR(kr_rat_to_double(R(1, 3)), 1.0 / 3.0, 0);
    CHECK_NEAR(kr_rat_to_double(R(-5, 4)), -1.25, 0);
}

static void test_text(void)
{
    kr_rat r;
    CHECK(kr_rat_parse("3", &r) == 0 && is(r, 3, 1));
    CHECK(kr_rat_parse("-3", &r) == 0 && is(r, -3, 1));
    CHECK(kr_rat_parse("6/4", &r) == 0 && is(r, 3, 2));
    CHECK(kr_rat_parse("-1/4", &r) == 0 && is(r, -1, 4));
    CHECK(kr_rat_parse("0/5", &r) == 0 && is(r, 0, 1));
    CHECK(kr_rat_parse("9223372036854775807", &r) == 0 && is(r, INT64_MAX, 1));
    CHECK(kr_rat_parse("-9223372036854775808", &r) == 0 && is(r, INT64_MIN, 1));
    CHECK(kr_rat_parse("1/9223372036854775807", &r) == 0 && is(r, 1, INT64_MAX));
    CHECK(kr_rat_parse("9223372036854775808", &r) == -1);
    CHECK(kr_rat_parse("1/9223372036854775808", &r) == -1);
    CHECK(kr_rat_parse("-9223372036854775808/2", &r) == 0 && is(r, INT64_MIN / 2, 1));
    CHECK(kr_rat_parse("1/0", &r) == -1);
    CHECK(kr_rat_parse("1/-2", &r) == -1);
    CHECK(kr_rat_parse(" 1", &r) == -1);
    CHECK(kr_rat_parse("1 ", &r) == -1);
    CHECK(kr_rat_parse("+1", &r) == -1);
    CHECK(kr_rat_parse("1/", &r) == -1);
    CHECK(kr_rat_parse("/2", &r) == -1);
    CHECK(kr_rat_parse("1.5", &r) == -1);
    CHECK(kr_rat_parse("", &r) == -1);
    CHECK(kr_rat_parse("-", &r) == -1);
    CHECK(kr_rat_parse(NULL, &r) == -1);
    char buf[64];
    kr_rat_format(R(3, 2), buf, sizeof buf);
    CHECK(strcmp(buf, "3/2") == 0);
    kr_rat_format(R(-3, 1), buf, sizeof buf);
    CHECK(strcmp(buf, "-3") == 0);
    kr_rat_format(R(INT64_MIN, INT64_MAX), buf, sizeof buf);
    CHECK(strcmp(buf, "-9223372036854775808/9223372036854775807") == 0);
    kr_rat_format(R(0, 3), buf, sizeof buf);
    CHECK(strcmp(buf, "0") == 0);
    kr_rat_format(R(1, 3), buf, 3);
    CHECK(strcmp(buf, "1/") == 0);
}

static void test_double(void)
{
    kr_rat r;
    CHECK(kr_rat_from_double(0.25, &r) == 0 && is(r, 1, 4));
    CHECK(kr_rat_from_double(3.0, &r) == 0 && is(r, 3, 1));
    CHECK(kr_rat_from_double(-1.5, &r) == 0 && is(r, -3, 2));
    CHECK(kr_rat_from_double(0.0, &r) == 0 && is(r, 0, 1));
    CHECK(kr_rat_from_double(-0.0, &r) == 0 && is(r, 0, 1));
    CHECK(kr_rat_from_double(0.1, &r) == -1);
    CHECK(kr_rat_from_double(1.0 / 3.0, &r) == -1);
    CHECK(kr_rat_from_double(ldexp(1, 62), &r) == 0 && is(r, (int64_t)1 << 62, 1));
    CHECK(kr_rat_from_double(ldexp(1, 63), &r) == -1);
    CHECK(kr_rat_from_double(-ldexp(1, 63), &r) == -1);
    CHECK(kr_rat_from_double(ldexp(1, -20), &r) == 0 && is(r, 1, (int64_t)1 << 20));
    CHECK(kr_rat_from_double(ldexp(1, -62), &r) == -1); /* 44 significant digits */
    CHECK(kr_rat_from_double(ldexp(1, -63), &r) == -1);
    CHECK(kr_rat_from_double(1000000.1, &r) == -1);
    CHECK(kr_rat_from_double(0.3, &r) == -1);
    CHECK(kr_rat_from_double(-1000.03125, &r) == 0 && is(r, -32001, 32));
    CHECK(kr_rat_from_double(ldexp(3, 50), &r) == 0 && is(r, (int64_t)3 << 50, 1));
    CHECK(kr_rat_from_double(NAN, &r) == -1);
    CHECK(kr_rat_from_double(INFINITY, &r) == -1);
    CHECK(kr_rat_from_double(123456.0078125, &r) == 0 && is(r, 15802369, 128));
    CHECK(kr_rat_approx(0.67, 10000, &r) == 0 && is(r, 67, 100));
    CHECK(kr_rat_approx(1.0 / 3.0, 1000, &r) == 0 && is(r, 1, 3));
    CHECK(kr_rat_approx(-0.75, 10, &r) == 0 && is(r, -3, 4));
    CHECK(kr_rat_approx(3.14159265358979, 1000, &r) == 0 && is(r, 355, 113));
    CHECK(kr_rat_approx(NAN, 10, &r) == -1);
}

int main(void)
{
    test_make();
    test_arithmetic();
    test_compare();
    test_floor();
    test_text();
    test_double();
    return KR_TEST_REPORT("rational");
}
