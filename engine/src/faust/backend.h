/* backend.h — the FAUST backend's internals shared with the DSP executor.
 *
 * A kr_faust_code is one compiled FAUST program (a libfaust LLVM factory),
 * shared by reference between the cache and every kr_dsp_program built from
 * it. A kr_faust_voice is one running instance of it: what a kr_dsp_instance
 * of a FAUST program delegates to. Voices are created and destroyed on the
 * server thread; kr_faust_voice_run is the only call made on the audio thread
 * and allocates nothing. Without libfaust no code or voice can exist, and
 * these functions are never reached with one. */
#ifndef KRACH_FAUST_BACKEND_H
#define KRACH_FAUST_BACKEND_H

#include <stdint.h>

#include "krach/faust.h"

typedef struct kr_faust_code kr_faust_code;
typedef struct kr_faust_voice kr_faust_voice;

void kr_faust_code_retain(kr_faust_code *code);
void kr_faust_code_release(kr_faust_code *code); /* NULL is fine */

/* A voice for `program` (a FAUST-backed program) at the program's rate, its
 * controls mapped to the program's by label. NULL when out of memory. */
kr_faust_voice *kr_faust_voice_create(const kr_dsp_program *program);
void kr_faust_voice_destroy(kr_faust_voice *voice);

/* Audio thread: writes each control's target into the FAUST instance, then
 * computes `frames` samples. A gate control (index `gate`, or -1) whose
 * `retrigger` flag is set plays 0 for the first sample (the native executor's
 * rising edge for a note that starts while the gate is high), and the flag is
 * cleared. `inputs[k]` may be NULL (silence). */
void kr_faust_voice_run(kr_faust_voice *voice, const double *targets, unsigned char *retrigger,
                        int gate, const float *const *inputs, float *const *outputs,
                        unsigned frames);

#endif
