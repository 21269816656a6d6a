/* scheduler.c — patterns to timed events (see scheduler.h). */
#include "krach/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/dsp_node.h"
#include "krach/engine.h"

/* ---- small helpers ------------------------------------------------------- */

static int resend_automations(kr_engine *engine, const char *node, int64_t at, bool forgotten,
                              kr_error *error);
static void forget_automation(kr_scheduler *s, int i);

static bool time_error(bool overflow, kr_error *error)
{
    if (overflow)
        kr_error_set(error, "bad_pattern", "time overflow: a pattern's exact times no longer "
                     "fit 64-bit fractions; simplify its speeds (fast/slow factors)");
    return overflow;
}

static int send_event(kr_engine *engine, int64_t sample, kr_node *node, int voice, int index,
                      double value, uint32_t tag, kr_error *error)
{
    if (index == KR_AUTOMATION_GAIN) /* a pattern on a gain: the gain's range, 0-4 */
        value = value < 0.0 ? 0.0 : value > 4.0 ? 4.0 : value;
    kr_rt_command cmd = {.type = KR_RT_EVENT};
    cmd.event = (kr_timed_event){.sample = sample, .node = node, .voice = voice,
                                 .index = index, .value = value, .tag = tag};
    return kr_engine_send(engine, &cmd, error);
}

static int send_cancel(kr_engine *engine, uint32_t tag, kr_node *node, int voice, int64_t from,
                       kr_error *error)
{
    kr_rt_command cmd = {.type = KR_RT_CANCEL};
    cmd.event = (kr_timed_event){.sample = from, .node = node, .voice = voice, .tag = tag};
    return kr_engine_send(engine, &cmd, error);
}

static int find_control(const kr_dsp_model *model, const char *name)
{
    return kr_dsp_program_find_control(model->program, name);
}

static bool contains_signal(const kr_pattern *p)
{
    if (!p)
        return false;
    if (p->kind == KR_PAT_SIGNAL)
        return true;
    for (int i = 0; i < p->nargs; i++)
        if (contains_signal(p->args[i]))
            return true;
    return contains_signal(p->then) || contains_signal(p->aux);
}

static void remove_slot(kr_scheduler *s, int index)
{
    kr_pattern_free(s->slots[index].pattern);
    free(s->slots[index].source);
    memmove(&s->slots[index], &s->slots[index + 1],
            (size_t)(s->slot_count - index - 1) * sizeof s->slots[0]);
    s->slot_count--;
}

/* ---- lifecycle ------------------------------------------------------------- */

void kr_scheduler_init(kr_scheduler *s, int64_t sample_rate)
{
    memset(s, 0, sizeof *s);
    bool overflow = false;
    kr_transport_init(&s->transport, sample_rate, kr_rat_int(120), 4, &overflow);
    s->next_tag = 1;
}

void kr_scheduler_free(kr_scheduler *s)
{
    while (s->slot_count > 0)
        remove_slot(s, s->slot_count - 1);
}

int64_t kr_scheduler_now(kr_engine *engine)
{
    int64_t now = (int64_t)atomic_load(&engine->rt.frames);
    if (!kr_engine_is_offline(engine))
        now += (int64_t)(KR_SCHED_MARGIN * engine->rt.sample_rate);
    return now;
}

/* ---- notes ----------------------------------------------------------------- */

/* Picks the voice for a note starting at `on`: a free one, else the oldest. */
static int allocate_voice(kr_dsp_model *model, int64_t on, bool *stolen)
{
    int best = 0;
    for (int v = 0; v < model->voices; v++) {
        if (model->notes[v].end_sample <= on) {
            *stolen = false;
            return v;
        }
        if (model->notes[v].start_sample < model->notes[best].start_sample)
            best = v;
    }
    *stolen = true;
    return best;
}

