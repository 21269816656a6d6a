/* rational.c — exact 64-bit fractions (see rational.h).
 *
 * Products and sums of two 64-bit values are formed in 128 bits and reduced
 * before being narrowed, so an operation reports overflow only when its exact,
 * reduced result does not fit. */
#include "krach/rational.h"

#include <math.h>
#include <stdio.h>

#define KR_RAT_FLOAT_DIGITS 17

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

static u128 gcd128(u128 a, u128 b)
{
    while (b) {
        u128 t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static kr_rat zero(void)
{
    kr_rat r = {0, 1};
    return r;
}

/* Reduces n/d (d != 0) and narrows it to 64 bits. */
static kr_rat narrow(i128 n, i128 d, bool *overflow)
{
    if (d == 0) {
        *overflow = true;
        return zero();
    }
    bool neg = (n < 0) != (d < 0);
    u128 un = n < 0 ? (u128)0 - (u128)n : (u128)n;
    u128 ud = d < 0 ? (u128)0 - (u128)d : (u128)d;
    if (un == 0)
        return zero();
    u128 g = gcd128(un, ud);
    un /= g;
    ud /= g;
    if (ud > (u128)INT64_MAX || un > (u128)INT64_MAX + (neg ? 1u : 0u)) {
        *overflow = true;
        return zero();
    }
    kr_rat r;
    if (neg)
        r.num = un > (u128)INT64_MAX ? INT64_MIN : -(int64_t)un;
    else
        r.num = (int64_t)un;
    r.den = (int64_t)ud;
    return r;
}

kr_rat kr_rat_make(int64_t num, int64_t den, bool *overflow)
{
    return narrow(num, den, overflow);
}

kr_rat kr_rat_add(kr_rat a, kr_rat b, bool *overflow)
{
    if (a.den == b.den) {
        int64_t s;
        if (!__builtin_add_overflow(a.num, b.num, &s))
            return narrow(s, a.den, overflow);
    }
    return narrow((i128)a.num * b.den + (i128)b.num * a.den, (i128)a.den * b.den, overflow);
}

kr_rat kr_rat_sub(kr_rat a, kr_rat b, bool *overflow)
{
    if (a.den == b.den) {
        int64_t s;
        if (!__builtin_sub_overflow(a.num, b.num, &s))
            return narrow(s, a.den, overflow);
    }
    return narrow((i128)a.num * b.den - (i128)b.num * a.den, (i128)a.den * b.den, overflow);
}

/* (an/ad)·(bn/bd) with cross-reduction: the result is already in lowest terms,
 * so a 64-bit overflow here is a true overflow. */
static kr_rat mul_parts(int64_t an, int64_t ad, int64_t bn, int64_t bd, bool *overflow)
{
    if (an == 0 || bn == 0)
        return zero();
    if (ad == 0 || bd == 0) {
        *overflow = true;
        return zero();
    }
    /* Normalise signs onto the numerators (denominators may arrive negative from div). */
    bool neg = ((an < 0) != (bn < 0)) != ((ad < 0) != (bd < 0));
    uint64_t uan = an < 0 ? 0u - (uint64_t)an : (uint64_t)an;
    uint64_t ubn = bn < 0 ? 0u - (uint64_t)bn : (uint64_t)bn;
    uint64_t uad = ad < 0 ? 0u - (uint64_t)ad : (uint64_t)ad;
    uint64_t ubd = bd < 0 ? 0u - (uint64_t)bd : (uint64_t)bd;
    uint64_t g1 = gcd64(uan, ubd), g2 = gcd64(ubn, uad);
    uan /= g1;
    ubd /= g1;
    ubn /= g2;
    uad /= g2;
    uint64_t n, d;
    if (__builtin_mul_overflow(uan, ubn, &n) || __builtin_mul_overflow(uad, ubd, &d) ||
        d > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
        *overflow = true;
        return zero();
    }
    kr_rat r;
    r.num = neg ? (n == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)n) : (int64_t)n;
    r.den = (int64_t)d;
    return r;
}

kr_rat kr_rat_mul(kr_rat a, kr_rat b, bool *overflow)
{
    return mul_parts(a.num, a.den, b.num, b.den, overflow);
}

kr_rat kr_rat_div(kr_rat a, kr_rat b, bool *overflow)
{
    if (b.num == 0) {
        *overflow = true;
        return zero();
    }
    return mul_parts(a.num, a.den, b.den, b.num, overflow);
}

kr_rat kr_rat_neg(kr_rat a, bool *overflow)
{
    if (a.num == INT64_MIN) {
        *overflow = true;
        return zero();
    }
    kr_rat r = {-a.num, a.den};
    return r;
}

int kr_rat_cmp(kr_rat a, kr_rat b)
{
    i128 l = (i128)a.num * b.den, r = (i128)b.num * a.den;
    return l < r ? -1 : l > r ? 1 : 0;
}

kr_rat kr_rat_min(kr_rat a, kr_rat b) { return kr_rat_cmp(a, b) <= 0 ? a : b; }
kr_rat kr_rat_max(kr_rat a, kr_rat b) { return kr_rat_cmp(a, b) >= 0 ? a : b; }

int64_t kr_rat_floor(kr_rat a)
{
    int64_t q = a.num / a.den, r = a.num % a.den;
    return (r != 0 && a.num < 0) ? q - 1 : q;
}

int64_t kr_rat_ceil(kr_rat a)
{
    int64_t q = a.num / a.den, r = a.num % a.den;
    return (r != 0 && a.num > 0) ? q + 1 : q;
}

kr_rat kr_rat_frac(kr_rat a, bool *overflow)
{
    (void)overflow; /* num mod den always fits, and stays reduced */
    int64_t r = a.num % a.den;
    if (r < 0)
        r += a.den;
    kr_rat out = {r, r == 0 ? 1 : a.den};
    return out;
}

double kr_rat_to_double(kr_rat a)
{
    return (double)a.num / (double)a.den;
}

/* Parses an unsigned decimal integer of at least one digit; returns the end. */
static const char *parse_digits(const char *p, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = p;
    while (*p >= '0' && *p <= '9') {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (limit - digit) / 10)
            return NULL;
        v = v * 10 + digit;
        p++;
    }
    if (p == start)
        return NULL;
    *out = v;
    return p;
}

