"""Factor statistics of the annotations: the numbers of the dataset card and ``imagenet-x stats``."""

from __future__ import annotations

import os

import numpy as np

from imagenet_x_hf.annotations import split_annotations
from imagenet_x_hf.schema import FACTORS, SPLITS


def factor_statistics(
    *,
    filter_prototypes: bool = True,
    annotations_dir: str | os.PathLike | None = None,
) -> dict:
    """Rows per split and images per factor (multi- and top-factor) for each split.

    >>> stats = factor_statistics()
    >>> stats["validation"]["rows"], stats["train"]["rows"]
    (46110, 11233)
    >>> stats["validation"]["top"]["style"]
    43
    """
    result: dict = {"filter_prototypes": filter_prototypes}
    for split in SPLITS:
        ann = split_annotations(split, annotations_dir)
        rows = ann.kept_rows(filter_prototypes)
        top = ann.top.dense(len(FACTORS), rows)
        multi = ann.multi.dense(len(FACTORS), rows)
        result[split] = {
            "rows": len(rows),
            "multi": dict(zip(FACTORS, multi.sum(axis=0).tolist(), strict=True)),
            "top": dict(zip(FACTORS, top.sum(axis=0).tolist(), strict=True)),
            "no_top_factor": int(np.sum(~top.any(axis=1))),
            "mean_factors_per_image": round(float(multi.sum(axis=1).mean()), 4),
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
