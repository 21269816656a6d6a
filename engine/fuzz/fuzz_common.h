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

#include "krach/engine.h"
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
 * times (the second query is made only when the first gave at most 256
 * events: dense answers cost milliseconds) — or a bad_pattern error with a
 * message. */
void kr_fuzz_query_pattern(const kr_pattern *pattern);

/* ---- one offline engine, reused ----------------------------------------------
 *
 * Opening an engine maps and zeroes megabytes of rings (several ms under
 * ASan), which made the protocol harness run ~80 inputs a second. Instead the
 * engine is opened once per configuration and brought back to its just-opened
 * session between inputs: recording stopped, every node removed (taking its
 * routes, patterns and automations), the scheduler, scenes, master, clock,
 * counters and rings reset. So that no input sees what an earlier one left,
 * the reset checks that `state`, `transport`, `scenes` and `status` (but its
 * uptime and CPU load) read exactly as right after opening, and fails loudly otherwise. Every KR_FUZZ_REOPEN-th
 * input reopens for real anyway. */
#define KR_FUZZ_REOPEN 4096
#define KR_FUZZ_ENGINES 2 /* slots: a harness may keep two engines side by side */

/* A private temporary directory (created once, removed at exit). */
const char *kr_fuzz_sandbox(void);

/* The offline engine of `slot` (0 or 1) for `config`, in a fresh session:
 * opened, or reset and checked. */
kr_engine *kr_fuzz_engine(const kr_config *config, int slot);

/* The reply to `request` (a JSON line without newline) as parsed JSON, after
 * checking it is one object with a boolean ok; the caller decrefs it. */
struct json_t *kr_fuzz_ask(kr_engine *engine, const char *request);

#endif
