/* code.h — one compiled FAUST program (internal to src/faust).
 *
 * llvm.c implements these with libfaust; without it, kr_faust_code_compile
 * fails with the packages to install and nothing else is reachable. */
#ifndef KRACH_FAUST_CODE_H
#define KRACH_FAUST_CODE_H

#include "backend.h"

/* Compiles `source` (errors name `name`; imports also searched in
 * `include_dir` unless NULL). The caller owns the reference. */
kr_faust_code *kr_faust_code_compile(const char *name, const char *source,
                                     const char *include_dir, kr_error *error);
int kr_faust_code_inputs(const kr_faust_code *code);
int kr_faust_code_outputs(const kr_faust_code *code);
/* The controls its user interface declares, by label (see faust.h). */
int kr_faust_code_control_count(const kr_faust_code *code);
const kr_ir_control *kr_faust_code_controls(const kr_faust_code *code);
int kr_faust_code_find_control(const kr_faust_code *code, const char *label);
/* libfaust's SHA key of the expanded code and options: equal keys, equal DSP. */
const char *kr_faust_code_sha(const kr_faust_code *code);

#endif
