/* kernels.h — the kernel groups behind the op table (see dsp_op.h).
 *
 * Each file in this folder defines one group: a `kr_op` array terminated by an
 * entry whose name is NULL. ops.c joins the groups into the table the compiler
 * reads. `mem` and the sources (const, input, control, sr) have no kernel: the
 * executor implements them, because they touch the node's inputs, controls and
 * loop structure. */
#ifndef KRACH_KERNELS_H
#define KRACH_KERNELS_H

#include <string.h>

#include "krach/dsp_op.h"

extern const kr_op kr_ops_math[];   /* math.c: arithmetic, comparisons, functions, select2 */
extern const kr_op kr_ops_osc[];    /* osc.c: oscillators, lfo, phasor, wavetable */
extern const kr_op kr_ops_noise[];  /* noise.c: white and pink noise */
extern const kr_op kr_ops_env[];    /* env.c: adsr, ar, decay, trigger, latch */
extern const kr_op kr_ops_table[];  /* table.c: rdtable, rwtable */
extern const kr_op kr_ops_filter[]; /* filter.c: Butterworth, resonators, onepole, dcblock, smooth */
extern const kr_op kr_ops_delay[];  /* delay.c: delay, echo, chorus, flanger */
extern const kr_op kr_ops_reverb[]; /* reverb.c: Freeverb */

/* The op called `name` in one group, or NULL. */
static inline const kr_op *kr_ops_group_find(const kr_op *group, const char *name)
{
    for (; group->name; group++)
        if (strcmp(group->name, name) == 0)
            return group;
    return NULL;
}

#endif