static int play_note(kr_engine *engine, kr_slot *slot, kr_node *node, kr_dsp_model *model,
                     const kr_event *ev, kr_rat end_cycle, kr_error *error)
{
    kr_transport *t = &engine->sched.transport;
    bool overflow = false;
    kr_rat on_cycle = kr_rat_add(ev->whole.begin, slot->origin, &overflow);
    int64_t on = kr_transport_sample_at(t, on_cycle, &overflow);
    int64_t off = kr_transport_sample_at(t, end_cycle, &overflow);
    if (time_error(overflow, error))
        return -1;
    if (on < slot->skip_before)
        return 0; /* queued before a cancel that did not reach it: it stands */
    bool stolen;
    int voice = allocate_voice(model, on, &stolen);
    kr_voice_note *held = &model->notes[voice];
    int gate = find_control(model, "gate");
    if (stolen && held->start_sample == on && !slot->chord_warned) {
        slot->chord_warned = true;
        kr_logf(engine->log, KR_LOG_WARN, "%s: a chord needs more voices than the node's "
                "%d; give it more with kr.node(..., count=N) (reported once)", slot->target,
                model->voices);
    }
    if (held->tag && held->end_sample >= on && held->start_sample < on - 1) {
        /* The voice still sounds at this onset (a stolen voice, or notes back
         * to back): its pending events must not touch the new note, and its
         * gate falls one sample early so that the new note's gate *rises* on
         * its own sample, an onset envelopes hear without losing a sample. */
        if (send_cancel(engine, held->tag, node, voice, on, error) ||
            (gate >= 0 && send_event(engine, on - 1, node, voice, gate, 0.0, held->tag, error)))
            return -1;
    } else if (stolen && send_cancel(engine, held->tag, node, voice, on, error)) {
        return -1;
    }
    *held = (kr_voice_note){.start_sample = on, .end_sample = off, .end_cycle = end_cycle,
                            .tag = slot->tag};
    double gate_value = 1.0;
    for (int i = 0; i < ev->value.count; i++) {
        const char *name = ev->value.names[i];
        double v = ev->value.values[i];
        int index = -1;
        if (!strcmp(name, "gate")) {
            gate_value = v;
            continue;
        }
        if (!strcmp(name, "value")) { /* a bare number on a node: a MIDI note */
            v = kr_midi_to_freq(v);
            name = "freq";
        }
        index = find_control(model, name);
        if (index >= 0 && send_event(engine, on, node, voice, index, v, slot->tag, error))
            return -1;
    }
    if (gate >= 0) {
        if (send_event(engine, on, node, voice, gate, gate_value, slot->tag, error) ||
            send_event(engine, off, node, voice, gate, 0.0, slot->tag, error))
            return -1;
    }
    return 0;
}

/* The number an event gives a single control: its "value", else the entry
 * named like the control, else its first entry. */
static bool event_number(const kr_event *ev, const char *control, double *out)
{
    if (kr_value_get(&ev->value, "value", out) || kr_value_get(&ev->value, control, out))
        return true;
    if (ev->value.count > 0) {
        *out = ev->value.values[0];
        return true;
    }
    return false;
}

/* ---- querying ----------------------------------------------------------------- */

/* The per-cycle budget (KR_SCHED_CYCLE_EVENTS): true when the onset at cycle
 * `onset` is one too many (it is then skipped; reported once per slot). */
static bool over_budget(kr_engine *engine, kr_slot *slot, kr_rat onset)
{
    int64_t cycle = kr_rat_floor(onset);
    if (cycle != slot->budget_cycle) {
        slot->budget_cycle = cycle;
        slot->budget_used = 0;
    }
    if (++slot->budget_used <= KR_SCHED_CYCLE_EVENTS)
        return false;
    if (!slot->dense_warned) {
        slot->dense_warned = true;
        char message[256];
        snprintf(message, sizeof message, "the pattern on '%s' has more than %d events in "
                 "cycle %lld; the rest of that cycle is skipped. Use a sparser pattern",
                 slot->target, KR_SCHED_CYCLE_EVENTS, (long long)cycle);
        kr_logf(engine->log, KR_LOG_WARN, "%s (reported once)", message);
        kr_engine_push(engine, "pattern_limit", slot->target, message);
    }
    return true;
}

static int query_slot(kr_engine *engine, kr_slot *slot, kr_rat lo, kr_rat hi,
                      kr_events *events, kr_error *error)
{
    bool overflow = false;
    kr_arc arc = {kr_rat_sub(lo, slot->origin, &overflow), kr_rat_sub(hi, slot->origin, &overflow)};
    if (time_error(overflow, error))
        return -1;
    events->count = 0;
    return kr_pattern_query(slot->pattern, arc, events, error);
    (void)engine;
}

