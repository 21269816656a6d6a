"""``python -m krach``: the same as the ``krach`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
