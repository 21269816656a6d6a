/* node_source.c — building a node's program from a request (see node_source.h). */
#include "node_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/faust.h"
#include "krach/dsp_node.h"
#include "krach/ir.h"
#include "krach/limits.h"

const char *kr_node_source_backend_name(kr_dsp_backend backend)
{
    return backend == KR_DSP_BACKEND_NATIVE ? "native"
           : backend == KR_DSP_BACKEND_FAUST ? "faust" : "auto";
}

/* The folder's files a program imports, each checked once. */
#define IMPORTS_MAX 32
typedef struct import_list {
    char file[IMPORTS_MAX][129];
    int count;
    bool overflow;
} import_list;

static void note_import(const char *file, void *ctx)
{
    import_list *list = ctx;
    for (int i = 0; i < list->count; i++)
        if (!strcmp(list->file[i], file))
            return;
    if (list->count == IMPORTS_MAX) {
        list->overflow = true;
        return;
    }
    snprintf(list->file[list->count++], sizeof list->file[0], "%s", file);
}

/* FAUST reads only the folder and its own libraries: NAME.dsp and every file
 * of the folder it imports (transitively) name files by bare name only
 * (kr_faust_file_check). A name not in the folder is one of FAUST's. */
static int check_imports(kr_engine *engine, const char *label, const char *text,
                         kr_error *error)
{
    import_list list = {.count = 0};
    if (kr_faust_file_check(label, text, note_import, &list, error))
        return -1;
    for (int i = 0; i < list.count; i++) {
        kr_error read_error = {0};
        char *lib = kr_faust_dir_read_file(engine->faust_dir, list.file[i], &read_error);
        if (!lib && strcmp(read_error.code, "not_found") != 0) {
            *error = read_error;
            return -1;
        }
        int rc = lib ? kr_faust_file_check(list.file[i], lib, note_import, &list, error) : 0;
        free(lib);
        if (rc)
            return -1;
    }
    if (list.overflow) {
        kr_error_set(error, "bad_value", "%s imports more than %d files; krach checks at most "
                     "that many", label, IMPORTS_MAX);
        return -1;
    }
    return 0;
}

kr_dsp_program *kr_node_source_faust_file(kr_engine *engine, const char *name, kr_error *error)
{
    if (!kr_faust_available()) {
        kr_error_set(error, "unavailable", "'faust:%.80s' needs the FAUST backend, which this "
                     "engine was built without: install the Debian packages faust and "
                     "libfaust2 (apt-get install faust libfaust2) and rebuild krach (make)",
                     name);
        return NULL;
    }
    if (!engine->faust_dir) {
        kr_error_set(error, "unavailable", "the FAUST folder %s could not be watched (see the "
                     "engine log); fix it or choose another with --dsp-dir",
                     engine->config.dsp_dir);
        return NULL;
    }
    char *text = kr_faust_dir_read(engine->faust_dir, name, error);
    if (!text)
        return NULL;
    char label[KR_FAUST_NAME_MAX + 16];
    snprintf(label, sizeof label, "%s.dsp", name);
    if (check_imports(engine, label, text, error)) {
        free(text);
        return NULL;
    }
    kr_dsp_program *p = kr_faust_compile_source(engine->faust_cache, label, text,
                                                kr_faust_dir_path(engine->faust_dir),
                                                engine->rt.sample_rate, error);
    free(text);
    return p;
}

static int read_backend(json_t *fields, const char *cmd, kr_dsp_backend *backend,
                        kr_error *error)
{
    json_t *value = json_object_get(fields, "backend");
    const char *name = value ? json_string_value(value) : "auto";
    if (name && !strcmp(name, "auto"))
        *backend = KR_DSP_BACKEND_AUTO;
    else if (name && !strcmp(name, "native"))
        *backend = KR_DSP_BACKEND_NATIVE;
    else if (name && !strcmp(name, "faust"))
        *backend = KR_DSP_BACKEND_FAUST;
    else {
        kr_error_set(error, "bad_value", "%s: 'backend' must be \"auto\", \"native\" or "
                     "\"faust\"", cmd);
        return -1;
    }
    return 0;
}

