/* cmd_state.c — the whole session as data: `state` (for kr.pull, a second
 * client, export), and scenes kept in the engine (`scene_save`, `scene_get`,
 * `scenes`). Recalling a scene is the client's job: it applies the stored
 * state with `batch`, `play`, `tempo`… like any other change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "krach/dsp_node.h"
#include "krach/input_node.h"
#include "node_source.h"
#include "request.h"

static json_t *time_json(kr_rat t)
{
    char text[48];
    kr_rat_format(t, text, sizeof text);
    return json_string(text);
}

static json_t *session_state(kr_engine *e)
{
    kr_scheduler_forget_finished(e);
    json_t *state = json_object();
    const kr_transport *t = &e->sched.transport;
    json_object_set_new(state, "bpm", json_real(kr_rat_to_double(t->current.bpm)));
    json_object_set_new(state, "beats", json_integer(t->current.meter));
    json_object_set_new(state, "master", json_real(e->master));
    json_t *nodes = json_array();
    for (int i = 0; i < e->node_count; i++) {
        kr_node *node = e->nodes[i];
        json_t *item = json_pack("{s:s, s:s, s:f, s:b, s:b}", "name", node->name, "kind",
                                 node->type->kind, "gain", node->gain_setting, "muted",
                                 node->muted, "soloed", node->soloed);
        kr_dsp_model *model = kr_dsp_node_model(node);
        if (kr_node_is_input(node))
            json_object_set_new(item, "channel", json_integer(kr_input_node_channel(node)));
        if (model) {
            json_object_set_new(item, "count", json_integer(model->voices));
            json_error_t jerr;
            json_t *ir = model->ir_text ? json_loads(model->ir_text, 0, &jerr) : NULL;
            json_object_set_new(item, "ir", ir ? ir : json_null());
            if (model->faust_type[0])
                json_object_set_new(item, "type", json_sprintf("faust:%s", model->faust_type));
            else if (model->backend != KR_DSP_BACKEND_AUTO)
                json_object_set_new(item, "backend",
                                    json_string(kr_node_source_backend_name(model->backend)));
            json_t *controls = json_object();
            for (int c = 0; c < kr_dsp_program_control_count(model->program); c++)
                json_object_set_new(controls, kr_dsp_program_control(model->program, c)->name,
                                    json_real(model->values[c]));
            json_object_set_new(item, "controls", controls);
        }
        json_array_append_new(nodes, item);
    }
    json_object_set_new(state, "nodes", nodes);
    json_t *routes = kr_routes_json(e);
    json_object_set_new(state, "routes", routes);
    json_t *patterns = json_array();
    for (int i = 0; i < e->sched.slot_count; i++) {
        const kr_slot *slot = &e->sched.slots[i];
        if (slot->stopping)
            continue; /* being replaced at its stop */
        json_error_t jerr;
        json_t *item = slot->source ? json_loads(slot->source, 0, &jerr) : NULL;
        if (!item)
            continue;
        json_object_set_new(item, "target", json_string(slot->target));
        json_object_set_new(item, "from_zero", json_boolean(slot->from_zero));
        json_array_append_new(patterns, item);
    }
    json_object_set_new(state, "patterns", patterns);
    json_t *autos = json_array();
    static const char *const shapes[] = {"none", "sine", "tri", "ramp", "square", "fade"};
    for (int i = 0; i < e->sched.automation_count; i++) {
        const kr_sched_automation *a = &e->sched.automations[i];
        char target[KR_MAX_NAME + KR_VALUE_NAME];
        snprintf(target, sizeof target, "%s/%s", a->node, a->control);
        json_t *item = json_pack("{s:s, s:s, s:o}", "target", target, "shape", shapes[a->shape],
                                 "bars", time_json(a->bars));
        if (a->shape == KR_AUTO_FADE) {
            json_object_set_new(item, "value", json_real(a->hi));
        } else {
            json_object_set_new(item, "lo", json_real(a->lo));
            json_object_set_new(item, "hi", json_real(a->hi));
        }
        json_array_append_new(autos, item);
    }
    json_object_set_new(state, "automations", autos);
    return state;
}

int kr_cmd_state(kr_request *req)
{
    json_object_set_new(req->reply, "state", session_state(req->engine));
    return 0;
}

