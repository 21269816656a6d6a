/* cmd_node.c — DSP nodes: compile, create/replace, remove, gain, controls. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "krach/dsp.h"
#include "krach/dsp_node.h"
#include "krach/ir.h"
#include "node_source.h"
#include "request.h"

/* ---- helpers --------------------------------------------------------------- */

/* Builds the program the request names ("ir" or "type", see node_source.h);
 * times it. */
static kr_dsp_program *compile_request(kr_request *req, kr_node_source *source, double *micros)
{
    if (kr_node_source_parse(req->json, req->cmd, source, &req->error))
        return NULL;
    if (req->precompiled) { /* a batch compiled it while checking */
        kr_dsp_program_retain(req->precompiled);
        *micros = 0.0;
        return req->precompiled;
    }
    double start = kr_monotonic_seconds();
    kr_dsp_program *program = kr_node_source_build(req->engine, req->json, source, &req->error);
    *micros = (kr_monotonic_seconds() - start) * 1e6;
    return program;
}

/* The state limits of dsp_node.h, for `node` (NULL when new) about to play
 * `count` voices of `p`. */
static int check_state(kr_engine *e, kr_node *node, const char *name, const kr_dsp_program *p,
                       int count, kr_error *error)
{
    size_t others = 0;
    for (int i = 0; i < e->node_count; i++) {
        kr_dsp_model *m = kr_dsp_node_model(e->nodes[i]);
        if (m && e->nodes[i] != node)
            others += kr_dsp_voices_bytes(m->program, m->voices);
    }
    return kr_dsp_check_state(name, kr_dsp_voices_bytes(p, count), others, error);
}

static json_t *control_json(const kr_ir_control *c, double value)
{
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "name", c->name, "value", value, "init",
                     c->init, "lo", c->lo, "hi", c->hi, "step", c->step);
}

static void describe_program(json_t *reply, const kr_dsp_program *p, const double *values,
                             double micros)
{
    json_object_set_new(reply, "inputs", json_integer(kr_dsp_program_inputs(p)));
    json_object_set_new(reply, "outputs", json_integer(kr_dsp_program_outputs(p)));
    json_t *controls = json_array();
    for (int i = 0; i < kr_dsp_program_control_count(p); i++) {
        const kr_ir_control *c = kr_dsp_program_control(p, i);
        json_array_append_new(controls, control_json(c, values ? values[i] : c->init));
    }
    json_object_set_new(reply, "controls", controls);
    char hash[17];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)kr_dsp_program_hash(p));
    json_object_set_new(reply, "hash", json_string(hash));
    json_object_set_new(reply, "compile_us", json_real(micros));
    json_object_set_new(reply, "backend",
                        json_string(kr_node_source_backend_name(kr_dsp_program_backend(p))));
    const kr_dsp_stats *st = kr_dsp_program_stats(p);
    json_object_set_new(reply, "program",
                        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I}", "ir_nodes",
                                  st->ir_nodes, "nodes", st->nodes, "constants", st->constants,
                                  "block_rate", st->block_rate, "sample_rate", st->sample_rate,
                                  "steps", st->steps, "loops", st->loops, "state_bytes",
                                  (json_int_t)st->state_bytes));
}

static void list_controls(const kr_dsp_program *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    int n = kr_dsp_program_control_count(p);
    if (n == 0)
        snprintf(buf, len, "none");
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s'%s'", i ? ", " : "",
                                 kr_dsp_program_control(p, i)->name);
}

static kr_node *find_node(kr_request *req, const char *name)
{
    return kr_engine_resolve_one(req->engine, name, "; create it first with kr.node()",
                                 &req->error);
}

static kr_dsp_model *find_dsp(kr_request *req, const char *name)
{
    kr_node *node = find_node(req, name);
    if (!node)
        return NULL;
    kr_dsp_model *model = kr_dsp_node_model(node);
    if (!model)
        kr_error_set(&req->error, "bad_value", "node '%s' is a %s, which has no DSP controls",
                     name, node->type->kind);
    return model;
}

