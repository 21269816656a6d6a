/* cmd_route.c — routing and mixing: connect, unsend, routing, mute, unmute,
 * solo, unsolo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fields.h"
#include "krach/input_node.h"
#include "request.h"

static kr_node *named_node(kr_request *req, const char *field)
{
    const char *name;
    if (kr_field_string(req->json, req->cmd, field, true, &name, &req->error) < 0)
        return NULL;
    return kr_engine_resolve_one(req->engine, name, "; create it first with kr.node()",
                                 &req->error);
}

int kr_cmd_connect(kr_request *req)
{
    kr_node *src = named_node(req, "src"), *dst = src ? named_node(req, "dst") : NULL;
    if (!dst)
        return -1;
    double level = 1.0;
    const char *port_name = NULL;
    if (kr_field_number(req->json, req->cmd, "level", false, 0.0, 4.0, &level, &req->error) < 0 ||
        kr_field_string(req->json, req->cmd, "port", false, &port_name, &req->error) < 0)
        return -1;
    int port = -1;
    if (port_name) {
        char *end;
        long k = port_name[0] == 'i' && port_name[1] == 'n' ? strtol(port_name + 2, &end, 10) : -1;
        if (k < 0 || k >= KR_MAX_NODE_INPUTS || !port_name[2] || *end) {
            kr_error_set(&req->error, "unknown_port", "unknown port '%.40s': ports are named "
                         "in0, in1, … (one per audio input of the effect)", port_name);
            return -1;
        }
        port = (int)k;
    }
    kr_route *route;
    if (kr_engine_connect(req->engine, src, dst, port, level, &route, &req->error))
        return -1;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "in%d", route->port);
    json_object_set_new(req->reply, "src", json_string(src->name));
    json_object_set_new(req->reply, "dst", json_string(dst->name));
    json_object_set_new(req->reply, "port", json_string(port_text));
    json_object_set_new(req->reply, "level", json_real(route->level_setting));
    json_object_set_new(req->reply, "send", json_boolean(route->send));
    return 0;
}

int kr_cmd_unsend(kr_request *req)
{
    kr_node *src = named_node(req, "src"), *dst = src ? named_node(req, "dst") : NULL;
    if (!dst)
        return -1;
    int removed = kr_engine_unsend(req->engine, src, dst, &req->error);
    if (removed < 0)
        return -1;
    json_object_set_new(req->reply, "removed", json_integer(removed));
    return 0;
}

json_t *kr_routes_json(const kr_engine *e)
{
    json_t *routes = json_array();
    for (int r = 0; r < e->route_count; r++) {
        const kr_route *route = e->routes[r];
        char port[16];
        snprintf(port, sizeof port, "in%d", route->port);
        json_array_append_new(routes, json_pack("{s:s, s:s, s:s, s:f, s:b}", "src",
                                                route->src->name, "dst", route->dst->name,
                                                "port", port, "level", route->level_setting,
                                                "send", route->send));
    }
    return routes;
}

int kr_cmd_routing(kr_request *req)
{
    kr_engine *e = req->engine;
    json_t *routes = kr_routes_json(e);
    json_object_set_new(req->reply, "routes", routes);
    kr_node *order[KR_MAX_NODES];
    kr_engine_topological_order(e, order);
    json_t *names = json_array();
    for (int i = 0; i < e->node_count; i++)
        json_array_append_new(names, json_string(order[i]->name));
    json_object_set_new(req->reply, "order", names);
    return 0;
}

/* The nodes a name stands for (the rule is kr_engine_resolve's). */
int kr_request_group(kr_request *req, const char *name, kr_node **nodes)
{
    int count = kr_engine_resolve(req->engine, name, "", nodes, &req->error);
    return count < 0 ? 0 : count;
}

/* mute, unmute, solo, unsolo: flip a flag on a node or group, then let the
 * mixer work out who is heard. */
int kr_cmd_mixer(kr_request *req)
{
    bool solo = strstr(req->cmd, "solo") != NULL;
    bool on = strncmp(req->cmd, "un", 2) != 0;
    const char *name = NULL;
    if (kr_field_string(req->json, req->cmd, "name", !(solo && !on), &name, &req->error) < 0)
        return -1;
    kr_engine *e = req->engine;
    kr_node *nodes[KR_MAX_NODES];
    int count;
    if (name) {
        count = kr_request_group(req, name, nodes);
        if (count == 0)
            return -1;
    } else { /* unsolo everything */
        count = e->node_count;
        memcpy(nodes, e->nodes, (size_t)count * sizeof *nodes);
    }
    json_t *names = json_array();
    for (int i = 0; i < count; i++) {
        if (solo)
            nodes[i]->soloed = on;
        else
            nodes[i]->muted = on;
        json_array_append_new(names, json_string(nodes[i]->name));
    }
    json_object_set_new(req->reply, "nodes", names);
    return kr_engine_apply_mixer(e, &req->error);
}

/* Re-running input_add on an input node changes it in place (channel, and
 * gain when given), like node_set: routes and mixer settings stay. */
static int input_update(kr_request *req, kr_node *node, int channel, int has_gain, double gain)
{
    if (!kr_node_is_input(node)) {
        kr_error_set(&req->error, "exists", "a node named '%s' already exists and is a %s, "
                     "not an input; remove it first or choose another name", node->name,
                     node->type->kind);
        return -1;
    }
    if (has_gain) {
        kr_rt_command cmd = {.type = KR_RT_SET_GAIN, .ptr = node, .value = gain};
        if (kr_engine_send(req->engine, &cmd, &req->error))
            return -1;
        node->gain_setting = gain;
    }
    if (channel != kr_input_node_channel(node)) {
        kr_rt_command cmd = {.type = KR_RT_SET_PARAM, .ptr = node,
                             .index = KR_INPUT_PARAM_CHANNEL, .value = channel};
        if (kr_engine_send(req->engine, &cmd, &req->error))
            return -1;
        kr_input_node_set_channel(node, channel);
    }
    return 0;
}

/* A node playing one channel of the audio input. */
int kr_cmd_input_add(kr_request *req)
{
    const char *name;
    long long channel = 0;
    double gain = 0.5;
    int has_gain;
    if (kr_field_name(req->json, req->cmd, &name, &req->error) < 0 ||
        kr_field_integer(req->json, req->cmd, "channel", false, 0, 63, &channel,
                         &req->error) < 0 ||
        (has_gain = kr_field_number(req->json, req->cmd, "gain", false, 0.0, 4.0, &gain,
                                    &req->error)) < 0)
        return -1;
    kr_engine *e = req->engine;
    kr_node *old = kr_engine_find(e, name);
    if (old) {
        if (input_update(req, old, (int)channel, has_gain, gain))
            return -1;
    } else {
        kr_node *node = kr_input_node_create(name, e->rt.sample_rate, (float)gain, (int)channel);
        if (!node) {
            kr_error_set(&req->error, "io_error", "out of memory creating input '%s'", name);
            return -1;
        }
        if (kr_engine_add_node(e, node, &req->error))
            return -1;
    }
    json_object_set_new(req->reply, "name", json_string(name));
    json_object_set_new(req->reply, "channel", json_integer(channel));
    json_object_set_new(req->reply, "inputs", json_integer(e->backend.input_channels));
    if (channel >= e->backend.input_channels)
        json_object_set_new(req->reply, "warning",
                            json_string(e->backend.input_channels
                                            ? "the device has fewer input channels: silent"
                                            : "this engine has no audio input (null or offline "
                                              "backend, or a device without inputs): silent"));
    return 0;
}
