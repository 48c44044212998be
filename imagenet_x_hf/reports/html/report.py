"""Assemble the HTML report of one model: what it shows, then the page.

``build_report`` joins the predictions to the annotations, picks each factor's
gallery (a deterministic sample of the misclassified images), pairs the model
with each ``compare`` model, reads thumbnails of exactly the images shown, looks up
the zoo placement, and renders one self-contained page (``render.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.html.data import (
    ScoredImages,
    check_agrees,
    paired_rows,
    scored_images,
)
from imagenet_x_hf.reports.html.sample import pick, sample_keys
from imagenet_x_hf.reports.html.thumbnails import Thumbnail, Thumbnails
from imagenet_x_hf.reports.inputs import ModelResults, check_same_settings, unique_names
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS, METACLASSES
from imagenet_x_hf.settings import ReportOptions

PER_FACTOR = ReportOptions().per_factor
COMPARE_PER_FACTOR = ReportOptions().compare_per_factor
MAX_PER_FACTOR = 200  # 16 x 200 thumbnails are ~15 MB of page: beyond that a gallery is a dataset


@dataclass(frozen=True)
class Prediction:
    """One of a model's top-k predictions for an image."""

    label: str
    probability: float | None
    is_true: bool


@dataclass
class Card:
    """One image of a gallery, with everything its card shows."""

    file_name: str
    true_class: str
    metaclass: str
    one_word: str
    justification: str
    top_factor: str | None
    factors: list[str]  # every factor marked (the multi-factor annotation)
    sampled_for: list[str]  # the factor galleries this image was drawn for
    predictions: dict[str, list[Prediction]]  # model name -> top-k
    direction: str | None = None  # compare galleries: which model is right ("a" or "b")
    thumbnail: Thumbnail | None = None

    @property
    def only_factor(self) -> str | None:
        """The factor when exactly one is marked on the image."""
        return self.factors[0] if len(self.factors) == 1 else None


