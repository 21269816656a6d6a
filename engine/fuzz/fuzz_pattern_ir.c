/* fuzz_pattern_ir.c — pattern IR JSON → kr_pattern_from_json → queries.
 *
 * The input is parsed as JSON the way the protocol parses a request (jansson,
 * duplicate keys refused, any value at the top). A pattern that validates
 * must answer its queries as kr_fuzz_query_pattern checks; one that does not
 * fails with bad_pattern (bad_mini for the text of a "mini" node) and a
 * message. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *json = json_loadb((const char *)data, size,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!json)
        return 0;
    kr_error error = {0};
    kr_pattern *pattern = kr_pattern_from_json(json, &error);
    if (pattern) {
        kr_fuzz_query_pattern(pattern);
        kr_pattern_free(pattern);
    } else {
        /* A "mini" node with a syntax error keeps the parser's bad_mini. */
        bool mini = error.code && strcmp(error.code, "bad_mini") == 0;
        kr_fuzz_check_error(&error, mini ? "bad_mini" : "bad_pattern", "kr_pattern_from_json");
    }
    json_decref(json);
    return 0;
}
