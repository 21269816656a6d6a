/* check.c — what FAUST text krach accepts before libfaust sees it (see
 * kr_faust_expr_check and kr_faust_file_check in faust.h).
 *
 * A small tokenizer, not a parser: it finds comments, string literals,
 * identifiers, brackets and the characters `;` and `=`, which is all the
 * rules need. libfaust parses what passes; these checks only decide what may
 * reach it. */
#include <stdio.h>
#include <string.h>

#include "krach/faust.h"

#define CHECK_DEPTH 256 /* brackets open at once */

/* Words a faust_expr may not use, and why (the message says it). */
static const struct {
    const char *word, *why;
} refused[] = {
    {"import", "reads a file"},
    {"component", "reads a file"},
    {"library", "reads a file"},
    {"soundfile", "reads a sound file"},
    {"environment", "defines names outside the expression"},
    {"declare", "adds a declaration to the program"},
    {"ffunction", "calls a C function of the engine process"},
    {"fconstant", "reads a C constant of the engine process"},
    {"fvariable", "reads a C variable of the engine process"},
};

/* Words after which `{` opens a block of local definitions (or a table). */
static const char *const block_words[] = {"with", "letrec", "case", "waveform"};

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Skips a comment at `p`, if there is one: the position after it, `p` when
 * there is none, or NULL for a `/ *` never closed. */
static const char *skip_comment(const char *p)
{
    if (p[0] == '/' && p[1] == '/') {
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *end = strstr(p + 2, "*/");
        return end ? end + 2 : NULL;
    }
    return p;
}

/* A line:column position of `p` in `text`, for messages. */
static void where(const char *text, const char *p, char *out, size_t size)
{
    int line = 1, col = 1;
    for (const char *q = text; q < p; q++, col++)
        if (*q == '\n')
            line++, col = 0;
    snprintf(out, size, "line %d, column %d", line, col);
}

static int expr_fail(kr_error *error, const char *code, const char *p, const char *what)
{
    char at[48];
    where(code, p, at, sizeof at);
    kr_error_set(error, "bad_ir", "the faust_expr code is not one FAUST expression krach can "
                 "use: %s at %s (see docs/faust.md, \"What a faust_expr may contain\")", what, at);
    return -1;
}

/* An identifier at `p` (length `n`): refused words, and remembered as the
 * word before a possible `{`. */
static int expr_word(const char *code, const char *p, size_t n, kr_error *error)
{
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (strlen(refused[i].word) == n && !strncmp(p, refused[i].word, n)) {
            char what[160];
            snprintf(what, sizeof what, "'%s' is refused (it %s)", refused[i].word,
                     refused[i].why);
            return expr_fail(error, code, p, what);
        }
    }
    return 0;
}

static bool opens_block(const char *word, size_t n)
{
    for (size_t i = 0; i < sizeof block_words / sizeof block_words[0]; i++)
        if (strlen(block_words[i]) == n && !strncmp(word, block_words[i], n))
            return true;
    return false;
}

/* `=` at `p` that is part of ==, !=, <=, >= (a comparison, not a definition). */
static bool comparison(const char *code, const char *p)
{
    if (p[1] == '=' || (p > code && p[-1] == '=' ))
        return true;
    return p > code && (p[-1] == '!' || p[-1] == '<' || p[-1] == '>');
}

