/* exec.c — running a compiled program: instances, controls, the step loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "../faust/backend.h"

/* 15 ms: fast enough to feel immediate, slow enough that no jump clicks. */
#define CONTROL_SMOOTH_SECONDS 0.015

struct kr_dsp_instance {
    kr_dsp_program *program;
    unsigned char *state;      /* kernel states (program->state_bytes) */
    float *mem_cells;          /* one per mem step */
    float *storage;            /* slot_count * KR_DSP_BLOCK floats */
    float **slot;              /* where each slot's samples are this block */
    unsigned char *uniform;    /* per slot, this block */
    double *ctl_value;         /* current (smoothed) control values */
    double *ctl_target;
    unsigned char *ctl_retrigger; /* a gate re-raised while high: dip for one sample */
    unsigned char *ctl_played_high; /* gates: the last sample rendered was high */
    bool started;              /* has rendered a sample: values set before then jump */
    kr_faust_voice *faust;     /* FAUST programs: the voice that computes (no steps) */
    int gate;                  /* index of the gate control, or -1 */
    double smooth_coef;
    /* smooth_pow[i] = smooth_coef^(i+1): a smoother's whole block in closed
     * form, without the serial multiply-add chain of the recursion. */
    double smooth_pow[KR_DSP_BLOCK];
};

/* A step's kernel state. A program whose ops are all stateless has no state
 * arena (NULL), and NULL + 0 is undefined in C: their kernels get NULL. */
static void *step_state(kr_dsp_instance *inst, const kr_step *st)
{
    return inst->state ? inst->state + st->state_offset : NULL;
}

kr_dsp_instance *kr_dsp_instance_create(kr_dsp_program *program)
{
    kr_dsp_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return NULL;
    int slots = program->slot_count, controls = program->control_count;
    inst->program = program;
    kr_dsp_program_retain(program); /* released by kr_dsp_instance_destroy */
    inst->state = program->state_bytes ? aligned_alloc(16, program->state_bytes) : NULL;
    inst->mem_cells = calloc((size_t)program->mem_count + 1, sizeof(float));
    inst->storage = calloc((size_t)slots * KR_DSP_BLOCK + 1, sizeof(float));
    inst->slot = calloc((size_t)slots + 1, sizeof(float *));
    inst->uniform = calloc((size_t)slots + 1, 1);
    inst->ctl_value = calloc((size_t)controls + 1, sizeof(double));
    inst->ctl_target = calloc((size_t)controls + 1, sizeof(double));
    inst->ctl_retrigger = calloc((size_t)controls + 1, 1);
    inst->ctl_played_high = calloc((size_t)controls + 1, 1);
    if (!inst->ctl_retrigger || !inst->ctl_played_high ||
        (program->state_bytes && !inst->state) || !inst->mem_cells || !inst->storage ||
        !inst->slot || !inst->uniform || !inst->ctl_value || !inst->ctl_target) {
        kr_dsp_instance_destroy(inst); /* frees what was allocated, releases the program */
        return NULL;
    }
    if (program->state_bytes)
        memset(inst->state, 0, program->state_bytes);
    for (int s = 0; s < slots; s++)
        inst->slot[s] = inst->storage + (size_t)s * KR_DSP_BLOCK;
    for (int s = 0; s < program->const_count; s++) {
        inst->slot[s][0] = program->const_values[s];
        inst->uniform[s] = 1;
    }
    inst->gate = -1;
    for (int k = 0; k < controls; k++) {
        inst->ctl_value[k] = inst->ctl_target[k] = program->controls[k].init;
        if (program->controls[k].gate)
            inst->gate = k;
    }
    if (program->faust && !(inst->faust = kr_faust_voice_create(program))) {
        kr_dsp_instance_destroy(inst);
        return NULL;
    }
    inst->smooth_coef = exp(-1.0 / (CONTROL_SMOOTH_SECONDS * program->sample_rate));
    double power = 1.0;
    for (int i = 0; i < KR_DSP_BLOCK; i++)
        inst->smooth_pow[i] = power *= inst->smooth_coef;
    for (int i = 0; i < program->step_count; i++) {
        const kr_step *st = &program->steps[i];
        if (st->kind == KR_STEP_OP && st->op->init)
            st->op->init(step_state(inst, st), &st->attrs, program->sample_rate);
    }
    return inst;
}

