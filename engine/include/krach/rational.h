/* rational.h — exact time: 64-bit fractions, always reduced.
 *
 * Every operation takes a sticky `overflow` flag: it is set (and a harmless
 * value returned) when the exact result does not fit in 64 bits, so a chain of
 * operations needs one check at the end. Denominators are always > 0. */
#ifndef KRACH_RATIONAL_H
#define KRACH_RATIONAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct kr_rat {
    int64_t num;
    int64_t den; /* > 0; gcd(|num|, den) == 1 */
} kr_rat;

kr_rat kr_rat_make(int64_t num, int64_t den, bool *overflow); /* den != 0 */
static inline kr_rat kr_rat_int(int64_t n) { kr_rat r = {n, 1}; return r; }

kr_rat kr_rat_add(kr_rat a, kr_rat b, bool *overflow);
kr_rat kr_rat_sub(kr_rat a, kr_rat b, bool *overflow);
kr_rat kr_rat_mul(kr_rat a, kr_rat b, bool *overflow);
kr_rat kr_rat_div(kr_rat a, kr_rat b, bool *overflow); /* b != 0 */
kr_rat kr_rat_neg(kr_rat a, bool *overflow);

int kr_rat_cmp(kr_rat a, kr_rat b);   /* -1, 0, 1; exact, never overflows */
static inline bool kr_rat_eq(kr_rat a, kr_rat b) { return a.num == b.num && a.den == b.den; }
kr_rat kr_rat_min(kr_rat a, kr_rat b);
kr_rat kr_rat_max(kr_rat a, kr_rat b);

int64_t kr_rat_floor(kr_rat a);       /* the cycle a time falls in */
int64_t kr_rat_ceil(kr_rat a);
kr_rat kr_rat_frac(kr_rat a, bool *overflow); /* a - floor(a), in [0, 1) */
double kr_rat_to_double(kr_rat a);

/* Parses "n", "n/d", "-n/d" (whitespace not allowed). Returns 0 or -1. */
int kr_rat_parse(const char *text, kr_rat *out);
/* Exact conversion of a double that is an integer or a dyadic fraction with a
 * 64-bit numerator, a denominator <= 2^62 and an exact decimal form of at most
 * 17 significant digits (0.25, 3.0, -1.5, 0.0009765625); -1 for 0.1 (whose
 * double is really 0.1000000000000000055...), 1/3.0 and the like. */
int kr_rat_from_double(double x, kr_rat *out);
/* The closest fraction to x with a denominator <= max_den (continued
 * fractions; exact when x is dyadic and fits): 0.67 -> 67/100. -1 if x is not
 * finite or too large. */
int kr_rat_approx(double x, int64_t max_den, kr_rat *out);
/* Writes "n/d" (or "n" when d == 1) into buf. */
void kr_rat_format(kr_rat a, char *buf, int len);

#endif
