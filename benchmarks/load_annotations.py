"""Benchmark: warm ``imagenet_x_hf.load("validation")`` against the authors' loader.

Anchor: ``imagenet_x.load_annotations()`` from the authors' ``imagenet-x`` package
(pandas, parses the JSONL on every call), measured in the same run.

Two warm measurements, both after our cache has been built once:
- in-process: repeated calls in one process (imports done), median of repeats;
- new process: the first call in a fresh interpreter, median of a few fresh processes
  (the imports of each side, datasets for ours and pandas for the anchor, are done
  before timing). This is what a user's second script pays for the load itself.

Prints one JSON object; ``ratio_*`` is anchor time / our time (higher is better; goal >= 10).

    python benchmarks/load_annotations.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_CALL = """
import time, sys
which = sys.argv[1]
if which == "ours":
    import imagenet_x_hf, imagenet_x_hf.api  # load() imports datasets on first use: not timed, like the anchor's imports
    t = time.perf_counter(); imagenet_x_hf.load("validation"); dt = time.perf_counter() - t
else:
    import imagenet_x
    t = time.perf_counter(); imagenet_x.load_annotations(); dt = time.perf_counter() - t
print(dt)
"""


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh_process(which: str, repeats: int, env: dict) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_CALL, which], env=env, capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per side (default: 7)")
    args = parser.parse_args()

    cache = tempfile.mkdtemp(prefix="imagenet-x-bench-")
    os.environ["HF_DATASETS_CACHE"] = cache
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    import imagenet_x  # the anchor

    import imagenet_x_hf

    start = time.perf_counter()
    rows = imagenet_x_hf.load("validation").num_rows
    cold = time.perf_counter() - start
    assert rows == len(imagenet_x.load_annotations()), "both sides must give the same rows"

    ours = median_time(lambda: imagenet_x_hf.load("validation"), args.repeats)
    theirs = median_time(lambda: imagenet_x.load_annotations(), args.repeats)
    env = dict(os.environ)
    ours_fresh = fresh_process("ours", max(3, args.repeats // 2), env)
    theirs_fresh = fresh_process("theirs", max(3, args.repeats // 2), env)
    print(
        json.dumps(
            {
                "benchmark": "load_annotations",
                "anchor": "imagenet_x.load_annotations() (authors' package, same run)",
                "rows": rows,
                "ours_cold_build_s": round(cold, 3),
                "in_process": {
                    "ours_s": round(ours, 4),
                    "anchor_s": round(theirs, 4),
                    "ratio": round(theirs / ours, 1),
                },
                "new_process_first_call": {
                    "ours_s": round(ours_fresh, 4),
                    "anchor_s": round(theirs_fresh, 4),
                    "ratio": round(theirs_fresh / ours_fresh, 1),
                },
                "machine": f"{os.cpu_count()} CPU cores",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