static int run_note_slot(kr_engine *engine, kr_slot *slot, kr_node *node, kr_dsp_model *model,
                         kr_rat lo, kr_rat hi, kr_events *events, kr_error *error)
{
    if (query_slot(engine, slot, lo, hi, events, error))
        return -1;
    for (size_t i = 0; i < events->count; i++) {
        const kr_event *ev = &events->items[i];
        if (!ev->has_whole || !kr_rat_eq(ev->part.begin, ev->whole.begin))
            continue; /* continuous values, or the tail of a note already sent */
        if (over_budget(engine, slot, ev->whole.begin))
            continue;
        bool overflow = false;
        kr_rat end = kr_rat_add(ev->whole.end, slot->origin, &overflow);
        if (slot->stopping && kr_rat_cmp(end, slot->stop) > 0)
            end = slot->stop;
        if (time_error(overflow, error) || play_note(engine, slot, node, model, ev, end, error))
            return -1;
    }
    return 0;
}

static int run_control_slot(kr_engine *engine, kr_slot *slot, kr_node *node, int index,
                            kr_rat lo, kr_rat hi, kr_events *events, kr_error *error)
{
    kr_transport *t = &engine->sched.transport;
    bool overflow = false;
    if (query_slot(engine, slot, lo, hi, events, error))
        return -1;
    for (size_t i = 0; i < events->count; i++) {
        const kr_event *ev = &events->items[i];
        double v;
        if (!ev->has_whole || !kr_rat_eq(ev->part.begin, ev->whole.begin) ||
            !event_number(ev, slot->control, &v) || over_budget(engine, slot, ev->whole.begin))
            continue;
        kr_rat at = kr_rat_add(ev->whole.begin, slot->origin, &overflow);
        int64_t sample = kr_transport_sample_at(t, at, &overflow);
        if (time_error(overflow, error))
            return -1;
        if (sample >= slot->skip_before &&
            send_event(engine, sample, node, -1, index, v, slot->tag, error))
            return -1;
    }
    if (!slot->has_signal)
        return 0;
    /* Continuous parts: sample on a fixed grid of absolute sample positions, so
     * the result does not depend on how the work was cut into windows. */
    int64_t first = kr_transport_sample_at(t, lo, &overflow);
    int64_t last = kr_transport_sample_at(t, hi, &overflow);
    if (first < slot->skip_before)
        first = slot->skip_before;
    int64_t g = (first + KR_SCHED_GRID - 1) / KR_SCHED_GRID * KR_SCHED_GRID;
    for (; g < last && !overflow; g += KR_SCHED_GRID) {
        kr_rat c0 = kr_transport_cycle_at(t, g, &overflow);
        kr_rat c1 = kr_transport_cycle_at(t, g + KR_SCHED_GRID, &overflow);
        if (query_slot(engine, slot, c0, c1, events, error))
            return -1;
        for (size_t i = 0; i < events->count; i++) {
            double v;
            if (!events->items[i].has_whole && event_number(&events->items[i], slot->control, &v)) {
                if (send_event(engine, g, node, -1, index, v, slot->tag, error))
                    return -1;
                break;
            }
        }
    }
    return time_error(overflow, error) ? -1 : 0;
}

int kr_scheduler_advance(kr_engine *engine, int64_t until, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    if (until <= s->horizon)
        return 0;
    bool overflow = false;
    kr_rat to = kr_transport_cycle_at(&s->transport, until, &overflow);
    if (time_error(overflow, error))
        return -1;
    kr_events events = {0};
    int rc = 0;
    for (int i = 0; i < s->slot_count && rc == 0; i++) {
        kr_slot *slot = &s->slots[i];
        kr_rat lo = kr_rat_max(slot->queued_until, slot->start);
        kr_rat hi = slot->stopping ? kr_rat_min(to, slot->stop) : to;
        if (kr_rat_cmp(lo, hi) >= 0)
            continue;
        kr_node *node = kr_engine_find(engine, slot->node);
        kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
        if (node && !strcmp(slot->control, "gain")) {
            rc = run_control_slot(engine, slot, node, KR_AUTOMATION_GAIN, lo, hi, &events, error);
        } else if (model) {
            if (slot->control[0]) {
                int index = find_control(model, slot->control);
                if (index >= 0)
                    rc = run_control_slot(engine, slot, node, index, lo, hi, &events, error);
            } else {
                rc = run_note_slot(engine, slot, node, model, lo, hi, &events, error);
            }
        }
        slot->queued_until = hi;
    }
    kr_events_free(&events);
    /* Retire the slots that reached their stop. */
    for (int i = s->slot_count - 1; i >= 0; i--)
        if (s->slots[i].stopping && kr_rat_cmp(s->slots[i].queued_until, s->slots[i].stop) >= 0)
            remove_slot(s, i);
    if (rc == 0)
        s->horizon = until;
    return rc;
}

