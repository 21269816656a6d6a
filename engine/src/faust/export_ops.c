/* export_ops.c — each kernel op of docs/signal-ir.md as a FAUST expression.
 *
 * Most ops are a template over their arguments ($0, $1, … stand for the
 * argument definitions n<i>) plus the kr_… primitives it calls
 * (export_lib.c); the ops with attributes (filter order, lfo shape, seeds,
 * tables, delay lengths) are written by hand below. Ops whose semantics
 * stdfaust.lib has exactly use it (Butterworth, dB and MIDI conversions). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export_internal.h"

#define B(x) ((kr_fx_needs)1 << (x))

typedef struct op_template {
    const char *name;
    const char *expr;
    kr_fx_needs needs;
} op_template;

static const op_template templates[] = {
    {"add", "$0 + $1", 0},
    {"sub", "$0 - $1", 0},
    {"mul", "$0 * $1", 0},
    {"div", "$0 / $1", 0},
    {"floordiv", "floor($0 / $1)", 0},
    {"mod", "kr_pymod($0, $1)", B(KR_FX_PYMOD)},
    {"pow", "pow($0, $1)", 0},
    {"fmod", "fmod($0, $1)", 0},
    {"remainder", "remainder($0, $1)", 0},
    {"atan2", "atan2($0, $1)", 0},
    {"min", "min($0, $1)", 0},
    {"max", "max($0, $1)", 0},
    {"lt", "float($0 < $1)", 0},
    {"le", "float($0 <= $1)", 0},
    {"gt", "float($0 > $1)", 0},
    {"ge", "float($0 >= $1)", 0},
    {"eq", "float($0 == $1)", 0},
    {"ne", "float($0 != $1)", 0},
    {"neg", "0.0 - $0", 0},
    {"abs", "abs($0)", 0},
    {"sin", "sin($0)", 0},
    {"cos", "cos($0)", 0},
    {"tan", "tan($0)", 0},
    {"asin", "asin($0)", 0},
    {"acos", "acos($0)", 0},
    {"atan", "atan($0)", 0},
    {"exp", "exp($0)", 0},
    {"log", "log($0)", 0},
    {"log10", "log10($0)", 0},
    {"sqrt", "sqrt($0)", 0},
    {"floor", "floor($0)", 0},
    {"ceil", "ceil($0)", 0},
    {"round", "kr_round($0)", B(KR_FX_ROUND)},
    {"db_to_linear", "ba.db2linear($0)", 0},
    {"linear_to_db", "kr_lin2db($0)", B(KR_FX_LIN2DB)},
    {"midi_to_freq", "ba.midikey2hz($0)", 0},
    {"freq_to_midi", "ba.hz2midikey($0)", 0},
    {"clip", "kr_clip($0, $1, $2)", B(KR_FX_CLIP)},
    {"lerp", "$0 + ($1 - $0)*$2", 0},
    {"wrap", "kr_wrap($0, $1, $2)", B(KR_FX_WRAP)},
    /* FAUST's select2 takes an integer selector; the IR's is "s != 0". */
    {"select2", "select2($0 != 0.0, $1, $2)", 0},
    {"sine_osc", "kr_sine($0)", B(KR_FX_SINE)},
    {"saw", "kr_saw($0)", B(KR_FX_SAW)},
    {"square", "kr_rect(1.0, -1.0, $0, $1)", B(KR_FX_RECT)},
    {"pulse", "kr_rect(1.0, 0.0, $0, $1)", B(KR_FX_RECT)},
    {"triangle", "kr_triangle($0)", B(KR_FX_TRI)},
    {"phasor", "kr_phase($0)", B(KR_FX_PHASE)},
    {"bandpass", "kr_bandpass($0, $1, $2)", B(KR_FX_SVF)},
    {"resonant", "kr_resonant($0, $1, $2)", B(KR_FX_SVF)},
    {"onepole", "kr_onepole($0, $1)", B(KR_FX_ONEPOLE)},
    {"dcblock", "kr_dcblock($0)", B(KR_FX_DCBLOCK)},
    {"smooth", "kr_smooth($0, $1)", B(KR_FX_SMOOTH)},
    {"adsr", "kr_env(0, $0, $1, $2, $3, $4)", B(KR_FX_ENV)},
    {"ar", "kr_env(1, $0, 0.0, 0.0, $1, $2)", B(KR_FX_ENV)},
    {"decay", "kr_decay($0, $1)", B(KR_FX_DECAY)},
    {"trigger", "float(kr_rise($0))", B(KR_FX_RISE)},
    {"latch", "kr_latch($0, $1)", B(KR_FX_LATCH)},
    {"chorus", "kr_chorus($0, $1, $2)", B(KR_FX_CHORUS)},
    {"flanger", "kr_flanger($0, $1, $2, $3)", B(KR_FX_FLANGER)},
    {"reverb", "kr_reverb($0, $1, $2)", B(KR_FX_REVERB)},
};

