"""Sample-exact timing of the scheduler, end to end: the grid, tempo and meter
changes, swing, where new and replaced patterns start, and real time on JACK.

Every test runs the real engine at 48 kHz. Offline, time moves only on
``render``, so a test knows the sample every command takes effect at; the
engine runs with ``--record-events``, so ``applied_events`` tells the sample
each gate change was due at and the sample the audio thread applied it at.
Sound is measured on a synth whose output *is* its gate (times 0.5): a note
starts on the first high sample and ends on the first low one. A note that
starts where the previous one on its voice ends (or steals its voice) ends
that one a sample early, so its own gate rises on its due sample after one
sample at 0 (`timing_support.gate_offs`).

Expected samples are computed independently, in exact fractions, by
`timing_support.TransportModel` from the rules in transport.h: an event at
cycle c sounds at ``segment start + ceil((c - c0) · 60 · meter · sr / bpm)``.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction as F
from pathlib import Path

import pytest

from e2e_support import JACK_XRUN_MARGIN, Jack, JackReference, check_xruns_against_reference, tail
from krach import signal as krs
from krach.session import Session
from timing_support import (
    SR,
    Edges,
    TransportModel,
    applied,
    first_difference,
    gate_offs,
    gate_times,
    missing_and_extra,
    mono,
    render_piece,
    tags,
    transport,
)

HIGH = 0.5  # what the gate probe outputs while its gate is up


def gate_probe() -> krs.Signal:
    """Sound = gate · 0.5: every gate change is visible at its exact sample."""
    return krs.control("gate", 0.0, 0.0, 1.0) * HIGH


def gate_probe_right() -> tuple[krs.Signal, krs.Signal]:
    """The gate probe on the right channel only (the left stays silent)."""
    return krs.control("gate", 0.0, 0.0, 1.0) * 0.0, krs.control("gate", 0.0, 0.0, 1.0) * HIGH


@pytest.fixture
def kr(start_engine) -> Session:
    engine = start_engine("--offline", "--record-events")
    with Session(engine.client()) as session:
        yield session


def grid(model: TransportModel, start: F, end: F, step: F, offset: F = F(0)) -> list[int]:
    """Samples of the cycles start + offset + k·step below `end`."""
    out, c = [], start + offset
    while c < end:
        out.append(model.sample_at(c))
        c += step
    return out


# ---- 1. the grid: hit() * 4 at 128 BPM for 100 cycles --------------------------------------


def test_hit4_at_128_bpm_is_applied_every_22500_samples_for_100_cycles(kr: Session):
    """At 128 BPM a cycle is 90 000 samples: hit() * 4 raises the gate at exactly
    22 500·k for k = 0…399, each applied on the sample it was due. Each note
    ends where the next begins, so its gate falls one sample before the next
    onset, at 22 500·(k+1) - 1. The 100 cycles end on sample 9 000 000
    exactly; the note of cycle 100, due there (the first sample not
    rendered), is already queued (offline renders queue a block ahead), so
    the last note's gate-off is on 8 999 999 and applied: 400 gate-ons and 400
    gate-offs."""
    kr.node("kick", gate_probe, gain=1.0)
    kr.tempo = 128
    kr["kick"] @ (kr.hit() * 4)
    reply = kr.render(cycles=100)
    assert reply["position"] == 9_000_000
    assert transport(kr)["cycle"] == 100
    ons, offs = gate_times(applied(kr), tags(kr)["kick"])
    want = [22_500 * k for k in range(400)]
    assert ons == want, first_difference(ons, want)
    want_off = gate_offs([(on, on + 22_500) for on in want + [9_000_000]])[:400]
    assert want_off[0] == 22_499 and want_off[-1] == 8_999_999
    assert offs == want_off, first_difference(offs, want_off)


def test_hit4_at_128_bpm_every_onset_is_heard_for_100_cycles(kr: Session, tmp_path: Path):
    """The same 100 cycles, listened to: every one of the 400 notes must start a
    new gate exactly on 22 500·k — a rise an envelope restarts on: the note
    before it falls one sample early, on 22 500·k - 1, and that is the only
    sample at 0 (the last fall, on 8 999 999, is the end of the last note:
    the next rises on 9 000 000, the first sample not rendered)."""
    kr.node("kick", gate_probe, gain=1.0)
    kr.tempo = 128
    kr["kick"] @ (kr.hit() * 4)
    edges = Edges()
    for piece in range(10):  # 10 cycles (900 000 frames) at a time, read and deleted
        start, data = render_piece(kr, tmp_path, f"p{piece}", cycles=10)
        assert start == 900_000 * piece
        edges.feed(mono(data), start)
    want = [22_500 * k for k in range(400)]
    want_falls = [on - 1 for on in want[1:]] + [8_999_999]
    assert edges.rises == want, (
        f"{len(edges.rises)} of 400 onsets heard ({first_difference(edges.rises, want)}); "
        f"rises {edges.rises[:5]}, falls {edges.falls[:5]}")
    assert edges.falls == want_falls, first_difference(edges.falls, want_falls)
    assert edges.releases == [8_999_999], "the gate is never at 0 for more than one sample"


@pytest.mark.parametrize("bpm", [128, 140])
def test_separated_hits_sound_on_their_samples_for_100_cycles(kr: Session, tmp_path: Path, bpm):
    """(hit() + rest()) * 4: notes on the quarters, an eighth long, so every one
    rises from silence. At 128 BPM the quarters are exactly 22 500 samples
    apart; at 140 BPM a cycle is 82 285 5/7 samples, and every onset and end
    must be the ceiling of its exact time — over 100 cycles, no drift."""
    kr.node("hat", gate_probe, gain=1.0)
    kr.tempo = bpm
    kr["hat"] @ ((kr.hit() + kr.rest()) * 4)
    model = TransportModel(bpm)
    edges = Edges()
    position = 0
    for piece in range(10):  # to the first sample of cycle 10, 20, ... (see the wait test below)
        frames = model.sample_at(10 * (piece + 1)) - position
        start, data = render_piece(kr, tmp_path, f"p{piece}", frames=frames)
        assert start == position
        edges.feed(mono(data), start)
        position = start + frames
    ons = grid(model, F(0), F(100), F(1, 4))
    offs = grid(model, F(0), F(100), F(1, 4), F(1, 8))
    assert edges.rises == ons, first_difference(edges.rises, ons)
    assert edges.falls == offs, first_difference(edges.falls, offs)
    if bpm == 128:
        assert ons[:4] == [0, 22_500, 45_000, 67_500] and ons[-1] == 8_977_500
    assert kr.render(frames=0)["position"] == model.sample_at(100)
    events_on, events_off = gate_times(applied(kr), tags(kr)["hat"])
    assert events_on == ons and events_off == offs


def test_applied_events_are_all_reported_after_a_long_render(kr: Session):
    """The test hook itself: one render of 1024 cycles of hit() * 64 at 999 BPM
    (11.8 million samples) applies 65 536 gate-ons and 65 536 gate-offs:
    every note ends on the sample before the next onset, the last one too
    (the note due on the first sample after the render is already queued,
    but its gate-on is not applied). Either ``applied_events`` returns all
    131 072 or its ``dropped`` says how many it lost — it must never lose
    records silently, or the timing tests above could pass on missing
    events. When none is reported dropped, the records are exactly those
    events, on their samples."""
    kr.node("g", gate_probe, gain=1.0)
    kr.tempo = 999
    kr["g"] @ (kr.hit() * 64)
    reply = kr.render(cycles=1024)
    model = TransportModel(999)
    end = model.sample_at(1024)
    assert reply["position"] == end
    ons = [model.sample_at(F(k, 64)) for k in range(64 * 1024 + 1)]  # + the note due on `end`
    offs = gate_offs(list(zip(ons, ons[1:] + [model.sample_at(F(64 * 1024 + 1, 64))])))
    want = sorted([(s, 1) for s in ons if s < end] + [(s, 0) for s in offs if s < end])
    assert len(want) == 131_072
    reply = kr.request("applied_events")
    got, dropped = len(reply["events"]), reply["dropped"]
    assert got + dropped == len(want), (
        f"{got} records returned, {dropped} reported dropped, of {len(want)}")
    if dropped == 0:
        records = sorted((e["due"], int(e["value"] > 0)) for e in reply["events"])
        assert records == want, first_difference(records, want)


# ---- 2. tempo and meter changes over 1000 cycles ----------------------------------------------


def test_tempo_and_meter_changes_keep_every_onset_exact_for_1000_cycles(kr: Session, tmp_path: Path):
    """hit() * 4 ("kick") and (hit() + rest()) * 4 ("hat") play for 1000 cycles
    while the tempo and meter change: at cycle boundaries (128 → 140 → 97.5 →
    133.7 BPM), in the middle of a cycle (→ 171 BPM after a wait in seconds),
    the meter at a boundary (4 → 3), tempo and meter together (150 BPM in 7),
    and the meter mid-cycle (7 → 4). Every gate-on of both, and every gate-off
    of the hat, is applied on the sample computed from the segments, and the
    hat's sound rises and falls there in the two cycles after each change and
    at the end. The end lands on the computed sample of cycle 1000: no drift.

    Each change point the engine reports (``transport``: sample and cycle) is
    also checked against the model's own computation."""
    kr.node("kick", gate_probe, gain=1.0)
    kr.node("hat", gate_probe_right, gain=1.0)  # its sound is the right channel minus the kick's
    kr.tempo = 128
    model = TransportModel(128)
    kr["kick"] @ (kr.hit() * 4)
    kr["hat"] @ ((kr.hit() + kr.rest()) * 4)
    tag = tags(kr)
    events: list[dict] = []
    windows: list[tuple[int, int, Edges]] = []
    position = 0

    def wait(**span) -> None:
        nonlocal position
        kr.wait(**span)
        position = transport(kr)["sample"]
        events.extend(applied(kr))

    def listen(cycles: F | int = 2) -> None:
        nonlocal position
        start, data = render_piece(kr, tmp_path, f"w{len(windows)}", cycles=cycles)
        assert start == position
        windows.append((start, start + len(data), data[:, 1] - data[:, 0]))
        position = start + len(data)
        events.extend(applied(kr))

    def change(bpm=None, meter=None) -> None:
        expected = model.change(position, bpm, meter)
        if bpm is not None:
            kr.tempo = bpm
        if meter is not None:
            kr.meter = meter
        t = transport(kr)
        # The new segment starts at the exact cycle of the change's sample; the
        # transport reports the bar the last render aimed at, which sounds on
        # that same sample (the first at or after it).
        assert t["sample"] == expected.start_sample, (t, expected)
        cursor = F(t["cycle"])
        assert cursor <= expected.start_cycle and model.sample_at(cursor) == expected.start_sample, (
            t, expected)
        assert F(repr(t["bpm"])) == expected.bpm and t["beats"] == expected.meter
        listen()

    wait(bars=4)
    assert position == 360_000  # 4 cycles of 90 000
    change(bpm=140)
    wait(bars=8)
    change(bpm=97.5)
    wait(bars=16)
    change(bpm=133.7)
    wait(seconds=1.2345)  # lands in the middle of a cycle
    assert transport(kr)["cycle"].denominator > 1
    change(bpm=171)
    wait(bars=8 + math.ceil(transport(kr)["cycle"]) - transport(kr)["cycle"])
    change(meter=3)
    wait(bars=20)
    change(bpm=150, meter=7)
    wait(seconds=0.77)
    change(meter=4)
    wait(bars=998 - transport(kr)["cycle"])
    listen(1000 - transport(kr)["cycle"])  # up to cycle 1000 exactly
    end = transport(kr)
    assert end["sample"] == model.sample_at(1000), (end, model.sample_at(1000))
    assert end["sample"] == model.sample_at(1000) and end["cycle"] == 1000  # exactly bar 1000
    assert 60 < model.current.start_cycle < 100, "the last change is 900 cycles before the end"

    def where(got: list[int], want: list[int]) -> str:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        changes = [(s.start_sample, str(s.start_cycle)) for s in model.segments[1:]]
        return (f"missing {len(missing)}: {[(m, str(model.cycle_at(m))) for m in missing[:6]]}; "
                f"unexpected {len(extra)}: {extra[:6]}; changes (sample, cycle): {changes}")

    kick_on, _ = gate_times(events, tag["kick"])
    want = grid(model, F(0), F(1000), F(1, 4))
    assert len(want) == 4000
    hat_on, hat_off = gate_times(events, tag["hat"])
    want_off = grid(model, F(0), F(1000), F(1, 4), F(1, 8))
    assert kick_on == want, "kick: " + where(kick_on, want)
    assert hat_on == want, "hat: " + where(hat_on, want)
    assert hat_off == want_off, "hat offs: " + where(hat_off, want_off)
    # The sound, around every change and at the end.
    for start, end, hat in windows:
        edges = Edges(high_before=any(on < start <= off for on, off in zip(want, want_off)))
        edges.feed(hat, start)
        rises = [s for s in want if start <= s < end]
        falls = [s for s in want_off if start <= s < end]
        assert len(rises) >= 7 and len(falls) >= 7
        assert edges.rises == rises, f"window from {start}: " + missing_and_extra(edges.rises, rises)
        assert edges.falls == falls, f"window from {start}: " + missing_and_extra(edges.falls, falls)


