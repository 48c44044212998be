"""Factor statistics of the annotations: the numbers of the dataset card and ``imagenet-x stats``."""

from __future__ import annotations

import os

import numpy as np

from imagenet_x_hf.schema import FACTORS, SPLITS


def factor_statistics(
    *,
    filter_prototypes: bool = True,
    annotations_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict:
    """Rows per split and images per factor (multi- and top-factor) for each split.

    >>> stats = factor_statistics()
    >>> stats["validation"]["rows"], stats["train"]["rows"]
    (46110, 11233)
    >>> stats["validation"]["top"]["style"]
    43
    """
    from imagenet_x_hf.annotations import AnnotationArrays
    from imagenet_x_hf.api import load

    result: dict = {"filter_prototypes": filter_prototypes}
    for split in SPLITS:
        ds = load(
            split, filter_prototypes=filter_prototypes, annotations_dir=annotations_dir, cache_dir=cache_dir
        )
        arrays = AnnotationArrays.from_table(ds.data.table)
        result[split] = {
            "rows": int(ds.num_rows),
            "multi": dict(zip(FACTORS, np.sum(arrays.multi, axis=0).tolist(), strict=False)),
            "top": dict(zip(FACTORS, np.sum(arrays.top, axis=0).tolist(), strict=False)),
            "no_top_factor": int(np.sum(~arrays.top.any(axis=1))),
            "mean_factors_per_image": round(float(arrays.multi.sum(axis=1).mean()), 4),
        }
    return result


def format_table(stats: dict) -> str:
    """The statistics as a Markdown table (one row per factor)."""
    lines = [
        "| factor | validation multi | validation top | train multi | train top |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    val, train = stats["validation"], stats["train"]
    for factor in FACTORS:
        lines.append(
            f"| {factor} | {val['multi'][factor]:,} | {val['top'][factor]:,} | "
            f"{train['multi'][factor]:,} | {train['top'][factor]:,} |"
        )
    lines.append(
        f"| **images** | {val['rows']:,} | {val['rows']:,} | {train['rows']:,} | {train['rows']:,} |"
    )
    return "\n".join(lines)
