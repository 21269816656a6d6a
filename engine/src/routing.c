/* routing.c — connections between nodes, their order, and the mixer (mute,
 * solo). Server thread; see graph.h for how the audio thread plays routes. */
#include <stdlib.h>
#include <string.h>

#include "krach/engine.h"

static int index_of(const kr_engine *engine, const kr_node *node)
{
    for (int i = 0; i < engine->node_count; i++)
        if (engine->nodes[i] == node)
            return i;
    return -1;
}

/* Kahn's algorithm, taking nodes in creation order whenever several are
 * ready, so the order is stable and sources stay where they were. Each
 * route's ends are looked up once: with 256 nodes and 1024 routes, looking
 * them up inside the loop cost ~67 million steps per graph. */
void kr_engine_topological_order(const kr_engine *engine, kr_node **order)
{
    int n = engine->node_count, indegree[KR_MAX_NODES] = {0};
    int src[KR_MAX_ROUTES], dst[KR_MAX_ROUTES];
    bool placed[KR_MAX_NODES] = {false};
    for (int r = 0; r < engine->route_count; r++) {
        src[r] = index_of(engine, engine->routes[r]->src);
        dst[r] = index_of(engine, engine->routes[r]->dst);
        indegree[dst[r]]++;
    }
    for (int done = 0; done < n;) {
        int next = -1;
        for (int i = 0; i < n && next < 0; i++)
            if (!placed[i] && indegree[i] == 0)
                next = i;
        if (next < 0) { /* cannot happen: connect refuses cycles */
            for (int i = 0; i < n; i++)
                if (!placed[i])
                    next = i;
        }
        placed[next] = true;
        order[done++] = engine->nodes[next];
        for (int r = 0; r < engine->route_count; r++)
            if (src[r] == next)
                indegree[dst[r]]--;
    }
}

/* Does a path of routes lead from `from` to `to`? */
static bool reaches(const kr_engine *engine, const kr_node *from, const kr_node *to)
{
    const kr_node *stack[KR_MAX_NODES];
    bool seen[KR_MAX_NODES] = {false};
    int top = 0;
    stack[top++] = from;
    while (top > 0) {
        const kr_node *node = stack[--top];
        if (node == to)
            return true;
        int i = index_of(engine, node);
        if (seen[i])
            continue;
        seen[i] = true;
        for (int r = 0; r < engine->route_count; r++)
            if (engine->routes[r]->src == node && top < KR_MAX_NODES)
                stack[top++] = engine->routes[r]->dst;
    }
    return false;
}

int kr_engine_connect(kr_engine *engine, kr_node *src, kr_node *dst, int port, double level,
                      kr_route **route_out, kr_error *error)
{
    bool send = port < 0;
    int target = send ? 0 : port;
    int inputs = atomic_load(&dst->input_count);
    if (inputs == 0 || target >= inputs) {
        if (inputs == 0)
            kr_error_set(error, "unknown_port", "unknown port: '%s' has no audio inputs, so it "
                         "is a source, not an effect; an effect is a synth whose function takes "
                         "an input, e.g. def fx(inp: krs.Signal) -> krs.Signal", dst->name);
        else
            kr_error_set(error, "unknown_port", "unknown port 'in%d' on '%s': it has in0 to "
                         "in%d", target, dst->name, inputs - 1);
        return -1;
    }
    if (src == dst || reaches(engine, dst, src)) {
        kr_error_set(error, "routing_cycle", "connecting '%s' to '%s' would feed '%s' back into "
                     "itself; remove a route first (kr.unsend)", src->name, dst->name, src->name);
        return -1;
    }
    for (int r = 0; r < engine->route_count; r++) {
        kr_route *existing = engine->routes[r];
        if (existing->src != src || existing->dst != dst || existing->port != target ||
            existing->send != send)
            continue;
        /* Same connection: only the level moves, smoothly; no new graph. */
        kr_rt_command cmd = {.type = KR_RT_SET_ROUTE_LEVEL, .ptr = existing, .value = level};
        if (send && kr_engine_send(engine, &cmd, error))
            return -1;
        existing->level_setting = send ? level : 1.0;
        *route_out = existing;
        return 0;
    }
    if (engine->route_count >= KR_MAX_ROUTES) {
        kr_error_set(error, "limit", "at most %d routes; remove some first", KR_MAX_ROUTES);
        return -1;
    }
    if (kr_engine_reserve_dead(engine, error))
        return -1;
    kr_route *route = calloc(1, sizeof *route);
    if (!route) {
        kr_error_set(error, "io_error", "out of memory connecting '%s'", src->name);
        return -1;
    }
    *route = (kr_route){.src = src, .dst = dst, .port = target, .send = send};
    route->level = route->level_target = (float)(send ? level : 1.0);
    route->level_setting = send ? level : 1.0;
    engine->routes[engine->route_count++] = route;
    if (kr_engine_publish(engine, NULL, error)) {
        engine->route_count--;
        free(route);
        return -1;
    }
    *route_out = route;
    return 0;
}

/* Never overflows: each live route reserved its dead slot when it was made
 * (kr_engine_reserve_dead), and dead + live stays the same here. */
static void drop_route(kr_engine *engine, int r)
{
    engine->dead_routes[engine->dead_route_count++] = engine->routes[r];
    engine->routes[r] = engine->routes[--engine->route_count];
}

int kr_engine_unsend(kr_engine *engine, kr_node *src, kr_node *dst, kr_error *error)
{
    int removed = 0;
    for (int r = engine->route_count - 1; r >= 0; r--) {
        if (engine->routes[r]->src == src && engine->routes[r]->dst == dst) {
            drop_route(engine, r);
            removed++;
        }
    }
    if (removed && kr_engine_publish(engine, NULL, error))
        return -1;
    return removed;
}

void kr_engine_drop_routes_of(kr_engine *engine, kr_node *node)
{
    for (int r = engine->route_count - 1; r >= 0; r--)
        if (engine->routes[r]->src == node || engine->routes[r]->dst == node)
            drop_route(engine, r);
}

/* Heard: not muted, and — when anything is soloed — soloed itself or fed
 * (through any chain of routes) by a soloed node, so a soloed bass keeps its
 * reverb. */
int kr_engine_apply_mixer(kr_engine *engine, kr_error *error)
{
    bool any_solo = false;
    for (int i = 0; i < engine->node_count; i++)
        any_solo |= engine->nodes[i]->soloed;
    for (int i = 0; i < engine->node_count; i++) {
        kr_node *node = engine->nodes[i];
        bool heard = !node->muted;
        if (heard && any_solo && !node->soloed) {
            heard = false;
            for (int j = 0; j < engine->node_count && !heard; j++)
                heard = engine->nodes[j]->soloed && reaches(engine, engine->nodes[j], node);
        }
        kr_rt_command cmd = {.type = KR_RT_SET_AUDIBLE, .ptr = node, .value = heard ? 1.0 : 0.0};
        if (kr_engine_send(engine, &cmd, error))
            return -1;
    }
    return 0;
}
