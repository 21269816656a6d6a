/* ops.c — the op table: every kernel group joined for lookup by name. */
#include "krach/dsp_op.h"

#include <string.h>

#include "kernels.h"

static const kr_op *const groups[] = {
    kr_ops_math, kr_ops_osc, kr_ops_noise, kr_ops_env,
    kr_ops_table, kr_ops_filter, kr_ops_delay, kr_ops_reverb,
};

const kr_op *kr_op_find(const char *name)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        const kr_op *op = kr_ops_group_find(groups[g], name);
        if (op)
            return op;
    }
    return NULL;
}

const kr_op *kr_op_at(int index)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (const kr_op *op = groups[g]; op->name; op++)
            if (index-- == 0)
                return op;
    return NULL;
}
