/* cmd_transport.c — patterns, tempo and automation: play, hush, stop, tempo,
 * meter, transport, mod, fade. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "krach/mini.h"
#include "krach/pattern.h"
#include "krach/scheduler.h"
#include "node_source.h"
#include "request.h"

/* The request's pattern: "pattern" (IR) or "mini" (text), exactly one. */
kr_pattern *kr_request_pattern(kr_request *req)
{
    json_t *ir = json_object_get(req->json, "pattern");
    const char *mini = NULL;
    if (kr_field_string(req->json, req->cmd, "mini", false, &mini, &req->error) < 0)
        return NULL;
    if (!!ir == !!mini) {
        kr_error_set(&req->error, ir ? "bad_request" : "missing_field", "%s needs exactly one "
                     "of 'pattern' (a pattern IR, see docs/pattern-ir.md) or 'mini' "
                     "(mini-notation text)", req->cmd);
        return NULL;
    }
    return ir ? kr_pattern_from_json(ir, &req->error) : kr_mini_parse(mini, &req->error);
}

static json_t *time_json(kr_rat t)
{
    char text[48];
    kr_rat_format(t, text, sizeof text);
    return json_string(text);
}

/* The stored-source budget for a play on `count` nodes: the new source is kept
 * once per member, and replaces what each member's slot keeps now. */
static int play_source_check(kr_engine *engine, kr_node **nodes, int count, const char *control,
                             size_t bytes, kr_error *error)
{
    size_t total = kr_source_bytes(engine, NULL, NULL), replaced = 0;
    for (int i = 0; i < count; i++) {
        char full[KR_MAX_NAME + KR_VALUE_NAME];
        snprintf(full, sizeof full, "%s%s%s", nodes[i]->name, control[0] ? "/" : "", control);
        replaced += total - kr_source_bytes(engine, NULL, full);
    }
    return kr_source_check("this pattern", total - replaced, bytes * (size_t)count, error);
}

int kr_cmd_play(kr_request *req)
{
    const char *target;
    bool from_zero = false;
    if (kr_field_string(req->json, req->cmd, "target", true, &target, &req->error) < 0 ||
        kr_field_bool(req->json, req->cmd, "from_zero", &from_zero, &req->error) < 0)
        return -1;
    kr_pattern *pattern = kr_request_pattern(req);
    if (!pattern)
        return -1;
    /* Kept as given, so `state` can hand the session to another client. */
    json_t *kept = json_object();
    json_t *ir = json_object_get(req->json, "pattern");
    if (ir)
        json_object_set(kept, "pattern", ir);
    else
        json_object_set(kept, "mini", json_object_get(req->json, "mini"));
    char *source = json_dumps(kept, JSON_COMPACT);
    json_decref(kept);
    /* A group plays on each member: one slot (and one parsed pattern) each. */
    kr_node *nodes[KR_MAX_NODES];
    char control[KR_VALUE_NAME];
    int count = kr_engine_resolve_target(req->engine, target, "; create it first with kr.node()",
                                         nodes, control, &req->error);
    if (count < 0 || kr_scheduler_play_check(req->engine, nodes, count, control, &req->error) ||
        (source && play_source_check(req->engine, nodes, count, control, strlen(source),
                                     &req->error))) {
        kr_pattern_free(pattern);
        free(source);
        return -1;
    }
    kr_rat start;
    uint32_t tag, first_tag = 0;
    json_t *members = json_array();
    for (int i = 0; i < count; i++) {
        kr_pattern *mine = i == 0 ? pattern : kr_request_pattern(req);
        char *text = i == count - 1 ? source : strdup(source);
        if (!mine || !text ||
            kr_scheduler_play(req->engine, nodes[i], control, mine, text, from_zero, &start,
                              &tag, &req->error)) {
            if (!mine || !text) {
                kr_pattern_free(mine);
                free(text);
                kr_error_set(&req->error, "io_error", "out of memory");
            }
            if (i < count - 1)
                free(source);
            json_decref(members);
            return -1;
        }
        first_tag = i == 0 ? tag : first_tag;
        json_array_append_new(members, json_string(nodes[i]->name));
    }
    json_object_set_new(req->reply, "target", json_string(target));
    json_object_set_new(req->reply, "start", time_json(start));
    json_object_set_new(req->reply, "tag", json_integer(first_tag));
    if (count > 1 || strcmp(nodes[0]->name, target) != 0)
        json_object_set_new(req->reply, "nodes", members);
    else
        json_decref(members);
    return 0;
}

