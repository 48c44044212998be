"""A reader that stops early (``imagenet-x score ... | head``) ends the command quietly, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PREDICTIONS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "model_predictions"


def test_closed_pipe_is_not_a_traceback():
    files = [str(p) for p in sorted(PREDICTIONS.glob("*.csv"))]
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagenet_x_hf", "score", *files, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    first = proc.stdout.read(40)  # the table's first bytes, then the reader goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert first.lstrip().startswith((b"[", b"{"))  # 130 kB of JSON: more than a pipe buffer holds
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code in (0, 141)
