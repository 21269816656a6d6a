/* safety.c — NaN scrub and soft limit (see safety.h). */
#include "krach/safety.h"

#include <math.h>

float kr_safety_limit(float x)
{
    const float knee = KR_SAFETY_KNEE, room = 1.0f - KR_SAFETY_KNEE;
    float mag = fabsf(x);
    if (mag <= knee)
        return x;
    /* Continuous in value and slope at the knee; approaches 1 asymptotically. */
    float bent = knee + room * tanhf((mag - knee) / room);
    if (bent > 1.0f)
        bent = 1.0f; /* float rounding near the asymptote */
    return x < 0.0f ? -bent : bent;
}

size_t kr_safety_process(float *samples, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float x = samples[i];
        if (!isfinite(x)) {
            samples[i] = 0.0f;
            bad++;
            continue;
        }
        if (fabsf(x) > KR_SAFETY_KNEE)
            samples[i] = kr_safety_limit(x);
    }
    return bad;
}
