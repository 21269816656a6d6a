/* overload.c — overload and recovery events (see overload.h). */
#include "krach/overload.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *event_line(json_t *event)
{
    char *text = json_dumps(event, JSON_COMPACT);
    json_decref(event);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    memcpy(line + n, "\n", 2);
    return line;
}

char *kr_overload_check(kr_overload *ov, uint64_t xruns, double cpu_load, bool audible,
                        double now)
{
    char message[300];
    if (!ov->primed) {
        ov->primed = true;
        ov->xruns_seen = xruns;
        return NULL;
    }
    bool heavy = cpu_load >= KR_OVERLOAD_LOAD;
    if (xruns > ov->xruns_seen) {
        ov->last_xrun = now;
        if (!ov->active && !heavy) {
            /* The load is smoothed: right after a jump it still reads low. */
            if (!ov->pending) {
                ov->pending = true;
                ov->pending_since = now;
            }
            if (now - ov->pending_since < KR_OVERLOAD_SETTLE)
                return NULL;
            if (!audible) {
                ov->pending = false;
                ov->xruns_seen = xruns; /* a silent clock woke late: nothing was heard */
                return NULL;
            }
        } else if (ov->active && now - ov->last_report < KR_OVERLOAD_INTERVAL) {
            return NULL; /* counted in the next report */
        }
        ov->pending = false;
        uint64_t missed = xruns - ov->xruns_seen;
        ov->xruns_seen = xruns;
        ov->last_report = now;
        ov->active = true;
        if (heavy)
            snprintf(message, sizeof message,
                     "audio overload: %llu block%s missed %s deadline (DSP load %.0f%% of the "
                     "block time) and the sound dropped out; remove nodes or voices, or use "
                     "cheaper synths", (unsigned long long)missed, missed == 1 ? "" : "s",
                     missed == 1 ? "its" : "their", cpu_load * 100.0);
        else
            snprintf(message, sizeof message,
                     "audio dropout: %llu block%s missed %s deadline while the DSP load was "
                     "only %.0f%%: something else held up the machine or the audio thread; if "
                     "it keeps happening, try a larger --block-size", (unsigned long long)missed,
                     missed == 1 ? "" : "s", missed == 1 ? "its" : "their", cpu_load * 100.0);
        return event_line(json_pack("{s:s, s:I, s:I, s:f, s:s}", "event", "overload",
                                    "missed", (json_int_t)missed, "xruns", (json_int_t)xruns,
                                    "cpu_load", cpu_load, "message", message));
    }
    if (ov->active && now - ov->last_xrun >= KR_OVERLOAD_CALM) {
        ov->active = false;
        snprintf(message, sizeof message, "audio load back to normal: no missed deadline "
                 "for %.0f s (DSP load %.0f%%)", KR_OVERLOAD_CALM, cpu_load * 100.0);
        return event_line(json_pack("{s:s, s:I, s:f, s:s}", "event", "overload_over",
                                    "xruns", (json_int_t)xruns, "cpu_load", cpu_load,
                                    "message", message));
    }
    return NULL;
}
