"""Deterministic crash points, so tests can kill a run at a chosen place with SIGKILL.

Set ``IMAGENET_X_HF_CRASH=<point>:<n>`` and the process kills itself (``kill -9``,
no cleanup, like a lost node) the ``n``-th time it passes ``<point>``. Points:
``shard-tmp-written`` (a shard's temporary file is on disk, not yet renamed),
``shard-written`` (a shard has been renamed into place), ``outputs-written``
(predictions.parquet is written, results.json not yet). ``<point>:<n>:raise`` raises
``InjectedFault`` there instead (an ordinary error in one process); ``<point>:<n>:interrupt``
sends SIGINT to the process group, as Ctrl-C in a terminal does. Unset: no effect.
"""

from __future__ import annotations

import os
import signal

ENV = "IMAGENET_X_HF_CRASH"
_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, rest = spec.partition(":")
    n, _, action = rest.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(n or 1):
        if action == "raise":
            raise InjectedFault(f"injected fault at {name} #{n}")
        if action == "interrupt":
            group = os.getpgrp()
            os.killpg(group, signal.SIGINT) if group == os.getpid() else os.kill(os.getpid(), signal.SIGINT)
            return
        os.kill(os.getpid(), signal.SIGKILL)


class InjectedFault(RuntimeError):
    """Raised at a crash point whose action is ``raise``."""