int kr_node_source_parse(json_t *fields, const char *cmd, kr_node_source *source,
                         kr_error *error)
{
    memset(source, 0, sizeof *source);
    json_t *ir_json = json_object_get(fields, "ir");
    json_t *type = json_object_get(fields, "type");
    if (ir_json && type) {
        kr_error_set(error, "bad_value", "%s: give either 'ir' (a synth) or 'type' "
                     "(\"faust:NAME\"), not both", cmd);
        return -1;
    }
    if (type) {
        const char *text = json_string_value(type);
        if (!text || strncmp(text, "faust:", 6) != 0) {
            kr_error_set(error, "bad_value", "%s: 'type' must be \"faust:NAME\" (the FAUST "
                         "file NAME.dsp in the engine's FAUST folder)", cmd);
            return -1;
        }
        if (!kr_faust_dir_valid_name(text + 6)) {
            kr_error_set(error, "bad_value", "%s: '%.80s' is not a valid FAUST node type: NAME "
                         "must be 1 to %d letters, digits, '_' or '-'", cmd, text,
                         KR_FAUST_NAME_MAX);
            return -1;
        }
        snprintf(source->faust_type, sizeof source->faust_type, "%s", text + 6);
        source->backend = KR_DSP_BACKEND_FAUST;
        return 0;
    }
    if (!ir_json) {
        kr_error_set(error, "missing_field", "%s needs field 'ir' (a signal IR object, see "
                     "docs/signal-ir.md) or 'type' (\"faust:NAME\")", cmd);
        return -1;
    }
    return read_backend(fields, cmd, &source->backend, error);
}

kr_dsp_program *kr_node_source_build(kr_engine *engine, json_t *fields,
                                     const kr_node_source *source, kr_error *error)
{
    if (source->faust_type[0])
        return kr_node_source_faust_file(engine, source->faust_type, error);
    kr_ir ir;
    if (kr_ir_parse(json_object_get(fields, "ir"), &ir, error))
        return NULL;
    kr_dsp_program *p = kr_dsp_build(&ir, engine->rt.sample_rate, source->backend,
                                     engine->faust_cache, error);
    kr_ir_free(&ir);
    return p;
}

size_t kr_source_bytes(kr_engine *engine, const char *node, const char *target)
{
    size_t total = 0;
    for (int i = 0; i < engine->node_count; i++) {
        const kr_dsp_model *model = kr_dsp_node_model(engine->nodes[i]);
        if (model && !(node && !strcmp(engine->nodes[i]->name, node)))
            total += model->ir_bytes;
    }
    for (int i = 0; i < engine->sched.slot_count; i++) {
        const kr_slot *slot = &engine->sched.slots[i];
        if (!slot->stopping && !(target && !strcmp(slot->target, target)))
            total += slot->source_bytes; /* a stopping one is gone within a cycle */
    }
    return total;
}

int kr_source_check(const char *what, size_t kept, size_t adding, kr_error *error)
{
    if (kept + adding <= KR_MAX_SOURCE_BYTES)
        return 0;
    kr_error_set(error, "limit", "%s would bring the synth IR and pattern sources the engine "
                 "keeps to %zu bytes; the limit is %d (KR_MAX_SOURCE_BYTES, so that `state` "
                 "stays readable): remove nodes or patterns, or use smaller tables",
                 what, kept + adding, KR_MAX_SOURCE_BYTES);
    return -1;
}

int kr_source_check_node(kr_engine *engine, const char *name, json_t *ir, kr_error *error)
{
    if (!ir)
        return 0;
    char what[KR_MAX_NAME + 32];
    snprintf(what, sizeof what, "node '%s'", name);
    return kr_source_check(what, kr_source_bytes(engine, name, NULL),
                           json_dumpb(ir, NULL, 0, JSON_COMPACT), error);
}

/* Whether a node_set or node_remove of node `name` is among `commands`,
 * from index `from` on. */
static bool names_node(json_t *commands, size_t from, const char *name)
{
    for (size_t k = from; k < json_array_size(commands); k++) {
        json_t *sub = json_array_get(commands, k);
        const char *cmd = json_string_value(json_object_get(sub, "cmd"));
        const char *other = json_string_value(json_object_get(sub, "name"));
        if (cmd && other && !strcmp(other, name) &&
            (!strcmp(cmd, "node_set") || !strcmp(cmd, "node_remove")))
            return true;
    }
    return false;
}

int kr_source_check_batch(kr_engine *engine, json_t *commands, kr_error *error)
{
    size_t kept = 0, adding = 0;
    for (int i = 0; i < engine->node_count; i++) {
        const kr_dsp_model *model = kr_dsp_node_model(engine->nodes[i]);
        if (model && !names_node(commands, 0, engine->nodes[i]->name))
            kept += model->ir_bytes;
    }
    for (int i = 0; i < engine->sched.slot_count; i++)
        if (!engine->sched.slots[i].stopping)
            kept += engine->sched.slots[i].source_bytes;
    for (size_t i = 0; i < json_array_size(commands); i++) {
        json_t *sub = json_array_get(commands, i);
        const char *cmd = json_string_value(json_object_get(sub, "cmd"));
        const char *name = json_string_value(json_object_get(sub, "name"));
        json_t *ir = json_object_get(sub, "ir");
        if (cmd && name && ir && !strcmp(cmd, "node_set") && !names_node(commands, i + 1, name))
            adding += json_dumpb(ir, NULL, 0, JSON_COMPACT);
    }
    return kr_source_check("the batch", kept, adding, error);
}
