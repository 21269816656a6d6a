/* main.c — krach-engine: parse flags, open the engine, serve until told to stop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krach/engine.h"
#include "krach/faust.h"
#include "krach/ir.h"
#include "krach/server.h"

/* The one process-wide variable: a signal handler can reach nothing else. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
        "usage: krach-engine [options]\n"
        "  --offline              no clock: time advances only on 'render'\n"
        "  --backend KIND         auto (default: device, else null), portaudio, null, offline\n"
        "  --socket PATH          Unix socket (default ~/.krach/engine.sock, or $KRACH_SOCKET)\n"
        "  --tcp [HOST:]PORT      also listen on TCP, token required; HOST defaults to 127.0.0.1\n"
        "                         (this machine only): 0.0.0.0 or an address accepts others\n"
        "  --token TOKEN          the TCP token (default: read or create --token-file)\n"
        "  --token-file PATH      default ~/.krach/token (created with mode 0600)\n"
        "  --log PATH|-           log file (default ~/.krach/engine.log; - = stderr)\n"
        "  --log-level LEVEL      error, warn, info (default) or debug\n"
        "  --dsp-dir PATH         FAUST files: NAME.dsp is node type faust:NAME (default\n"
        "                         ~/.krach/dsp, or $KRACH_DSP_DIR); watched for changes\n"
        "  --files-dir PATH       the only folder TCP clients may write to (render, record;\n"
        "                         default ~/.krach/files); local clients write anywhere\n"
        "  --sample-rate HZ       default 48000\n"
        "  --block-size FRAMES    default 256\n"
        "  --device NAME|INDEX    output device (PortAudio)\n"
        "  --audio-api NAME       PortAudio host API, e.g. ALSA or JACK\n"
        "  --inputs N             audio input channels to open (default 2; 0 = none)\n"
        "  --faust-export FILE    print the signal IR in FILE (- = stdin) as a FAUST program\n"
        "                         and exit (no audio)\n"
        "  --test-faults          allow fault injection (tests only)\n"
        "  --record-events        log every applied event for 'applied_events' (tests only)\n"
        "  --version, --help\n");
}

static int parse_int(const char *flag, const char *text, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi) {
        fprintf(stderr, "krach-engine: %s wants a whole number from %d to %d, not '%s'\n", flag,
                lo, hi, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_tcp(kr_config *cfg, const char *text)
{
    const char *colon = strrchr(text, ':');
    const char *port = colon ? colon + 1 : text;
    size_t host_len = colon ? (size_t)(colon - text) : 0;
    if (host_len >= sizeof cfg->tcp_host) {
        fprintf(stderr, "krach-engine: --tcp host too long\n");
        return -1;
    }
    if (host_len == 0)
        snprintf(cfg->tcp_host, sizeof cfg->tcp_host, "127.0.0.1");
    else
        snprintf(cfg->tcp_host, sizeof cfg->tcp_host, "%.*s", (int)host_len, text);
    return parse_int("--tcp", port, 0, 65535, &cfg->tcp_port);
}

static int copy_path(const char *flag, char *dst, size_t len, const char *src)
{
    if (strlen(src) >= len || !*src) {
        fprintf(stderr, "krach-engine: %s wants a path of 1 to %zu bytes\n", flag, len - 1);
        return -1;
    }
    snprintf(dst, len, "%s", src);
    return 0;
}

static int parse_args(int argc, char **argv, kr_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("krach-engine %s\n", KRACH_VERSION);
            exit(0);
        } else if (!strcmp(a, "--offline")) {
            cfg->audio.kind = KR_BACKEND_OFFLINE;
            takes = 0;
        } else if (!strcmp(a, "--test-faults")) {
            cfg->test_faults = true;
            takes = 0;
        } else if (!strcmp(a, "--record-events")) {
            cfg->record_events = true;
            takes = 0;
        } else if (!v) {
            fprintf(stderr, "krach-engine: unknown option or missing value: %s (see --help)\n", a);
            return -1;
        } else if (!strcmp(a, "--backend")) {
            if (!strcmp(v, "auto")) cfg->audio.kind = KR_BACKEND_AUTO;
            else if (!strcmp(v, "portaudio")) cfg->audio.kind = KR_BACKEND_PORTAUDIO;
            else if (!strcmp(v, "null")) cfg->audio.kind = KR_BACKEND_NULL;
            else if (!strcmp(v, "offline")) cfg->audio.kind = KR_BACKEND_OFFLINE;
            else {
                fprintf(stderr, "krach-engine: --backend is auto, portaudio, null or offline\n");
                rc = -1;
            }
        } else if (!strcmp(a, "--socket")) {
            rc = copy_path(a, cfg->socket_path, sizeof cfg->socket_path, v);
        } else if (!strcmp(a, "--tcp")) {
            rc = parse_tcp(cfg, v);
        } else if (!strcmp(a, "--token")) {
            if (strlen(v) < 16 || strlen(v) >= sizeof cfg->token) {
                fprintf(stderr, "krach-engine: --token wants 16 to %zu characters\n",
                        sizeof cfg->token - 1);
                rc = -1;
            } else
                snprintf(cfg->token, sizeof cfg->token, "%s", v);
        } else if (!strcmp(a, "--token-file")) {
            rc = copy_path(a, cfg->token_file, sizeof cfg->token_file, v);
        } else if (!strcmp(a, "--log")) {
            rc = copy_path(a, cfg->log_path, sizeof cfg->log_path, v);
        } else if (!strcmp(a, "--dsp-dir")) {
            rc = copy_path(a, cfg->dsp_dir, sizeof cfg->dsp_dir, v);
        } else if (!strcmp(a, "--files-dir")) {
            rc = copy_path(a, cfg->files_dir, sizeof cfg->files_dir, v);
        } else if (!strcmp(a, "--log-level")) {
            if ((rc = kr_log_level_parse(v, &cfg->log_level)))
                fprintf(stderr, "krach-engine: --log-level is error, warn, info or debug\n");
        } else if (!strcmp(a, "--sample-rate")) {
            rc = parse_int(a, v, KR_MIN_SAMPLE_RATE, KR_MAX_SAMPLE_RATE, &cfg->audio.sample_rate);
        } else if (!strcmp(a, "--block-size")) {
            rc = parse_int(a, v, 16, KR_MAX_BLOCK, &cfg->audio.block_size);
        } else if (!strcmp(a, "--device")) {
            cfg->audio.device = v;
        } else if (!strcmp(a, "--audio-api")) {
            cfg->audio.audio_api = v;
        } else if (!strcmp(a, "--inputs")) {
            rc = parse_int(a, v, 0, KR_MAX_NODE_INPUTS, &cfg->audio.inputs);
        } else {
            fprintf(stderr, "krach-engine: unknown option %s (see --help)\n", a);
            return -1;
        }
        if (rc)
            return -1;
        i += takes;
    }
    return 0;
}

/* --faust-export: the IR JSON in `path` (or stdin) as FAUST on stdout. */
static int faust_export(const char *path)
{
    json_error_t jerr;
    json_t *json = strcmp(path, "-") ? json_load_file(path, 0, &jerr) : json_loadf(stdin, 0, &jerr);
    if (!json) {
        if (jerr.line < 0) /* the file could not be read */
            fprintf(stderr, "krach-engine: --faust-export: %s\n", jerr.text);
        else
            fprintf(stderr, "krach-engine: %s: not JSON (line %d: %s)\n", path, jerr.line,
                    jerr.text);
        return 1;
    }
    kr_ir ir;
    kr_error error = {0};
    char *program = NULL;
    int bad = kr_ir_parse(json, &ir, &error);
    json_decref(json);
    if (!bad) {
        program = kr_faust_export(&ir, &error);
        kr_ir_free(&ir);
    }
    if (!program) {
        fprintf(stderr, "krach-engine: %s: %s\n", path, error.message);
        return 1;
    }
    fputs(program, stdout);
    free(program);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--faust-export"))
            return faust_export(argv[i + 1]);
    kr_config cfg;
    kr_config_defaults(&cfg);
    if (parse_args(argc, argv, &cfg))
        return 2;

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    kr_engine engine;
    char err[512];
    if (kr_engine_open(&engine, &cfg, err, sizeof err)) {
        fprintf(stderr, "krach-engine: %s\n", err);
        kr_engine_close(&engine);
        return 1;
    }
    kr_server *server = kr_server_open(&engine, err, sizeof err);
    if (!server) {
        fprintf(stderr, "krach-engine: %s\n", err);
        kr_logf(engine.log, KR_LOG_ERROR, "%s", err);
        kr_engine_close(&engine);
        return 1;
    }
    printf("krach-engine ready socket=%s backend=%s\n", engine.config.socket_path,
           kr_backend_name(engine.backend.kind));
    fflush(stdout);

    kr_server_run(server, (volatile int *)&stop_requested);
    kr_server_close(server);
    kr_engine_close(&engine);
    return 0;
}
