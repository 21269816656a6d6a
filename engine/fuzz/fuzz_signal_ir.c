/* fuzz_signal_ir.c — signal IR JSON → kr_ir_parse → kr_faust_export and
 * kr_dsp_compile → run.
 *
 * The input is parsed as JSON the way the protocol parses a request. An IR
 * that fails must fail with bad_ir and a message. One that parses must export
 * to a FAUST program (or fail with bad_ir: a control name FAUST cannot hold).
 * One that compiles must:
 *   - compile to the same program again (equal, same hash: programs are
 *     compared to decide whether a re-sent synth keeps its state);
 *   - run on the audio thread's terms: two instances (one per compile), fed
 *     the same inputs and the same control changes (held, gated, out of
 *     range, NaN) over blocks of awkward sizes, produce bit-identical output
 *     (no uninitialised state, no hidden sharing);
 *   - leave nothing for the safety stage to miss: after kr_safety_process
 *     every sample is finite and within full scale, as the engine promises. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "krach/dsp.h"
#include "krach/faust.h"
#include "krach/ir.h"
#include "krach/safety.h"

#define SAMPLE_RATE 48000.0
#define MAX_FRAMES 1024

typedef struct run_buffers {
    float in[KR_IR_MAX_INPUTS][MAX_FRAMES];
    float out[2][KR_IR_MAX_OUTPUTS][MAX_FRAMES];
} run_buffers;

/* Inputs with some character: a slow ramp, an impulse, a loud square. */
static void fill_inputs(run_buffers *b, unsigned frames, unsigned phase)
{
    for (int k = 0; k < KR_IR_MAX_INPUTS; k++)
        for (unsigned i = 0; i < frames; i++) {
            unsigned t = phase + i;
            float v = (float)((t * (unsigned)(k + 3)) % 97) / 48.5f - 1.0f;
            if (t % 331 == 0)
                v = 8.0f;
            if (k == 1)
                v = (t / 50) % 2 ? 1.5f : -1.5f;
            b->in[k][i] = v;
        }
}

static void set_controls(kr_dsp_instance *inst, const kr_dsp_program *p, int phase)
{
    for (int i = 0; i < kr_dsp_program_control_count(p); i++) {
        const kr_ir_control *c = kr_dsp_program_control(p, i);
        double v;
        switch (phase) {
        case 0: v = c->gate ? 1.0 : c->hi; break;       /* note on, everything up */
        case 1: v = c->gate ? 1.0 : c->lo; break;       /* retrigger, everything down */
        case 2: v = c->gate ? 0.0 : c->hi * 10.0 + 1.0; break; /* note off, out of range */
        default: v = NAN; break;                        /* NaN must land on lo */
        }
        kr_dsp_instance_set_control(inst, i, v, false);
        double got = kr_dsp_instance_control(inst, i);
        if (!(got >= c->lo && got <= c->hi))
            kr_fuzz_fail("control '%s' holds %g outside its range [%g, %g]", c->name, got,
                         c->lo, c->hi);
    }
}

static void run_and_compare(kr_dsp_instance *a, kr_dsp_instance *b, const kr_dsp_program *p,
                            run_buffers *buf)
{
    static const unsigned blocks[] = {1, 127, 128, 129, 300, 7, 64};
    int outputs = kr_dsp_program_outputs(p);
    unsigned phase = 0;
    for (int round = 0; round < 4; round++) {
        set_controls(a, p, round);
        set_controls(b, p, round);
        for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
            unsigned n = blocks[(k + (size_t)round) % (sizeof blocks / sizeof blocks[0])];
            fill_inputs(buf, n, phase);
            const float *in[KR_IR_MAX_INPUTS];
            float *out_a[KR_IR_MAX_OUTPUTS], *out_b[KR_IR_MAX_OUTPUTS];
            for (int i = 0; i < KR_IR_MAX_INPUTS; i++)
                in[i] = buf->in[i];
            for (int c = 0; c < KR_IR_MAX_OUTPUTS; c++) {
                out_a[c] = buf->out[0][c];
                out_b[c] = buf->out[1][c];
            }
            kr_dsp_instance_run(a, in, out_a, n);
            kr_dsp_instance_run(b, in, out_b, n);
            for (int c = 0; c < outputs; c++) {
                if (memcmp(out_a[c], out_b[c], n * sizeof(float)) != 0)
                    kr_fuzz_fail("two instances of one program differ (output %d, round %d, "
                                 "block of %u at sample %u)", c, round, n, phase);
                kr_safety_process(out_a[c], n);
                for (unsigned i = 0; i < n; i++)
                    if (!isfinite(out_a[c][i]) || fabsf(out_a[c][i]) > 1.0f)
                        kr_fuzz_fail("after the safety stage sample %u is %g", phase + i,
                                     (double)out_a[c][i]);
            }
            phase += n;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *json = json_loadb((const char *)data, size,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!json)
        return 0;
    kr_ir ir;
    kr_error error = {0};
    if (kr_ir_parse(json, &ir, &error)) {
        kr_fuzz_check_error(&error, "bad_ir", "kr_ir_parse");
        json_decref(json);
        return 0;
    }
    kr_error export_error = {0};
    char *program_text = kr_faust_export(&ir, &export_error);
    if (!program_text)
        kr_fuzz_check_error(&export_error, "bad_ir", "kr_faust_export");
    else if (!strstr(program_text, "process"))
        kr_fuzz_fail("the FAUST export has no process");
    free(program_text);
    kr_dsp_program *p = kr_dsp_compile(&ir, SAMPLE_RATE, &error);
    if (!p) {
        kr_fuzz_check_error(&error, "bad_ir", "kr_dsp_compile");
        kr_ir_free(&ir);
        json_decref(json);
        return 0;
    }
    kr_error again_error = {0};
    kr_dsp_program *again = kr_dsp_compile(&ir, SAMPLE_RATE, &again_error);
    kr_ir_free(&ir);
    json_decref(json);
    if (!again)
        kr_fuzz_fail("the IR compiled once, then failed: %s", again_error.message);
    if (!kr_dsp_program_equal(p, again) ||
        kr_dsp_program_hash(p) != kr_dsp_program_hash(again))
        kr_fuzz_fail("one IR compiled twice gave two different programs");
    if (kr_dsp_program_outputs(p) < 1 || kr_dsp_program_outputs(p) > KR_IR_MAX_OUTPUTS ||
        kr_dsp_program_inputs(p) < 0 || kr_dsp_program_inputs(p) > KR_IR_MAX_INPUTS)
        kr_fuzz_fail("program has %d inputs and %d outputs", kr_dsp_program_inputs(p),
                     kr_dsp_program_outputs(p));

    kr_dsp_instance *a = kr_dsp_instance_create(p);
    kr_dsp_instance *b = kr_dsp_instance_create(again);
    run_buffers *buf = calloc(1, sizeof *buf);
    if (!a || !b || !buf)
        kr_fuzz_fail("out of memory creating instances (state %zu bytes)",
                     kr_dsp_program_stats(p)->state_bytes);
    run_and_compare(a, b, p, buf);
    free(buf);
    kr_dsp_instance_destroy(a);
    kr_dsp_instance_destroy(b);
    kr_dsp_program_release(p);
    kr_dsp_program_release(again);
    return 0;
}
