/* llvm.c — compiled FAUST code and its voices, through libfaust's LLVM C API
 * (see code.h, backend.h). libfaust compiles in the helper process (job.c);
 * its machine code is loaded here, and voices are created, on the server
 * thread; kr_faust_voice_run is the audio thread's, and calls nothing but the
 * JIT-compiled compute function.
 *
 * Programs are compiled with -double: the native kernels keep phases, filter
 * states and coefficients in double, and only double FAUST agrees with them to
 * 90 dB or better (single precision: 36-94 dB, docs/faust.md). With -double the
 * generated code's samples and zones are doubles, so FAUSTFLOAT is double here
 * (the UI callbacks' signatures depend on it) and blocks are converted at the
 * boundary. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "job.h"
#include "../dsp/program.h"

#ifdef KRACH_HAVE_LIBFAUST

#define FAUSTFLOAT double
#include <faust/dsp/llvm-dsp-c.h>

struct kr_faust_code {
    atomic_int refs;
    llvm_dsp_factory *factory;
    char sha[80];               /* getCSHAKey: the expanded code's key */
    int inputs, outputs;
    int control_count;
    kr_ir_control *controls;
};

struct kr_faust_voice {
    llvm_dsp *dsp;
    int controls;
    FAUSTFLOAT **zone;          /* per program control: its FAUST zone, or NULL */
    int inputs, outputs;
    FAUSTFLOAT *in[KR_IR_MAX_INPUTS];
    FAUSTFLOAT *out[KR_MAX_CHANNELS];
    FAUSTFLOAT in_buf[KR_IR_MAX_INPUTS][KR_DSP_BLOCK];
    FAUSTFLOAT out_buf[KR_MAX_CHANNELS][KR_DSP_BLOCK];
};

/* libfaust may place a double zone on a 4-byte boundary: write it bytewise. */
static void zone_write(FAUSTFLOAT *zone, double value)
{
    memcpy(zone, &value, sizeof value);
}

/* ---- user interface: the controls a FAUST program declares ---------------- */

typedef struct ui_collector {
    kr_ir_control controls[KR_IR_MAX_CONTROLS];
    FAUSTFLOAT *zones[KR_IR_MAX_CONTROLS];
    int count;
    char problem[200];          /* the first thing krach cannot map, or "" */
} ui_collector;

