"""Benchmark of scoring from a predictions repository, each figure against an anchor measured in the same run.

100 models' predictions on the 50,000 validation images are made from the authors' four
released files (each model: one of the four with a seeded share of its top-1 classes
moved to another class and its probabilities jittered), then written twice: as 100 CSVs
in the authors' format and as one repository by ``export_predictions``. Timed in turns
(medians of ``--repeats``), on the same 100 models:

- ours: ``imagenet-x score DIR``'s work, ``score_predictions`` of each model read by
  ``imagenet_x_hf.share.read_each(DIR)`` (models table, sha256 of each file, read), with the
  per-metaclass and calibration breakdowns (and again with ``breakdowns=False``);
- anchor 1: the same scoring of the 100 CSVs (``read_predictions`` + ``score_predictions``).
  Goal: ours >= 5x faster;
- anchor 2: a bare ``pyarrow.parquet.read_table`` of the repository's 100 Parquet files,
  the floor of anything that starts from those files. Goal: ours within 1.5x.

Reading alone (to ``Predictions``, no scoring) is timed too, against the CSVs and the bare
read: it is the part the file format decides (models sharing one image list read and parse
it once, see :mod:`imagenet_x_hf.share.read`).

Sizes: bytes on disk per model, the exported top-1 Parquet against its CSV, and a run's
export with top-5 (float32, as the runner stores it) against the same run's CSV.

Usage: python benchmarks/share.py [--models 100] [--repeats 3] [--json]
Timings depend on the machine; say whether it was shared when quoting them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

PREDICTIONS_DIR = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "model_predictions"
).resolve()
BASES = ("DINO", "ResNet50", "SimCLR", "ViT")


def make_models(folder: Path, count: int) -> list[Path]:
    """``count`` CSVs in the authors' format, derived from their four files."""
    from imagenet_x_hf.runner.outputs import authors_csv

    bases = {name: pacsv.read_csv(PREDICTIONS_DIR / f"{name}.csv") for name in BASES}
    paths = []
    for i in range(count):
        base = bases[BASES[i % len(BASES)]]
        rng = np.random.default_rng(i)
        classes = base.column("predicted_class").to_numpy().copy()
        moved = rng.random(len(classes)) < rng.uniform(0.0, 0.15)
        classes[moved] = rng.integers(0, 1000, int(moved.sum()))
        probs = np.clip(
            base.column("predicted_probability").to_numpy() + rng.normal(0, 0.01, len(classes)), 0, 1
        )
        table = pa.table(
            {
                "file_name": base.column("file_name"),
                "predicted_class": pa.array(classes),
                "predicted_probability": pa.array(probs),
            }
        )
        path = folder / f"model{i:03d}.csv"
        path.write_bytes(authors_csv(table))
        paths.append(path)
    return paths


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_size(folder: Path) -> dict:
    """Bytes of a run's export with top-5 against its CSV (the runner's float32 columns)."""
    from imagenet_x_hf.runner.outputs import authors_csv
    from imagenet_x_hf.share import export_predictions

    real = pacsv.read_csv(PREDICTIONS_DIR / "ViT.csv")
    n = real.num_rows
    rng = np.random.default_rng(0)
    top1 = real.column("predicted_class").to_numpy().astype(np.int32)
    classes = np.concatenate([top1[:, None], (top1[:, None] + rng.integers(1, 999, (n, 4))) % 1000], axis=1)
    probs = np.sort(rng.dirichlet(np.ones(8), size=n)[:, :5], axis=1)[:, ::-1].astype(np.float32)
    table = pa.table(
        {
            "file_name": real.column("file_name"),
            "predicted_class": pa.array(top1),
            "predicted_probability": pa.array(probs[:, 0]),
            "top5_classes": pa.FixedSizeListArray.from_arrays(pa.array(classes.astype(np.int32).ravel()), 5),
            "top5_probabilities": pa.FixedSizeListArray.from_arrays(pa.array(probs.ravel()), 5),
        }
    )
    run = folder / "run.parquet"
    pq.write_table(table, run)
    csv = folder / "run.csv"
    csv.write_bytes(authors_csv(table))
    out = export_predictions([run], folder / "run-repo")
    return {
        "csv_bytes": csv.stat().st_size,
        "export_top5_bytes": (folder / "run-repo" / out.exported[0].file).stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from imagenet_x_hf.annotations import split_annotations
    from imagenet_x_hf.metrics import read_predictions, score_predictions
    from imagenet_x_hf.share import export_predictions, open_predictions, read_each

    split_annotations("validation")  # warm: every timed variant keeps the annotation arrays in memory
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "csv").mkdir()
        csvs = make_models(folder / "csv", args.models)
        repo_dir = folder / "repo"
        t_export = _timed(lambda: export_predictions(csvs, repo_dir))
        repo = open_predictions(repo_dir)
        parquets = [repo_dir / m.file for m in repo.models]

        def ours():
            return [score_predictions(p) for p in read_each(repo_dir)]

        def ours_slim():
            return [score_predictions(p, breakdowns=False) for p in read_each(repo_dir)]

        def csv_path():
            return [score_predictions(read_predictions(path)) for path in csvs]

        def bare():
            return [pq.read_table(path) for path in parquets]

        def ours_read():
            return list(read_each(repo_dir))

        def csv_read():
            return [read_predictions(path) for path in csvs]

        # the scores agree before anything is timed
        assert [r.to_dict() for r in ours()] == [r.to_dict() for r in csv_path()]
        variants = {
            "ours": ours,
            "ours_no_breakdowns": ours_slim,
            "csv": csv_path,
            "bare_pyarrow": bare,
            "ours_read_only": ours_read,
            "csv_read_only": csv_read,
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.repeats):
            for key, fn in variants.items():
                times[key].append(_timed(fn))
        median = {k: statistics.median(v) for k, v in times.items()}
        sizes = {
            "csv_bytes_per_model": statistics.mean(p.stat().st_size for p in csvs),
            "parquet_top1_bytes_per_model": statistics.mean(p.stat().st_size for p in parquets),
            **run_size(folder),
        }
    out = {
        "models": args.models,
        "repeats": args.repeats,
        "export_seconds": t_export,
        "seconds_median": median,
        "speedup_vs_csv": median["csv"] / median["ours"],
        "speedup_vs_csv_no_breakdowns": median["csv"] / median["ours_no_breakdowns"],
        "ratio_to_bare_pyarrow": median["ours"] / median["bare_pyarrow"],
        "ratio_to_bare_pyarrow_no_breakdowns": median["ours_no_breakdowns"] / median["bare_pyarrow"],
        "read_only_speedup_vs_csv": median["csv_read_only"] / median["ours_read_only"],
        "read_only_ratio_to_bare_pyarrow": median["ours_read_only"] / median["bare_pyarrow"],
        "sizes": sizes,
    }
    if args.json:
        print(json.dumps(out, indent=1))
        return
    m = median
    print(f"{args.models} models x 50,000 images (medians of {args.repeats}); export took {t_export:.1f} s")
    print(
        f"  repository -> scores:            {m['ours']:.3f} s   ({m['ours_no_breakdowns']:.3f} s without breakdowns)"
    )
    print(
        f"  anchor 1, authors' CSVs -> scores: {m['csv']:.3f} s   -> {out['speedup_vs_csv']:.2f}x (goal >= 5x)"
    )
    print(
        f"  anchor 2, bare pyarrow read:       {m['bare_pyarrow']:.3f} s   -> ours is {out['ratio_to_bare_pyarrow']:.2f}x of it "
        f"({out['ratio_to_bare_pyarrow_no_breakdowns']:.2f}x without breakdowns; goal <= 1.5x)"
    )
    print(
        f"  reading alone (to Predictions):    {m['ours_read_only']:.3f} s vs CSVs {m['csv_read_only']:.3f} s "
        f"-> {out['read_only_speedup_vs_csv']:.2f}x; {out['read_only_ratio_to_bare_pyarrow']:.2f}x of the bare read"
    )
    s = sizes
    print(
        f"  size per model: top-1 Parquet {s['parquet_top1_bytes_per_model'] / 1e6:.2f} MB vs CSV "
        f"{s['csv_bytes_per_model'] / 1e6:.2f} MB ({s['parquet_top1_bytes_per_model'] / s['csv_bytes_per_model']:.2f}x); "
        f"a run with top-5: {s['export_top5_bytes'] / 1e6:.2f} MB vs its CSV {s['csv_bytes'] / 1e6:.2f} MB "
        f"({s['export_top5_bytes'] / s['csv_bytes']:.2f}x)"
    )


if __name__ == "__main__":
    main()
