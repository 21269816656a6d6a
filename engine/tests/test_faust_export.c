/* test_faust_export.c — kr_faust_export: every op of the op table (every
 * attribute variant: filter orders, lfo shapes, tables), the executor's own
 * nodes (const, input, control, sr, mem in both directions) and faust_expr
 * export to a program the `faust` command compiles (with -double, as the
 * backend does); the program's frame (sliders, feedback, attached controls);
 * and the errors. How the programs sound is test_faust_diff's business. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "faust_diff.h"

static char tmpdir[] = "/tmp/krach-faust-export-XXXXXX";

/* Runs `faust -double` on `program`; returns its exit status (0 = compiled). */
static int faust_compile(const char *program, const char *what)
{
    char dsp[256], cmd[1024];
    snprintf(dsp, sizeof dsp, "%s/p.dsp", tmpdir);
    FILE *f = fopen(dsp, "w");
    if (!f)
        return -1;
    fputs(program, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' -double -lang c '%s' -o '%s/p.c' 2>'%s/err.txt'",
             KR_FAUST_COMMAND, dsp, tmpdir, tmpdir);
    int rc = system(cmd);
    if (rc != 0) {
        char err[2048] = "";
        snprintf(cmd, sizeof cmd, "%s/err.txt", tmpdir);
        FILE *e = fopen(cmd, "r");
        if (e) {
            size_t n = fread(err, 1, sizeof err - 1, e);
            err[n] = 0;
            fclose(e);
        }
        fprintf(stderr, "%s: faust failed:\n%s\n--- program ---\n%s\n", what, err, program);
    }
    return rc;
}

/* Exports the IR with output `out`; NULL (and the error) if refused. */
static char *export_ir(fd_ir *b, int out, kr_error *err)
{
    kr_ir ir;
    if (fd_end(b, &ir, 1, &out))
        return NULL;
    char *program = kr_faust_export(&ir, err);
    kr_ir_free(&ir);
    return program;
}

static json_t *attrs_for(const char *op, int variant)
{
    if (!strcmp(op, "lowpass") || !strcmp(op, "highpass"))
        return json_pack("{s:i}", "order", variant + 1);
    if (!strcmp(op, "lfo")) {
        static const char *const shapes[] = {"sine", "tri", "saw", "square"};
        return json_pack("{s:s}", "shape", shapes[variant]);
    }
    if (!strcmp(op, "rdtable") || !strcmp(op, "wavetable"))
        return json_pack("{s:[f,f,f,f]}", "table", 0.5, -0.25, 1.0, 1e-7);
    if (!strcmp(op, "rwtable"))
        return json_pack("{s:i,s:f}", "size", 16, "init", -0.5);
    if (!strcmp(op, "delay") || !strcmp(op, "echo"))
        return json_pack("{s:f}", "max_time", 0.5);
    if (!strcmp(op, "white_noise") || !strcmp(op, "pink_noise"))
        return json_pack("{s:i}", "seed", 7 + variant);
    return NULL;
}

static int variants(const char *op)
{
    if (!strcmp(op, "lowpass") || !strcmp(op, "highpass"))
        return 8;
    return !strcmp(op, "lfo") ? 4 : 1;
}

/* Every op, its inputs from audio inputs and a smoothed control. */
static void test_every_op_compiles(void)
{
    int ops = 0, programs = 0;
    for (int k = 0; kr_op_at(k); k++, ops++) {
        const kr_op *op = kr_op_at(k);
        for (int v = 0; v < variants(op->name); v++) {
            fd_ir b = fd_begin(op->arity > 1 ? op->arity - 1 : op->arity);
            int in[KR_DSP_MAX_IN];
            for (int a = 0; a < op->arity; a++)
                in[a] = a + 1 < op->arity || op->arity == 1 ? fd_input(&b, a)
                                                            : fd_control(&b, "level", 0.5, 0.0, 1.0);
            json_t *attrs = attrs_for(op->name, v);
            int node = fd_add(&b, attrs ? attrs : json_object());
            json_t *j = json_array_get(b.nodes, node), *ja = json_array();
            json_object_set_new(j, "op", json_string(op->name));
            for (int a = 0; a < op->arity; a++)
                json_array_append_new(ja, json_integer(in[a]));
            json_object_set_new(j, "in", ja);
            kr_error err = {0};
            char *program = export_ir(&b, node, &err);
            fd_free(&b);
            CHECK(program != NULL);
            if (!program) {
                fprintf(stderr, "%s: %s\n", op->name, err.message);
                continue;
            }
            CHECK(faust_compile(program, op->name) == 0);
            free(program);
            programs++;
        }
    }
    printf("faust_export: %d ops in %d programs compile with faust -double\n", ops, programs);
    CHECK(ops >= 60);
}

