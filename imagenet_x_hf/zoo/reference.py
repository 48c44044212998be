"""The reference population a model is placed against: models, their families and types.

Of the authors' 2,501 zoo models, 2,117 are runs of five ResNet-50 augmentation sweeps
(``eval_resnet50_<settings>``; crop 1,272, colour jitter 664, blur 161, ...) and 110 are
checkpoints of three training runs (``resnet18_50k_<i>_epochs``, ...). Counted model
by model they would make "models of this accuracy" mean "ResNet-50 crop runs". So every
model belongs to a *family* and each family weighs one unit, shared by its models:

- each sweep (the runs of one sweep folder) is one family;
- each checkpoint series (names differing only in ``_<i>_epochs``) is one family;
- every other model is its own family.

Model types come from the authors' ``model_types.py``; sweep runs are typed
``ResNet-50 augmentation sweep`` and models absent from the file ``not in
model_types.py``. :func:`select` narrows a population (``all``, ``no-sweeps``,
``type:<key>``); :meth:`Population.concat` appends other models (each with a family
key and a type) to a population before the reference is fitted on it.

>>> family_of("eval_resnet50_crop8.0_wd1e-05_id1", "crop"), family_of("resnet18_50k_7_epochs", "x")
('sweep:crop', 'resnet18_50k_*_epochs')
>>> type_key("Supervised on ImageNet-1K")
'supervised-on-imagenet-1k'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import ZooError

SWEEP_TYPE = "ResNet-50 augmentation sweep"
UNLISTED = "not in model_types.py"
EXTRA_FAMILY_PREFIX = "extra:"  # the family key of a model added with rank --zoo-extra
REFERENCES = ("all", "no-sweeps", "type:<key>")
_SWEEP_PREFIX = "eval_resnet50_"
_CHECKPOINT = re.compile(r"(.+)_([0-9]+)_epochs")
_SWEEP_NAMES = {
    "crop": "crop",
    "colorjitter": "colour-jitter",
    "colorjitter_crop": "colour-jitter + crop",
    "adaptive_colorjitter": "adaptive colour-jitter",
    "gaussian_blur": "blur",
}


def family_of(name: str, group: str) -> str:
    """The family key of a zoo model: its sweep, its checkpoint series, or its own name."""
    if name.startswith(_SWEEP_PREFIX):
        return f"sweep:{group}"
    m = _CHECKPOINT.fullmatch(name)
    return f"{m.group(1)}_*_epochs" if m else name


def type_key(label: str) -> str:
    """The ``type:<key>`` spelling of a model type label."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@dataclass(frozen=True)
