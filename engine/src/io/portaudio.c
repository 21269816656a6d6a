/* portaudio.c — a real output device through PortAudio. Its callback is the
 * audio thread: it only calls kr_rt_process and counts underflows. */
#include <ctype.h>
#include <portaudio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

typedef struct pa_output {
    PaStream *stream;
    kr_rt *rt;
    double xrun_buffer_time; /* audio thread: currentTime of the last host buffer counted */
} pa_output;

static int pa_callback(const void *input, void *output, unsigned long frames,
                       const PaStreamCallbackTimeInfo *time_info,
                       PaStreamCallbackFlags status, void *user)
{
    pa_output *pa = user;
    /* PortAudio splits a host buffer into several of our blocks (a 2048-frame
     * JACK period is 8 calls) and flags each of them: one dropout is counted
     * once, on the first call of its host buffer (they share currentTime). */
    if (status & (paOutputUnderflow | paOutputOverflow | paInputOverflow)) {
        double now = time_info ? time_info->currentTime : -1.0;
        if (!time_info || now != pa->xrun_buffer_time)
            kr_rt_count_xrun(pa->rt);
        pa->xrun_buffer_time = now;
    }
    pa->rt->input = input; /* interleaved, rt->input_channels wide, or NULL */
    kr_rt_process(pa->rt, output, frames);
    pa->rt->input = NULL;
    return paContinue;
}

static int contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static PaHostApiIndex find_host_api(const char *name, char *err, size_t errlen)
{
    PaHostApiIndex count = Pa_GetHostApiCount();
    for (PaHostApiIndex i = 0; i < count; i++)
        if (contains_nocase(Pa_GetHostApiInfo(i)->name, name))
            return i;
    char known[512] = "";
    for (PaHostApiIndex i = 0; i < count; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, Pa_GetHostApiInfo(i)->name, sizeof known - strlen(known) - 1);
    }
    snprintf(err, errlen, "no audio API matches '%s' (available: %s)", name,
             count ? known : "none");
    return -1;
}

/* A device given as a number is an index; otherwise a name substring among the
 * output devices (of the chosen host API, when one was chosen). */
static PaDeviceIndex find_device(const kr_backend_options *options, PaHostApiIndex api,
                                 char *err, size_t errlen)
{
    if (!options->device) {
        PaDeviceIndex dev =
            api >= 0 ? Pa_GetHostApiInfo(api)->defaultOutputDevice : Pa_GetDefaultOutputDevice();
        if (dev == paNoDevice)
            snprintf(err, errlen, "no default output device");
        return dev;
    }
    char *end;
    long index = strtol(options->device, &end, 10);
    PaDeviceIndex count = Pa_GetDeviceCount();
    if (*options->device && !*end) {
        if (index < 0 || index >= count) {
            snprintf(err, errlen, "device index %ld out of range (0..%d)", index, count - 1);
            return paNoDevice;
        }
        return (PaDeviceIndex)index;
    }
    for (PaDeviceIndex i = 0; i < count; i++) {
        const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
        if (info->maxOutputChannels >= 1 && (api < 0 || info->hostApi == api) &&
            contains_nocase(info->name, options->device))
            return i;
    }
    snprintf(err, errlen, "no output device matches '%s'", options->device);
    return paNoDevice;
}

int kr_portaudio_start(kr_backend *backend, const kr_backend_options *options, kr_rt *rt,
                       kr_log *log, char *err, size_t errlen)
{
    PaError pe = Pa_Initialize();
    if (pe != paNoError) {
        snprintf(err, errlen, "PortAudio: %s", Pa_GetErrorText(pe));
        return -1;
    }
    PaHostApiIndex api = -1;
    if (options->audio_api && (api = find_host_api(options->audio_api, err, errlen)) < 0)
        goto fail;
    PaDeviceIndex dev = find_device(options, api, err, errlen);
    if (dev == paNoDevice)
        goto fail;

    const PaDeviceInfo *info = Pa_GetDeviceInfo(dev);
    PaStreamParameters out = {
        .device = dev,
        .channelCount = rt->channels,
        .sampleFormat = paFloat32,
        .suggestedLatency = info->defaultLowOutputLatency,
    };
    pa_output *pa = calloc(1, sizeof *pa);
    if (!pa) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    pa->xrun_buffer_time = -1.0; /* PortAudio's stream time starts at 0 */
    pa->rt = rt;
    /* Input from the same device when it has some and inputs were asked for
     * (JACK's "system" has both; a plain output device has none). */
    int inputs = options->inputs < info->maxInputChannels ? options->inputs
                                                          : info->maxInputChannels;
    PaStreamParameters in = {
        .device = dev,
        .channelCount = inputs,
        .sampleFormat = paFloat32,
        .suggestedLatency = info->defaultLowInputLatency,
    };
    rt->input_channels = inputs > 0 ? inputs : 0;
    /* paClipOff: the safety stage already keeps every sample within ±1. */
    pe = Pa_OpenStream(&pa->stream, inputs > 0 ? &in : NULL, &out, options->sample_rate,
                       (unsigned long)options->block_size, paClipOff, pa_callback, pa);
    if (pe != paNoError && inputs > 0) { /* fall back to output only */
        rt->input_channels = 0;
        pa->stream = NULL;
        pe = Pa_OpenStream(&pa->stream, NULL, &out, options->sample_rate,
                           (unsigned long)options->block_size, paClipOff, pa_callback, pa);
    }
    if (pe == paNoError)
        pe = Pa_StartStream(pa->stream);
    if (pe != paNoError) {
        snprintf(err, errlen, "cannot open '%s' at %d Hz: %s", info->name, options->sample_rate,
                 Pa_GetErrorText(pe));
        if (pa->stream)
            Pa_CloseStream(pa->stream);
        free(pa);
        goto fail;
    }
    backend->kind = KR_BACKEND_PORTAUDIO;
    backend->impl = pa;
    backend->input_channels = rt->input_channels;
    snprintf(backend->device, sizeof backend->device, "%s", info->name);
    kr_logf(log, KR_LOG_INFO, "portaudio backend: '%s' (%s), %d Hz, %d-frame blocks, %d inputs",
            info->name, Pa_GetHostApiInfo(info->hostApi)->name, options->sample_rate,
            options->block_size, rt->input_channels);
    return 0;
fail:
    Pa_Terminate();
    return -1;
}

void kr_portaudio_stop(kr_backend *backend)
{
    pa_output *pa = backend->impl;
    if (!pa)
        return;
    if (backend->stalled) {
        /* The device (or JACK server) is gone. PortAudio's stop and close then
         * hang or abort inside the host API, so the stream is abandoned: the
         * callback is not running and the process is about to exit. */
        free(pa);
        return;
    }
    /* Abort, not stop: stopping waits for queued buffers to play, which never
     * happens when the device (or the JACK server) has gone away. A stream
     * that is no longer active is only closed. */
    if (Pa_IsStreamActive(pa->stream) == 1)
        Pa_AbortStream(pa->stream);
    Pa_CloseStream(pa->stream);
    Pa_Terminate();
    free(pa);
}