/* Clamps `value` into the control's range, logging the first time per control. */
static double clamp_control(kr_request *req, const char *node, const kr_ir_control *c,
                            unsigned char *warned, double value, bool *clamped)
{
    double v = value < c->lo ? c->lo : value > c->hi ? c->hi : value;
    *clamped = v != value;
    if (*clamped && warned && !*warned) {
        *warned = 1;
        kr_logf(req->engine->log, KR_LOG_WARN, "%s/%s: %g is outside [%g, %g]; clamped to %g "
                "(reported once)", node, c->name, value, c->lo, c->hi, v);
    }
    return v;
}

/* Applies the request's "controls" object to `values` (by the program's
 * indices), clamping. Unknown names and non-numbers are errors. */
int kr_node_set_check(json_t *fields, const char *cmd, const char *name,
                      const kr_dsp_program *p, kr_error *error)
{
    double gain;
    if (kr_field_number(fields, cmd, "gain", false, 0.0, 4.0, &gain, error) < 0)
        return -1;
    json_t *controls = json_object_get(fields, "controls");
    if (!controls)
        return 0;
    if (!json_is_object(controls)) {
        kr_error_set(error, "bad_type", "%s: 'controls' must be an object of control values, "
                     "e.g. {\"cutoff\": 1200}", cmd);
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach(controls, key, value) {
        if (kr_dsp_program_find_control(p, key) < 0) {
            char known[512];
            list_controls(p, known, sizeof known);
            kr_error_set(error, "unknown_control", "%s: node '%s' has no control '%s' (its "
                         "controls: %s)", cmd, name, key, known);
            return -1;
        }
        if (!json_is_number(value)) {
            kr_error_set(error, "bad_type", "%s: control '%s' must be a number", cmd, key);
            return -1;
        }
    }
    return 0;
}

/* Applies the request's "controls" (checked by kr_node_set_check) to
 * `values`, by the program's indices, clamping. */
static void apply_initial_controls(kr_request *req, const char *name, const kr_dsp_program *p,
                                   double *values, json_t *clamped_list)
{
    json_t *controls = json_object_get(req->json, "controls");
    const char *key;
    json_t *value;
    json_object_foreach(controls, key, value) {
        int index = kr_dsp_program_find_control(p, key);
        bool clamped;
        values[index] = clamp_control(req, name, kr_dsp_program_control(p, index), NULL,
                                      json_number_value(value), &clamped);
        if (clamped)
            json_array_append_new(clamped_list, json_string(key));
    }
}

static int send_control(kr_request *req, kr_node *node, int index, double value)
{
    kr_rt_command cmd = {.type = KR_RT_SET_PARAM, .ptr = node,
                         .index = KR_DSP_PARAM_CONTROL_BASE + index, .value = value};
    return kr_engine_send(req->engine, &cmd, &req->error);
}

/* ---- commands ---------------------------------------------------------------- */

int kr_cmd_compile(kr_request *req)
{
    double micros;
    kr_node_source source;
    kr_dsp_program *p = compile_request(req, &source, &micros);
    if (!p)
        return -1;
    describe_program(req->reply, p, NULL, micros);
    kr_dsp_program_release(p);
    return 0;
}

void kr_dsp_model_carry_values(const kr_dsp_model *old, const kr_dsp_program *p, double *values)
{
    for (int i = 0; i < kr_dsp_program_control_count(p); i++) {
        const kr_ir_control *c = kr_dsp_program_control(p, i);
        int j = old ? kr_dsp_program_find_control(old->program, c->name) : -1;
        double v = j >= 0 ? old->values[j] : c->init;
        values[i] = v < c->lo ? c->lo : v > c->hi ? c->hi : v;
    }
}

/* Sends `voices` (taken) to replace a synth node's sound with a crossfade,
 * and makes them the model. */
static int swap_voices(kr_engine *e, kr_node *node, kr_dsp_program *p, kr_dsp_voices *voices,
                       int count, const double *values, kr_error *error)
{
    kr_dsp_model *model = kr_dsp_node_model(node);
    /* What the model was, to put back if the audio thread refuses the swap:
     * the model must describe what actually plays. */
    kr_dsp_program *old_program = model->program;
    int old_voices = model->voices;
    double old_values[KR_IR_MAX_CONTROLS + 1];
    memcpy(old_values, model->values,
           (size_t)kr_dsp_program_control_count(old_program) * sizeof *old_values);
    kr_dsp_program_retain(old_program);
    int rc = 0;
    if (kr_node_ensure_inputs(node, kr_dsp_program_inputs(p)) ||
        kr_engine_reserve_retire(e, error) || kr_dsp_model_replace(model, p, count, values)) {
        if (!error->code)
            kr_error_set(error, "io_error", "out of memory replacing '%s'", node->name);
        rc = -1;
    } else {
        kr_rt_command cmd = {.type = KR_RT_NODE_SWAP, .ptr = node, .payload = voices};
        rc = kr_engine_send(e, &cmd, error);
        if (rc == 0) {
            e->retires_pending++;
            kr_scheduler_node_changed(e, node->name, false);
        } else {
            kr_dsp_model_replace(model, old_program, old_voices, old_values);
        }
    }
    if (rc)
        kr_dsp_voices_destroy(voices);
    kr_dsp_program_release(old_program);
    return rc;
}

int kr_dsp_node_redefine(kr_engine *e, kr_node *node, kr_dsp_program *p, kr_error *error)
{
    kr_dsp_model *model = kr_dsp_node_model(node);
    double values[KR_IR_MAX_CONTROLS + 1];
    kr_dsp_model_carry_values(model, p, values);
    kr_dsp_voices *voices = kr_dsp_voices_create(p, model->voices, values);
    if (!voices) {
        kr_error_set(error, "io_error", "out of memory instantiating '%s'", node->name);
        return -1;
    }
    return swap_voices(e, node, p, voices, model->voices, values, error);
}

int kr_cmd_node_set(kr_request *req)
{
    kr_engine *e = req->engine;
    const char *name;
    double gain = 0.5, micros = 0;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ||
        (!req->precompiled && /* a batch checks its sources as a whole, first */
         kr_source_check_node(e, name, json_object_get(req->json, "ir"), &req->error)))
        return -1;
    int has_gain = kr_field_number(req->json, req->cmd, "gain", false, 0.0, 4.0, &gain,
                                   &req->error);
    if (has_gain < 0)
        return -1;
    long long count = 1;
    int has_count = kr_field_integer(req->json, req->cmd, "count", false, 1, KR_MAX_VOICES,
                                     &count, &req->error);
    if (has_count < 0)
        return -1;
    kr_node *node = kr_engine_find(e, name);
    kr_dsp_model *model = node ? kr_dsp_node_model(node) : NULL;
    if (node && !model) {
        kr_error_set(&req->error, "exists", "node '%s' is a %s, not a synth; remove it first "
                     "or choose another name", name, node->type->kind);
        return -1;
    }
    if (model && !has_count)
        count = model->voices; /* a replacement keeps the voice count unless told */
    kr_node_source source;
    kr_dsp_program *p = compile_request(req, &source, &micros);
    if (!p)
        return -1;
    int n = kr_dsp_program_control_count(p);
    double values[KR_IR_MAX_CONTROLS + 1];
    json_t *clamped = json_array();
    kr_dsp_model_carry_values(model, p, values);
    int rc = kr_node_set_check(req->json, req->cmd, name, p, &req->error);
    if (rc == 0)
        apply_initial_controls(req, name, p, values, clamped);
    bool kept = false, created = !node;

    /* A faulted node's state is poisoned: even the same program is re-instantiated. */
    if (rc == 0 && model && model->voices == count && kr_dsp_program_equal(model->program, p) &&
        !atomic_load(&node->faulted)) {
        /* Same program: keep the running instance and its state. */
        kept = true;
        for (int i = 0; rc == 0 && i < n; i++)
            if (values[i] != model->values[i]) {
                rc = send_control(req, node, i, values[i]);
                model->values[i] = values[i];
            }
    } else if (rc == 0 && check_state(e, node, name, p, (int)count, &req->error)) {
        rc = -1;
    } else if (rc == 0) {
        kr_dsp_voices *inst = kr_dsp_voices_create(p, (int)count, values);
        if (!inst) {
            kr_error_set(&req->error, "io_error", "out of memory instantiating '%s'", name);
            rc = -1;
        } else {
            if (!node) {
                node = kr_dsp_node_create(name, e->rt.sample_rate, (float)gain, inst, values);
                if (node)
                    node->gain_setting = gain; /* the float on the audio thread, the double here */
                if (node && kr_node_ensure_inputs(node, kr_dsp_program_inputs(p))) {
                    kr_node_destroy(node);
                    node = NULL;
                }
                if (!node) {
                    kr_error_set(&req->error, "io_error", "out of memory creating '%s'", name);
                    rc = -1;
                } else {
                    rc = kr_engine_add_node(e, node, &req->error);
                    node = rc == 0 ? node : NULL;
                }
            } else {
                rc = swap_voices(e, node, p, inst, (int)count, values, &req->error);
            }
        }
    }
    if (rc == 0) {
        /* Remember the source as sent, for `state`: the IR (NULL for a FAUST
         * file), the backend asked for, the file's type. */
        kr_dsp_model *m = kr_dsp_node_model(node);
        json_t *ir = json_object_get(req->json, "ir");
        free(m->ir_text);
        m->ir_text = ir ? json_dumps(ir, JSON_COMPACT) : NULL;
        m->ir_bytes = m->ir_text ? strlen(m->ir_text) : 0;
        m->backend = source.backend;
        snprintf(m->faust_type, sizeof m->faust_type, "%s", source.faust_type);
    }
    if (rc == 0 && !created && has_gain) {
        kr_rt_command cmd = {.type = KR_RT_SET_GAIN, .ptr = node, .value = gain};
        rc = kr_engine_send(e, &cmd, &req->error);
        if (rc == 0)
            node->gain_setting = gain;
    }
    if (rc == 0) {
        json_object_set_new(req->reply, "name", json_string(name));
        json_object_set_new(req->reply, "created", json_boolean(created));
        json_object_set_new(req->reply, "kept_state", json_boolean(kept));
        json_object_set_new(req->reply, "gain", json_real(node->gain_setting));
        json_object_set_new(req->reply, "count", json_integer(count));
        describe_program(req->reply, p, values, micros);
        if (json_array_size(clamped))
            json_object_set(req->reply, "clamped", clamped);
        kr_logf(e->log, KR_LOG_INFO, "node '%s' %s (%d nodes, %.1f us)", name,
                created ? "created" : kept ? "unchanged, state kept" : "replaced",
                kr_dsp_program_stats(p)->nodes, micros);
    }
    json_decref(clamped);
    kr_dsp_program_release(p);
    return rc;
}

