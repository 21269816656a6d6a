/* node_source.h — where a synth node's program comes from (internal).
 *
 * A node_set request names its sound one of two ways: "ir" (a signal IR,
 * compiled by the backend "backend" asks for: "auto" (default), "native" or
 * "faust"), or "type": "faust:NAME" (the FAUST file NAME.dsp in the engine's
 * FAUST folder). kr_node_source_build turns either into a program, so that
 * node_set, batch and the folder watcher build programs the same way. */
#ifndef KRACH_NODE_SOURCE_H
#define KRACH_NODE_SOURCE_H

#include <jansson.h>

#include "krach/dsp.h"
#include "krach/engine.h"
#include "krach/faust_dir.h"

typedef struct kr_node_source {
    kr_dsp_backend backend;                 /* as asked ("ir" only) */
    char faust_type[KR_FAUST_NAME_MAX + 1]; /* NAME of "faust:NAME", or "" */
} kr_node_source;

/* Reads which source `fields` of command `cmd` name into `source`: 0, or -1
 * with `error` set. Compiles nothing. */
int kr_node_source_parse(json_t *fields, const char *cmd, kr_node_source *source,
                         kr_error *error);
/* The program for a parsed source (the caller owns the reference), or NULL
 * with `error` set. */
kr_dsp_program *kr_node_source_build(kr_engine *engine, json_t *fields,
                                     const kr_node_source *source, kr_error *error);

/* Compiles the FAUST file NAME.dsp (NULL with `error` set). */
kr_dsp_program *kr_node_source_faust_file(kr_engine *engine, const char *name,
                                          kr_error *error);

/* The stored-source budget (KR_MAX_SOURCE_BYTES): `state` carries every
 * synth node's IR and every playing pattern's source as sent, so their total
 * is bounded and `state` (and a scene of it) stays small enough to read back.
 * kr_source_bytes counts what is kept, leaving out node `node` and the
 * pattern playing on `target` (the ones a request replaces; either may be
 * NULL). kr_source_check returns 0 when `adding` more bytes beside `kept`
 * stay within the budget, else -1 with a `limit` error naming it. */
size_t kr_source_bytes(kr_engine *engine, const char *node, const char *target);
int kr_source_check(const char *what, size_t kept, size_t adding, kr_error *error);
/* kr_source_check for node_set's "ir" (NULL: nothing is kept) on node `name`. */
int kr_source_check_node(kr_engine *engine, const char *name, json_t *ir, kr_error *error);
/* The same for a batch's `commands` as a whole, before anything runs: the IR
 * of the last node_set of each name, beside the kept IR of every node the
 * batch neither sets nor removes (so the order inside the batch is free). */
int kr_source_check_batch(kr_engine *engine, json_t *commands, kr_error *error);

/* "native", "faust" or "auto". */
const char *kr_node_source_backend_name(kr_dsp_backend backend);

#endif