void kr_scheduler_tick(kr_engine *engine)
{
    if (kr_engine_is_offline(engine) || !engine->audio_running || engine->sched.slot_count == 0)
        return;
    int64_t now = (int64_t)atomic_load(&engine->rt.frames);
    int64_t until = now + (int64_t)(KR_SCHED_LOOKAHEAD * engine->rt.sample_rate);
    kr_error error = {0};
    if (kr_scheduler_advance(engine, until, &error))
        kr_logf(engine->log, KR_LOG_ERROR, "scheduler: %s", error.message);
}

/* ---- changes ----------------------------------------------------------------- */

/* Releases the notes a slot holds at `at` (notes ending before `at` keep
 * their gate-off). With `at` < 0, re-sends the gate-off of every note ending
 * at or after `from` at its own end: a cancel from `from` removed them. */
static int release_notes(kr_engine *engine, kr_slot *slot, int64_t at, int64_t from,
                         kr_error *error)
{
    kr_node *node = kr_engine_find(engine, slot->node);
    kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
    if (!model || slot->control[0])
        return 0;
    int gate = find_control(model, "gate");
    for (int v = 0; v < model->voices; v++) {
        kr_voice_note *n = &model->notes[v];
        if (n->tag != slot->tag)
            continue;
        int64_t when = at >= 0 ? at : n->end_sample;
        if ((at >= 0 && n->end_sample < at) || (at < 0 && n->end_sample < from))
            continue;
        if (gate >= 0 && send_event(engine, when, node, v, gate, 0.0, slot->tag, error))
            return -1;
        n->end_sample = when;
    }
    return 0;
}

/* Refuses a pattern with more than KR_SCHED_CYCLE_EVENTS onsets in its
 * cycle 0 (the usual mistake is "x*100000"; a later dense cycle is caught by
 * over_budget). */
static int check_density(const kr_pattern *pattern, kr_error *error)
{
    kr_events events = {0};
    kr_arc first = {kr_rat_int(0), kr_rat_int(1)};
    int rc = kr_pattern_query(pattern, first, &events, error);
    size_t onsets = 0;
    for (size_t i = 0; rc == 0 && i < events.count; i++)
        if (events.items[i].has_whole &&
            kr_rat_eq(events.items[i].part.begin, events.items[i].whole.begin))
            onsets++;
    kr_events_free(&events);
    if (rc == 0 && onsets <= KR_SCHED_CYCLE_EVENTS)
        return 0;
    if (rc == 0 || strstr(error->message, "too many events"))
        kr_error_set(error, "limit", "the pattern plays %s%zu events in one cycle; at most %d "
                     "play per cycle: use a sparser pattern (e.g. fewer repeats in x*N)",
                     rc ? "more than " : "", rc ? (size_t)KR_QUERY_EVENTS : onsets,
                     KR_SCHED_CYCLE_EVENTS);
    return -1;
}

/* Whether `node` can take a pattern on `control` ("" for notes; "gain" is its
 * output gain, which every kind of node has). */
static int check_play_target(kr_node *node, const char *control, kr_error *error)
{
    if (!strcmp(control, "gain"))
        return 0;
    kr_dsp_model *model = kr_dsp_node_model(node);
    if (!model) {
        kr_error_set(error, "bad_value", "'%s' is a %s; patterns play on synths made with "
                     "kr.node() (or on any node's gain: '%s/gain')", node->name,
                     node->type->kind, node->name);
        return -1;
    }
    if (control[0] && find_control(model, control) < 0) {
        kr_error_set(error, "unknown_control", "node '%s' has no control '%s'", node->name,
                     control);
        return -1;
    }
    return 0;
}

int kr_scheduler_play_check(kr_engine *engine, kr_node *const *nodes, int count,
                            const char *control, kr_error *error)
{
    for (int i = 0; i < count; i++)
        if (check_play_target(nodes[i], control, error))
            return -1;
    int free_slots = KR_SCHED_SLOTS - engine->sched.slot_count;
    if (count > free_slots) {
        kr_error_set(error, "limit", "at most %d patterns play at once; hush some first",
                     KR_SCHED_SLOTS);
        return -1;
    }
    return 0;
}