int kr_cmd_node_remove(kr_request *req)
{
    const char *name;
    kr_node *nodes[KR_MAX_NODES];
    int count = kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ? -1 :
                kr_engine_resolve(req->engine, name, "; create it first with kr.node()", nodes,
                                  &req->error);
    if (count < 0)
        return -1;
    /* A group goes member by member; the names are copied first because a
     * removed node is freed. */
    char names[KR_MAX_NODES][KR_MAX_NAME];
    for (int i = 0; i < count; i++)
        snprintf(names[i], KR_MAX_NAME, "%s", nodes[i]->name);
    json_t *removed = json_array();
    for (int i = 0; i < count; i++) {
        if (kr_engine_remove_node(req->engine, names[i], &req->error)) {
            json_decref(removed);
            return -1;
        }
        json_array_append_new(removed, json_string(names[i]));
    }
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set_new(req->reply, "nodes", removed);
    return 0;
}

/* A node's gain, or (a group name) every member's: read or set. */
int kr_cmd_node_gain(kr_request *req)
{
    const char *name;
    double gain;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0)
        return -1;
    int has = kr_field_number(req->json, req->cmd, "gain", false, 0.0, 4.0, &gain, &req->error);
    kr_node *nodes[KR_MAX_NODES];
    int count = has < 0 ? 0 : kr_request_group(req, name, nodes);
    if (count == 0)
        return -1;
    for (int i = 0; has && i < count; i++) {
        kr_rt_command cmd = {.type = KR_RT_SET_GAIN, .ptr = nodes[i], .value = gain};
        if (kr_engine_send(req->engine, &cmd, &req->error))
            return -1;
        nodes[i]->gain_setting = gain;
    }
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set_new(req->reply, "gain", json_real(nodes[0]->gain_setting));
    if (count > 1 || strcmp(nodes[0]->name, name) != 0) {
        json_t *members = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(members, json_string(nodes[i]->name));
        json_object_set_new(req->reply, "nodes", members);
    }
    return 0;
}