/* const, sr, both kinds of mem, faust_expr, a gate and an unread control. */
static void test_structure(void)
{
    fd_ir b = fd_begin(1);
    int x = fd_input(&b, 0);                                       /* 0 */
    int gate = fd_control(&b, "gate", 0.0, 0.0, 1.0);              /* 1 */
    fd_control(&b, "unused", 0.25, -1.0, 1.0);                     /* 2 (a node nobody reads) */
    int m = fd_add(&b, json_pack("{s:s,s:[i]}", "op", "mem", "in", 0)); /* 3: forward below */
    int y = fd_op(&b, "add", x, fd_op(&b, "mul", m, fd_const(&b, -0.5)));
    json_object_set_new(json_array_get(b.nodes, m), "in", json_pack("[i]", y));
    int sr = fd_add(&b, json_pack("{s:s}", "op", "sr"));
    int back = fd_add(&b, json_pack("{s:s,s:[i]}", "op", "mem", "in", y));
    int fx = fd_add(&b, json_pack("{s:s,s:[i,i],s:s}", "op", "faust_expr", "in", back, gate,
                                  "code", "* : fi.dcblocker"));
    int out = fd_op(&b, "add", fx, fd_op(&b, "div", sr, fd_const(&b, 48000.0)));
    kr_error err = {0};
    char *p = export_ir(&b, out, &err);
    fd_free(&b);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_STR_CONTAINS(p, "import(\"stdfaust.lib\");");
    CHECK_STR_CONTAINS(p, "ctl0 = hslider(\"gate\", 0.0, 0.0, 1.0, 0.0);\n");
    CHECK_STR_CONTAINS(p, "ctl1 = hslider(\"unused\", 0.25, -1.0, 1.0, 0.0) : kr_ctl;\n");
    CHECK_STR_CONTAINS(p, "process = kr_graph ~ si.bus(1) : si.block(1), si.bus(1)\n");
    CHECK_STR_CONTAINS(p, "kr_graph(m3, in0) = n6, attach(n12, ctl1)\n");
    CHECK_STR_CONTAINS(p, "n3 = m3;\n");
    CHECK_STR_CONTAINS(p, "n4 = -0.5;\n");
    CHECK_STR_CONTAINS(p, "n8 = n6';\n");
    CHECK_STR_CONTAINS(p, "n9 = (n8, n1) : (* : fi.dcblocker);\n");
    CHECK_STR_CONTAINS(p, "n7 = ma.SR;\n");
    CHECK(faust_compile(p, "structure") == 0);
    free(p);
}

static void test_errors(void)
{
    fd_ir b = fd_begin(0);
    int c = fd_control(&b, "cut[off]", 1.0, 0.0, 2.0);
    kr_error err = {0};
    char *p = export_ir(&b, fd_op(&b, "sine_osc", c), &err);
    fd_free(&b);
    CHECK(p == NULL);
    free(p);
    CHECK(err.code && !strcmp(err.code, "bad_ir"));
    CHECK_STR_CONTAINS(err.message, "control 'cut[off]': FAUST cannot carry the character '[' "
                                    "in a control's label; rename the control");
    /* FAUST trims labels: a name with a space at either end would not come back. */
    b = fd_begin(0);
    c = fd_control(&b, "cut ", 1.0, 0.0, 2.0);
    err = (kr_error){0};
    p = export_ir(&b, fd_op(&b, "sine_osc", c), &err);
    fd_free(&b);
    CHECK(p == NULL);
    free(p);
    CHECK_STR_CONTAINS(err.message, "control 'cut ': FAUST drops spaces at the start and end");
    /* A stereo IR keeps both outputs. */
    b = fd_begin(0);
    int s = fd_op(&b, "saw", fd_const(&b, 110.0));
    kr_ir ir;
    int outs[2] = {s, fd_op(&b, "neg", s)};
    CHECK(fd_end(&b, &ir, 2, outs) == 0);
    fd_free(&b);
    p = kr_faust_export(&ir, &err);
    kr_ir_free(&ir);
    CHECK_STR_CONTAINS(p, "process = n1, n2\n");
    CHECK(p && faust_compile(p, "stereo") == 0);
    free(p);
}

/* A deep, densely shared graph: every node reads the three before it. */
static void test_large_graph(void)
{
    fd_ir b = fd_begin(1);
    int n[3] = {fd_input(&b, 0), fd_const(&b, -1.0), fd_const(&b, 1.0)}, last = 0;
    for (int i = 0; i < 20000; i++) {
        last = fd_op(&b, "clip", n[0], n[1], n[2]);
        n[0] = n[1], n[1] = n[2], n[2] = last;
    }
    kr_error err = {0};
    char *p = export_ir(&b, last, &err);
    fd_free(&b);
    CHECK(p != NULL);
    CHECK_STR_CONTAINS(p, "n20002 = kr_clip(n19999, n20000, n20001);\n");
    free(p);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_every_op_compiles();
    test_structure();
    test_errors();
    test_large_graph();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return KR_TEST_REPORT("faust_export");
}