void kr_dsp_instance_destroy(kr_dsp_instance *inst)
{
    if (!inst)
        return;
    kr_faust_voice_destroy(inst->faust);
    kr_dsp_program_release(inst->program);
    free(inst->state);
    free(inst->mem_cells);
    free(inst->storage);
    free(inst->slot);
    free(inst->uniform);
    free(inst->ctl_value);
    free(inst->ctl_target);
    free(inst->ctl_retrigger);
    free(inst->ctl_played_high);
    free(inst);
}

const kr_dsp_program *kr_dsp_instance_program(const kr_dsp_instance *inst)
{
    return inst->program;
}

void kr_dsp_instance_set_control(kr_dsp_instance *inst, int index, double value, bool immediate)
{
    if (index < 0 || index >= inst->program->control_count)
        return;
    /* Every way a value arrives (control_set, pattern events, mod, fade) ends
     * here, so this is where a control's range holds; the server reports
     * out-of-range values it was sent, the audio thread only keeps them in. */
    const kr_ir_control *range = &inst->program->controls[index];
    value = !(value >= range->lo) ? range->lo : value > range->hi ? range->hi : value;
    /* A note that starts while the gate is high must still be an onset: the
     * gate drops to 0 for one sample so envelopes see a rising edge. "High"
     * is what was last *played*: a gate-off and the next gate-on on the same
     * sample (back-to-back notes) leave no sample at 0 otherwise. */
    if (inst->program->controls[index].gate && !immediate) {
        if (value > 0.0 && (inst->ctl_target[index] > 0.0 || inst->ctl_played_high[index]))
            inst->ctl_retrigger[index] = 1;
        else if (value <= 0.0)
            inst->ctl_retrigger[index] = 0;
    }
    inst->ctl_target[index] = value;
    /* Before its first sample an instance has no past to glide from: a value
     * that arrives then (a pattern event on a node's first block) is where the
     * control starts. FAUST's export starts its smoother the same way. */
    if (immediate || !inst->started || inst->program->controls[index].gate)
        inst->ctl_value[index] = value;
}

double kr_dsp_instance_control(const kr_dsp_instance *inst, int index)
{
    return index >= 0 && index < inst->program->control_count ? inst->ctl_target[index] : 0.0;
}

/* ---- steps ---------------------------------------------------------------- */

static void run_control(kr_dsp_instance *inst, const kr_step *st, unsigned n)
{
    float *out = inst->slot[st->out];
    double value = inst->ctl_value[st->index], target = inst->ctl_target[st->index];
    const kr_ir_control *ctl = &inst->program->controls[st->index];
    /* Settled (or a gate): one value for the block, once what is left of the
     * glide no longer shows in the float output (half an ulp of the target) or
     * is 1e-12 of the range. Snapping earlier (it was 1e-6 of the range) made
     * a jump that an integrating consumer keeps: an oscillator driven by the
     * control ended up measurably out of phase with the exact glide (FAUST's). */
    double eps = fmax(fabs(target) * 0x1p-25,
                      1e-12 * (ctl->hi - ctl->lo > 0 ? ctl->hi - ctl->lo : 1.0));
    if (ctl->gate && inst->ctl_retrigger[st->index]) {
        inst->ctl_retrigger[st->index] = 0;
        out[0] = 0.0f;
        for (unsigned i = 1; i < n; i++)
            out[i] = (float)target;
        inst->ctl_value[st->index] = target;
        inst->ctl_played_high[st->index] = n > 1 && target > 0.0;
        inst->uniform[st->out] = 0;
        return;
    }
    if (ctl->gate)
        inst->ctl_played_high[st->index] = target > 0.0;
    if (ctl->gate || fabs(value - target) <= eps) {
        inst->ctl_value[st->index] = target;
        out[0] = (float)target;
        inst->uniform[st->out] = 1;
        return;
    }
    const double distance = value - target;
    const double *power = inst->smooth_pow;
    for (unsigned i = 0; i < n; i++)
        out[i] = (float)(target + distance * power[i]);
    inst->ctl_value[st->index] = target + distance * power[n - 1];
    inst->uniform[st->out] = 0;
}

/* Returns whether the kernel's output is uniform over these n samples. */
static int run_op(kr_dsp_instance *inst, const kr_step *st, unsigned offset, unsigned n)
{
    kr_dsp_call call;
    call.n = n;
    call.uniform = 0;
    for (int k = 0; k < st->arity; k++) {
        int s = st->in[k];
        if (inst->uniform[s]) {
            call.in[k] = inst->slot[s];
            call.uniform |= 1u << k;
        } else {
            call.in[k] = inst->slot[s] + offset;
        }
    }
    call.out = inst->slot[st->out] + offset;
    return st->op->run(step_state(inst, st), &call);
}