static int find_control(kr_request *req, const char *name, kr_dsp_model *model,
                        const char **control, int *index)
{
    if (kr_field_string(req->json, req->cmd, "control", true, control, &req->error) < 0)
        return -1;
    *index = kr_dsp_program_find_control(model->program, *control);
    if (*index < 0) {
        char known[512];
        list_controls(model->program, known, sizeof known);
        kr_error_set(&req->error, "unknown_control", "node '%s' has no control '%s' (its "
                     "controls: %s)", name, *control, known);
        return -1;
    }
    return 0;
}

/* A control of a node, or of every member of a group (each must have it). */
int kr_cmd_control_set(kr_request *req)
{
    const char *name, *control = NULL;
    double value;
    kr_node *nodes[KR_MAX_NODES];
    int index[KR_MAX_NODES];
    int count = kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ? -1 :
                kr_engine_resolve(req->engine, name, "; create it first with kr.node()", nodes,
                                  &req->error);
    if (count < 0)
        return -1;
    for (int i = 0; i < count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(nodes[i]);
        if (!model) {
            kr_error_set(&req->error, "bad_value", "node '%s' is a %s, which has no DSP "
                         "controls", nodes[i]->name, nodes[i]->type->kind);
            return -1;
        }
        if (find_control(req, nodes[i]->name, model, &control, &index[i]))
            return -1;
    }
    if (kr_field_number(req->json, req->cmd, "value", true, -HUGE_VAL, HUGE_VAL, &value,
                        &req->error) < 0)
        return -1;
    bool any_clamped = false;
    double first = value;
    for (int i = 0; i < count; i++) {
        kr_dsp_model *model = kr_dsp_node_model(nodes[i]);
        bool clamped;
        double v = clamp_control(req, nodes[i]->name,
                                 kr_dsp_program_control(model->program, index[i]),
                                 &model->clamp_warned[index[i]], value, &clamped);
        if (send_control(req, nodes[i], index[i], v))
            return -1;
        model->values[index[i]] = v;
        any_clamped = any_clamped || clamped;
        first = i == 0 ? v : first;
    }
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set_new(req->reply, "control", json_string(control));
    json_object_set_new(req->reply, "value", json_real(first));
    json_object_set_new(req->reply, "clamped", json_boolean(any_clamped));
    if (count > 1 || strcmp(nodes[0]->name, name) != 0) {
        json_t *members = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(members, json_string(nodes[i]->name));
        json_object_set_new(req->reply, "nodes", members);
    }
    return 0;
}

