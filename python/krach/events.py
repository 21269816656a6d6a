"""Looking at patterns: the events the engine computes, as text and as a timeline.

The engine answers the ``query`` command (docs/protocol.md) with the events of
a pattern in a span of cycles; this module sends it and reads the reply into
`Event` objects, and draws them. It does not compute events itself.

    kr.events(kr.hit() * 4)            # [Event([0, 1/4), gate=1), ...]
    kr.show(kr.seq("A2", None, "E2"))  # a one-line-per-value timeline

`query` and `show` take any object with a ``request`` method (a `Session`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .pattern import Pattern, Querier, TimeLike, time_json, to_fraction, wire_fields

Arc = tuple[Fraction, Fraction]

SPARK = " ▁▂▃▄▅▆▇█"
"""Characters for continuous values in `show`, lowest to highest."""
MIN_WIDTH = 8
MAX_WIDTH = 1000


@dataclass(frozen=True)
class Event:
    """One event: its `whole` arc (None for samples of continuous patterns),
    the `part` inside the queried span, its `value` (control name → number)
    and the `label` the engine gives it (the atom as written, e.g. ``"A2"``).
    Arcs are ``(begin, end)`` pairs of exact `Fraction` cycles.
    """

    whole: Arc | None
    part: Arc
    value: Mapping[str, float] = field(default_factory=dict)
    label: str | None = None

    @property
    def name(self) -> str | None:
        """The label worth showing: None when it only repeats the event's one number (a hit's ``1``)."""
        if self.label and len(self.value) == 1 and self.label == _number(next(iter(self.value.values()))):
            return None
        return self.label or None

    @property
    def has_onset(self) -> bool:
        """True when the event starts inside the queried span (its part begins where its whole does)."""
        return self.whole is not None and self.whole[0] == self.part[0]

    @property
    def is_fragment(self) -> bool:
        """True when only part of the event lies in the queried span."""
        return self.whole is not None and self.whole != self.part

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """An event from the engine's JSON (times as ints, ``"n/d"`` strings or dyadic floats)."""
        whole = data.get("whole")
        value = data.get("value") or {}
        label = data.get("label")
        return cls(
            whole=None if whole is None else _arc(whole),
            part=_arc(data["part"]),
            value=dict(value),
            label=label if isinstance(label, str) else None,
        )

    def to_json(self) -> dict[str, Any]:
        """``{"whole": ["n/d", "n/d"] or None, "part": [...], "value": {...}}`` (integers as ``"n"``)."""
        return {
            "whole": None if self.whole is None else [str(t) for t in self.whole],
            "part": [str(t) for t in self.part],
            "value": dict(self.value),
        }

    def __str__(self) -> str:
        return format_event(self)

    def __repr__(self) -> str:
        return f"Event({format_event(self)})"


def _arc(data: Any) -> Arc:
    if not isinstance(data, Sequence) or isinstance(data, str) or len(data) != 2:
        raise ValueError(f"an arc is a pair of times, got {data!r}")
    return (to_fraction(data[0], "query reply", "arc"), to_fraction(data[1], "query reply", "arc"))


def query(session: Querier, pattern: Pattern | str, a: TimeLike = 0, b: TimeLike = 1) -> list[Event]:
    """The events of `pattern` (a `Pattern` or mini-notation) whose part lies in cycles ``[a, b)``.

    Sorted by part begin, then in the order the pattern gives them (the engine's order).
    """
    fields = wire_fields(pattern, "kr.events")
    begin, end = time_json(a, "kr.events", "a"), time_json(b, "kr.events", "b")
    if to_fraction(b, "kr.events", "b") <= to_fraction(a, "kr.events", "a"):
        raise ValueError(f"kr.events: the span [{a}, {b}) is empty; 'b' must be after 'a'")
    reply = session.request("query", **fields, **{"from": begin, "to": end})
    return [Event.from_json(item) for item in reply.get("events", [])]


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def format_arc(arc: Arc | None) -> str:
    """``[1/4, 1/2)``, or ``~`` for no arc (a continuous sample)."""
    return "~" if arc is None else f"[{arc[0]}, {arc[1]})"


def format_value(value: Mapping[str, Any]) -> str:
    """``freq=110 gate=1``: a value's controls, numbers shortened."""
    return " ".join(f"{name}={_number(v)}" for name, v in value.items())


def format_event(event: Event) -> str:
    """One line: the whole, the part when it is a fragment, the label and the value."""
    text = format_arc(event.whole)
    if event.whole is None or event.is_fragment:
        text += f" part {format_arc(event.part)}"
    if event.name:
        text += f"  {event.name}"
    value = format_value(event.value)
    return f"{text}  {value}" if value else text


