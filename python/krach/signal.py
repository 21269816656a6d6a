"""DSP primitives for writing synths and effects, bound as ``krs``.

A later milestone fills this module: ``krs.Signal``, ``krs.control(...)``, the
oscillators, filters, envelopes, delays, tables and math functions of the
spec (SPEC.md section 2), traced from plain Python functions into the signal
graph the engine compiles. It holds nothing yet.
"""

from __future__ import annotations
