"""Benchmark of ranking one model against the authors' ~2,500-model zoo, against its anchor.

Ours: ``imagenet_x_hf.zoo.place(results)`` for one model's results (ViT, scored once
beforehand): per factor, the zoo's trend at its accuracy, the excess with its interval
and its percentiles among the zoo's models (top factor, error type class): the 2,500
others, the zoo's own ViT row left out with its family.

- warm: the zoo already read in this process (any later call: a second model, the card,
  an HTML report); median over ``--warm`` calls. Goal: under 50 ms.
- first call from the cache: a fresh Python process (offline) whose cache holds the
  downloaded files and the arrays an earlier process derived from them (parsed tables,
  fitted trend); the timing covers checking the 9 files' sha256, loading the arrays and
  placing. Also reported: the cold first call, with only the downloads cached (parsing
  the 8 tables and fitting the trend of 16 factors). Medians over ``--repeats``
  processes each (interpreter start and imports excluded, reported apart).
- anchor: reading the same 8 CSV tables with ``pyarrow.csv.read_csv`` (the step any
  ranking of the zoo has to start from), timed in the same fresh processes.

Usage: python benchmarks/zoo.py [--repeats 5] [--warm 200] [--json]
Needs the shared copy of the tables (../shared/data/zoo) or $IMAGENET_X_ZOO.
Timings depend on the machine; say whether it was shared when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO_DIR = Path(os.environ.get("IMAGENET_X_ZOO") or ROOT.parent / "shared" / "data" / "zoo").resolve()
PREDICTIONS = ROOT.parent / "shared" / "data" / "model_predictions" / "ViT.csv"

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pyarrow.csv as pacsv
from imagenet_x_hf.results import Results
from imagenet_x_hf.zoo import place
from imagenet_x_hf.zoo.files import GROUPS, relative_path, resolve_source
imported = time.perf_counter() - t0
results = Results.from_dict(json.loads(open(sys.argv[1]).read()))
source = resolve_source()
t = time.perf_counter()
for g in GROUPS:
    pacsv.read_csv(source.cache_dir / relative_path("top", "class", g))
anchor = time.perf_counter() - t
t = time.perf_counter()
out = place(results)
first = time.perf_counter() - t
assert out["zoo"]["models"] == 2500, out["zoo"]  # the zoo's own ViT row is left out
print(json.dumps({"imports": imported, "anchor": anchor, "first": first}))
"""


def fill_cache(cache: Path) -> None:
    """A cache as a finished download leaves it: the 9 files of the top/class tables."""
    from imagenet_x_hf.zoo.files import GROUPS, LICENSE_FILE, MODEL_TYPES_FILE, relative_path

    for rel in [relative_path("top", "class", g) for g in GROUPS] + [MODEL_TYPES_FILE, LICENSE_FILE]:
        (cache / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ZOO_DIR / rel, cache / rel)


def child(results_path: Path, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(results_path)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes (default: 5)")
    parser.add_argument("--warm", type=int, default=200, help="warm calls (default: 200)")
    parser.add_argument("--json", action="store_true", help="print JSON (default: text)")
    args = parser.parse_args()

    from imagenet_x_hf.metrics import read_predictions, score_predictions

    results = score_predictions(read_predictions(PREDICTIONS))
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        tmp = Path(tmp)
        results_path = tmp / "results.json"
        results_path.write_text(json.dumps(results.to_dict()))
        cache = tmp / "cache"
        fill_cache(cache)
        env = dict(os.environ, IMAGENET_X_ZOO_CACHE=str(cache), HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
        env.pop("IMAGENET_X_ZOO", None)
        runs, cold = [], []
        for _ in range(args.repeats):
            # cold: the cache holds only the downloaded files (tables parsed, trend fitted)
            shutil.rmtree(cache / "derived", ignore_errors=True)
            cold.append(child(results_path, env))
            # the usual case: an earlier process left the parsed tables and the fitted trend
            runs.append(child(results_path, env))

        os.environ["IMAGENET_X_ZOO_CACHE"] = str(cache)
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.pop("IMAGENET_X_ZOO", None)
        from imagenet_x_hf.zoo import place

        place(results)
        warm = []
        for _ in range(args.warm):
            t = time.perf_counter()
            place(results)
            warm.append(time.perf_counter() - t)

    figures = {
        "anchor_pyarrow_read_csv_ms": 1000 * statistics.median(r["anchor"] for r in runs + cold),
        "first_call_from_cache_ms": 1000 * statistics.median(r["first"] for r in runs),
        "first_call_cold_ms": 1000 * statistics.median(r["first"] for r in cold),
        "warm_call_ms": 1000 * statistics.median(warm),
        "imports_ms": 1000 * statistics.median(r["imports"] for r in runs),
        "repeats": args.repeats,
        "warm_calls": args.warm,
    }
    figures["first_vs_anchor"] = figures["first_call_from_cache_ms"] / figures["anchor_pyarrow_read_csv_ms"]
    figures["cold_vs_anchor"] = figures["first_call_cold_ms"] / figures["anchor_pyarrow_read_csv_ms"]
    figures["warm_vs_anchor"] = figures["warm_call_ms"] / figures["anchor_pyarrow_read_csv_ms"]
    figures["warm_goal_50ms_met"] = figures["warm_call_ms"] < 50
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    print(
        "ranking one model (ViT) against 2,500 zoo models (its own row left out), top factor / class, medians"
    )
    print(f"  anchor: pyarrow.csv.read_csv of the 8 tables   {figures['anchor_pyarrow_read_csv_ms']:8.1f} ms")
    print(
        f"  first call, only the downloads cached          {figures['first_call_cold_ms']:8.1f} ms"
        f"   {figures['cold_vs_anchor']:.2f}x the anchor (parse 8 tables, fit 16 trends)"
    )
    print(
        f"  first call from the cache (fresh process)     {figures['first_call_from_cache_ms']:8.1f} ms"
        f"   {figures['first_vs_anchor']:.2f}x the anchor (parsed tables and trend kept)"
    )
    print(
        f"  warm call                                     {figures['warm_call_ms']:8.2f} ms"
        f"   {figures['warm_vs_anchor']:.3f}x the anchor (goal < 50 ms: "
        f"{'met' if figures['warm_goal_50ms_met'] else 'missed'})"
    )
    print(f"  (imports in the fresh process, not counted: {figures['imports_ms']:.0f} ms)")


if __name__ == "__main__":
    main()