@dataclass
class Gallery:
    """Cards with the per-factor counts that the page's filters show."""

    ident: str
    cards: list[Card]
    candidates: dict[str, int]  # factor -> how many images qualified before sampling
    shown: dict[str, int]  # factor -> how many were sampled
    per_factor: int
    alone: dict[str, int] = field(
        default_factory=dict
    )  # factor -> candidates where it is the only one marked

    @property
    def metaclasses(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for card in self.cards:
            counts[card.metaclass] = counts.get(card.metaclass, 0) + 1
        return [(m, counts[m]) for m in METACLASSES if m in counts]


@dataclass
class Comparison:
    """The main model against one other: paired differences and the images they disagree on."""

    other: str
    other_results: Results
    paired: dict  # imagenet_x_hf.metrics.paired_comparison(main, other)
    gallery: Gallery
    a_only: int  # images the main model gets right and the other wrong
    b_only: int
    a_accuracy: float | None = None  # both models' accuracy on the paired images
    b_accuracy: float | None = None


@dataclass
class Report:
    """A built report: the page and facts about it."""

    html: str
    model: str
    images_shown: int
    thumbnails: int
    missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    zoo_note: str | None = None
    zoo_shown: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        return len(self.html.encode("utf-8"))


class _Annotations:
    """Names and texts of annotation rows, fetched only for the rows a card shows."""

    def __init__(self, split: str):
        from imagenet_x_hf import schema
        from imagenet_x_hf.annotations import split_annotations
        from imagenet_x_hf.api import load

        self.arrays = split_annotations(split)
        self.table = load(split, filter_prototypes=False).data.table
        if self.table.num_rows != len(self.arrays.labels):
            raise ResultsFileError(
                f"the {split} annotations changed while the report was built ({self.table.num_rows:,} rows "
                f"against {len(self.arrays.labels):,}); run the report again"
            )
        self.class_names = schema.CLASS_NAMES

    def texts(self, rows: np.ndarray) -> dict[int, dict[str, Any]]:
        import pyarrow as pa

        rows = np.unique(rows)
        taken = self.table.select(["file_name", "one_word", "justification"]).take(pa.array(rows))
        columns = {name: taken.column(name).to_pylist() for name in taken.column_names}
        return {int(r): {k: columns[k][i] for k in columns} for i, r in enumerate(rows)}


def _top_k(images: ScoredImages, i: int, label: int, class_names: Sequence[str]) -> list[Prediction]:
    if images.top5_classes is not None:
        classes = images.top5_classes[i].tolist()
        probs = images.top5_probabilities[i].tolist()
    else:
        classes = [int(images.predicted[i])]
        probs = [None if images.probability is None else float(images.probability[i])]
    return [Prediction(class_names[c], p, c == label) for c, p in zip(classes, probs, strict=True)]


def _card(
    ann: _Annotations,
    texts: Mapping[int, Mapping[str, Any]],
    row: int,
    predictions: dict[str, list[Prediction]],
    *,
    sampled_for: list[str],
    direction: str | None = None,
) -> Card:
    arrays = ann.arrays
    label = int(arrays.labels[row])
    multi = arrays.multi.row(row)
    top = arrays.top.row(row)
    text = texts[row]
    return Card(
        file_name=text["file_name"],
        true_class=ann.class_names[label],
        metaclass=METACLASSES[int(arrays.metaclass[row])],
        one_word=text["one_word"] or "",
        justification=text["justification"] or "",
        top_factor=FACTORS[int(top[0])] if len(top) else None,
        factors=[FACTORS[int(k)] for k in multi],
        sampled_for=sampled_for,
        predictions=predictions,
        direction=direction,
    )


def _sample_by_factor(
    positions: np.ndarray, flags: np.ndarray, keys: np.ndarray, count: int, multi: np.ndarray | None = None
) -> tuple[dict[int, list[str]], dict[str, int], dict[str, int], dict[str, int]]:
    """Per factor, ``count`` of ``positions`` (indices into ``flags``/``keys``) carrying it.

    Returns ``{position: [factors it was drawn for]}`` in first-drawn order, and per factor
    the candidates, the shown and (with ``multi``, the multi-factor flags) the candidates
    on which it is the only factor marked.
    """
    chosen: dict[int, list[str]] = {}
    candidates, shown, alone = {}, {}, {}
    single = None if multi is None else multi.sum(axis=1) == 1
    for k, factor in enumerate(FACTORS):
        pool = positions[flags[positions, k]]
        picked = pick(pool, keys, count)
        candidates[factor], shown[factor] = int(len(pool)), int(len(picked))
        if single is not None:
            alone[factor] = int((single[pool] & multi[pool, k]).sum())
        for p in picked.tolist():
            chosen.setdefault(p, []).append(factor)
    return chosen, candidates, shown, alone


def _keys_for(ann: _Annotations, rows: np.ndarray, seed: int, positions: np.ndarray) -> np.ndarray:
    """Sample keys at ``positions`` (others stay at the maximum, never drawn before them)."""
    keys = np.full(len(rows), np.iinfo(np.uint64).max, dtype=np.uint64)
    if len(positions):
        names = ann.arrays.file_names.take(rows[positions]).to_pylist()
        keys[positions] = sample_keys(names, seed)
    return keys


def _error_gallery(
    ann: _Annotations, images: ScoredImages, *, which_factor: str, per_factor: int, seed: int
) -> Gallery:
    flags = ann.arrays.factors(which_factor).dense(rows=images.rows)
    multi = flags if which_factor == "multi" else ann.arrays.factors("multi").dense(rows=images.rows)
    wrong = np.flatnonzero(~images.correct)
    keys = _keys_for(ann, images.rows, seed, wrong)
    chosen, candidates, shown, alone = _sample_by_factor(wrong, flags, keys, per_factor, multi)
    texts = ann.texts(images.rows[list(chosen)]) if chosen else {}
    cards = []
    for position, factors in chosen.items():
        row = int(images.rows[position])
        label = int(ann.arrays.labels[row])
        predictions = {images.name: _top_k(images, position, label, ann.class_names)}
        cards.append(_card(ann, texts, row, predictions, sampled_for=factors))
    return Gallery("mistakes", cards, candidates, shown, per_factor, alone)


def _comparison(
    ann: _Annotations,
    main: ModelResults,
    a: ScoredImages,
    other: ModelResults,
    b: ScoredImages,
    *,
    per_factor: int,
    seed: int,
    index: int,
) -> Comparison:
    from imagenet_x_hf.metrics import paired_comparison

    settings = main.results.scoring

    paired = paired_comparison(main.predictions(), other.predictions(), main.results.scoring)
    rows, ia, ib = paired_rows(a, b)
    flags = ann.arrays.factors(settings.which_factor).dense(rows=rows)
    multi = flags if settings.which_factor == "multi" else ann.arrays.factors("multi").dense(rows=rows)
    a_right, b_right = a.correct[ia], b.correct[ib]
    disagree = np.flatnonzero(a_right != b_right)
    keys = _keys_for(ann, rows, seed, disagree)
    cards: list[Card] = []
    candidates: dict[str, int] = {}
    shown: dict[str, int] = {}
    alone: dict[str, int] = {}
    for direction, mask in (("a", a_right & ~b_right), ("b", b_right & ~a_right)):
        chosen, cand, sh, al = _sample_by_factor(np.flatnonzero(mask), flags, keys, per_factor, multi)
        for factor in FACTORS:
            candidates[f"{direction}:{factor}"] = cand[factor]
            shown[f"{direction}:{factor}"] = sh[factor]
            alone[f"{direction}:{factor}"] = al[factor]
        texts = ann.texts(rows[list(chosen)]) if chosen else {}
        for position, factors in chosen.items():
            row = int(rows[position])
            label = int(ann.arrays.labels[row])
            predictions = {
                a.name: _top_k(a, int(ia[position]), label, ann.class_names),
                b.name: _top_k(b, int(ib[position]), label, ann.class_names),
            }
            cards.append(_card(ann, texts, row, predictions, sampled_for=factors, direction=direction))
    gallery = Gallery(f"compare-{index}", cards, candidates, shown, per_factor, alone)
    return Comparison(
        other=other.name,
        other_results=other.results,
        paired=paired,
        gallery=gallery,
        a_only=int((a_right & ~b_right).sum()),
        b_only=int((b_right & ~a_right).sum()),
        a_accuracy=float(a_right.mean()) if len(a_right) else None,
        b_accuracy=float(b_right.mean()) if len(b_right) else None,
    )


def _check_count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PER_FACTOR:
        raise ResultsFileError(
            f"{name} must be a whole number from 0 to {MAX_PER_FACTOR}, not {value!r}; "
            "the page embeds every image it shows, so keep galleries small"
        )
    return value


def thumbnail_hint(model: ModelResults, output: str | os.PathLike = "report.html") -> str:
    """The command that rebuilds this report with thumbnails (the run's own ImageNet path if recorded)."""
    recorded = model.run.dataset.get("imagenet") if model.run else None
    source = "/path/to/ILSVRC2012_img_val.tar"
    if (
        isinstance(recorded, str) and recorded
    ):  # a local copy by its last part only: the page may be published
        local = Path(recorded).expanduser().is_absolute() or Path(recorded).exists()
        source = f"/path/to/{Path(recorded).name}" if local else recorded
    name = str(model.source) if "://" in str(model.source) else Path(model.source).name
    return f"imagenet-x report {name} --imagenet {source} -o {Path(output).name}"


def build_report(
    model: ModelResults,
    options: ReportOptions | None = None,
    *,
    compare: Sequence[ModelResults] = (),
    hint: str | None = None,
    progress: bool = True,
) -> Report:
    """Build the HTML report of ``model`` (a run, or predictions scored by ``load_model_results``).

    Args:
        model: the model to report on; it needs its predictions (a run directory or a
            predictions file), not only a results JSON.
        options: how the page is built (``ReportOptions``: the ImageNet source the shown
            images are read from, how many are shown per factor, the seed that picks them,
            the thumbnail size, the title, whether the zoo placement is looked up).
        compare: other models, scored with the same settings: paired differences and,
            per factor, the images one model gets right and the other wrong.
        hint: the command that adds thumbnails, shown when there are none.
        progress: show a progress bar while thumbnails are made.
    """
    options = options or ReportOptions()
    imagenet, seed, thumbnail_size = options.imagenet, options.seed, options.thumbnail_size
    from imagenet_x_hf.reports.html.render import Page, render_page
    from imagenet_x_hf.reports.html.thumbnails import read_thumbnails
    from imagenet_x_hf.reports.html.zoo import zoo_for

    per_factor = _check_count("per_factor", options.per_factor)
    compare_per_factor = _check_count("compare_per_factor", options.compare_per_factor)
    if not 16 <= int(thumbnail_size) <= 512:
        raise ResultsFileError(f"thumbnail_size must be 16 to 512 pixels, not {thumbnail_size!r}")
    for m in (model, *compare):
        try:
            m.predictions()
        except ResultsFileError as err:
            raise ResultsFileError(
                f"{str(m.source)!r} holds results only, and the report needs its predictions to show "
                "images: pass the run directory (with predictions.parquet) or the predictions file"
            ) from err
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    models = [model, *compare]
    unique_names(models)
    check_same_settings(models)
    settings = model.results.scoring
    ann = _Annotations(settings.split)
    main_images = scored_images(model, settings)
    check_agrees(main_images, model.results, source=str(model.source))
    gallery = _error_gallery(
        ann, main_images, which_factor=settings.which_factor, per_factor=per_factor, seed=seed
    )
    comparisons = []
    for i, other in enumerate(compare):
        other_images = scored_images(other, settings)
        check_agrees(other_images, other.results, source=str(other.source))
        comparisons.append(
            _comparison(
                ann,
                model,
                main_images,
                other,
                other_images,
                per_factor=compare_per_factor,
                seed=seed,
                index=i + 1,
            )
        )
    seconds["data"] = time.perf_counter() - start

    start = time.perf_counter()
    all_cards = gallery.cards + [c for comp in comparisons for c in comp.gallery.cards]
    thumbs = Thumbnails()
    if imagenet is not None:
        thumbs = read_thumbnails(
            imagenet,
            {c.file_name for c in all_cards},
            split=settings.split,
            kind=options.source_kind,
            size=int(thumbnail_size),
            progress=progress,
        )
        check_source(models, thumbs, imagenet, split=settings.split)
        for card in all_cards:
            card.thumbnail = thumbs.images.get(card.file_name)
    seconds["thumbnails"] = time.perf_counter() - start

    start = time.perf_counter()
    zoo_block, zoo_note = zoo_for(model.results, lookup=options.zoo)
    seconds["zoo"] = time.perf_counter() - start

    start = time.perf_counter()
    html = render_page(
        Page(
            model=model,
            images=main_images,
            gallery=gallery,
            comparisons=comparisons,
            thumbnails=thumbs,
            imagenet_given=imagenet is not None,
            zoo_block=zoo_block,
            zoo_note=zoo_note,
            title=options.title,
            hint=hint or thumbnail_hint(model),
            seed=seed,
            thumbnail_size=int(thumbnail_size),
        )
    )
    seconds["render"] = time.perf_counter() - start
    return Report(
        html=html,
        model=model.name,
        images_shown=len({c.file_name for c in all_cards}),
        thumbnails=len(thumbs.images),
        missing=thumbs.missing,
        unreadable=thumbs.unreadable,
        zoo_note=zoo_note,
        zoo_shown=zoo_block is not None,
        seconds=seconds,
    )


def _recorded_digests(model: ModelResults) -> tuple[dict[str, bytes], str | None] | None:
    """A run's per-image sha256 by file name and the source it recorded, or None when it kept none."""
    if model.kind != "run":
        return None
    folder = Path(model.source)
    digests_path, predictions_path = folder / "image_sha256.npy", folder / "predictions.parquet"
    if not (digests_path.is_file() and predictions_path.is_file()):
        return None
    import pyarrow.parquet as pq

    try:
        digests = np.load(digests_path, allow_pickle=False)
        names = pq.read_table(predictions_path, columns=["file_name"]).column("file_name").to_pylist()
    except (OSError, ValueError, KeyError):
        return None
    if digests.ndim != 2 or len(digests) != len(names):
        return None
    recorded = model.run.dataset.get("imagenet") if model.run else None
    return {n: digests[i].tobytes() for i, n in enumerate(names)}, recorded if isinstance(
        recorded, str
    ) else None


def check_source(models: Sequence[ModelResults], thumbs: Thumbnails, imagenet, *, split: str) -> None:
    """Refuse an ``--imagenet`` copy that is not the one the images were predicted on.

    A run keeps the sha256 of every image it predicted: a shown image whose bytes differ
    means another copy (same names, other pixels), and its thumbnails would show what the
    model never saw. Without such a record (predictions files) the page says the images
    are unchecked. A copy lacking most of the shown images (e.g. the train tar given for
    the validation split) is refused too: its thumbnails could not stand for the galleries.
    """
    wanted = len(thumbs.digests) + len(thumbs.missing)
    if wanted and len(thumbs.missing) * 2 > wanted:
        raise ResultsFileError(
            f"--imagenet {str(imagenet)!r} lacks {len(thumbs.missing)} of the {wanted} images shown "
            f"(e.g. {thumbs.missing[0]}): is it ImageNet's {split} split? Pass the copy the predictions "
            "were made on, or leave out --imagenet"
        )
    checked = 0
    for model in models:
        record = _recorded_digests(model)
        if record is None:
            continue
        digests, recorded = record
        common = [n for n in thumbs.digests if n in digests]
        differ = [n for n in common if digests[n] != thumbs.digests[n]]
        if differ:
            used = f" (the run recorded {recorded})" if recorded else ""
            raise ResultsFileError(
                f"--imagenet {str(imagenet)!r} is not the copy {model.name} was evaluated on: {len(differ)} of "
                f"the {len(common)} images shown have other bytes (e.g. {differ[0]}); pass the copy the run "
                f"used{used}, or leave out --imagenet"
            )
        checked = max(checked, len(common))
    total = len(thumbs.digests)
    if checked and checked == total:
        thumbs.checked = "each image checked against the run's record of what it predicted (sha256)"
    elif checked:
        thumbs.checked = (
            f"{checked:,} of {total:,} images checked against a run's record (sha256); the rest unchecked"
        )
    else:
        thumbs.checked = (
            "not checked: predictions files record no image content, so the copy is taken on trust"
        )


def check_output(path: str | os.PathLike) -> Path:
    """The report's output path, checked before any work: an ``.html`` file that can be written.

    One-line errors (``ResultsFileError``) for a folder, a path under a file, or a place
    that cannot be written; nothing is created here.
    """
    path = Path(path)
    if path.is_dir():
        raise ResultsFileError(
            f"-o {str(path)!r} is a folder; name the HTML file to write, e.g. -o {str(path / 'report.html')!r}"
        )
    if path.suffix.lower() not in (".html", ".htm"):
        raise ResultsFileError(f"the report is an HTML page: name the output *.html, not {path.name!r}")
    folder = path.parent
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                raise ResultsFileError(
                    f"-o {str(path)!r} lies under {str(above)!r}, which is a file, not a folder; "
                    "choose another output path"
                )
            if not os.access(above, os.W_OK | os.X_OK):
                raise ResultsFileError(
                    f"cannot write -o {str(path)!r}: {str(above)!r} is not writable; choose another output path"
                )
            break
    return path


def write_report(report: Report, path: str | os.PathLike) -> Path:
    """Write the page to ``path`` atomically (a crash never leaves half a report); returns the path."""
    path = check_output(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(report.html, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise ResultsFileError(
            f"cannot write the report to {str(path)!r} ({err.strerror or type(err).__name__}); "
            "choose another output path"
        ) from err
    finally:
        tmp.unlink(missing_ok=True)
    return path