int kr_cmd_hush(kr_request *req)
{
    const char *target = NULL;
    if (strcmp(req->cmd, "hush") == 0 &&
        kr_field_string(req->json, req->cmd, "target", true, &target, &req->error) < 0)
        return -1;
    /* A name that means no node is a mistake to report, not "nothing to hush". */
    kr_node *nodes[KR_MAX_NODES];
    char control[KR_VALUE_NAME];
    if (target && kr_engine_resolve_target(req->engine, target, "", nodes, control,
                                           &req->error) < 0)
        return -1;
    int n = kr_scheduler_hush(req->engine, target, &req->error);
    if (n < 0)
        return -1;
    json_object_set_new(req->reply, "hushed", json_integer(n));
    return 0;
}

static void describe_transport(kr_request *req)
{
    kr_engine *e = req->engine;
    const kr_transport *t = &e->sched.transport;
    bool overflow = false;
    int64_t sample = (int64_t)atomic_load(&e->rt.frames);
    json_object_set_new(req->reply, "sample", json_integer(sample));
    json_object_set_new(req->reply, "cycle", time_json(kr_engine_cycle_now(e, &overflow)));
    json_object_set_new(req->reply, "bpm", json_real(kr_rat_to_double(t->current.bpm)));
    json_object_set_new(req->reply, "beats", json_integer(t->current.meter));
}

/* tempo and meter share one change: either may be given to either command. */
int kr_cmd_tempo(kr_request *req)
{
    kr_engine *e = req->engine;
    const kr_tempo_segment *now = &e->sched.transport.current;
    double bpm_value;
    long long beats = now->meter;
    int has_bpm = kr_field_number(req->json, req->cmd, "bpm", false, 1.0, 999.0, &bpm_value,
                                  &req->error);
    int has_beats = kr_field_integer(req->json, req->cmd, "beats", false, 1, 64, &beats,
                                     &req->error);
    if (has_bpm < 0 || has_beats < 0)
        return -1;
    if (has_bpm || has_beats) {
        kr_rat bpm = now->bpm;
        /* BPM arrive as decimals: keep them exact to a thousandth. */
        if (has_bpm && kr_rat_from_double(bpm_value, &bpm)) {
            bool overflow = false;
            bpm = kr_rat_make((int64_t)llround(bpm_value * 1000.0), 1000, &overflow);
        }
        if (kr_scheduler_set_tempo(e, bpm, (int)beats, &req->error))
            return -1;
        kr_logf(e->log, KR_LOG_INFO, "tempo %g bpm, %lld beats per cycle",
                kr_rat_to_double(bpm), beats);
    }
    describe_transport(req);
    return 0;
}

int kr_cmd_transport(kr_request *req)
{
    kr_scheduler_forget_finished(req->engine);
    describe_transport(req);
    const kr_scheduler *s = &req->engine->sched;
    json_t *list = json_array();
    for (int i = 0; i < s->slot_count; i++) {
        const kr_slot *slot = &s->slots[i];
        json_t *item = json_pack("{s:s, s:o, s:i}", "target", slot->target, "start",
                                 time_json(slot->start), "tag", (int)slot->tag);
        if (slot->stopping)
            json_object_set_new(item, "stop", time_json(slot->stop));
        json_array_append_new(list, item);
    }
    json_object_set_new(req->reply, "patterns", list);
    json_t *autos = json_array();
    for (int i = 0; i < s->automation_count; i++) {
        const kr_sched_automation *a = &s->automations[i];
        char target[KR_MAX_NAME + KR_VALUE_NAME];
        snprintf(target, sizeof target, "%s/%s", a->node, a->control);
        json_array_append_new(autos, json_pack("{s:s, s:s}", "target", target, "kind",
                                               a->shape == KR_AUTO_FADE ? "fade" : "mod"));
    }
    json_object_set_new(req->reply, "automations", autos);
    return 0;
}

