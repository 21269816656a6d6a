/* cmd_pattern.c — `query`: what a pattern plays over a span of cycles. */
#include <stdio.h>

#include "fields.h"
#include "krach/pattern.h"
#include "request.h"

static json_t *time_text(kr_rat t)
{
    char text[48];
    kr_rat_format(t, text, sizeof text);
    return json_string(text);
}

static json_t *arc_json(kr_arc a)
{
    return json_pack("[o, o]", time_text(a.begin), time_text(a.end));
}

static json_t *event_json(const kr_event *ev)
{
    json_t *value = json_object();
    for (int i = 0; i < ev->value.count; i++)
        json_object_set_new(value, ev->value.names[i], json_real(ev->value.values[i]));
    json_t *e = json_object();
    json_object_set_new(e, "whole", ev->has_whole ? arc_json(ev->whole) : json_null());
    json_object_set_new(e, "part", arc_json(ev->part));
    json_object_set_new(e, "value", value);
    json_object_set_new(e, "label", json_string(ev->value.label));
    return e;
}

int kr_cmd_query(kr_request *req)
{
    kr_arc arc;
    if (kr_field_time(req->json, req->cmd, "from", true, &arc.begin, &req->error) < 0 ||
        kr_field_time(req->json, req->cmd, "to", true, &arc.end, &req->error) < 0)
        return -1;
    if (kr_rat_cmp(arc.begin, arc.end) > 0) {
        kr_error_set(&req->error, "bad_value", "query needs 'from' <= 'to' (cycles, e.g. "
                     "\"from\": 0, \"to\": 4)");
        return -1;
    }
    kr_pattern *pattern = kr_request_pattern(req);
    if (!pattern)
        return -1;
    kr_events events = {0};
    int rc = kr_pattern_query(pattern, arc, &events, &req->error);
    kr_pattern_free(pattern);
    if (rc) {
        kr_events_free(&events);
        return -1;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < events.count; i++)
        json_array_append_new(list, event_json(&events.items[i]));
    kr_events_free(&events);
    json_object_set_new(req->reply, "events", list);
    return 0;
}
