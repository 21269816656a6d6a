/* mini.h — mini-notation (docs/mini-notation.md) parsed into a pattern tree.
 *
 * Syntax errors name the problem and the column (1-based), and the message
 * ends with the text and a caret under the column:
 *
 *   mini-notation: unclosed '[' opened at column 4
 *     bd [sn hh
 *        ^
 */
#ifndef KRACH_MINI_H
#define KRACH_MINI_H

#include "krach/pattern.h"

/* The tree (kinds in pattern.h), mirroring @strudel/mini:
 *   words        ATOM (x: gate 1; numbers: value; note names: freq, midi;
 *                others: no values; label = the text) or SILENCE (~ - .)
 *   sequence     SEQ with weights (Strudel timeCat); `a!3` = three copies
 *   [a, b] [a|b] STACK, RANDCAT (seed)
 *   <a b c>      CAT, or SLOW(weight sum, SEQ) when weighted; layers in a STACK
 *   {a b, c}%n   POLYMETER (time = n, 0 without '%'), each arg a weighted SEQ
 *   * / (k,n,r)  FAST, SLOW, EUCLID;  a patterned factor (`*<2 3>`) is a STACK
 *                of MASK(aux = where the factor is v, FAST(v, pattern))
 *   ?p           DEGRADE(prob, seed)
 * Seeds: each '?' and each '|' group takes 0, 1, 2… in Strudel's parse order,
 * and the query engine shifts Strudel's rand by 0.0003·seed cycles, so
 * random drops and choices match Strudel's for the same text.
 *
 * Returns NULL with error->code "bad_mini" on a syntax error (error may be
 * NULL). Empty or all-blank text is silence. */
kr_pattern *kr_mini_parse(const char *text, kr_error *error);

#endif