static int positive_bars(kr_request *req, kr_rat *bars)
{
    if (kr_field_time(req->json, req->cmd, "bars", true, bars, &req->error) < 0)
        return -1;
    if (bars->num <= 0) {
        kr_error_set(&req->error, "bad_value", "%s: 'bars' must be more than 0", req->cmd);
        return -1;
    }
    return 0;
}

int kr_cmd_mod(kr_request *req)
{
    const char *target, *shape_name;
    double lo, hi;
    kr_rat bars;
    if (kr_field_string(req->json, req->cmd, "target", true, &target, &req->error) < 0 ||
        kr_field_string(req->json, req->cmd, "shape", true, &shape_name, &req->error) < 0 ||
        kr_field_number(req->json, req->cmd, "lo", true, -HUGE_VAL, HUGE_VAL, &lo,
                        &req->error) < 0 ||
        kr_field_number(req->json, req->cmd, "hi", true, -HUGE_VAL, HUGE_VAL, &hi,
                        &req->error) < 0 ||
        positive_bars(req, &bars))
        return -1;
    static const struct { const char *name; kr_auto_shape shape; } shapes[] = {
        {"sine", KR_AUTO_SINE}, {"tri", KR_AUTO_TRI}, {"ramp", KR_AUTO_RAMP},
        {"square", KR_AUTO_SQUARE},
    };
    kr_auto_shape shape = KR_AUTO_NONE;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(shapes[i].name, shape_name))
            shape = shapes[i].shape;
    if (shape == KR_AUTO_NONE) {
        kr_error_set(&req->error, "bad_value", "mod: shape '%.40s' is not one of sine, tri, "
                     "ramp, square", shape_name);
        return -1;
    }
    if (kr_scheduler_mod(req->engine, target, shape, lo, hi, bars, &req->error))
        return -1;
    json_object_set_new(req->reply, "target", json_string(target));
    return 0;
}

int kr_cmd_fade(kr_request *req)
{
    const char *target;
    double value;
    kr_rat bars;
    if (kr_field_string(req->json, req->cmd, "target", true, &target, &req->error) < 0 ||
        kr_field_number(req->json, req->cmd, "value", true, -HUGE_VAL, HUGE_VAL, &value,
                        &req->error) < 0 ||
        positive_bars(req, &bars) ||
        kr_scheduler_fade(req->engine, target, value, bars, &req->error))
        return -1;
    json_object_set_new(req->reply, "target", json_string(target));
    return 0;
}

/* Tests: every event the audio thread applied since the last call, with the
 * sample it was due and the sample it was applied at. */
int kr_cmd_applied_events(kr_request *req)
{
    kr_engine *e = req->engine;
    if (!e->config.record_events) {
        kr_error_set(&req->error, "disabled", "applied_events is for tests; start the engine "
                     "with --record-events");
        return -1;
    }
    kr_engine_collect(e);
    json_t *list = json_array();
    for (size_t i = 0; i < e->applied_count; i++) {
        const kr_applied_event *a = &e->applied[i];
        json_array_append_new(list, json_pack("{s:I, s:I, s:i, s:i, s:f}", "due",
                                              (json_int_t)a->due, "applied",
                                              (json_int_t)a->applied, "tag", (int)a->tag,
                                              "index", a->index, "value", a->value));
    }
    json_object_set_new(req->reply, "events", list);
    json_object_set_new(req->reply, "dropped", json_integer((json_int_t)e->applied_dropped));
    e->applied_count = 0;
    e->applied_dropped = 0;
    return 0;
}
