/* faust_wrap.c — one FAUST-generated DSP as a bench_faust descriptor.
 *
 * Compiled once per generated file, with
 *   -DFAUST_NAME=<synth> -DFAUST_VARIANT=<variant> -DFAUST_CLASS=<synth>_<variant>
 *   -DFAUST_SOURCE='"<file>.c"'
 * (the class given to `faust -cn`), so every class lives in its own
 * translation unit (the generated code defines static helpers with fixed
 * names) and exports bench_faust_<synth>_<variant>. */
#include <math.h>

#include "faust_glue.h"

/* Integer min/max the generated code calls (normally in the architecture file). */
static inline int max(int a, int b) { return a > b ? a : b; }
static inline int min(int a, int b) { return a < b ? a : b; }

#include FAUST_SOURCE

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define STR_(x) #x
#define STR(x) STR_(x)

static void *wrap_create(void) { return CAT(new, FAUST_CLASS)(); }
static void wrap_destroy(void *d) { CAT(delete, FAUST_CLASS)((FAUST_CLASS *)d); }
static void wrap_init(void *d, int sr) { CAT(init, FAUST_CLASS)((FAUST_CLASS *)d, sr); }
static void wrap_ui(void *d, UIGlue *ui) { CAT(buildUserInterface, FAUST_CLASS)((FAUST_CLASS *)d, ui); }
static void wrap_compute(void *d, int n, FAUSTFLOAT **in, FAUSTFLOAT **out)
{
    CAT(compute, FAUST_CLASS)((FAUST_CLASS *)d, n, in, out);
}
static int wrap_inputs(void *d) { return CAT(getNumInputs, FAUST_CLASS)((FAUST_CLASS *)d); }
static int wrap_outputs(void *d) { return CAT(getNumOutputs, FAUST_CLASS)((FAUST_CLASS *)d); }

const bench_faust CAT(bench_faust_, FAUST_CLASS) = {
    STR(FAUST_NAME), STR(FAUST_VARIANT), wrap_create, wrap_destroy, wrap_init, wrap_ui,
    wrap_compute, wrap_inputs, wrap_outputs,
};
