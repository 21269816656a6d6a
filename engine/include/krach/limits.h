/* limits.h — every hard limit of the engine in one place.
 *
 * Limits keep memory bounded whatever a client sends; each one that a client
 * can hit is answered with an error that names it (see docs/protocol.md). */
#ifndef KRACH_LIMITS_H
#define KRACH_LIMITS_H

#define KR_MAX_LINE        (1024 * 1024)      /* bytes in one request line */
#define KR_MAX_OUTBUF      (16 * 1024 * 1024) /* unread bytes behind the reply being read */
#define KR_MAX_PREAUTH_OUTBUF 4096            /* unread reply bytes of a TCP client before auth */
#define KR_CLOSE_GRACE     2.0                /* s a closing client may leave its output unread */
#define KR_MAX_SOURCE_BYTES (32 * 1024 * 1024) /* node IR + pattern sources kept, as JSON text */
#define KR_MAX_CLIENTS     64
#define KR_MAX_NAME        64                 /* node name incl. NUL */
#define KR_MAX_NODES       256
#define KR_MAX_CHANNELS    2                  /* output channels */
#define KR_MAX_NODE_INPUTS 8                  /* audio inputs of one node */
#define KR_MAX_ROUTES      1024
#define KR_MAX_SCENES      256
#define KR_MAX_SCENE_BYTES (64 * 1024 * 1024) /* all saved scenes, as JSON text */
#define KR_MAX_PUSHED      64                 /* event lines waiting for the server loop */
#define KR_MAX_BLOCK       4096               /* frames per processing slice */
#define KR_RT_QUEUE        1024               /* commands in flight to the audio thread */
#define KR_RT_NOTES        256                /* log notes in flight from the audio thread */
#define KR_RT_EVENTS       16384              /* timed events waiting on the audio thread */
#define KR_RT_APPLIED      65536              /* applied-event records (tests) in flight */
#define KR_RT_RECORDING    (1 << 19)          /* recorder ring, frames (~11 s at 48 kHz) */
#define KR_MIN_SAMPLE_RATE 8000
#define KR_MAX_SAMPLE_RATE 384000
#define KR_MAX_RENDER_SECONDS (24.0 * 3600.0) /* one render request */

#endif
