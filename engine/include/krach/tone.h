/* tone.h — the built-in sine test tone.
 *
 * It proves the sound path end to end (client → server → audio thread →
 * device or file) before any synth exists. Frequency and gain glide with a
 * 20 ms one-pole so changes never click. A "fault" mode emits NaN or infinity
 * on purpose; the server allows it only when started with --test-faults. */
#ifndef KRACH_TONE_H
#define KRACH_TONE_H

#include "krach/node.h"

enum { KR_TONE_FREQ = 0, KR_TONE_GAIN = 1 };

typedef enum kr_tone_fault {
    KR_TONE_FAULT_NONE = 0,
    KR_TONE_FAULT_NAN,
    KR_TONE_FAULT_INF
} kr_tone_fault;

/* Server thread. Returns NULL when out of memory. */
kr_node *kr_tone_create(const char *name, double sample_rate, double freq,
                        double gain, kr_tone_fault fault);

#endif