def test_a_gate_off_due_on_the_sample_of_a_tempo_change_is_not_lost(kr: Session, tmp_path: Path):
    """"x ~" at 120 BPM: notes [0, 1/2) of every cycle. The tempo changes to 60
    BPM exactly at cycle 2.5 (sample 240 000), the sample the note of cycle 2
    ends on. Its gate must fall there, and the next note start at cycle 3
    (240 000 + 96 000: half a cycle at 192 000 samples per cycle)."""
    kr.node("g", gate_probe, gain=1.0)
    kr["g"] @ "x ~"
    edges = Edges()
    start, data = render_piece(kr, tmp_path, "a", cycles="5/2")
    edges.feed(mono(data), start)
    assert transport(kr)["sample"] == 240_000
    kr.tempo = 60
    start, data = render_piece(kr, tmp_path, "b", cycles=2)
    edges.feed(mono(data), start)
    want_rises = [0, 96_000, 192_000, 336_000, 528_000]
    want_falls = [48_000, 144_000, 240_000, 432_000]
    ons, offs = gate_times(applied(kr), tags(kr)["g"])
    assert ons == want_rises
    assert offs == want_falls, f"gate-offs applied at {offs} ({missing_and_extra(offs, want_falls)})"
    assert (edges.rises, edges.falls) == (want_rises, want_falls), (
        f"the gate rose at {edges.rises} and fell at {edges.falls}")


