/* io_internal.h — the per-backend entry points behind backend.c. */
#ifndef KRACH_IO_INTERNAL_H
#define KRACH_IO_INTERNAL_H

#include "krach/backend.h"

int kr_portaudio_start(kr_backend *backend, const kr_backend_options *options, kr_rt *rt,
                       kr_log *log, char *err, size_t errlen);
void kr_portaudio_stop(kr_backend *backend);

int kr_null_start(kr_backend *backend, const kr_backend_options *options, kr_rt *rt,
                  kr_log *log, char *err, size_t errlen);
void kr_null_stop(kr_backend *backend);

#endif
