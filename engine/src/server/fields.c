/* fields.c — request field access (see fields.h). */
#include "fields.h"

#include <math.h>
#include <string.h>

static const char *type_name(const json_t *value)
{
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static json_t *lookup(json_t *req, const char *cmd, const char *key, bool required,
                      const char *want, kr_error *error)
{
    json_t *value = json_object_get(req, key);
    if (!value && required)
        kr_error_set(error, "missing_field", "%s needs field '%s' (%s); see docs/protocol.md",
                     cmd, key, want);
    return value;
}

int kr_field_string(json_t *req, const char *cmd, const char *key, bool required,
                    const char **out, kr_error *error)
{
    json_t *value = lookup(req, cmd, key, required, "a string", error);
    if (!value)
        return required ? -1 : 0;
    if (!json_is_string(value)) {
        kr_error_set(error, "bad_type", "%s: field '%s' must be a string, not %s", cmd, key,
                     type_name(value));
        return -1;
    }
    if (strlen(json_string_value(value)) != json_string_length(value)) {
        kr_error_set(error, "bad_value", "%s: field '%s' contains a NUL character", cmd, key);
        return -1;
    }
    *out = json_string_value(value);
    return 1;
}

int kr_field_number(json_t *req, const char *cmd, const char *key, bool required, double lo,
                    double hi, double *out, kr_error *error)
{
    json_t *value = lookup(req, cmd, key, required, "a number", error);
    if (!value)
        return required ? -1 : 0;
    if (!json_is_number(value)) {
        kr_error_set(error, "bad_type", "%s: field '%s' must be a number, not %s", cmd, key,
                     type_name(value));
        return -1;
    }
    double x = json_number_value(value);
    if (!isfinite(x) || x < lo || x > hi) {
        kr_error_set(error, "bad_value", "%s: field '%s' is %g; it must be between %g and %g",
                     cmd, key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

int kr_field_integer(json_t *req, const char *cmd, const char *key, bool required,
                     long long lo, long long hi, long long *out, kr_error *error)
{
    json_t *value = lookup(req, cmd, key, required, "an integer", error);
    if (!value)
        return required ? -1 : 0;
    if (!json_is_integer(value)) {
        kr_error_set(error, "bad_type", "%s: field '%s' must be an integer, not %s", cmd, key,
                     type_name(value));
        return -1;
    }
    long long x = json_integer_value(value);
    if (x < lo || x > hi) {
        kr_error_set(error, "bad_value", "%s: field '%s' is %lld; it must be between %lld and %lld",
                     cmd, key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

int kr_field_bool(json_t *req, const char *cmd, const char *key, bool *out, kr_error *error)
{
    json_t *value = json_object_get(req, key);
    if (!value)
        return 0;
    if (!json_is_boolean(value)) {
        kr_error_set(error, "bad_type", "%s: field '%s' must be true or false, not %s", cmd, key,
                     type_name(value));
        return -1;
    }
    *out = json_is_true(value);
    return 1;
}

/* A name of 1..KR_MAX_NAME-1 bytes without control characters; `what` says
 * whose ("node", "scene") in the message. */
static int field_name(json_t *req, const char *cmd, const char *what, const char **out, kr_error *error)
{
    if (kr_field_string(req, cmd, "name", true, out, error) < 0)
        return -1;
    size_t len = strlen(*out);
    if (len == 0 || len >= KR_MAX_NAME) {
        kr_error_set(error, "bad_value", "%s: a %s name must have 1 to %d bytes, this one has %zu",
                     cmd, what, KR_MAX_NAME - 1, len);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)(*out)[i];
        if (c < 0x20 || c == 0x7f) { /* C0 controls and DEL */
            kr_error_set(error, "bad_value", "%s: a %s name may not contain control characters",
                         cmd, what);
            return -1;
        }
    }
    return 1;
}

int kr_field_name(json_t *req, const char *cmd, const char **out, kr_error *error)
{
    if (field_name(req, cmd, "node", out, error) < 0)
        return -1;
    /* '/' parts a group from its members ("drums/kick"): no part may be empty. */
    const char *n = *out;
    if (n[0] == '/' || n[strlen(n) - 1] == '/' || strstr(n, "//")) {
        kr_error_set(error, "bad_value", "%s: node name '%s' has an empty part: '/' separates a group "
                     "from its members (as in 'drums/kick'), so a name may not start or end with '/' "
                     "or contain '//'", cmd, n);
        return -1;
    }
    return 1;
}

int kr_field_scene_name(json_t *req, const char *cmd, const char **out, kr_error *error)
{
    return field_name(req, cmd, "scene", out, error);
}

int kr_field_time(json_t *req, const char *cmd, const char *key, bool required, kr_rat *out,
                  kr_error *error)
{
    json_t *value = lookup(req, cmd, key, required, "a time in cycles", error);
    if (!value)
        return required ? -1 : 0;
    if (json_is_integer(value)) {
        *out = kr_rat_int(json_integer_value(value));
        return 1;
    }
    if (json_is_string(value) && kr_rat_parse(json_string_value(value), out) == 0)
        return 1;
    /* kr_rat_from_double takes 0.25 but refuses 0.1 (see rational.h). */
    if (json_is_real(value) && kr_rat_from_double(json_real_value(value), out) == 0)
        return 1;
    kr_error_set(error, json_is_real(value) ? "bad_value" : "bad_type",
                 "%s: field '%s' must be a time in cycles: an integer, a fraction string like "
                 "\"3/2\", or an exact binary fraction like 0.25 (write \"1/10\", not 0.1)",
                 cmd, key);
    return -1;
}