# ---- 3. swing -------------------------------------------------------------------------------


def swing_warp(t: F, amount: F, grid_steps: int = 8) -> F:
    """pattern-ir.md, swing: in each pair of grid steps the middle moves from 1/2
    to `amount`, time in between warped piecewise linearly."""
    pair = F(2, grid_steps)
    k = math.floor(t / pair)
    f = t / pair - k
    w = f * 2 * amount if f <= F(1, 2) else amount + (f - F(1, 2)) * 2 * (1 - amount)
    return (k + w) * pair


@pytest.mark.parametrize("bpm", [128, 130])
def test_swing_067_moves_the_off_beat_eighths_to_their_samples(kr: Session, tmp_path: Path, bpm):
    """(hit() + rest()) * 8 swung by 0.67 (grid 8): the on-beat eighths stay, the
    off-beat ones move from 1/8 to 0.67 · 1/4 = 67/400 of a cycle after the
    quarter (at 128 BPM: 15 075 samples instead of 11 250; at 130 BPM a cycle is
    88 615 5/13 samples and the ceiling decides). The ends move by the same
    warp. 8 cycles, sound and applied events."""
    kr.node("hat", gate_probe, gain=1.0)
    kr.tempo = bpm
    model = TransportModel(bpm)
    kr["hat"] @ ((kr.hit() + kr.rest()) * 8).swing(0.67)
    start, data = render_piece(kr, tmp_path, "swing", cycles=8)
    edges = Edges()
    edges.feed(mono(data), start)
    amount = F(67, 100)
    ons = [model.sample_at(swing_warp(F(k, 8), amount)) for k in range(64)]
    offs = [model.sample_at(swing_warp(F(k, 8) + F(1, 16), amount)) for k in range(64)]
    assert swing_warp(F(1, 8), amount) == F(67, 400)
    if bpm == 128:
        assert ons[:4] == [0, 15_075, 22_500, 37_575]
    assert edges.rises == ons, first_difference(edges.rises, ons)
    assert edges.falls == offs, first_difference(edges.falls, offs)
    events_on, events_off = gate_times(applied(kr), tags(kr)["hat"])
    assert events_on == ons and events_off == offs


