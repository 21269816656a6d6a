/* names.c — what a node name means, for every command that takes one.
 *
 * The rule (docs/routing.md, "Names and groups"): a name means the node of
 * that name and every node of the group "name/…" (each node whose name begins
 * with the name and a slash). A name that means no node is an unknown_node
 * error listing the known nodes. A target ("node/control") is a name that
 * means some node, else the part before its last slash followed by a control.
 * Each command resolves names here, so they all agree. */
#include <stdio.h>
#include <string.h>

#include "krach/engine.h"

bool kr_name_means(const char *name, const char *node)
{
    size_t len = strlen(name);
    return strncmp(node, name, len) == 0 && (node[len] == '\0' || node[len] == '/');
}

static int matching(kr_engine *engine, const char *name, kr_node **nodes)
{
    int count = 0;
    for (int i = 0; i < engine->node_count; i++)
        if (kr_name_means(name, engine->nodes[i]->name))
            nodes[count++] = engine->nodes[i];
    return count;
}

static void unknown(const kr_engine *engine, const char *name, const char *fix, kr_error *error)
{
    kr_engine_unknown_node(engine, name, fix, error);
}

int kr_engine_resolve(kr_engine *engine, const char *name, const char *fix, kr_node **nodes,
                      kr_error *error)
{
    int count = name[0] ? matching(engine, name, nodes) : 0;
    if (count == 0) {
        unknown(engine, name, fix, error);
        return -1;
    }
    return count;
}

int kr_engine_resolve_target(kr_engine *engine, const char *target, const char *fix,
                             kr_node **nodes, char control[KR_VALUE_NAME], kr_error *error)
{
    control[0] = '\0';
    int count = target[0] ? matching(engine, target, nodes) : 0;
    if (count > 0)
        return count;
    const char *slash = strrchr(target, '/');
    if (slash && slash > target && slash[1]) {
        size_t head = (size_t)(slash - target);
        if (head >= KR_MAX_NAME || strlen(slash + 1) >= KR_VALUE_NAME) {
            kr_error_set(error, "bad_value", "target '%.60s…' is too long", target);
            return -1;
        }
        char name[KR_MAX_NAME];
        snprintf(name, sizeof name, "%.*s", (int)head, target);
        count = matching(engine, name, nodes);
        if (count > 0) {
            snprintf(control, KR_VALUE_NAME, "%s", slash + 1);
            return count;
        }
        unknown(engine, name, fix, error);
        return -1;
    }
    unknown(engine, target, fix, error);
    return -1;
}

kr_node *kr_engine_resolve_one(kr_engine *engine, const char *name, const char *fix,
                               kr_error *error)
{
    kr_node *exact = kr_engine_find(engine, name);
    if (exact)
        return exact;
    kr_node *nodes[KR_MAX_NODES];
    int count = kr_engine_resolve(engine, name, fix, nodes, error);
    if (count > 0)
        kr_error_set(error, "bad_value", "'%.80s' is a group (%d node%s: '%s'%s); this command "
                     "acts on one node: name it, e.g. '%s'", name, count, count > 1 ? "s" : "",
                     nodes[0]->name, count > 1 ? ", …" : "", nodes[0]->name);
    return NULL;
}