/* A label without FAUST metadata ("cutoff[unit:Hz]" → "cutoff") or spaces. */
static void clean_label(const char *label, char *out, size_t size)
{
    size_t n = 0;
    int depth = 0;
    for (const char *p = label; *p && n + 1 < size; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        else if (depth == 0 && !(n == 0 && *p == ' '))
            out[n++] = *p;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

static void collect(ui_collector *ui, const char *label, FAUSTFLOAT *zone, double init,
                    double lo, double hi, double step)
{
    if (ui->problem[0])
        return;
    if (ui->count == KR_IR_MAX_CONTROLS) {
        snprintf(ui->problem, sizeof ui->problem, "it declares more than %d controls",
                 KR_IR_MAX_CONTROLS);
        return;
    }
    kr_ir_control *c = &ui->controls[ui->count];
    clean_label(label, c->name, sizeof c->name);
    if (!c->name[0])
        snprintf(c->name, sizeof c->name, "control%d", ui->count);
    for (int i = 0; i < ui->count; i++) {
        if (!strcmp(ui->controls[i].name, c->name)) {
            snprintf(ui->problem, sizeof ui->problem, "two controls are labelled '%.60s'; "
                     "give them different labels", c->name);
            return;
        }
    }
    c->init = init < lo ? lo : init > hi ? hi : init;
    c->lo = lo;
    c->hi = hi;
    c->step = step > 0 ? step : 0;
    c->gate = !strcmp(c->name, "gate");
    ui->zones[ui->count++] = zone;
}

static void ui_box(void *ui, const char *label) { (void)ui, (void)label; }
static void ui_close(void *ui) { (void)ui; }
static void ui_declare(void *ui, FAUSTFLOAT *zone, const char *key, const char *value)
{
    (void)ui, (void)zone, (void)key, (void)value;
}
static void ui_button(void *ui, const char *label, FAUSTFLOAT *zone)
{
    collect(ui, label, zone, 0, 0, 1, 1);
}
/* With -double, the code libfaust 2.54 generates passes these callbacks
 * double zones but *float* init/min/max/step (measured: a slider's 20 arrives
 * as the float's bits). So they are defined with the signature actually used,
 * and stored in UIGlue (whose typedefs say FAUSTFLOAT) through a cast. */
static void ui_slider(void *ui, const char *label, FAUSTFLOAT *zone, float init, float lo,
                      float hi, float step)
{
    collect(ui, label, zone, init, lo, hi, step);
}
static void ui_bargraph(void *ui, const char *label, FAUSTFLOAT *zone, float lo, float hi)
{
    (void)ui, (void)label, (void)zone, (void)lo, (void)hi; /* outputs: nothing to set */
}
#define AS(type, fn) ((type)(void (*)(void))(fn))
static void ui_soundfile(void *ui, const char *label, const char *url, struct Soundfile **zone)
{
    ui_collector *c = ui;
    (void)url, (void)zone;
    snprintf(c->problem, sizeof c->problem, "soundfile '%.60s' is not supported; load "
             "samples with krs.rdtable instead", label);
}

static void collect_ui(llvm_dsp *dsp, ui_collector *ui)
{
    memset(ui, 0, sizeof *ui);
    UIGlue glue = {
        .uiInterface = ui, .openTabBox = ui_box, .openHorizontalBox = ui_box,
        .openVerticalBox = ui_box, .closeBox = ui_close, .addButton = ui_button,
        .addCheckButton = ui_button,
        .addVerticalSlider = AS(addVerticalSliderFun, ui_slider),
        .addHorizontalSlider = AS(addHorizontalSliderFun, ui_slider),
        .addNumEntry = AS(addNumEntryFun, ui_slider),
        .addHorizontalBargraph = AS(addHorizontalBargraphFun, ui_bargraph),
        .addVerticalBargraph = AS(addVerticalBargraphFun, ui_bargraph),
        .addSoundfile = ui_soundfile, .declare = ui_declare,
    };
    buildUserInterfaceCDSPInstance(dsp, &glue);
}

/* ---- code ---------------------------------------------------------------- */

static void code_free(kr_faust_code *code)
{
    if (code->factory)
        deleteCDSPFactory(code->factory);
    free(code->controls);
    free(code);
}

/* libfaust 2.54 implements readCDSPFactoryFromMachine(code, target, error)
 * while its header declares (code, error, target): both are given a writable
 * 4096-byte buffer holding "" (the current machine), so either order works,
 * and the error is whichever one is filled. */
static llvm_dsp_factory *read_machine(const char *machine, char *message)
{
    char other[4096] = "";
    message[0] = '\0';
    llvm_dsp_factory *factory = readCDSPFactoryFromMachine(machine, message, other);
    if (!factory && !message[0])
        snprintf(message, 4096, "%s", other);
    return factory;
}

kr_faust_code *kr_faust_code_load(const char *name, const char *sha, const char *machine,
                                  kr_error *error)
{
    char message[4096] = "";
    llvm_dsp_factory *factory = read_machine(machine, message);
    if (!factory) {
        char line[400];
        kr_faust_one_line(message[0] ? message : "unknown error", line, sizeof line);
        kr_error_set(error, "io_error", "cannot load the compiled FAUST code of %s: %s", name,
                     line);
        return NULL;
    }
    kr_faust_code *code = calloc(1, sizeof *code);
    llvm_dsp *probe = createCDSPInstance(factory);
    ui_collector *ui = malloc(sizeof *ui);
    if (!code || !probe || !ui) {
        kr_error_set(error, "io_error", "out of memory compiling %s", name);
        goto fail;
    }
    code->factory = factory;
    factory = NULL;
    snprintf(code->sha, sizeof code->sha, "%s", sha);
    atomic_init(&code->refs, 1);
    code->inputs = getNumInputsCDSPInstance(probe);
    code->outputs = getNumOutputsCDSPInstance(probe);
    collect_ui(probe, ui);
    if (code->outputs < 1 || code->outputs > KR_MAX_CHANNELS || code->inputs > KR_IR_MAX_INPUTS) {
        kr_error_set(error, "bad_ir", "%s has %d inputs and %d outputs; krach runs 0 to %d "
                     "inputs and 1 to %d outputs", name, code->inputs, code->outputs,
                     KR_IR_MAX_INPUTS, KR_MAX_CHANNELS);
        goto fail;
    }
    if (ui->problem[0]) {
        kr_error_set(error, "bad_ir", "%s: %s", name, ui->problem);
        goto fail;
    }
    code->control_count = ui->count;
    code->controls = calloc((size_t)ui->count + 1, sizeof *code->controls);
    if (!code->controls) {
        kr_error_set(error, "io_error", "out of memory compiling %s", name);
        goto fail;
    }
    memcpy(code->controls, ui->controls, (size_t)ui->count * sizeof *code->controls);
    deleteCDSPInstance(probe);
    free(ui);
    return code;
fail:
    if (probe)
        deleteCDSPInstance(probe);
    if (factory)
        deleteCDSPFactory(factory);
    if (code)
        code_free(code);
    free(ui);
    return NULL;
}

void kr_faust_code_retain(kr_faust_code *code)
{
    atomic_fetch_add(&code->refs, 1);
}

void kr_faust_code_release(kr_faust_code *code)
{
    if (code && atomic_fetch_sub(&code->refs, 1) == 1)
        code_free(code);
}

int kr_faust_code_inputs(const kr_faust_code *code) { return code->inputs; }
int kr_faust_code_outputs(const kr_faust_code *code) { return code->outputs; }
int kr_faust_code_control_count(const kr_faust_code *code) { return code->control_count; }
const kr_ir_control *kr_faust_code_controls(const kr_faust_code *code) { return code->controls; }

const char *kr_faust_code_sha(const kr_faust_code *code) { return code->sha; }

int kr_faust_code_find_control(const kr_faust_code *code, const char *label)
{
    for (int i = 0; i < code->control_count; i++)
        if (!strcmp(code->controls[i].name, label))
            return i;
    return -1;
}

/* ---- voices ---------------------------------------------------------------- */

kr_faust_voice *kr_faust_voice_create(const kr_dsp_program *program)
{
    kr_faust_voice *voice = calloc(1, sizeof *voice);
    ui_collector *ui = malloc(sizeof *ui);
    if (voice)
        voice->zone = calloc((size_t)program->control_count + 1, sizeof *voice->zone);
    if (voice && voice->zone)
        voice->dsp = createCDSPInstance(program->faust->factory);
    if (!ui || !voice || !voice->zone || !voice->dsp) {
        free(ui);
        kr_faust_voice_destroy(voice);
        return NULL;
    }
    initCDSPInstance(voice->dsp, (int)program->sample_rate);
    voice->controls = program->control_count;
    voice->inputs = program->inputs;
    voice->outputs = program->outputs;
    for (int k = 0; k < KR_IR_MAX_INPUTS; k++)
        voice->in[k] = voice->in_buf[k];
    for (int c = 0; c < KR_MAX_CHANNELS; c++)
        voice->out[c] = voice->out_buf[c];
    /* The zones live inside this instance: map them by label. */
    collect_ui(voice->dsp, ui);
    for (int k = 0; k < program->control_count; k++)
        for (int j = 0; j < ui->count; j++)
            if (!strcmp(ui->controls[j].name, program->controls[k].name))
                voice->zone[k] = ui->zones[j];
    free(ui);
    return voice;
}

void kr_faust_voice_destroy(kr_faust_voice *voice)
{
    if (!voice)
        return;
    if (voice->dsp)
        deleteCDSPInstance(voice->dsp);
    free(voice->zone);
    free(voice);
}

/* n <= KR_DSP_BLOCK samples from `offset`: float in, double through FAUST,
 * float out. */
static void compute_span(kr_faust_voice *voice, const float *const *inputs,
                         float *const *outputs, unsigned offset, unsigned n)
{
    for (int k = 0; k < voice->inputs; k++) {
        const float *src = inputs && inputs[k] ? inputs[k] + offset : NULL;
        for (unsigned i = 0; i < n; i++)
            voice->in_buf[k][i] = src ? src[i] : 0.0;
    }
    computeCDSPInstance(voice->dsp, (int)n, voice->in, voice->out);
    for (int c = 0; c < voice->outputs; c++)
        for (unsigned i = 0; i < n; i++)
            outputs[c][offset + i] = (float)voice->out_buf[c][i];
}

void kr_faust_voice_run(kr_faust_voice *voice, const double *targets, unsigned char *retrigger,
                        int gate, const float *const *inputs, float *const *outputs,
                        unsigned frames)
{
    for (int k = 0; k < voice->controls; k++)
        if (voice->zone[k])
            zone_write(voice->zone[k], targets[k]);
    unsigned done = 0;
    if (gate >= 0 && retrigger[gate] && frames > 0) {
        retrigger[gate] = 0;
        if (voice->zone[gate]) {
            zone_write(voice->zone[gate], 0.0);
            compute_span(voice, inputs, outputs, 0, 1);
            zone_write(voice->zone[gate], targets[gate]);
            done = 1;
        }
    }
    while (done < frames) {
        unsigned n = frames - done < KR_DSP_BLOCK ? frames - done : KR_DSP_BLOCK;
        compute_span(voice, inputs, outputs, done, n);
        done += n;
    }
}

#else /* no libfaust: no code can be compiled, so nothing else is reached */

kr_faust_code *kr_faust_code_load(const char *name, const char *sha, const char *machine,
                                  kr_error *error)
{
    (void)sha, (void)machine;
    kr_faust_unavailable(name, error);
    return NULL;
}

void kr_faust_code_retain(kr_faust_code *code) { (void)code; }
void kr_faust_code_release(kr_faust_code *code) { (void)code; }
int kr_faust_code_inputs(const kr_faust_code *code) { (void)code; return 0; }
int kr_faust_code_outputs(const kr_faust_code *code) { (void)code; return 0; }
int kr_faust_code_control_count(const kr_faust_code *code) { (void)code; return 0; }
const kr_ir_control *kr_faust_code_controls(const kr_faust_code *code) { (void)code; return NULL; }
int kr_faust_code_find_control(const kr_faust_code *code, const char *label)
{
    (void)code, (void)label;
    return -1;
}
const char *kr_faust_code_sha(const kr_faust_code *code) { (void)code; return ""; }
kr_faust_voice *kr_faust_voice_create(const kr_dsp_program *program)
{
    (void)program;
    return NULL;
}
void kr_faust_voice_destroy(kr_faust_voice *voice) { (void)voice; }
void kr_faust_voice_run(kr_faust_voice *voice, const double *targets, unsigned char *retrigger,
                        int gate, const float *const *inputs, float *const *outputs,
                        unsigned frames)
{
    (void)voice, (void)targets, (void)retrigger, (void)gate, (void)inputs, (void)outputs,
        (void)frames;
}

#endif