int kr_rat_parse(const char *text, kr_rat *out)
{
    if (!text)
        return -1;
    const char *p = text;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    uint64_t n, d = 1;
    p = parse_digits(p, (uint64_t)INT64_MAX + (neg ? 1u : 0u), &n);
    if (!p)
        return -1;
    if (*p == '/') {
        p = parse_digits(p + 1, (uint64_t)INT64_MAX, &d);
        if (!p || d == 0)
            return -1;
    }
    if (*p != '\0')
        return -1;
    i128 sn = neg ? -(i128)n : (i128)n;
    bool overflow = false;
    kr_rat r = narrow(sn, (i128)d, &overflow);
    if (overflow)
        return -1;
    *out = r;
    return 0;
}

int kr_rat_from_double(double x, kr_rat *out)
{
    if (!isfinite(x))
        return -1;
    if (x == 0) {
        *out = zero();
        return 0;
    }
    int e;
    double f = frexp(x, &e); /* x = f·2^e, 0.5 <= |f| < 1 */
    /* f·2^53 is an exact integer with at most 53 significant bits. */
    int64_t m = (int64_t)ldexp(f, 53);
    e -= 53;
    while ((m & 1) == 0) {
        m /= 2;
        e++;
    }
    if (e >= 0) {
        if (e > 62)
            return -1;
        int64_t v;
        if (__builtin_mul_overflow(m, (int64_t)1 << e, &v))
            return -1;
        out->num = v;
        out->den = 1;
        return 0;
    }
    if (-e > 62)
        return -1;
    /* A fraction: accept it only if its exact decimal form is short (0.375), so
     * that a float that merely approximates a decimal (0.1 is really
     * 0.1000000000000000055...) is refused rather than taken literally. */
    char digits[128];
    snprintf(digits, sizeof digits, "%.90e", x); /* exact in glibc */
    int sig = 0, last = 0;
    for (const char *p = digits; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9') {
            sig++;
            if (*p != '0')
                last = sig;
        }
    }
    if (last > KR_RAT_FLOAT_DIGITS)
        return -1;
    out->num = m; /* odd, so already reduced against a power of two */
    out->den = (int64_t)1 << -e;
    return 0;
}

int kr_rat_approx(double x, int64_t max_den, kr_rat *out)
{
    if (!isfinite(x) || max_den < 1 || fabs(x) > 1e15)
        return -1;
    if (kr_rat_from_double(x, out) == 0 && out->den <= max_den)
        return 0;
    /* Continued fraction convergents p/q of |x|, stopping before q > max_den. */
    double ax = fabs(x), v = ax;
    int64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    for (int i = 0; i < 64; i++) {
        double a = floor(v);
        if (a > 1e15)
            break;
        int64_t ai = (int64_t)a;
        int64_t p2 = ai * p1 + p0, q2 = ai * q1 + q0;
        if (q2 > max_den)
            break;
        p0 = p1;
        q0 = q1;
        p1 = p2;
        q1 = q2;
        double rest = v - a;
        if (rest < 1e-15 || fabs((double)p1 / (double)q1 - ax) == 0)
            break;
        v = 1.0 / rest;
    }
    if (q1 == 0)
        return -1;
    bool overflow = false;
    kr_rat r = kr_rat_make(x < 0 ? -p1 : p1, q1, &overflow);
    if (overflow)
        return -1;
    *out = r;
    return 0;
}

void kr_rat_format(kr_rat a, char *buf, int len)
{
    if (!buf || len <= 0)
        return;
    if (a.den == 1)
        snprintf(buf, (size_t)len, "%lld", (long long)a.num);
    else
        snprintf(buf, (size_t)len, "%lld/%lld", (long long)a.num, (long long)a.den);
}
