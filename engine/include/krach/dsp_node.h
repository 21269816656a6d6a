/* dsp_node.h — a graph node that plays a compiled DSP program.
 *
 * The node plays a *voice set*: one instance of the program per voice (count
 * > 1 makes a polyphonic node; the voices' outputs are summed). A hot-swap
 * sends a new voice set with KR_RT_NODE_SWAP; old and new are crossfaded over
 * KR_DSP_CROSSFADE_SECONDS with raised-cosine weights (they sum to one, so an
 * unchanged sound passes at constant level). The replaced set is retired when
 * the fade ends; if yet another set arrives mid-fade, the one already fading
 * out is retired at once.
 *
 * The node always renders two channels (a mono program feeds both). Audio
 * inputs are silent until routing connects them. */
#ifndef KRACH_DSP_NODE_H
#define KRACH_DSP_NODE_H

#include "krach/dsp.h"
#include "krach/faust_dir.h"
#include "krach/node.h"
#include "krach/rational.h"

#define KR_DSP_CROSSFADE_SECONDS 0.02
#define KR_MAX_VOICES 64
/* DSP state (delay lines, tables, filter memories) is allocated per voice;
 * these bound what node_set may ask for, so memory stays bounded whatever a
 * client sends (each IR table or delay alone is within ir.h's limits, but
 * voices and nodes multiply them). */
#define KR_MAX_NODE_STATE ((size_t)256 << 20)  /* bytes: one node, all voices */
#define KR_MAX_DSP_STATE  ((size_t)1024 << 20) /* bytes: every node together */

/* Server thread: bytes of state `voices` instances of `program` hold. */
size_t kr_dsp_voices_bytes(const kr_dsp_program *program, int voices);
/* Server thread: checks that node `name` may hold `bytes` of state while
 * the other nodes hold `others`. Returns 0, or -1 with error "limit". */
int kr_dsp_check_state(const char *name, size_t bytes, size_t others, kr_error *error);

typedef struct kr_dsp_voices {
    int count;
    kr_dsp_instance *voice[KR_MAX_VOICES];
} kr_dsp_voices;

/* Server thread: `count` fresh instances of `program`, every control set to
 * `values` (one per control). NULL when out of memory. */
kr_dsp_voices *kr_dsp_voices_create(kr_dsp_program *program, int count, const double *values);
void kr_dsp_voices_destroy(kr_dsp_voices *voices);
/* Retire callback (frees a voice set on the server thread). */
int kr_dsp_voices_retire(void *voices);

/* What the scheduler knows of a voice: the note it was last given. */
typedef struct kr_voice_note {
    int64_t start_sample;         /* onset */
    int64_t end_sample;           /* gate-off (≤ start when free) */
    kr_rat end_cycle;             /* the same in cycles, to re-time after a tempo change */
    uint32_t tag;                 /* the slot that played it (0: none) */
} kr_voice_note;

/* The server thread's view of a DSP node: what it last sent to it. */
typedef struct kr_dsp_model {
    kr_dsp_program *program;      /* the newest program (a reference is held) */
    int voices;                   /* voice count of the newest set */
    double *values;               /* control values, by the program's control index */
    unsigned char *clamp_warned;  /* per control: an out-of-range value was logged */
    char *ir_text;                /* the IR as sent (JSON), for `state`; NULL for a FAUST file */
    size_t ir_bytes;              /* strlen(ir_text): its share of KR_MAX_SOURCE_BYTES */
    kr_dsp_backend backend;       /* the backend the request asked for */
    char faust_type[KR_FAUST_NAME_MAX + 1]; /* NAME of a "faust:NAME" node, else "" */
    kr_voice_note notes[KR_MAX_VOICES];
} kr_dsp_model;

/* Server thread. Takes ownership of `voices`; the model takes a reference to
 * their program and copies `values`. NULL when out of memory. */
kr_node *kr_dsp_node_create(const char *name, double sample_rate, float gain,
                            kr_dsp_voices *voices, const double *values);
bool kr_node_is_dsp(const kr_node *node);

/* Server thread only: the model of a DSP node (NULL for other kinds). */
kr_dsp_model *kr_dsp_node_model(kr_node *node);
/* Server thread: after sending a swap, make `program`, `voices` and `values`
 * the model. Returns -1 when out of memory (the model is then unchanged). */
int kr_dsp_model_replace(kr_dsp_model *model, kr_dsp_program *program, int voices,
                         const double *values);

/* Parameters of a DSP node are its program's controls, by index. */
enum { KR_DSP_PARAM_CONTROL_BASE = 0 };

#endif
