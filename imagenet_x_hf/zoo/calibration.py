"""Does the excess interval mean what it says? Leave-one-family-out over the zoo's own models.

Each family of the reference that is not an augmentation sweep is held out in turn;
the reference is fitted without it and each of its models is placed as a new model
would be (its excess interval from the refitted band). If the band is a calibrated 95%
prediction band, the held-out intervals exclude 0 about 5% of the time on every factor.
Placements marked as an extrapolation are counted apart (no verdict is drawn there).
"""

from __future__ import annotations

import numpy as np

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.place import MIN_FAMILIES_NEAR, SIMILAR_WINDOW, Reference
from imagenet_x_hf.zoo.reference import Population, select

FREQUENT = FACTORS[:8]  # pose ... subcategory: each on thousands of validation images
RARE = FACTORS[8:]


def held_out_exclusions(zoo_slice, reference: str = "all", *, level: float = 0.95) -> dict:
    """Per factor, how often held-out non-sweep models' excess intervals exclude 0.

    Returns ``{"models", "extrapolated", "excluded": {factor: count}, "placed": {factor: count},
    "rate": {factor: share}, "rare_rate"}`` over the non-extrapolated placements.
    """
    population = select(Population.from_slice(zoo_slice), reference)
    excluded = np.zeros(len(FACTORS), dtype=np.int64)
    placed = np.zeros(len(FACTORS), dtype=np.int64)
    models = extrapolated = 0
    families = population.family.astype(str)
    for family in sorted(set(families[~population.sweep].tolist())):
        out = families == family
        ref = Reference(population.subset(~out), name=reference)
        rows = np.flatnonzero(out)
        acc = population.accuracy[rows]
        excess = population.error_ratio[rows] - ref.trend.expected(acc)
        half = ref.trend.quantile(acc, level)[:, None] * ref.trend.band_sd(acc)
        lo, hi = excess - half, excess + half
        far = np.array(
            [
                not ref.trend.inside(a)
                or len(set(ref.population.family[ref.near(a, SIMILAR_WINDOW)])) < MIN_FAMILIES_NEAR
                for a in acc
            ]
        )
        models += len(rows)
        extrapolated += int(far.sum())
        ok = np.isfinite(lo) & np.isfinite(hi) & ~far[:, None]
        placed += ok.sum(0)
        excluded += (ok & ((lo > 0) | (hi < 0))).sum(0)
    rate = {f: float(excluded[k] / placed[k]) if placed[k] else None for k, f in enumerate(FACTORS)}
    rare = [FACTORS.index(f) for f in RARE]
    return {
        "reference": reference,
        "models": models,
        "extrapolated": extrapolated,
        "excluded": {f: int(excluded[k]) for k, f in enumerate(FACTORS)},
        "placed": {f: int(placed[k]) for k, f in enumerate(FACTORS)},
        "rate": rate,
        "rare_rate": float(excluded[rare].sum() / max(placed[rare].sum(), 1)),
    }