# ---- 6. where patterns start and switch -----------------------------------------------------------


def test_a_new_pattern_starts_at_the_next_cycle_boundary(kr: Session, tmp_path: Path):
    """Played 0.3 cycles into cycle 1 (at 120 BPM, sample 124 800), "x ~ x ~"
    starts at cycle 2 (sample 192 000): nothing before, then its notes exactly
    (rises every 48 000 samples, falls 24 000 later)."""
    kr.node("g", gate_probe, gain=1.0)
    edges = Edges()
    start, data = render_piece(kr, tmp_path, "a", frames=124_800)
    edges.feed(mono(data), start)
    reply = kr.request("play", target="g", mini="x ~ x ~")
    assert reply["start"] == "2"
    start, data = render_piece(kr, tmp_path, "b", cycles=3)  # to cycle 4.3
    edges.feed(mono(data), start)
    assert edges.rises == [192_000 + 48_000 * k for k in range(5)], edges.rises
    assert edges.falls == [216_000 + 48_000 * k for k in range(5)], edges.falls


def test_a_pattern_played_right_after_a_wait_starts_on_that_bar(kr: Session, tmp_path: Path):
    """At 140 BPM a bar is 82 285 5/7 samples, so bar 4 sounds at sample
    ceil(329 142.857) = 329 143. ``kr.wait(bars=4)`` stops there (the engine
    is then on the first sample of bar 4, whose events have not sounded yet)
    and a pattern played now must start on bar 4, as it does at 120 BPM, not
    a whole bar later."""
    kr.node("g", gate_probe, gain=1.0)
    kr.tempo = 140
    model = TransportModel(140)
    kr.wait(bars=4)
    assert transport(kr)["sample"] == model.sample_at(4) == 329_143
    reply = kr.request("play", target="g", mini="x ~")
    kr.render(cycles=2)
    ons, _ = gate_times(applied(kr), reply["tag"])
    assert (reply["start"], ons[:1]) == ("4", [329_143]), (
        f"the pattern starts at cycle {reply['start']}, first note on sample {ons[:1]}")


