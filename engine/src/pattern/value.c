/* value.c — the small control-name → number map an event carries. */
#include <string.h>

#include "krach/pattern.h"

void kr_value_set(kr_value *value, const char *name, double v)
{
    for (int i = 0; i < value->count; i++) {
        if (strncmp(value->names[i], name, KR_VALUE_NAME - 1) == 0) {
            value->values[i] = v;
            return;
        }
    }
    if (value->count >= KR_VALUE_MAX)
        return;
    int i = value->count++;
    size_t len = strlen(name);
    if (len > KR_VALUE_NAME - 1)
        len = KR_VALUE_NAME - 1;
    memcpy(value->names[i], name, len);
    value->names[i][len] = '\0';
    value->values[i] = v;
}

bool kr_value_get(const kr_value *value, const char *name, double *v)
{
    for (int i = 0; i < value->count; i++) {
        if (strncmp(value->names[i], name, KR_VALUE_NAME - 1) == 0) {
            if (v)
                *v = value->values[i];
            return true;
        }
    }
    return false;
}

bool kr_value_truthy(const kr_value *value)
{
    double g;
    if (kr_value_get(value, "gate", &g))
        return g != 0;
    if (value->count > 0)
        return value->values[0] != 0;
    return true;
}
