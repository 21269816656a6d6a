/* fuzz_common.h — what the fuzz harnesses share: input as text, failing loudly,
 * and the properties every pattern query must have.
 *
 * A harness reports a bug by calling kr_fuzz_fail, which prints the problem
 * and aborts: libFuzzer then saves the input, and the replay test fails. The
 * sanitizers (ASan, UBSan, LSan) report the rest. */
#ifndef KRACH_FUZZ_COMMON_H
#define KRACH_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "krach/error.h"
#include "krach/pattern.h"

/* The fuzzer's entry point, defined by each harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (malloc; aborts when out of memory). */
char *kr_fuzz_text(const uint8_t *data, size_t size);

/* Prints "fuzz: <message>" and aborts. */
void kr_fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A failed call must leave an error with this code and a message. */
void kr_fuzz_check_error(const kr_error *error, const char *code, const char *what);

/* Queries `pattern` over a fixed set of arcs (whole cycles, fractions,
 * negative time, far from zero) twice each, and checks what a query promises:
 * either events — sorted by part begin, each part non-empty and inside the
 * query arc and inside its whole, at most KR_QUERY_EVENTS, the same both
 * times — or a bad_pattern error with a message. */
void kr_fuzz_query_pattern(const kr_pattern *pattern);

#endif