int kr_scheduler_play(kr_engine *engine, kr_node *node, const char *control,
                      kr_pattern *pattern, char *source, bool from_zero, kr_rat *start,
                      uint32_t *tag, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    const char *node_name = node->name;
    if (kr_scheduler_play_check(engine, &node, 1, control, error))
        goto fail;
    bool overflow = false;
    int64_t now = kr_scheduler_now(engine);
    if (check_density(pattern, error))
        goto fail;
    /* The first bar line that sounds at or after `now`: the smallest whole c
     * with ceil(sample(c)) >= now, i.e. sample(c) > now - 1. */
    kr_rat boundary = kr_rat_int(
        kr_rat_floor(kr_transport_cycle_at(&s->transport, now - 1, &overflow)) + 1);
    int64_t boundary_sample = kr_transport_sample_at(&s->transport, boundary, &overflow);
    if (time_error(overflow, error))
        goto fail;
    char full[KR_MAX_NAME + KR_VALUE_NAME];
    snprintf(full, sizeof full, "%s%s%s", node_name, control[0] ? "/" : "", control);
    /* The pattern playing there now stops at the boundary. */
    for (int i = 0; i < s->slot_count; i++) {
        kr_slot *old = &s->slots[i];
        if (old->stopping || strcmp(old->target, full) != 0)
            continue;
        old->stopping = true;
        old->stop = kr_rat_max(boundary, old->start);
        if (send_cancel(engine, old->tag, NULL, -1, boundary_sample, error) ||
            release_notes(engine, old, boundary_sample, 0, error))
            goto fail;
        if (kr_rat_cmp(old->queued_until, old->stop) > 0)
            old->queued_until = old->stop;
    }
    kr_slot *slot = &s->slots[s->slot_count++];
    memset(slot, 0, sizeof *slot);
    slot->tag = s->next_tag++;
    snprintf(slot->node, sizeof slot->node, "%s", node_name);
    snprintf(slot->control, sizeof slot->control, "%s", control);
    snprintf(slot->target, sizeof slot->target, "%s", full);
    slot->pattern = pattern;
    slot->source = source;
    slot->source_bytes = source ? strlen(source) : 0;
    slot->from_zero = from_zero;
    slot->has_signal = contains_signal(pattern);
    slot->start = boundary;
    slot->origin = from_zero ? boundary : kr_rat_int(0);
    slot->queued_until = boundary;
    *start = boundary;
    *tag = slot->tag;
    return 0;
fail:
    kr_pattern_free(pattern);
    free(source);
    return -1;
}

/* Whether hushing `target` (NULL: everything) stops what plays on `node`'s
 * `control` ("" for notes): the target is the node or its group
 * (kr_name_means), or that control of the node or of its group. */
static bool hush_matches(const char *target, const char *node, const char *control)
{
    if (!target || kr_name_means(target, node))
        return true;
    const char *slash = strrchr(target, '/');
    if (!slash || !control[0] || strcmp(slash + 1, control) != 0)
        return false;
    char head[KR_MAX_NAME];
    if ((size_t)(slash - target) >= sizeof head)
        return false;
    snprintf(head, sizeof head, "%.*s", (int)(slash - target), target);
    return kr_name_means(head, node);
}

/* A control (or a node's gain) that a pattern or an automation was moving
 * goes back to its set value — the one `control_get` and `state` report. */
static int restore_control(kr_engine *engine, const char *node_name, const char *control,
                           kr_error *error)
{
    kr_node *node = kr_engine_find(engine, node_name);
    if (!node)
        return 0;
    kr_rt_command cmd = {.ptr = node};
    if (!strcmp(control, "gain")) {
        cmd.type = KR_RT_SET_GAIN;
        cmd.value = node->gain_setting;
        return kr_engine_send(engine, &cmd, error);
    }
    kr_dsp_model *model = kr_dsp_node_model(node);
    int index = model ? find_control(model, control) : -1;
    if (index < 0)
        return 0;
    cmd.type = KR_RT_SET_PARAM;
    cmd.index = KR_DSP_PARAM_CONTROL_BASE + index;
    cmd.value = model->values[index];
    return kr_engine_send(engine, &cmd, error);
}