/* Scenes: named copies of `state`, kept in a JSON object owned by the engine. */
static json_t *scene_store(kr_engine *e)
{
    if (!e->scenes)
        e->scenes = json_object();
    return e->scenes;
}

int kr_cmd_scene_save(kr_request *req)
{
    const char *name;
    if (kr_field_scene_name(req->json, req->cmd, &name, &req->error) < 0)
        return -1;
    json_t *store = scene_store(req->engine);
    if (!json_object_get(store, name) && json_object_size(store) >= KR_MAX_SCENES) {
        kr_error_set(&req->error, "limit", "at most %d scenes; overwrite one", KR_MAX_SCENES);
        return -1;
    }
    /* With `state` (a `state` reply, e.g. kept by a client that replays a
     * session into a restarted engine), that is stored instead of the present. */
    json_t *given = json_object_get(req->json, "state");
    if (given) {
        static const char *arrays[] = {"nodes", "routes", "patterns", "automations"};
        bool ok = json_is_object(given) && json_is_number(json_object_get(given, "bpm")) &&
                  json_is_integer(json_object_get(given, "beats")) &&
                  json_is_number(json_object_get(given, "master"));
        for (size_t i = 0; ok && i < sizeof arrays / sizeof arrays[0]; i++)
            ok = json_is_array(json_object_get(given, arrays[i]));
        if (!ok) {
            kr_error_set(&req->error, "bad_type", "scene_save: 'state' must be a session state "
                         "as the 'state' command returns it (bpm, beats, master, nodes, routes, "
                         "patterns, automations)");
            return -1;
        }
    }
    json_t *scene = given ? json_deep_copy(given) : session_state(req->engine);
    json_t *old = json_object_get(store, name);
    size_t bytes = json_dumpb(scene, NULL, 0, JSON_COMPACT);
    size_t old_bytes = old ? json_dumpb(old, NULL, 0, JSON_COMPACT) : 0;
    size_t total = req->engine->scene_bytes - old_bytes + bytes;
    if (total > KR_MAX_SCENE_BYTES) {
        json_decref(scene);
        kr_error_set(&req->error, "limit", "saving scene '%s' would bring the saved scenes to "
                     "%zu bytes; the limit is %d: overwrite or save fewer scenes", name, total,
                     KR_MAX_SCENE_BYTES);
        return -1;
    }
    req->engine->scene_bytes = total;
    json_object_set_new(store, name, scene);
    json_object_set_new(req->reply, "name", json_string(name));
    return 0;
}

int kr_cmd_scene_get(kr_request *req)
{
    const char *name;
    if (kr_field_scene_name(req->json, req->cmd, &name, &req->error) < 0)
        return -1;
    json_t *scene = json_object_get(scene_store(req->engine), name);
    if (!scene) {
        kr_error_set(&req->error, "unknown_scene", "no scene '%s'; save one with kr.save(\"%s\")",
                     name, name);
        return -1;
    }
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set(req->reply, "state", scene);
    return 0;
}

int kr_cmd_scenes(kr_request *req)
{
    json_t *names = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(scene_store(req->engine), key, value)
        json_array_append_new(names, json_string(key));
    json_object_set_new(req->reply, "scenes", names);
    return 0;
}

const char *kr_request_files_dir(const kr_request *req)
{
    return req->peer->needs_auth ? req->engine->config.files_dir : NULL;
}

int kr_cmd_record(kr_request *req)
{
    const char *path, *subtype = NULL;
    if (kr_field_string(req->json, req->cmd, "path", true, &path, &req->error) < 0 ||
        kr_field_string(req->json, req->cmd, "subtype", false, &subtype, &req->error) < 0 ||
        kr_recorder_start(req->engine, kr_request_files_dir(req), path, subtype, &req->error))
        return -1;
    json_object_set_new(req->reply, "path", json_string(path));
    return 0;
}

int kr_cmd_record_stop(kr_request *req)
{
    uint64_t frames, dropped;
    char path[sizeof req->engine->recorder.path];
    snprintf(path, sizeof path, "%s", req->engine->recorder.path);
    if (kr_recorder_stop(req->engine, &frames, &dropped, &req->error))
        return -1;
    json_object_set_new(req->reply, "path", json_string(path));
    json_object_set_new(req->reply, "frames", json_integer((json_int_t)frames));
    json_object_set_new(req->reply, "dropped", json_integer((json_int_t)dropped));
    return 0;
}
