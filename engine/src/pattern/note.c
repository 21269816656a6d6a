/* note.c — note names to MIDI numbers, MIDI numbers to Hz. */
#include <math.h>

#include "krach/pattern.h"

int kr_note_parse(const char *text, double *midi)
{
    /* Semitones of C D E F G A B above C. */
    static const int letter_pc[7] = {9, 11, 0, 2, 4, 5, 7}; /* a b c d e f g */
    if (!text)
        return -1;
    const char *p = text;
    char c = *p;
    if (c >= 'a' && c <= 'g')
        c = (char)(c - 'a' + 'A');
    if (c < 'A' || c > 'G')
        return -1;
    int semis = letter_pc[c - 'A'];
    p++;
    for (;; p++) {
        if (*p == '#' || *p == 's')
            semis++;
        else if (*p == 'b' || *p == 'f')
            semis--;
        else
            break;
        if (p - text > 16)
            return -1;
    }
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (*p < '0' || *p > '9')
        return -1; /* the octave is required */
    int octave = 0, digits = 0;
    while (*p >= '0' && *p <= '9') {
        octave = octave * 10 + (*p - '0');
        if (++digits > 2)
            return -1;
        p++;
    }
    if (*p != '\0')
        return -1;
    if (neg)
        octave = -octave;
    *midi = (double)(12 * (octave + 1) + semis);
    return 0;
}

double kr_midi_to_freq(double midi)
{
    return 440.0 * pow(2.0, (midi - 69.0) / 12.0);
}
