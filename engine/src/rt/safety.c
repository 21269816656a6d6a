/* safety.c — NaN scrub and soft limit (see safety.h). */
#include "krach/safety.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

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

bool kr_safety_all_finite(const float *samples, size_t n)
{
    /* A float is NaN or infinite exactly when its exponent bits are all ones;
     * adding one exponent step then carries into the sign bit, and OR-ing the
     * results keeps any such carry. Integer ops only: no FP exceptions, no
     * branch per sample; the fixed 8-wide body vectorizes at -O2. */
    uint32_t lanes[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32_t bits[8];
        memcpy(bits, &samples[i], sizeof bits);
        for (int k = 0; k < 8; k++)
            lanes[k] |= (bits[k] & 0x7f800000u) + 0x00800000u;
    }
    for (; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &samples[i], sizeof bits);
        lanes[0] |= (bits & 0x7f800000u) + 0x00800000u;
    }
    uint32_t any = 0;
    for (int k = 0; k < 8; k++)
        any |= lanes[k];
    return (any & 0x80000000u) == 0;
}
