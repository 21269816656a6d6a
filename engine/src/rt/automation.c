/* automation.c — audio-thread automation (see automation.h). */
#include "krach/automation.h"

#include <math.h>

#include "krach/node.h"

#define KR_TWO_PI 6.283185307179586

static double present_value(const kr_automation *a)
{
    if (a->index == KR_AUTOMATION_GAIN)
        return a->node->gain_target;
    if (a->node->type->get_param)
        return a->node->type->get_param(a->node, a->index);
    return a->lo;
}

bool kr_automations_set(kr_automations *set, const kr_automation *a)
{
    for (int i = 0; i < set->count; i++) {
        kr_automation *it = &set->items[i];
        if (it->node != a->node || it->index != a->index)
            continue;
        if (a->shape == KR_AUTO_NONE) {
            *it = set->items[--set->count];
        } else if (a->retime_only) {
            it->phase0 = a->phase0;
            it->sample0 = a->sample0;
            it->rate = a->rate;
        } else {
            *it = *a;
            if (a->from_current)
                it->lo = present_value(a);
        }
        return true;
    }
    if (a->shape == KR_AUTO_NONE || a->retime_only)
        return true;
    if (set->count >= KR_AUTOMATIONS)
        return false;
    kr_automation *it = &set->items[set->count++];
    *it = *a;
    if (a->from_current)
        it->lo = present_value(a);
    return true;
}

void kr_automations_remove_node(kr_automations *set, struct kr_node *node)
{
    for (int i = set->count - 1; i >= 0; i--)
        if (set->items[i].node == node)
            set->items[i] = set->items[--set->count];
}

double kr_automation_value(const kr_automation *a, double phase)
{
    double unit; /* 0..1 */
    if (a->shape == KR_AUTO_FADE) {
        unit = phase <= 0.0 ? 0.0 : phase >= 1.0 ? 1.0 : phase;
    } else {
        double p = phase - floor(phase);
        switch (a->shape) {
        case KR_AUTO_SINE: unit = 0.5 - 0.5 * cos(KR_TWO_PI * p); break; /* starts at lo */
        case KR_AUTO_TRI: unit = p < 0.5 ? 2.0 * p : 2.0 - 2.0 * p; break;
        case KR_AUTO_RAMP: unit = p; break;
        case KR_AUTO_SQUARE: unit = p < 0.5 ? 1.0 : 0.0; break;
        default: unit = 0.0; break;
        }
    }
    return a->lo + (a->hi - a->lo) * unit;
}

static void apply_one(const kr_automation *a, double value)
{
    if (a->index == KR_AUTOMATION_GAIN)
        a->node->gain_target = (float)value;
    else
        a->node->type->set_param(a->node, -1, a->index, value);
}

void kr_automations_apply(kr_automations *set, int64_t now)
{
    for (int i = set->count - 1; i >= 0; i--) {
        const kr_automation *a = &set->items[i];
        double phase = a->phase0 + (double)(now - a->sample0) * a->rate;
        apply_one(a, kr_automation_value(a, phase));
        if (a->shape == KR_AUTO_FADE && phase >= 1.0)
            set->items[i] = set->items[--set->count];
    }
}