int kr_cmd_control_get(kr_request *req)
{
    const char *name, *control;
    int index;
    kr_dsp_model *model;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ||
        !(model = find_dsp(req, name)) || find_control(req, name, model, &control, &index))
        return -1;
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set_new(req->reply, "control", json_string(control));
    json_object_set_new(req->reply, "value", json_real(model->values[index]));
    return 0;
}

int kr_cmd_nodes(kr_request *req)
{
    kr_engine *e = req->engine;
    json_t *list = json_array();
    for (int i = 0; i < e->node_count; i++) {
        kr_node *node = e->nodes[i];
        json_t *item = json_pack("{s:s, s:s, s:f, s:b}", "name", node->name, "kind",
                                 node->type->kind, "gain", (double)node->gain_setting,
                                 "faulted", (int)atomic_load(&node->faulted));
        kr_dsp_model *model = kr_dsp_node_model(node);
        if (model) {
            const kr_dsp_program *p = model->program;
            json_object_set_new(item, "inputs", json_integer(kr_dsp_program_inputs(p)));
            json_object_set_new(item, "outputs", json_integer(kr_dsp_program_outputs(p)));
            json_object_set_new(item, "count", json_integer(model->voices));
            json_t *controls = json_array();
            for (int c = 0; c < kr_dsp_program_control_count(p); c++)
                json_array_append_new(controls, control_json(kr_dsp_program_control(p, c),
                                                             model->values[c]));
            json_object_set_new(item, "controls", controls);
        }
        json_array_append_new(list, item);
    }
    json_object_set_new(req->reply, "nodes", list);
    return 0;
}