def format_events(events: Iterable[Event]) -> list[str]:
    """`format_event` for each event, with the columns aligned."""
    rows = []
    for event in events:
        when = format_arc(event.whole)
        if event.whole is None or event.is_fragment:
            when += f" part {format_arc(event.part)}"
        rows.append((when, event.name or "", format_value(event.value)))
    if not rows:
        return []
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    return [f"{when:<{w0}}  {label:<{w1}}  {value}".rstrip() for when, label, value in rows]


def _number(value: Any) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value):g}" if not isinstance(value, numbers.Integral) else str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# Timeline
# ---------------------------------------------------------------------------


def row_key(event: Event) -> str:
    """The timeline row an event goes in: its name (see `Event.name`), else its value as text."""
    return event.name or format_value(event.value) or "(empty)"


def timeline(events: Iterable[Event], cycles: TimeLike = 1, width: int = 64,
             samples: Mapping[str, Sequence[float | None]] | None = None) -> str:
    """Draw events over cycles ``[0, cycles)`` in `width` columns.

    One row per label (or value): ``x`` where an event starts, ``=`` while it
    lasts, ``.`` elsewhere. `samples` adds one row per continuous control,
    one value (or None) per column, drawn with `SPARK` between its lowest
    and highest value. The first line is a ruler with the cycle numbers.
    """
    span = _positive(cycles, "kr.show", "cycles")
    cols = _width(width)
    rows: dict[str, list[str]] = {}

    def column(t: Fraction) -> int:
        return math.floor(t * cols / span)

    for event in events:
        if event.whole is None:
            continue
        cells = rows.setdefault(row_key(event), ["."] * cols)
        first = max(column(event.part[0]), 0)
        last = min(math.ceil(event.part[1] * cols / span), cols)  # exclusive
        if first >= cols:
            continue
        for i in range(first, max(last, first + 1)):
            if cells[i] == ".":
                cells[i] = "="
        if event.has_onset:
            cells[first] = "x"
    lines = {key: "".join(cells) for key, cells in rows.items()}
    for name, values in (samples or {}).items():
        lines[f"{name} {_range(values)}"] = _spark(values, cols)
    if not lines:
        return "(no events)"
    pad = max(len(key) for key in lines)
    ruler = [" "] * cols
    for k in range(math.ceil(span)):
        at = column(Fraction(k))
        mark = str(k)
        if at < cols and all(c == " " for c in ruler[at:at + len(mark) + 1]):
            ruler[at:at + len(mark)] = mark
    out = [f"{'':<{pad}}  {''.join(ruler).rstrip()}"]
    out += [f"{key:<{pad}}  {cells}" for key, cells in lines.items()]
    return "\n".join(out)


def show(session: Querier, pattern: Pattern | str, cycles: TimeLike = 1, width: int = 64) -> None:
    """Print the timeline (see `timeline`) of `pattern` over its first `cycles` cycles.

    Continuous patterns are sampled once per column (one query per column,
    each answered by the engine at the middle of that column).
    """
    span = _positive(cycles, "kr.show", "cycles")
    cols = _width(width)
    events = query(session, pattern, 0, span)
    samples: dict[str, list[float | None]] = {}
    if any(event.whole is None for event in events):
        for i in range(cols):
            a, b = span * i / cols, span * (i + 1) / cols
            for event in query(session, pattern, a, b):
                if event.whole is not None:
                    continue
                for name, value in event.value.items():
                    samples.setdefault(name, [None] * cols)[i] = float(value)
    print(timeline(events, span, cols, samples))


def _positive(value: TimeLike, where: str, arg: str) -> Fraction:
    frac = to_fraction(value, where, arg)
    if frac <= 0:
        raise ValueError(f"{where}: '{arg}' is {value!r}; it must be greater than 0")
    return frac


def _width(width: int) -> int:
    if isinstance(width, bool) or not isinstance(width, int):
        raise TypeError(f"kr.show: 'width' must be a whole number of characters, got {type(width).__name__}")
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValueError(f"kr.show: 'width' is {width}; it must be {MIN_WIDTH} to {MAX_WIDTH}")
    return width


def _range(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{min(known):g}..{max(known):g}" if known else ""


def _spark(values: Sequence[float | None], cols: int) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "." * cols
    lo, hi = min(known), max(known)
    top = len(SPARK) - 1
    cells = []
    for v in list(values)[:cols]:
        if v is None:
            cells.append(".")
        elif hi == lo:
            cells.append(SPARK[top // 2])
        else:
            cells.append(SPARK[1 + round((v - lo) / (hi - lo) * (top - 1))])
    return "".join(cells)
