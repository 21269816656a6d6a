"""The pattern benchmarks' fixed set: each pattern built with krp and written
beside the same pattern as a Strudel expression.

Run from the repository root:  PYTHONPATH=python /usr/bin/python3 bench/make_patterns.py [outdir]
Writes <outdir>/patterns.json (default bench/build), read by
bench/build/bench_patterns (the pattern IR, "ir") and by
tools/strudel/bench.mjs (the Strudel expression, "strudel"):

    {"query": [{"name", "krp", "ir", "strudel"}, ...],
     "scheduler": {"seed": [{"target", "krp", "ir"}, ...], "busy": [...]},
     "synth": <signal IR of the trivial synth the scheduler benchmark plays>}

The Strudel side mirrors krach's tree node for node with Strudel's raw
(underscored) methods — `_fast`, `_slow`, `_euclidRot`, `_degradeBy`,
`_sometimesBy`, `_firstOf` — so neither side pays for a wrapper the other does
not have; mini-notation goes through each system's own parser (krach's in C,
Strudel's `mini()`). Values are plain objects with the keys krach's events
carry. bench.mjs and bench_patterns check that both give the same number of
events.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from krach import pattern as kr
from krach import signal as krs

G = "pure({gate: 1})"


def note(name: str, midi: int) -> str:
    """A Strudel atom with the value krach gives the note name (freq and midi)."""
    return f"pure({{freq: {440.0 * 2 ** ((midi - 69) / 12)!r}, midi: {midi}}})"


A2, D3, E2, C4, E4, G4 = (note("A2", 45), note("D3", 50), note("E2", 40), note("C4", 60),
                          note("E4", 64), note("G4", 67))

LONG = ("bd [~ bd] <sn [sn sn]> hh*2 [bd bd, hh*4] ~ <cp cp*2 [cp ~ cp]> [hh hh hh]@2 "
        "bd(3,8) [~ sn]!2 {hh hh hh}%4 <bd [bd ~] [~ bd]> sn? hh*<2 3> [lt mt ht]/2 "
        "[cp | sn | rim] oh _ _")
NESTED = "[<a [b c]*2 <d e>>, <[f g]*3 [h [i <j k>]]>]*4"


def mini(text: str) -> str:
    return f"mini({json.dumps(text)})"


# (name, pattern built with krp, the same in Strudel)
QUERY: list[tuple[str, kr.Pattern, str]] = [
    ("seed kick `hit*4`", kr.hit() * 4, f"{G}._fast(4)"),
    ("seed hats `[~ x]*4`", (kr.rest() + kr.hit()) * 4, f"fastcat(silence, {G})._fast(4)"),
    ("seed bass `seq(A2 D3 ~ E2).over(2)`", kr.seq("A2", "D3", None, "E2").over(2),
     f"fastcat({A2}, {D3}, silence, {E2})._slow(2)"),
    ("seed cutoff `sine.over(4)` (continuous)", kr.sine(200, 2000).over(4),
     "sine.withValue((v) => 200 + v * 1800)._slow(4)"),
    ("polyrhythm: stack of 16, 3×4, 7, 5, 3×3",
     kr.stack(kr.hit() * 16, kr.seq("C4", "E4", "G4") * 4, kr.hit() * 7, kr.hit() * 5,
              kr.seq("A2", None, "E2") * 3),
     f"stack({G}._fast(16), fastcat({C4}, {E4}, {G4})._fast(4), {G}._fast(7), {G}._fast(5), "
     f"fastcat({A2}, silence, {E2})._fast(3))"),
    (f"nested alternation `{NESTED}`", kr.p(NESTED), mini(NESTED)),
    ("euclid: (3,8) + (5,16,2) + (7,12)",
     kr.stack(kr.hit().spread(3, 8), kr.hit().spread(5, 16, rotation=2), kr.hit().spread(7, 12)),
     f"stack({G}._euclidRot(3, 8, 0), {G}._euclidRot(5, 16, 2), {G}._euclidRot(7, 12, 0))"),
    ("polymeter `{a b c, d e}%8`", kr.p("{a b c, d e}%8"), mini("{a b c, d e}%8")),
    ("degrade `(hit*16).thin(0.5)`", (kr.hit() * 16).thin(0.5), f"{G}._fast(16)._degradeBy(0.5)"),
    ("sometimes `(hit*8).sometimes(0.5, fast 2)`",
     (kr.hit() * 8).sometimes(0.5, lambda p: p.fast(2)),
     f"{G}._fast(8)._sometimesBy(0.5, (x) => x._fast(2))"),
    ("every `p('x ~ x x').every(3, fast 2)`", kr.p("x ~ x x").every(3, lambda p: p.fast(2)),
     f"{mini('x ~ x x')}._firstOf(3, (x) => x._fast(2))"),
    (f"long mini-notation ({len(LONG)} characters)", kr.p(LONG), mini(LONG)),
]

# The scheduler benchmark: the seed's four patterns (getting-started guide,
# "5-minute beat"), and a busy set on top of them.
SEED: list[tuple[str, kr.Pattern]] = [
    ("kick", kr.hit() * 4),
    ("hat", (kr.rest() + kr.hit()) * 4),
    ("bass", kr.seq("A2", "D3", None, "E2").over(2)),
    ("bass/cutoff", kr.sine(200, 2000).over(4)),
]
BUSY: list[tuple[str, kr.Pattern]] = SEED + [
    ("poly", QUERY[4][1]),
    ("nested", kr.p(NESTED)),
    ("euclid", QUERY[6][1]),
    ("polymeter", kr.p("{a b c, d e}%8")),
    ("degrade", QUERY[8][1]),
    ("every", QUERY[10][1]),
    ("long", kr.p(LONG)),
    ("poly/cutoff", kr.tri(300, 3000).over(2)),
]


def trivial() -> krs.Signal:
    """A synth that costs almost nothing, with the controls patterns set."""
    gate = krs.control("gate", 0.0, 0.0, 1.0)
    freq = krs.control("freq", 55.0, 20.0, 800.0)
    cutoff = krs.control("cutoff", 800.0, 100.0, 4000.0)
    return gate * (freq + cutoff) * 1e-6


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "build")
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "query": [{"name": name, "krp": repr(p), "ir": p.ir(), "strudel": js} for name, p, js in QUERY],
        "scheduler": {
            "seed": [{"target": t, "krp": repr(p), "ir": p.ir()} for t, p in SEED],
            "busy": [{"target": t, "krp": repr(p), "ir": p.ir()} for t, p in BUSY],
        },
        "synth": krs.trace(trivial),
    }
    (out / "patterns.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{out / 'patterns.json'}: {len(QUERY)} query patterns, "
          f"{len(SEED)} + {len(BUSY) - len(SEED)} scheduler targets")


if __name__ == "__main__":
    main()