int kr_scheduler_hush(kr_engine *engine, const char *target, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    int64_t now = kr_scheduler_now(engine);
    int hushed = 0;
    for (int i = s->slot_count - 1; i >= 0; i--) {
        kr_slot *slot = &s->slots[i];
        if (!hush_matches(target, slot->node, slot->control))
            continue;
        if (send_cancel(engine, slot->tag, NULL, -1, now, error) ||
            release_notes(engine, slot, now, 0, error) ||
            (slot->control[0] && restore_control(engine, slot->node, slot->control, error)))
            return -1;
        remove_slot(s, i);
        hushed++;
    }
    for (int i = s->automation_count - 1; i >= 0; i--) {
        kr_sched_automation *a = &s->automations[i];
        if (!hush_matches(target, a->node, a->control))
            continue;
        kr_node *node = kr_engine_find(engine, a->node);
        kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
        kr_rt_command cmd = {.type = KR_RT_AUTOMATE};
        cmd.automation.node = node;
        cmd.automation.shape = KR_AUTO_NONE;
        cmd.automation.index = !strcmp(a->control, "gain") ? KR_AUTOMATION_GAIN
                               : model ? find_control(model, a->control) : -1;
        if (node && (kr_engine_send(engine, &cmd, error) ||
                     restore_control(engine, a->node, a->control, error)))
            return -1;
        forget_automation(s, i);
        hushed++;
    }
    return hushed;
}

int kr_scheduler_set_tempo(kr_engine *engine, kr_rat bpm, int meter, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    int64_t now = kr_scheduler_now(engine);
    if (now < s->transport.current.start_sample)
        now = s->transport.current.start_sample;
    bool overflow = false;
    /* The audio may still be behind earlier changes: keep what it can reach. */
    kr_transport_forget_before(&s->transport, (int64_t)atomic_load(&engine->rt.frames) - 1);
    if (kr_transport_full(&s->transport, now)) {
        kr_error_set(error, "limit", "more than %d tempo changes wait for the audio to reach them; "
                     "send the next one a moment later", KR_TRANSPORT_PAST);
        return -1;
    }
    /* Everything queued from the change on was timed with the old tempo. */
    if (send_cancel(engine, 0, NULL, -1, now, error))
        return -1;
    /* Re-query from the cycle of the last sample before the change (events
     * there stand: they were not cancelled) and skip what sounds before it. */
    kr_rat at = kr_transport_cycle_at(&s->transport, now - 1, &overflow);
    (void)kr_transport_change(&s->transport, now, bpm, meter, &overflow); /* room checked above */
    for (int i = 0; i < s->slot_count; i++) {
        kr_slot *slot = &s->slots[i];
        if (kr_rat_cmp(slot->queued_until, at) > 0)
            slot->queued_until = at;
        slot->skip_before = now;
        /* Notes sounding across the change end when their cycle ends, at the
         * new tempo. */
        kr_node *node = kr_engine_find(engine, slot->node);
        kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
        for (int v = 0; model && v < model->voices; v++) {
            kr_voice_note *n = &model->notes[v];
            if (n->tag == slot->tag && n->end_sample > now)
                n->end_sample = kr_transport_sample_at(&s->transport, n->end_cycle, &overflow);
        }
        if (release_notes(engine, slot, -1, now, error))
            return -1;
    }
    if (s->horizon > now)
        s->horizon = now;
    if (time_error(overflow, error) || resend_automations(engine, NULL, now, false, error))
        return -1;
    return 0;
}

void kr_scheduler_node_changed(kr_engine *engine, const char *name, bool removed)
{
    kr_scheduler *s = &engine->sched;
    kr_node *node = kr_engine_find(engine, name);
    kr_error error = {0};
    if (!node)
        return;
    /* Queued events and automations name the node (and, for DSP nodes,
     * control indices of its old program): drop them all. */
    kr_rt_command forget = {.type = KR_RT_FORGET_NODE, .ptr = node};
    if (kr_engine_send(engine, &forget, &error))
        kr_logf(engine->log, KR_LOG_ERROR, "scheduler: %s", error.message);
    int64_t audio = (int64_t)atomic_load(&engine->rt.frames);
    bool overflow = false;
    kr_rat at = kr_transport_cycle_at(&s->transport, audio - 1, &overflow);
    for (int i = s->slot_count - 1; i >= 0; i--) {
        kr_slot *slot = &s->slots[i];
        if (strcmp(slot->node, name) != 0)
            continue;
        if (removed) {
            remove_slot(s, i);
            continue;
        }
        if (kr_rat_cmp(slot->queued_until, at) > 0)
            slot->queued_until = at;
        slot->skip_before = audio;
        if (release_notes(engine, slot, -1, audio, &error))
            kr_logf(engine->log, KR_LOG_ERROR, "scheduler: %s", error.message);
    }
    if (!removed && s->horizon > audio)
        s->horizon = audio;
    for (int i = s->automation_count - 1; i >= 0; i--)
        if (removed && !strcmp(s->automations[i].node, name))
            forget_automation(s, i);
    /* A new DSP may number its controls differently: send them again. */
    if (!removed && resend_automations(engine, name, kr_scheduler_now(engine), true, &error))
        kr_logf(engine->log, KR_LOG_ERROR, "scheduler: %s", error.message);
}