def test_waiting_bar_by_bar_does_not_drift(kr: Session):
    """``kr.wait(bars=4)`` 50 times at 140 BPM must end each time on the first
    sample of the bar it names (ceil of 4k · 82 285 5/7), the way "cycles: 4
    after 4 bars lands exactly on bar 8" (protocol.md, render). Each render
    measures from the cycle position of the sample it starts on, which is a
    fraction of a sample past the bar, so the error could pile up."""
    kr.tempo = 140
    model = TransportModel(140)
    landed = []
    for k in range(1, 51):
        kr.wait(bars=4)
        landed.append(transport(kr)["sample"])
    want = [model.sample_at(4 * k) for k in range(1, 51)]
    late = [(4 * (i + 1), got - w) for i, (got, w) in enumerate(zip(landed, want)) if got != w]
    assert not late, (f"{len(late)} of 50 waits end late: (bar, samples late) {late[:3]} ... "
                      f"{late[-1:]}")


def test_from_zero_starts_the_pattern_from_its_own_beginning(kr: Session, tmp_path: Path):
    """cat("x ~ ~ ~", "~ ~ x ~") alternates per cycle. Played in cycle 2 it starts
    at cycle 3: following the global count it plays its odd cycle there (a note
    at 3.5); with from_zero=True its cycle 0 (a note at 3.0), then its cycle 1
    (4.5). A 4-cycle seq(...).over(4) with from_zero starts on its first step."""
    kr.node("g", gate_probe, gain=1.0)
    kr.node("h", gate_probe, gain=1.0)
    pattern = kr.cat(kr.p("x ~ ~ ~"), kr.p("~ ~ x ~"))
    kr.render(frames=2 * 96_000 + 5_000)
    kr["g"].play(pattern)
    kr["h"].play(pattern, from_zero=True)
    assert {p["target"]: p["start"] for p in kr.request("transport")["patterns"]} == {"g": "3", "h": "3"}
    kr.render(cycles=6 - transport(kr)["cycle"])
    events = applied(kr)
    t = tags(kr)
    g_on, _ = gate_times(events, t["g"])
    h_on, _ = gate_times(events, t["h"])
    assert g_on == [int(96_000 * c) for c in (3.5, 4.0, 5.5)]
    assert h_on == [int(96_000 * c) for c in (3.0, 4.5, 5.0)]
    # A 4-cycle line from its start: A2 on cycle 6, D3 on 7, E2 on 9.
    kr.node("bass", gate_probe, gain=1.0)
    kr["bass"].play(kr.seq("A2", "D3", None, "E2").over(4), from_zero=True)
    kr.render(cycles=5)
    on, off = gate_times(applied(kr), tags(kr)["bass"])
    assert on == [96_000 * c for c in (6, 7, 9, 10)], on
    # A2 and D3, E2 and A2 are back to back: A2 ends a sample before D3, and so
    # does E2 before A2; D3 ends at 8 (a rest follows). The render ends on
    # cycle 11, where the next D3 is due (already queued): A2 ends on 11 - 1 sample.
    assert off == [96_000 * 7 - 1, 96_000 * 8, 96_000 * 10 - 1, 96_000 * 11 - 1], off