int kr_faust_expr_check(const char *code, kr_error *error)
{
    char open[CHECK_DEPTH];
    int depth = 0, braces = 0;
    const char *word = NULL; /* the last identifier, if nothing but spaces followed it */
    size_t word_len = 0;
    for (const char *p = code; *p;) {
        const char *after = skip_comment(p);
        if (!after)
            return expr_fail(error, code, p, "a /* comment is never closed");
        if (after != p) {
            p = after;
            continue;
        }
        char c = *p;
        if (is_space(c)) {
            p++;
            continue;
        }
        if (is_alpha(c)) {
            const char *start = p;
            while (is_alpha(*p) || is_digit(*p))
                p++;
            if (expr_word(code, start, (size_t)(p - start), error))
                return -1;
            word = start;
            word_len = (size_t)(p - start);
            continue;
        }
        const char *prev_word = word;
        size_t prev_len = word_len;
        word = NULL;
        if (is_digit(c) || c == '.' || c == ',' || c == ':' || c == '<' || c == '>' ||
            c == '!' || c == '~' || c == '\'' || c == '@' || c == '+' || c == '-' ||
            c == '*' || c == '/' || c == '%' || c == '^' || c == '&' || c == '|' || c == '\\') {
            p++;
            continue;
        }
        if (c == '"')
            return expr_fail(error, code, p, "a string literal (\"...\") is refused: FAUST "
                             "takes file names and labels as strings; krach's controls "
                             "come from kr.control");
        if (c == ';' && braces == 0)
            return expr_fail(error, code, p, "';' outside a with/letrec/case block would end "
                             "the expression");
        if (c == '=' && braces == 0 && !comparison(code, p))
            return expr_fail(error, code, p, "'=' outside a with/letrec/case block would "
                             "start a definition");
        if (c == ';' || c == '=') {
            p++;
            continue;
        }
        if (c == '(' || c == '[' || c == '{') {
            if (c == '{' && !(prev_word && opens_block(prev_word, prev_len)))
                return expr_fail(error, code, p, "'{' may only follow with, letrec, case or "
                                 "waveform");
            if (depth == CHECK_DEPTH)
                return expr_fail(error, code, p, "brackets nest deeper than 256");
            open[depth++] = c;
            braces += c == '{';
            p++;
            continue;
        }
        if (c == ')' || c == ']' || c == '}') {
            char want = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (depth == 0 || open[depth - 1] != want) {
                char what[64];
                snprintf(what, sizeof what, "'%c' closes nothing that is open", c);
                return expr_fail(error, code, p, what);
            }
            depth--;
            braces -= c == '}';
            p++;
            continue;
        }
        char what[96];
        if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
            snprintf(what, sizeof what, "the byte 0x%02x is not FAUST", (unsigned char)c);
        else
            snprintf(what, sizeof what, "the character '%c' is not FAUST", c);
        return expr_fail(error, code, p, what);
    }
    if (depth > 0) {
        char what[64];
        snprintf(what, sizeof what, "'%c' is never closed", open[depth - 1]);
        return expr_fail(error, code, code + strlen(code), what);
    }
    return 0;
}

/* ---- .dsp files --------------------------------------------------------- */

/* A file name import/component/library may use: a bare name of the FAUST
 * folder or of FAUST's libraries, never a path. */
static bool bare_file_name(const char *name, size_t n)
{
    if (n == 0 || n > 128 || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!(is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

/* After a file-reading word at `p`: `(`, then a string literal. Returns the
 * position after the string's opening quote, or NULL. */
static const char *file_argument(const char *p)
{
    for (int want_paren = 1;;) {
        const char *after = skip_comment(p);
        if (!after)
            return NULL;
        if (after != p) {
            p = after;
        } else if (is_space(*p)) {
            p++;
        } else if (want_paren && *p == '(') {
            want_paren = 0;
            p++;
        } else {
            return !want_paren && *p == '"' ? p + 1 : NULL;
        }
    }
}

int kr_faust_file_check(const char *name, const char *text,
                        void (*imported)(const char *file, void *ctx), void *ctx,
                        kr_error *error)
{
    for (const char *p = text; *p;) {
        const char *after = skip_comment(p);
        if (!after)
            break; /* libfaust reports it */
        if (after != p) {
            p = after;
        } else if (*p == '"') { /* a label or metadata: skip it */
            const char *end = strchr(p + 1, '"');
            p = end ? end + 1 : p + strlen(p);
        } else if (is_alpha(*p)) {
            const char *start = p;
            while (is_alpha(*p) || is_digit(*p))
                p++;
            size_t n = (size_t)(p - start);
            bool reads = (n == 6 && !strncmp(start, "import", 6)) ||
                         (n == 9 && !strncmp(start, "component", 9)) ||
                         (n == 7 && !strncmp(start, "library", 7));
            if (!reads)
                continue;
            const char *file = file_argument(p);
            const char *end = file ? strchr(file, '"') : NULL;
            if (!end || !bare_file_name(file, (size_t)(end - file))) {
                char at[48];
                where(text, start, at, sizeof at);
                kr_error_set(error, "bad_value", "%s: the %.*s at %s must name a file of the "
                             "FAUST folder or of FAUST's libraries by its bare name, like "
                             "\"stdfaust.lib\" or \"mylib.lib\" (no folder, no path)", name,
                             (int)n, start, at);
                return -1;
            }
            if (imported) {
                char bare[129]; /* bare_file_name: at most 128 bytes */
                snprintf(bare, sizeof bare, "%.*s", (int)(end - file), file);
                imported(bare, ctx);
            }
            p = end + 1;
        } else {
            p++;
        }
    }
    return 0;
}
