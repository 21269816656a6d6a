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
/* Server thread: the channel the node plays (as last set). */
int kr_input_node_channel(const kr_node *node);
/* Server thread: records a new channel; the caller sends the audio thread
 * a parameter command with index KR_INPUT_PARAM_CHANNEL and that value. */
void kr_input_node_set_channel(kr_node *node, int channel);
enum { KR_INPUT_PARAM_CHANNEL = 0 };

#endif