/* ---- automation -------------------------------------------------------------- */

/* How an automation reaches the audio thread: new (a fade starts from
 * wherever its parameter is then), re-timed after a tempo change (the running
 * one keeps its range), or sent again after the node forgot it (a new DSP). */
typedef enum { AUTO_NEW, AUTO_RETIME, AUTO_RESEND } auto_send;

/* Sends `a` to the audio thread with its phase taken at sample `at`. */
static int send_automation(kr_engine *engine, const kr_sched_automation *a, int64_t at,
                           auto_send how, kr_error *error)
{
    kr_node *node = kr_engine_find(engine, a->node);
    kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
    if (!node)
        return 0;
    int index = KR_AUTOMATION_GAIN;
    if (strcmp(a->control, "gain") != 0) {
        index = model ? find_control(model, a->control) : -1;
        if (index < 0)
            return 0; /* the control went away with a new DSP */
    }
    kr_transport *t = &engine->sched.transport;
    bool overflow = false;
    kr_rat now = kr_transport_cycle_at(t, at, &overflow);
    kr_rat phase = kr_rat_div(a->shape == KR_AUTO_FADE ? kr_rat_sub(now, a->start, &overflow)
                                                      : now,
                              a->bars, &overflow);
    if (time_error(overflow, error))
        return -1;
    kr_rt_command cmd = {.type = KR_RT_AUTOMATE};
    cmd.automation = (kr_automation){
        .node = node, .index = index, .shape = a->shape, .lo = a->lo, .hi = a->hi,
        .phase0 = kr_rat_to_double(kr_rat_frac(phase, &overflow)) +
                  (a->shape == KR_AUTO_FADE ? (double)kr_rat_floor(phase) : 0.0),
        .sample0 = at,
        .rate = 1.0 / (kr_rat_to_double(a->bars) *
                       kr_rat_to_double(t->current.samples_per_cycle)),
        .from_current = how == AUTO_NEW && a->shape == KR_AUTO_FADE,
        .retime_only = how == AUTO_RETIME && a->shape == KR_AUTO_FADE,
    };
    return kr_engine_send(engine, &cmd, error);
}

static int resend_automations(kr_engine *engine, const char *node, int64_t at, bool forgotten,
                              kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    for (int i = 0; i < s->automation_count; i++)
        if ((!node || !strcmp(s->automations[i].node, node)) &&
            send_automation(engine, &s->automations[i], at, forgotten ? AUTO_RESEND : AUTO_RETIME,
                            error))
            return -1;
    return 0;
}

static void forget_automation(kr_scheduler *s, int i)
{
    s->automations[i] = s->automations[--s->automation_count];
}

/* The nodes an automation `target` means ("node/control", "node/gain"; the
 * node may be a group), into `nodes`, with the control into `control`. Every
 * member must have the control; returns how many, or -1. */
static int automation_targets(kr_engine *engine, const char *target, kr_node **nodes,
                              char control[KR_VALUE_NAME], kr_error *error)
{
    int count = kr_engine_resolve_target(engine, target, "", nodes, control, error);
    if (count < 0)
        return -1;
    if (!control[0]) {
        kr_error_set(error, "bad_value", "automation needs a target like \"bass/cutoff\" or "
                     "\"bass/gain\", not '%.80s'", target);
        return -1;
    }
    for (int i = 0; strcmp(control, "gain") && i < count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(nodes[i]);
        if (!model || find_control(model, control) < 0) {
            kr_error_set(error, "unknown_control", "node '%s' has no control '%s'",
                         nodes[i]->name, control);
            return -1;
        }
    }
    return count;
}

