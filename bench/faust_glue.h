/* faust_glue.h — what FAUST's `-lang c` output expects from its architecture
 * file, and the descriptor the benchmark harness uses to drive it.
 *
 * faust_wrap.c includes one generated file (FAUST_SOURCE, class FAUST_CLASS)
 * after this header and exports `bench_faust_<synth>_<variant>`. */
#ifndef BENCH_FAUST_GLUE_H
#define BENCH_FAUST_GLUE_H

#ifndef FAUSTFLOAT
#define FAUSTFLOAT float
#endif

#include <faust/gui/CInterface.h>

typedef struct bench_faust {
    const char *name;     /* the FAUST class (= the seed synth) */
    const char *variant;  /* "faust" or "faust_nosmooth" */
    void *(*create)(void);
    void (*destroy)(void *dsp);
    void (*init)(void *dsp, int sample_rate);
    void (*build_ui)(void *dsp, UIGlue *ui);
    void (*compute)(void *dsp, int count, FAUSTFLOAT **inputs, FAUSTFLOAT **outputs);
    int (*inputs)(void *dsp);
    int (*outputs)(void *dsp);
} bench_faust;

#endif