/* A mem outside any loop: its input is already computed for the block. */
static void run_mem_block(kr_dsp_instance *inst, const kr_step *st, unsigned n)
{
    float *cell = &inst->mem_cells[st->index];
    const float *x = inst->slot[st->in[0]];
    float *out = inst->slot[st->out];
    if (inst->uniform[st->in[0]]) {
        out[0] = *cell;
        if (*cell == x[0]) {
            inst->uniform[st->out] = 1;
            return;
        }
        for (unsigned i = 1; i < n; i++)
            out[i] = x[0];
        *cell = x[0];
    } else {
        out[0] = *cell;
        for (unsigned i = 1; i < n; i++)
            out[i] = x[i - 1];
        *cell = x[n - 1];
    }
    inst->uniform[st->out] = 0;
}

/* A loop group: every member for sample 0, then sample 1, … Mems give the
 * previous sample's value and take the new one after the whole body ran. */
static void run_loop(kr_dsp_instance *inst, const kr_step *body, int len, unsigned n)
{
    for (int j = 0; j < len; j++)
        inst->uniform[body[j].out] = 0;
    for (unsigned i = 0; i < n; i++) {
        for (int j = 0; j < len; j++) {
            const kr_step *st = &body[j];
            switch (st->kind) {
            case KR_STEP_MEM:
                inst->slot[st->out][i] = inst->mem_cells[st->index];
                break;
            case KR_STEP_OP:
                (void)run_op(inst, st, i, 1); /* one sample: uniform or not, it is out[i] */
                break;
            default:
                break; /* controls and inputs never close a loop */
            }
        }
        for (int j = 0; j < len; j++) {
            const kr_step *st = &body[j];
            if (st->kind == KR_STEP_MEM) {
                int s = st->in[0];
                inst->mem_cells[st->index] = inst->slot[s][inst->uniform[s] ? 0 : i];
            }
        }
    }
}

static void run_block(kr_dsp_instance *inst, const float *const *inputs, unsigned offset,
                      unsigned n)
{
    const kr_dsp_program *p = inst->program;
    for (int i = 0; i < p->step_count; i++) {
        const kr_step *st = &p->steps[i];
        switch (st->kind) {
        case KR_STEP_OP:
            inst->uniform[st->out] = (unsigned char)run_op(inst, st, 0, n);
            break;
        case KR_STEP_CONTROL:
            run_control(inst, st, n);
            break;
        case KR_STEP_INPUT: {
            const float *src = inputs ? inputs[st->index] : NULL;
            if (src) {
                memcpy(inst->slot[st->out], src + offset, n * sizeof(float));
                inst->uniform[st->out] = 0;
            } else {
                inst->slot[st->out][0] = 0.0f;
                inst->uniform[st->out] = 1;
            }
            break;
        }
        case KR_STEP_MEM:
            run_mem_block(inst, st, n);
            break;
        case KR_STEP_LOOP:
            run_loop(inst, st + 1, st->loop_len, n);
            i += st->loop_len;
            break;
        }
    }
}

void kr_dsp_instance_run(kr_dsp_instance *inst, const float *const *inputs,
                         float *const *outputs, unsigned frames)
{
    const kr_dsp_program *p = inst->program;
    inst->started |= frames > 0;
    if (inst->faust) {
        /* Controls reach FAUST as targets (the exported code smooths them);
         * the gate's one-sample dip happens inside. */
        int g = inst->gate;
        bool dip_only = g >= 0 && inst->ctl_retrigger[g] && frames == 1;
        kr_faust_voice_run(inst->faust, inst->ctl_target, inst->ctl_retrigger, g, inputs,
                           outputs, frames);
        if (g >= 0 && frames > 0)
            inst->ctl_played_high[g] = !dip_only && inst->ctl_target[g] > 0.0;
        return;
    }
    for (unsigned offset = 0; offset < frames; offset += KR_DSP_BLOCK) {
        unsigned n = frames - offset < KR_DSP_BLOCK ? frames - offset : KR_DSP_BLOCK;
        run_block(inst, inputs, offset, n);
        for (int c = 0; c < p->outputs; c++) {
            int s = p->output_slots[c];
            float *dst = outputs[c] + offset;
            if (inst->uniform[s]) {
                float v = inst->slot[s][0];
                for (unsigned i = 0; i < n; i++)
                    dst[i] = v;
            } else {
                memcpy(dst, inst->slot[s], n * sizeof(float));
            }
        }
    }
}