static void write_template(kr_fx_buf *b, const char *expr, const kr_ir_node *node)
{
    for (const char *p = expr; *p; p++) {
        if (p[0] == '$' && p[1] >= '0' && p[1] < '0' + node->arity) {
            kr_fx_printf(b, "n%d", node->in[p[1] - '0']);
            p++;
        } else {
            char c[2] = {*p, 0};
            kr_fx_puts(b, c);
        }
    }
}

/* waveform{...}: the table's floats, each the shortest text of that float. */
static void write_waveform(kr_fx_buf *b, const kr_op_attrs *attrs)
{
    kr_fx_puts(b, "waveform{");
    for (long i = 0; i < attrs->table_len; i++) {
        if (i)
            kr_fx_puts(b, i % 8 ? ", " : ",\n    ");
        kr_fx_number_float(b, attrs->table[i]);
    }
    kr_fx_puts(b, "}");
}

/* A seed as the LCG's 31-bit start: SplitMix64's finaliser of the IR's
 * 64-bit seed, so nearby seeds start far apart, as in noise.c. */
static long seed31(uint64_t seed, uint64_t salt)
{
    uint64_t z = seed ^ salt;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (long)(z & 0x7fffffffu);
}

int kr_fx_op_write(kr_fx_buf *b, const kr_ir_node *node, int index, kr_fx_needs *needs,
                   kr_error *error)
{
    const char *name = node->op->name;
    const kr_op_attrs *at = &node->attrs;
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++) {
        if (!strcmp(templates[i].name, name)) {
            write_template(b, templates[i].expr, node);
            *needs |= templates[i].needs;
            return 0;
        }
    }
    if (!strcmp(name, "lowpass") || !strcmp(name, "highpass")) {
        /* Butterworth as filter.c cascades it: a trapezoidal SVF per pole pair
         * (stdfaust's fi.svf is exactly that section) and a TPT one-pole for odd
         * orders. fi.lowpass has the same response for a still cutoff, but its
         * direct-form sections part from the native ones whenever the cutoff
         * moves (docs/faust.md, "Differential tests"). */
        int hp = name[0] == 'h';
        kr_fx_printf(b, "n%d", node->in[0]);
        for (int i = 0; i < at->order / 2; i++) {
            kr_fx_printf(b, " : fi.svf.%s(kr_fc(n%d), ", hp ? "hp" : "lp", node->in[1]);
            kr_fx_number(b, 1.0 / (2.0 * sin(3.14159265358979323846 * (2 * i + 1) / (2.0 * at->order))));
            kr_fx_puts(b, ")");
        }
        if (at->order & 1)
            kr_fx_printf(b, " : kr_tpt1(%d, n%d)", hp, node->in[1]);
        *needs |= B(KR_FX_FC);
    } else if (!strcmp(name, "lfo")) {
        kr_fx_printf(b, "kr_lfo(%d, n%d)", (int)at->shape, node->in[0]);
        *needs |= B(KR_FX_LFO);
    } else if (!strcmp(name, "white_noise") || !strcmp(name, "pink_noise")) {
        int white = name[0] == 'w';
        kr_fx_printf(b, "kr_%s(%ld)", white ? "white" : "pink",
                     seed31(at->seed, white ? 0 : 0x70696e6b6e6f6973ull));
        *needs |= white ? B(KR_FX_WHITE) : B(KR_FX_PINK);
    } else if (!strcmp(name, "wavetable") || !strcmp(name, "rdtable")) {
        int wave = name[0] == 'w';
        kr_fx_printf(b, "kr_%s(%ld, ", name, at->table_len);
        write_waveform(b, at);
        kr_fx_printf(b, ", n%d)", node->in[0]);
        *needs |= wave ? B(KR_FX_WAVETABLE) : B(KR_FX_RDTABLE);
    } else if (!strcmp(name, "rwtable")) {
        kr_fx_printf(b, "kr_rwtable(%ld, ", at->size);
        kr_fx_number_float(b, (float)at->init);
        kr_fx_printf(b, ", n%d, n%d, n%d)", node->in[0], node->in[1], node->in[2]);
        *needs |= B(KR_FX_RWTABLE);
    } else if (!strcmp(name, "delay") || !strcmp(name, "echo")) {
        kr_fx_printf(b, "kr_%s(", name);
        kr_fx_number(b, at->max_time);
        kr_fx_puts(b, ", ");
        write_template(b, name[0] == 'd' ? "$0, $1)" : "$0, $1, $2)", node);
        *needs |= name[0] == 'd' ? B(KR_FX_DELAY) : B(KR_FX_ECHO);
    } else {
        kr_error_set(error, "bad_ir", "node %d (%s): this op has no FAUST form yet; "
                     "write the synth without it to export it", index, name);
        return -1;
    }
    return 0;
}