/* The value `control` of `node` is set to now (what a fade starts from). */
static double set_value(kr_node *node, const char *control)
{
    if (!strcmp(control, "gain"))
        return node->gain_setting;
    kr_dsp_model *model = kr_dsp_node_model(node);
    return model->values[find_control(model, control)];
}

/* Fades whose end has passed are done: the audio thread dropped them itself. */
void kr_scheduler_forget_finished(kr_engine *engine)
{
    kr_scheduler *s = &engine->sched;
    bool overflow = false;
    kr_rat now = kr_transport_cycle_at(&s->transport, (int64_t)atomic_load(&engine->rt.frames),
                                       &overflow);
    for (int i = s->automation_count - 1; i >= 0; i--) {
        const kr_sched_automation *a = &s->automations[i];
        if (a->shape == KR_AUTO_FADE &&
            kr_rat_cmp(kr_rat_add(a->start, a->bars, &overflow), now) <= 0)
            forget_automation(s, i);
    }
}

static int install_automation(kr_engine *engine, kr_sched_automation *a, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    kr_scheduler_forget_finished(engine);
    int i = 0;
    while (i < s->automation_count &&
           (strcmp(s->automations[i].node, a->node) || strcmp(s->automations[i].control, a->control)))
        i++;
    if (i == s->automation_count) {
        if (s->automation_count >= KR_AUTOMATIONS) {
            kr_error_set(error, "limit", "at most %d automations run at once; hush some first",
                         KR_AUTOMATIONS);
            return -1;
        }
        s->automation_count++;
    }
    s->automations[i] = *a;
    return send_automation(engine, a, kr_scheduler_now(engine), AUTO_NEW, error);
}

/* Whether `count` new automations on `control` fit beside the running ones. */
static int automation_room(kr_engine *engine, kr_node *const *nodes, int count,
                           const char *control, kr_error *error)
{
    kr_scheduler *s = &engine->sched;
    kr_scheduler_forget_finished(engine);
    int added = 0;
    for (int i = 0; i < count; i++) {
        bool running = false;
        for (int k = 0; k < s->automation_count && !running; k++)
            running = !strcmp(s->automations[k].node, nodes[i]->name) &&
                      !strcmp(s->automations[k].control, control);
        added += !running;
    }
    if (s->automation_count + added > KR_AUTOMATIONS) {
        kr_error_set(error, "limit", "at most %d automations run at once; hush some first",
                     KR_AUTOMATIONS);
        return -1;
    }
    return 0;
}

int kr_scheduler_mod(kr_engine *engine, const char *target, kr_auto_shape shape, double lo,
                     double hi, kr_rat bars, kr_error *error)
{
    kr_node *nodes[KR_MAX_NODES];
    char control[KR_VALUE_NAME];
    int count = automation_targets(engine, target, nodes, control, error);
    if (count < 0 || automation_room(engine, nodes, count, control, error))
        return -1;
    for (int i = 0; i < count; i++) {
        kr_sched_automation a = {.shape = shape, .lo = lo, .hi = hi, .bars = bars};
        snprintf(a.node, sizeof a.node, "%s", nodes[i]->name);
        snprintf(a.control, sizeof a.control, "%s", control);
        if (install_automation(engine, &a, error))
            return -1;
    }
    return 0;
}

int kr_scheduler_fade(kr_engine *engine, const char *target, double value, kr_rat bars,
                      kr_error *error)
{
    kr_node *nodes[KR_MAX_NODES];
    char control[KR_VALUE_NAME];
    int count = automation_targets(engine, target, nodes, control, error);
    if (count < 0 || automation_room(engine, nodes, count, control, error))
        return -1;
    bool overflow = false;
    kr_rat start = kr_transport_cycle_at(&engine->sched.transport, kr_scheduler_now(engine),
                                         &overflow);
    if (time_error(overflow, error))
        return -1;
    for (int i = 0; i < count; i++) {
        kr_sched_automation a = {.shape = KR_AUTO_FADE, .lo = set_value(nodes[i], control),
                                 .hi = value, .bars = bars, .start = start};
        snprintf(a.node, sizeof a.node, "%s", nodes[i]->name);
        snprintf(a.control, sizeof a.control, "%s", control);
        if (install_automation(engine, &a, error))
            return -1;
        /* The model holds where the value is going. */
        kr_dsp_model *model = kr_dsp_node_model(nodes[i]);
        if (!strcmp(control, "gain"))
            nodes[i]->gain_setting = value;
        else
            model->values[find_control(model, control)] = value;
    }
    return 0;
}