def test_replacing_a_pattern_switches_exactly_at_the_boundary(kr: Session, tmp_path: Path):
    """"[x ~]*4" (eighth notes on the quarters) is replaced 0.3 cycles into cycle
    2 by "~ x": the old notes play up to cycle 3 (the last one [2.75, 2.875)),
    the new ones from 3 ([3.5, 4), [4.5, 5)). At 4.1 hit().over(2) replaces it
    from 5: its note [4, 6) has no onset there, so it first sounds at 6. At 6.1
    "~ x" replaces that: the note [6, 8) is cut at cycle 7 — no stuck gate —
    and the new note sounds at 7.5. 120 BPM: 96 000 samples per cycle."""
    kr.node("g", gate_probe, gain=1.0)
    kr["g"] @ "[x ~]*4"
    edges = Edges()
    start, data = render_piece(kr, tmp_path, "a", frames=2 * 96_000 + 28_800)
    edges.feed(mono(data), start)
    kr["g"] @ "~ x"
    start, data = render_piece(kr, tmp_path, "b", cycles=F(9, 5))  # to cycle 4.1
    edges.feed(mono(data), start)
    kr["g"] @ kr.hit().over(2)
    start, data = render_piece(kr, tmp_path, "c", cycles=2)  # to 6.1
    edges.feed(mono(data), start)
    kr["g"] @ "~ x"
    start, data = render_piece(kr, tmp_path, "d", cycles=2)  # to 8.1
    edges.feed(mono(data), start)
    old_on = [24_000 * k for k in range(12)]
    cycle = 96_000
    want_rises = old_on + [int(cycle * c) for c in (3.5, 4.5, 6, 7.5)]
    want_falls = [s + 12_000 for s in old_on] + [cycle * c for c in (4, 5, 7, 8)]
    assert edges.rises == want_rises, missing_and_extra(edges.rises, want_rises)
    assert edges.falls == want_falls, missing_and_extra(edges.falls, want_falls)
    assert all(e["due"] == e["applied"] for e in applied(kr))
    assert kr.request("transport")["patterns"][0]["start"] == "7"


