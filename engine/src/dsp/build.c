/* build.c — choosing the compiler for a synth (see kr_dsp_build in dsp.h). */
#include "krach/faust.h"

kr_dsp_program *kr_dsp_build(const kr_ir *ir, double sample_rate, kr_dsp_backend backend,
                             struct kr_faust_cache *cache, kr_error *error)
{
    if (backend == KR_DSP_BACKEND_AUTO)
        backend = ir->faust_nodes ? KR_DSP_BACKEND_FAUST : KR_DSP_BACKEND_NATIVE;
    if (backend == KR_DSP_BACKEND_FAUST)
        return kr_faust_compile_ir(cache, ir, sample_rate, error);
    return kr_dsp_compile(ir, sample_rate, error);
}
