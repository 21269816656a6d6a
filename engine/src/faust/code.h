/* code.h — one compiled FAUST program (internal to src/faust).
 *
 * llvm.c implements these with libfaust; without it, kr_faust_code_load
 * fails with the packages to install and nothing else is reachable. */
#ifndef KRACH_FAUST_CODE_H
#define KRACH_FAUST_CODE_H

#include "backend.h"

/* Loads what the helper compiled (job.h): libfaust's base64 `machine` code
 * and its SHA key `sha` of the expanded source; checks that krach can run it
 * (inputs, outputs, controls). Errors name `name`. The caller owns the
 * reference. */
kr_faust_code *kr_faust_code_load(const char *name, const char *sha, const char *machine,
                                  kr_error *error);
/* The "unavailable" error of an engine built without libfaust, for `what`. */
void kr_faust_unavailable(const char *what, kr_error *error);
int kr_faust_code_inputs(const kr_faust_code *code);
int kr_faust_code_outputs(const kr_faust_code *code);
/* The controls its user interface declares, by label (see faust.h). */
int kr_faust_code_control_count(const kr_faust_code *code);
const kr_ir_control *kr_faust_code_controls(const kr_faust_code *code);
int kr_faust_code_find_control(const kr_faust_code *code, const char *label);
/* libfaust's SHA key of the expanded code and options: equal keys, equal DSP. */
const char *kr_faust_code_sha(const kr_faust_code *code);

#endif