def test_transport_behind_quick_tempo_and_meter_changes_reports_the_cycle_of_the_audio(null_engine):
    """A live change lands 20 ms ahead of the audio. After `tempo 999` then
    `meter 1` sent at once, the audio position lies before both: `transport`
    must report its cycle in the segment it is in (issue 12, D18: it extended
    the second segment backwards and answered -33/800). Each pair of lines goes
    in one write, so both changes land before the audio reaches them; the
    reported cycle is never negative and never goes back."""
    seen: list[F] = []
    with null_engine.conn() as c:
        for i in range(20):
            c.send(b'{"cmd": "tempo", "bpm": 999}\n{"cmd": "meter", "beats": %d}\n'
                   b'{"cmd": "transport"}\n' % (1 if i % 2 == 0 else 4))
            replies = [c.reply() for _ in range(3)]
            assert all(r.get("ok") for r in replies), replies
            seen += [F(r["cycle"]) for r in replies]
    assert min(seen) >= 0, seen
    assert seen == sorted(seen), seen


# ---- 9. real time on JACK ----------------------------------------------------------------------


def test_jack_applies_every_event_on_its_sample(jack: Jack, start_engine):
    """The PortAudio backend on a JACK server (dummy driver, 2048-frame periods):
    hit() * 8 at 120 BPM for about 4 seconds after it starts. Every event is
    applied on the very sample it was due (the scheduler queues 100 ms ahead),
    none late, none dropped, and no more xruns than an idle JACK client saw
    over the same time (a busy machine makes jackd itself late: the engine is
    judged, not its neighbours; docs/testing.md, "Dropouts"); the gate-ons are
    exactly 12 000 samples apart from the cycle boundary the pattern started on."""
    engine = start_engine("--backend", "portaudio", "--audio-api", "JACK", "--record-events",
                          env=jack.env)
    with Session(engine.client()) as kr, JackReference(jack.name) as reference:
        kr.node("g", gate_probe, gain=1.0)
        kr.tempo = 120
        # xruns are counted from here: JACK may report some while a client
        # joins its graph, which says nothing about the engine.
        xruns_before, seen_before = kr.status()["xruns"], reference.xruns
        reply = kr.request("play", target="g", pattern=(kr.hit() * 8).ir())
        first = int(F(reply["start"]) * 96_000)
        deadline = time.monotonic() + 60  # a hang guard, not a speed bound
        while transport(kr)["sample"] < first + 4 * SR:
            assert time.monotonic() < deadline, "the JACK clock does not advance"
            time.sleep(0.1)
        events = applied(kr)
        status = kr.status()
        seen = reference.xruns - seen_before
        kr.stop()
    diag = f"\n--- jackd output ---\n{tail(jack.out_path)}\n{engine.diagnostics()}"
    assert status["backend"] == "portaudio", status
    late = [e for e in events if e["due"] != e["applied"]]
    assert not late, f"{len(late)} of {len(events)} events applied off their sample: {late[:5]}{diag}"
    assert status["late_events"] == 0 and status["dropped_events"] == 0, status
    check_xruns_against_reference(status["xruns"] - xruns_before, seen, JACK_XRUN_MARGIN, diag)
    ons, offs = gate_times(events, reply["tag"])
    assert len(ons) >= 4 * 4, f"only {len(ons)} notes in 4 s (4 per second)"
    assert ons == [first + 12_000 * k for k in range(len(ons))], first_difference(
        ons, [first + 12_000 * k for k in range(len(ons))])
    # Back to back: each note's gate falls one sample before the next onset
    # (the last one's too, when its next onset was not yet applied).
    want_off = [on - 1 for on in ons[1:]]
    assert offs == want_off or offs == want_off + [ons[-1] + 12_000 - 1], (ons[-3:], offs[-3:])
