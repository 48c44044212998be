"""What the private ``_patched_for_streaming`` flag of the builder module saves.

``datasets`` patches ``open``, ``os.path`` and friends (and imports what it patches in,
e.g. ``scipy.io``) inside a builder's module when the builder is first made in a process,
so that loading scripts can read remote files. Our builder reads local files through its
own loaders; ``imagenet_x_hf.imagenet_x`` sets ``_patched_for_streaming = True`` so that
``datasets`` skips the patching. This times the first ``ImageNetX(...)`` of a fresh
process with the flag (as shipped) and with it cleared (the anchor: what datasets does by
default), imports done before timing; median over fresh processes.

    python benchmarks/streaming_patch.py [--repeats 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CODE = r"""
import sys, time
import imagenet_x_hf.imagenet_x as m
if sys.argv[1] == "cleared":
    m._patched_for_streaming = False
t = time.perf_counter()
m.ImageNetX(split="validation")
print(time.perf_counter() - t)
"""


def first_builder_seconds(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", CODE, mode], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="fresh processes per mode (default: 7)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (default: text)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"flag set": [], "cleared": []}
    for _ in range(args.repeats):  # in turns, so load changes hit both alike
        for mode in times:
            times[mode].append(first_builder_seconds("set" if mode == "flag set" else "cleared"))
    med = {mode: statistics.median(t) for mode, t in times.items()}
    figures = {
        "first_builder_seconds": {k: round(v, 4) for k, v in med.items()},
        "saved_seconds": round(med["cleared"] - med["flag set"], 4),
        "cleared_over_set": round(med["cleared"] / med["flag set"], 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"first ImageNetX(...) of a process, median of {args.repeats} fresh processes:")
    for mode, seconds in med.items():
        print(f"  {mode:9s} {seconds:.4f} s")
    print(f"the flag saves {figures['saved_seconds']:.3f} s per process ({figures['cleared_over_set']}x)")


if __name__ == "__main__":
    main()
