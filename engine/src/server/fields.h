/* fields.h — typed access to request fields, with errors that say the fix.
 *
 * Each getter returns 1 when the field is present and well typed, 0 when it is
 * absent (and optional), and -1 after setting `error` (missing required field,
 * wrong type, or a value outside its range). */
#ifndef KRACH_FIELDS_H
#define KRACH_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

#include "krach/engine.h"
#include "krach/rational.h"

int kr_field_string(json_t *req, const char *cmd, const char *key, bool required,
                    const char **out, kr_error *error);
int kr_field_number(json_t *req, const char *cmd, const char *key, bool required,
                    double lo, double hi, double *out, kr_error *error);
int kr_field_integer(json_t *req, const char *cmd, const char *key, bool required,
                     long long lo, long long hi, long long *out, kr_error *error);
int kr_field_bool(json_t *req, const char *cmd, const char *key, bool *out, kr_error *error);
/* A time in cycles: an integer, a string "n/d", or an exactly dyadic number
 * (0.25; 0.1 is refused with a hint to write "1/10"). */
int kr_field_time(json_t *req, const char *cmd, const char *key, bool required,
                  kr_rat *out, kr_error *error);
/* A node name: a string of 1..KR_MAX_NAME-1 bytes without control characters,
 * whose '/'-separated parts are not empty (no leading or trailing '/', no "//").
 * The one rule for node names: every command that takes one checks it here. */
int kr_field_name(json_t *req, const char *cmd, const char **out, kr_error *error);
/* A scene name: 1..KR_MAX_NAME-1 bytes without control characters. */
int kr_field_scene_name(json_t *req, const char *cmd, const char **out, kr_error *error);

#endif
