"""The seed's synths, taken from examples/five_minute_beat.py: the repository's
one copy of the getting-started guide's beat. Tests and the benchmark use these
instead of copies of their own.

The part of the example before "# Build the graph" (the four synth functions)
runs here with `krs` bound; nothing is played."""
from __future__ import annotations

from pathlib import Path

from krach import signal as krs

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "five_minute_beat.py"
SOURCE = EXAMPLE.read_text()
DEFINITIONS = SOURCE[:SOURCE.index("# Build the graph")]

_names: dict[str, object] = {"krs": krs}
# Compiled under the example's own file name, so inspect.getsource finds it.
exec(compile(DEFINITIONS, str(EXAMPLE), "exec"), _names)

kick = _names["kick"]
hat = _names["hat"]
bass = _names["bass"]
reverb_fx = _names["reverb_fx"]