class Population:
    """Models to fit a reference on: name, accuracy, per-factor error ratios, family key, type."""

    names: np.ndarray  # (n,) str objects
    accuracy: np.ndarray  # (n,)
    error_ratio: np.ndarray  # (n, 16)
    family: np.ndarray  # (n,) str objects
    model_type: np.ndarray  # (n,) str objects
    sweep: np.ndarray  # (n,) bool: a run of an augmentation sweep

    def __post_init__(self) -> None:
        n = len(self.names)
        shapes = [len(self.accuracy), len(self.family), len(self.model_type), len(self.sweep)]
        if any(s != n for s in shapes) or self.error_ratio.shape != (n, len(FACTORS)):
            raise ZooError(
                f"a reference population needs one accuracy, family, type and {len(FACTORS)} error ratios "
                f"per model; got {n} names, arrays of {shapes} and ratios of shape {self.error_ratio.shape}"
            )

    @classmethod
    def from_slice(cls, zoo_slice) -> Population:
        """The zoo models of one slice (each model once, no human row)."""
        use = zoo_slice.use
        names = zoo_slice.model[use]
        groups = zoo_slice.group[use]
        sweep = np.array([str(n).startswith(_SWEEP_PREFIX) for n in names], dtype=bool)
        types = np.array(
            [SWEEP_TYPE if s else (t or UNLISTED) for s, t in zip(sweep, zoo_slice.model_type[use])],
            dtype=object,
        )
        return cls(
            names=names,
            accuracy=zoo_slice.accuracy[use],
            error_ratio=zoo_slice.error_ratio[use],
            family=np.array([family_of(str(n), str(g)) for n, g in zip(names, groups)], dtype=object),
            model_type=types,
            sweep=sweep,
        )

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, keep: np.ndarray) -> Population:
        return Population(
            self.names[keep],
            self.accuracy[keep],
            self.error_ratio[keep],
            self.family[keep],
            self.model_type[keep],
            self.sweep[keep],
        )

    def concat(self, other: Population) -> Population:
        """This population with ``other``'s models appended (their family keys kept as given)."""
        clash = sorted(set(self.names.tolist()) & set(other.names.tolist()))
        if clash:
            raise ZooError(f"model name(s) {clash[:3]} are already in the reference; rename the added models")
        return Population(
            *(np.concatenate([a, b]) for a, b in zip(self._arrays(), other._arrays()))  # type: ignore[arg-type]
        )

    def _arrays(self):
        return self.names, self.accuracy, self.error_ratio, self.family, self.model_type, self.sweep

    def weight(self) -> np.ndarray:
        """Per model, one over the size of its family (each family weighs one)."""
        _, codes, counts = np.unique(self.family.astype(str), return_inverse=True, return_counts=True)
        return 1.0 / counts[codes]

    def types(self) -> dict[str, int]:
        """Model count per type, largest first."""
        labels, counts = np.unique(self.model_type.astype(str), return_counts=True)
        return {str(lab): int(c) for c, lab in sorted(zip(counts, labels), key=lambda t: (-t[0], t[1]))}

    def describe(self, rows: np.ndarray | None = None) -> str:
        """What (a part of) the population is made of, in words.

        >>> p = Population(np.array(["a", "b", "c"], dtype=object), np.array([.7, .7, .8]), np.ones((3, 16)),
        ...     np.array(["sweep:crop", "sweep:crop", "c"], dtype=object), np.array(["s", "s", "t"], dtype=object),
        ...     np.array([True, True, False]))
        >>> p.describe()
        '3 models in 2 families: 2 runs of 1 ResNet-50 augmentation sweep (crop) counted as 1 family, 1 other model'
        """
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        fam = self.family[rows].astype(str)
        added = np.char.startswith(fam, EXTRA_FAMILY_PREFIX)  # rank --zoo-extra's models
        sweep = self.sweep[rows] & ~added
        checkpoint = np.array([f.endswith("_*_epochs") for f in fam], dtype=bool) & ~added
        parts = []
        if sweep.any():
            names, counts = np.unique(fam[sweep], return_counts=True)
            kinds = ", ".join(
                _SWEEP_NAMES.get(n.split(":", 1)[1], n.split(":", 1)[1])
                for _, n in sorted(zip(-counts, names))
            )
            parts.append(
                f"{int(sweep.sum()):,} runs of {_count(len(names), 'ResNet-50 augmentation sweep')} ({kinds}) "
                f"counted as {_count(len(names), 'family')}"
            )
        if checkpoint.any():
            series = len(set(fam[checkpoint].tolist()))
            parts.append(
                f"{int(checkpoint.sum()):,} checkpoints of {_count(series, 'training run')} counted as "
                f"{_count(series, 'family')}"
            )
        if added.any():
            kept = len(set(fam[added].tolist()))
            parts.append(f"{int(added.sum()):,} of your models counted as {_count(kept, 'family')}")
        others = int((~sweep & ~checkpoint & ~added).sum())
        if others:
            parts.append(f"{others:,} other model{'s' if others != 1 else ''}")
        total = len(set(fam.tolist()))
        return f"{_count(len(rows), 'model')} in {_count(total, 'family')}: " + ", ".join(parts)


def _count(n: int, word: str) -> str:
    plural = {"family": "families"}.get(word, word + "s")
    return f"{n:,} {word if n == 1 else plural}"


def select(population: Population, reference: str = "all") -> Population:
    """The models of ``reference``: ``all``, ``no-sweeps`` or ``type:<key>`` (a type's key or label)."""
    spec = (reference or "all").strip()
    if spec == "all":
        return population
    if spec == "no-sweeps":
        return population.subset(~population.sweep)
    if spec.startswith("type:"):
        wanted = spec[5:].strip().lower()
        keys = np.array([type_key(str(t)) for t in population.model_type])
        labels = np.array([str(t).lower() for t in population.model_type])
        keep = (keys == wanted) | (labels == wanted)
        if not keep.any():
            known = ", ".join(f"{type_key(t)} ({n})" for t, n in population.types().items())
            raise ZooError(f"no zoo model has type {spec[5:]!r}; pick one of: {known}")
        return population.subset(keep)
    raise ZooError(f"unknown reference {reference!r}; use 'all', 'no-sweeps' or 'type:<key>'")
