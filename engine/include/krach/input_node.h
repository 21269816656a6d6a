/* input_node.h — a node that plays one channel of the audio input.
 *
 * It reads the block the backend handed to kr_rt_process (rt.input, at
 * rt.input_offset for the slice being rendered); with no input (null or
 * offline backend, or a device without inputs) it is silent. Like any
 * source it has a gain, can be muted and sent into effects. */
#ifndef KRACH_INPUT_NODE_H
#define KRACH_INPUT_NODE_H

#include "krach/node.h"

/* Server thread. NULL when out of memory. */
kr_node *kr_input_node_create(const char *name, double sample_rate, float gain, int channel);
bool kr_node_is_input(const kr_node *node);
int kr_input_node_channel(const kr_node *node);

#endif
