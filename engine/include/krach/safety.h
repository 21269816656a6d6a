/* safety.h — the last stage before the device or file.
 *
 * Two promises: no NaN or infinity ever reaches the output (such a sample
 * becomes 0 and is counted), and no sample exceeds full scale. Below the knee
 * (0.9) samples pass untouched; above it a tanh curve bends them smoothly
 * toward ±1 (reaching it only where float rounding ends the curve), so the limiter is transparent at normal
 * levels and never produces a hard-clip corner. */
#ifndef KRACH_SAFETY_H
#define KRACH_SAFETY_H

#include <stdbool.h>
#include <stddef.h>

#define KR_SAFETY_KNEE 0.9f

/* Applies the stage in place to n samples; returns how many were non-finite. */
size_t kr_safety_process(float *samples, size_t n);

/* True when none of the n samples is NaN or ±infinity. Branch-free over the
 * exponent bits, so it vectorizes: the per-node check of graph.c. */
bool kr_safety_all_finite(const float *samples, size_t n);

/* The transfer curve for one finite sample (exposed for tests). */
float kr_safety_limit(float x);

#endif
