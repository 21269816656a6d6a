"""Helpers for the scheduler timing tests (test_e2e_timing*.py).

`TransportModel` is an independent Python model of the engine's transport
rules (engine/include/krach/transport.h), in exact `fractions.Fraction`
arithmetic: segments that start at an integer sample and an exact cycle, an
event at cycle c sounding at ``start_sample + ceil((c - start_cycle) ·
60 · meter · sr / bpm)``, and a change point's cycle rounded to the nearest
2^-20 cycle when its denominator exceeds 2^20. The tests compute every
expected sample with it and compare with what the engine did.

`gate_offs` models where the scheduler lowers a voice's gate (scheduler.c,
play_note): at the note's end, or one sample before the next note's onset
when that note starts while this one still sounds (back to back, or a stolen
voice), so that the next note's gate *rises* on its own sample.

The rest reads what the engine did: `applied` (``applied_events`` of an
engine started with ``--record-events``), `Edges` (gate edges in rendered
sound, carried across render pieces) and `render_piece` (one rendered piece
read back and deleted, so long renders never sit on disk).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import numpy as np

from e2e_support import SAMPLE_RATE, read_sound

SR = SAMPLE_RATE
CYCLE_GRID = 1 << 20  # transport.h: change points are kept on a 2^-20 cycle grid when needed


# ---- the transport, modelled exactly ------------------------------------------------


def bpm_fraction(bpm: float | int | str) -> F:
    """The exact BPM the engine uses for a number sent as JSON: the short decimal
    form (kr_rat_from_double keeps short exact decimals; cmd_tempo otherwise
    rounds to a thousandth — both agree for the tempos used here)."""
    return F(repr(bpm)) if isinstance(bpm, float) else F(bpm)


def bound_cycle(c: F) -> F:
    """A change point's cycle: exact while its denominator is at most 2^20, else the
    nearest multiple of 2^-20 (halves round up), as transport.c does."""
    if c.denominator <= CYCLE_GRID:
        return c
    scaled = c * CYCLE_GRID
    q = math.floor(scaled)
    if scaled - q >= F(1, 2):
        q += 1
    return F(q, CYCLE_GRID)


@dataclass(frozen=True)
class Segment:
    start_sample: int
    start_cycle: F
    bpm: F
    meter: int

    @property
    def samples_per_cycle(self) -> F:
        return F(60 * self.meter * SR) / self.bpm


class TransportModel:
    """Sample <-> cycle in exact tempo segments (see the module docstring)."""

    def __init__(self, bpm: float | int = 120, meter: int = 4) -> None:
        self.segments = [Segment(0, F(0), bpm_fraction(bpm), meter)]

    @property
    def current(self) -> Segment:
        return self.segments[-1]

    def cycle_at(self, sample: int) -> F:
        seg = next(s for s in reversed(self.segments) if s.start_sample <= sample)
        return seg.start_cycle + F(sample - seg.start_sample) / seg.samples_per_cycle

    def sample_at(self, cycle: F) -> int:
        """Where an event at `cycle` sounds: the first sample at or after it."""
        cycle = F(cycle)
        seg = next((s for s in reversed(self.segments) if s.start_cycle <= cycle), self.segments[0])
        return seg.start_sample + math.ceil((cycle - seg.start_cycle) * seg.samples_per_cycle)

    def change(self, at_sample: int, bpm: float | int | None = None, meter: int | None = None) -> Segment:
        """A tempo and/or meter change taking effect at `at_sample`."""
        cur = self.current
        seg = Segment(at_sample, bound_cycle(self.cycle_at(at_sample)),
                      cur.bpm if bpm is None else bpm_fraction(bpm),
                      cur.meter if meter is None else meter)
        if at_sample == cur.start_sample and len(self.segments) > 1:
            self.segments[-1] = seg  # two changes at one sample: one segment
        else:
            self.segments.append(seg)
        return seg


def gate_offs(notes: list[tuple[int, int]]) -> list[int]:
    """The samples the gate-offs of one voice's notes are due at, for notes given
    as (onset, end) samples in the order they take the voice.

    A note ends at its end sample, unless the voice's next note starts while it
    still sounds — its end is that onset (back to back) or later (the voice is
    stolen): then its gate falls one sample early, on the next onset − 1, and
    the next note's gate rises on its own sample (scheduler.c, play_note).
    Offline, the notes due up to a block after a render's end are already
    queued, so the note starting on the first sample a render did not reach
    has already ended its predecessor inside the render: give it here too.
    Notes start at least two samples apart (a chord on one voice, or a next
    note on the sample after, follows other rules: not modelled here)."""
    out = []
    for i, (on, end) in enumerate(notes):
        following = notes[i + 1][0] if i + 1 < len(notes) else None
        assert end - on >= 2 and (following is None or following - on >= 2), (
            f"note {i} {(on, end)}, next onset {following}: outside what this model covers")
        out.append(following - 1 if following is not None and following <= end else end)
    return out


def transport(kr: Any) -> dict[str, Any]:
    """The engine's ``transport`` reply, with ``cycle`` as a Fraction."""
    reply = kr.request("transport")
    reply["cycle"] = F(reply["cycle"])
    return reply


def tags(kr: Any) -> dict[str, int]:
    """target -> tag of every pattern playing (from ``transport``)."""
    return {p["target"]: p["tag"] for p in kr.request("transport")["patterns"]}


