/* fuzz_mini.c — mini-notation text → kr_mini_parse → queries.
 *
 * The input is the text itself (a NUL inside ends it, as in a C string).
 * Parsing either builds a pattern, whose queries must keep the promises
 * checked by kr_fuzz_query_pattern, or fails with bad_mini and a message
 * that shows the text with a caret. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "krach/mini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = kr_fuzz_text(data, size);
    kr_error error = {0};
    kr_pattern *pattern = kr_mini_parse(text, &error);
    if (pattern) {
        kr_fuzz_query_pattern(pattern);
        kr_pattern_free(pattern);
    } else {
        kr_fuzz_check_error(&error, "bad_mini", "kr_mini_parse");
        if (!strstr(error.message, "column") || !strchr(error.message, '^'))
            kr_fuzz_fail("a bad_mini message must name the column and show a caret: %s",
                         error.message);
    }
    /* Without an error object the parser must cope too (mini.h allows NULL). */
    kr_pattern_free(kr_mini_parse(text, NULL));
    free(text);
    return 0;
}
