/* job.h — one FAUST compile in the helper process krach-faust-child
 * (internal to src/faust).
 *
 * A job writes the source to an in-memory file, starts the helper with
 * posix_spawn (no fork of the engine's threads) and returns at once. The
 * helper limits its own CPU time and address space (KR_FAUST_COMPILE_SECONDS,
 * KR_FAUST_COMPILE_MIB in faust.h); kr_faust_job_poll never blocks and kills
 * it at the wall-clock deadline. The answer (libfaust's compiled machine code,
 * or its message) comes back through a second in-memory file, read once the
 * helper has exited, and is loaded into this process (kr_faust_code_load).
 * Server thread only (any one thread). */
#ifndef KRACH_FAUST_JOB_H
#define KRACH_FAUST_JOB_H

#include <stdbool.h>

#include "code.h"

typedef struct kr_faust_job kr_faust_job;

/* Starts compiling `source` (errors name `name`; imports also searched in
 * `include_dir` unless NULL). NULL with `error` set if the helper cannot be
 * started. */
kr_faust_job *kr_faust_job_start(const char *name, const char *source, const char *include_dir,
                                 kr_error *error);
/* Never blocks: true once the helper has ended (answered, failed, or killed
 * at the deadline). */
bool kr_faust_job_poll(kr_faust_job *job);
/* After kr_faust_job_poll returned true: the compiled code (the caller owns
 * the reference), or NULL with `error` set — a FAUST error (bad_ir, FAUST's
 * message), or the budget exceeded (budget). */
kr_faust_code *kr_faust_job_result(kr_faust_job *job, kr_error *error);
/* Kills the helper if it still runs, and frees everything. NULL is fine. */
void kr_faust_job_free(kr_faust_job *job);

/* libfaust's message on one line, without its trailing newline. */
void kr_faust_one_line(const char *message, char *out, size_t size);

#endif