# ---- what the audio thread applied ---------------------------------------------------------


def applied(kr: Any) -> list[dict[str, Any]]:
    """``applied_events`` since the last call; fails if the engine dropped any."""
    reply = kr.request("applied_events")
    assert reply["dropped"] == 0, f"the engine dropped {reply['dropped']} applied-event records"
    return list(reply["events"])


def gate_times(events: list[dict[str, Any]], tag: int, gate_index: int = 0) -> tuple[list[int], list[int]]:
    """(due samples of gate-ons, due samples of gate-offs) of one pattern, sorted.

    Also checks that every one of them was applied at the sample it was due."""
    late = [e for e in events if e["due"] != e["applied"]]
    assert not late, f"{len(late)} events applied off their sample, e.g. {late[:3]}"
    mine = [e for e in events if e["tag"] == tag and e["index"] == gate_index]
    ons = sorted(e["due"] for e in mine if e["value"] > 0)
    offs = sorted(e["due"] for e in mine if e["value"] == 0)
    return ons, offs


def first_difference(got: list[int], want: list[int]) -> str:
    """A short description of where two sorted sample lists part."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"item {i}: got {g}, expected {w} (off by {g - w} samples)"
    if len(got) != len(want):
        extra = got[len(want):len(want) + 3] if len(got) > len(want) else want[len(got):len(got) + 3]
        return f"got {len(got)} items, expected {len(want)}; first unmatched: {extra}"
    return "equal"


def missing_and_extra(got: list[int], want: list[int]) -> str:
    g, w = set(got), set(want)
    return (f"missing {sorted(w - g)[:8]} ({len(w - g)} in all), "
            f"unexpected {sorted(g - w)[:8]} ({len(g - w)} in all)")


# ---- gate edges in rendered sound -----------------------------------------------------------


class Edges:
    """Edges of a gate-like signal (a synth whose output is its gate, scaled),
    fed piece by piece; positions are absolute samples.

    - ``rises``: the first high sample after a low one — where notes start:
      every note's gate rises on its own due sample, also after a note that
      ends exactly there (the scheduler lowers that one a sample early);
    - ``falls``: the first low sample after a high one;
    - ``releases``: falls that are not a one-sample dip before a rise (the
      early gate-off of a note followed at once by the next).
    """

    def __init__(self, threshold: float = 1e-6, high_before: bool = False) -> None:
        """`high_before`: whether the gate was up on the sample before the first piece."""
        self.threshold = threshold
        self.high_before = high_before
        self.rises: list[int] = []
        self.falls: list[int] = []
        self._tail: np.ndarray | None = None  # the last two samples seen
        self._tail_start = 0

    def feed(self, x: np.ndarray, start: int) -> None:
        x = np.asarray(x) > self.threshold
        if self._tail is not None:
            assert self._tail_start + len(self._tail) == start, "pieces must be consecutive"
            x = np.concatenate([self._tail, x])
            base = self._tail_start
        else:
            x = np.concatenate([[self.high_before], x])
            base = start - 1
        change = np.diff(x.astype(np.int8))
        skip = 0 if self._tail is None else len(self._tail) - 1  # edges already reported
        for i in np.flatnonzero(change[skip:] == 1) + skip:
            self.rises.append(base + int(i) + 1)
        for i in np.flatnonzero(change[skip:] == -1) + skip:
            self.falls.append(base + int(i) + 1)
        self._tail = x[-2:]
        self._tail_start = base + len(x) - 2

    @property
    def releases(self) -> list[int]:
        """Falls that are not one-sample dips before a rise (see the class docstring)."""
        rises = set(self.rises)
        return [f for f in self.falls if f + 1 not in rises]


def render_piece(kr: Any, directory: Path, name: str, **span: Any) -> tuple[int, np.ndarray]:
    """Render one piece (``frames=`` or ``cycles=``) to a float WAV, read it back,
    delete the file; return (its first sample, frames x channels)."""
    path = Path(directory) / f"{name}.wav"
    reply = kr.render(path, **span)
    data, sr = read_sound(path)
    path.unlink()
    assert sr == SR and data.shape[0] == reply["frames"], (sr, data.shape, reply)
    return reply["position"] - reply["frames"], data


def mono(data: np.ndarray) -> np.ndarray:
    assert np.array_equal(data[:, 0], data[:, 1]), "a mono node feeds both channels equally"
    return data[:, 0]


def spectral_peak_near(x: np.ndarray, freq: float, sr: int = SR, width: float = 0.03) -> float:
    """The frequency of the strongest spectral peak within ±`width` (relative) of `freq`."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    n = len(x)
    nfft = 1 << int(math.ceil(math.log2(8 * n)))
    spec = np.abs(np.fft.rfft(x * np.hanning(n), nfft))
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    band = np.flatnonzero((freqs > freq * (1 - width)) & (freqs < freq * (1 + width)))
    k = int(band[np.argmax(spec[band])])
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-300)
    return float((k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / nfft)


def band_energy(x: np.ndarray, freq: float, sr: int = SR, width: float = 0.03) -> float:
    """Energy within ±`width` (relative) of `freq`, as a share of all energy."""
    x = np.asarray(x, dtype=np.float64)
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    band = (freqs > freq * (1 - width)) & (freqs < freq * (1 + width))
    return float(power[band].sum() / power.sum())
