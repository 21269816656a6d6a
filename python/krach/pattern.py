"""Pattern builders, bound as ``krp`` (and reachable as ``kr.<name>``).

A later milestone fills this module: atoms (``hit``, ``note``, ``seq``,
``rest``, ``p("mini-notation")``, continuous shapes), the ``+ | *`` operators
and transformations such as ``over``, ``fast``, ``every`` and ``swing``
(SPEC.md section 3), built as a pattern tree that the engine queries. It holds
nothing yet.
"""

from __future__ import annotations
