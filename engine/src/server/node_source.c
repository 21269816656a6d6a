/* node_source.c — building a node's program from a request (see node_source.h). */
#include "node_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/faust.h"
#include "krach/ir.h"

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
