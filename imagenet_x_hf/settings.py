"""The settings of every command, as typed, frozen dataclasses: declared once, validated once,
recorded whole.

Each field says what it takes by its type (a ``Literal`` lists the choices) and how it
looks on the command line by ``option(...)`` (see ``imagenet_x_hf.fields``, which builds
the CLI from these classes, and ``imagenet_x_hf.fingerprint``, which hashes them). A
settings object is checked when it is built, before any work starts, and serialises to
plain JSON (``to_dict``).

>>> opts = ScoringOptions(which_factor="multi")
>>> opts.which_factor, opts.error_type, opts.filter_prototypes
('multi', 'class', True)
>>> opts.cli_args()
['--which-factor', 'multi']
>>> ScoringOptions.from_dict(opts.to_dict()) == opts
True
>>> ScoringOptions(which_factor="both")
Traceback (most recent call last):
...
imagenet_x_hf.errors.SettingsError: which_factor must be one of 'top', 'multi', not 'both'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from imagenet_x_hf.errors import SettingsError as SettingsError
from imagenet_x_hf.fields import add_arguments as add_arguments
from imagenet_x_hf.fields import cli_args, flag_of, nested, option, settings_dict, validate_choices
from imagenet_x_hf.fields import from_namespace as from_namespace
from imagenet_x_hf.fingerprint import fingerprint as fingerprint
from imagenet_x_hf.fingerprint import prediction_settings as prediction_settings
from imagenet_x_hf.label_map import check_label_map, read_label_map
from imagenet_x_hf.schema import SourceKind, Split

WhichFactor = Literal["top", "multi"]
ErrorType = Literal["class", "real_class", "metaclass"]
EmptyReal = Literal["error", "exclude"]
Adapter = Literal["auto", "transformers", "timm", "zero-shot"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
PreprocessingPath = Literal["auto", "fast", "reference"]
ProcessorBackend = Literal["pil", "torchvision"]

WHICH_FACTORS: tuple[str, ...] = get_args(WhichFactor)
ERROR_TYPES: tuple[str, ...] = get_args(ErrorType)
EMPTY_REAL: tuple[str, ...] = get_args(EmptyReal)
ADAPTERS: tuple[str, ...] = get_args(Adapter)
PRECISIONS: tuple[str, ...] = get_args(Precision)
PREPROCESSING_PATHS: tuple[str, ...] = get_args(PreprocessingPath)
PROCESSOR_BACKENDS: tuple[str, ...] = get_args(ProcessorBackend)


@dataclass(frozen=True)
class ScoringOptions:
    """How predictions become error ratios; shared by score, evaluate, card, compare, plot and the metric.

    The defaults are the authors' toolkit's, so that first numbers are the paper's.
    """

    split: Split = option("validation", "the annotated split the predictions are for")
    which_factor: WhichFactor = option(
        "top", "top: each image's most salient factor; multi: every factor marked"
    )
    error_type: ErrorType = option(
        "class",
        "class: top-1; real_class: prediction in the ImageNet-ReaL set; "
        "metaclass: predicted metaclass is the true one",
    )
    filter_prototypes: bool = option(
        True,
        "score the annotators' prototype images too (the paper leaves them out)",
        invert="--keep-prototypes",
    )
    empty_real: EmptyReal = option(
        "error",
        "with real_class, images without ReaL labels count as errors (the toolkit) "
        "or are excluded (the ReaL protocol)",
    )
    confidence_level: float = option(
        0.95, "level of the error-ratio intervals", flag="--confidence-level", metavar="LEVEL"
    )

    def __post_init__(self) -> None:
        validate_choices(self)
        if not isinstance(self.filter_prototypes, bool):
            raise SettingsError(f"filter_prototypes must be True or False, not {self.filter_prototypes!r}")
        level = self.confidence_level
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
            raise SettingsError(
                f"confidence_level must be a number between 0 and 1 (e.g. 0.95), not {level!r}"
            )
        if self.error_type == "real_class" and self.split != "validation":
            raise SettingsError(
                "error_type='real_class' (--error-type real_class) needs ImageNet-ReaL labels, which "
                "exist only for split='validation'; use class or metaclass errors on the train split"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoringOptions:
        """Rebuild from ``to_dict`` output; unknown keys are an error (they mean another version)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingsError(
                f"unknown scoring settings {unknown}; known: {sorted(names)} "
                "(written by another version of imagenet-x-hf?)"
            )
        return cls(**data)

    def cli_args(self) -> list[str]:
        """The CLI options that reproduce these settings (defaults left out)."""
        return cli_args(self)

    def replace(self, **changes: Any) -> ScoringOptions:
        return dataclasses.replace(self, **changes)


def _positive(name: str, value: Any, *, allow_none: bool = False, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        need = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise SettingsError(f"{name} must be {need}, not {value!r}")


SCORING_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ScoringOptions))


@dataclass(frozen=True)
class LoadOptions:
    """How a model is loaded (the same for every adapter).

    ``label_map`` may be given as a path to a JSON file; it is read when the options are
    built (so a bad file fails at once) and the file's name is kept in ``label_map_file``.

    >>> LoadOptions().allow_pickle, LoadOptions().jpeg_draft
    (False, False)
    >>> LoadOptions(label_map={3: 0}).label_map
    {3: 0}
    """

    revision: str | None = option(
        None, "Hub revision: branch, tag or commit", metavar="REV", group="model", default_text="main"
    )
    trust_remote_code: bool = option(
        False, "allow running the model repository's own Python code", group="model"
    )
    allow_pickle: bool = option(
        False,
        "accept weights stored as pickles (.bin/.pth, read with weights_only) when no safetensors "
        "file is what gets loaded",
        group="model",
        default_text="off: safetensors only",
    )
    label_map: Mapping[int, int] | str | None = option(
        None,
        "JSON object mapping model output index -> ImageNet index or WordNet id, for models "
        "whose classes are not the 1000 ImageNet ones in order",
        group="model",
        metavar="JSON",
        type=str,
    )
    templates: tuple[str, ...] | None = option(
        None,
        "zero-shot prompt template with {} for the class name; repeatable",
        flag="--template",
        metavar="TEXT",
        repeat=True,
        group="model",
        default_text="7 CLIP templates",
        type=str,
    )
    processor_backend: ProcessorBackend | None = option(
        None,
        "transformers image-processor backend to follow",
        group="speed and numerics",
        default_text="transformers' choice",
    )
    jpeg_draft: bool = option(
        False,
        "let large JPEGs decode at 1/2, 1/4 or 1/8 size when still at least the resize target: "
        "faster for small-input models, but predictions then differ from the model's own "
        "preprocessing on some images (recorded in results.json)",
        group="speed and numerics",
        default_text="off: full-size decoding, the model's own numbers",
    )
    # the map's content is fingerprinted, not where it was read from
    label_map_file: str | None = option(
        None, "the file label_map was read from", cli=False, fingerprint=False
    )

    def __post_init__(self) -> None:
        validate_choices(self)
        for name in ("trust_remote_code", "allow_pickle", "jpeg_draft"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if isinstance(self.label_map, (str, os.PathLike)):
            path = self.label_map
            object.__setattr__(self, "label_map", read_label_map(path))
            object.__setattr__(self, "label_map_file", str(path))
        elif self.label_map is not None:
            object.__setattr__(self, "label_map", check_label_map(self.label_map, where="label_map"))
        if self.templates is not None:
            templates = (self.templates,) if isinstance(self.templates, str) else tuple(self.templates)
            if not templates or any("{}" not in str(t) for t in templates):
                raise SettingsError(
                    f"every zero-shot template needs a '{{}}' where the class name goes, got {templates!r}"
                )
            object.__setattr__(self, "templates", templates)


@dataclass(frozen=True)
class RunOptions:
    """One run's settings: everything but the model and the output folder, checked when built.

    ``evaluate_model`` writes them whole into ``results.json["run"]["options"]``; those that
    can change a prediction (``prediction_settings``) are hashed, with the model's files,
    into the fingerprint that decides whether an output folder can be resumed.

    >>> RunOptions(imagenet="/data/imagenet").precision
    'auto'
    >>> RunOptions(scoring=ScoringOptions(which_factor="multi")).scoring.which_factor
    'multi'
    >>> RunOptions(num_workers=-1)
    Traceback (most recent call last):
    ...
    imagenet_x_hf.errors.SettingsError: --workers must be a whole number >= 0, not -1
    """

    imagenet: str | None = option(
        None,
        "your ImageNet: a folder, tar, Parquet/WebDataset folder or Hub dataset id",
        metavar="SOURCE",
        group="data",
        default_text="required",
        fingerprint=False,  # the rows it gives are fingerprinted instead (a path may be spelled many ways)
    )
    source_kind: SourceKind | None = option(
        None,
        "force the kind of SOURCE instead of detecting it",
        group="data",
        default_text="detect",
        fingerprint=False,
    )
    allow_missing: bool = option(
        False,
        "evaluate the images present when the source lacks some or has unreadable files "
        "(counted and named in results.json)",
        group="data",
    )
    rebuild: bool = option(
        False,
        "rebuild the cached dataset of SOURCE instead of reusing it",
        group="data",
        fingerprint=False,
    )
    adapter: Adapter = option(
        "auto",
        "how to load the model; auto: timm for timm saves, zero-shot for CLIP-style dual encoders, "
        "transformers otherwise",
        group="model",
    )
    load: LoadOptions = nested(LoadOptions)
    preprocessing: PreprocessingPath = option(
        "auto",
        "fast: decode+resize in workers, normalise on the device; reference: the model's own "
        "transform per image; auto: fast when it reproduces the reference on probe images",
        group="speed and numerics",
    )
    precision: Precision = option(
        "auto",
        "autocast precision; auto: bf16 (or fp16) on GPU, fp32 on CPU",
        group="speed and numerics",
    )
    batch_size: int | None = option(
        None,
        "images per forward pass; halved automatically on out-of-memory",
        metavar="N",
        group="speed and numerics",
        default_text="256 on GPU, 32 on CPU",
        fingerprint=False,
    )
    num_workers: int | None = option(
        None,
        "image decoding workers per process",
        flag="--workers",
        metavar="N",
        group="speed and numerics",
        default_text="from the CPU count",
        fingerprint=False,
    )
    compile: bool = option(False, "torch.compile the model", group="speed and numerics")
    channels_last: bool | None = option(
        None, "channels-last memory format", group="speed and numerics", default_text="on GPU only"
    )
    shard_size: int = option(
        1024, "images per prediction shard, the unit a killed run loses at most", metavar="N", group="output"
    )
    overwrite: bool = option(
        False, "discard an earlier run in DIR and start over", group="output", fingerprint=False
    )
    progress: bool = option(
        True,
        "hide the progress bar",
        invert="--no-progress",
        group="output",
        default_text="shown",
        fingerprint=False,
    )
    scoring: ScoringOptions = nested(ScoringOptions, fingerprint=False)

    def __post_init__(self) -> None:
        validate_choices(self)
        if not isinstance(self.load, LoadOptions):
            raise SettingsError(f"load must be a LoadOptions, not {type(self.load).__name__}")
        if not isinstance(self.scoring, ScoringOptions):
            raise SettingsError(
                f"scoring must be a ScoringOptions (e.g. ScoringOptions(which_factor='multi')), "
                f"not {type(self.scoring).__name__}"
            )
        _positive(flag_of(RunOptions, "batch_size"), self.batch_size, allow_none=True)
        _positive(flag_of(RunOptions, "num_workers"), self.num_workers, allow_none=True, minimum=0)
        _positive(flag_of(RunOptions, "shard_size"), self.shard_size)
        for name in ("allow_missing", "rebuild", "compile", "overwrite", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.channels_last not in (None, True, False):
            raise SettingsError(f"channels_last must be True, False or None, not {self.channels_last!r}")
        if self.imagenet is not None:
            if not isinstance(self.imagenet, (str, os.PathLike)) or not os.fspath(self.imagenet):
                raise SettingsError(
                    f"imagenet must be the path or Hub id of your ImageNet (text), not {self.imagenet!r}"
                )
            object.__setattr__(self, "imagenet", os.fspath(self.imagenet))

    @property
    def split(self) -> str:
        return self.scoring.split

    def replace(self, **changes: Any) -> RunOptions:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, JSON-ready (what results.json records)."""
        return settings_dict(self)

    def cli_args(self) -> list[str]:
        """The ``imagenet-x evaluate`` options that reproduce these settings (defaults left out)."""
        return cli_args(self)


@dataclass(frozen=True)
class CardOptions:
    """How ``imagenet-x card`` writes the robustness section, its chart and its eval results.

    >>> CardOptions(chart=False).cli_args()
    ['--no-chart']
    """

    template: str | None = option(
        None,
        "a Jinja template for the section",
        metavar="PATH",
        default_text="the built-in robustness_section.md.j2",
    )
    model_name: str | None = option(
        None, "the model's name in the card", default_text="from the results, or the file name"
    )
    dataset_id: str | None = option(
        None,
        "the Hub id of the ImageNet-X benchmark dataset the results refer to, e.g. the repo you "
        "pushed with 'imagenet-x export-hub DIR --push OWNER/NAME'; .eval_results is written only with "
        "it (or when the card's earlier .eval_results names one), and --push warns when it has no "
        "eval.yaml on the Hub",
        metavar="OWNER/NAME",
        default_text="none; model-index then names the dataset 'imagenet-x'",
    )
    dataset_revision: str | None = option(
        None,
        "the commit of the --dataset-id benchmark the results were computed against, recorded in .eval_results",
        metavar="SHA",
    )
    keep_other_settings: bool = option(
        False,
        "keep ImageNet-X results computed with other scoring settings in model-index; metric "
        "names then carry their settings",
        default_text="one set, a run with other settings replaces them",
    )
    eval_results: bool = option(
        True,
        "do not write .eval_results/imagenet-x.yaml",
        invert="--no-eval-results",
        default_text="written beside the card",
    )
    chart: bool = option(True, "do not write or embed the chart", invert="--no-chart", default_text="chart")
    zoo: bool = option(
        True,
        "leave out the sentence placing the model among the authors' ~2,500 released models",
        invert="--no-zoo",
        default_text="included when the zoo tables are cached, downloadable or named by IMAGENET_X_ZOO",
    )

    def __post_init__(self) -> None:
        for name in ("keep_other_settings", "eval_results", "chart", "zoo"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be True or False, not {getattr(self, name)!r}")

    def replace(self, **changes: Any) -> CardOptions:
        return dataclasses.replace(self, **changes)

    def cli_args(self) -> list[str]:
        """The ``imagenet-x card`` options that reproduce these settings (defaults left out)."""
        return cli_args(self)


SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)


@dataclass(frozen=True)
class ReportOptions:
    """How ``imagenet-x report`` builds its page: the images it shows, the comparison, the zoo.

    >>> ReportOptions(per_factor=3, zoo=False).cli_args()
    ['--per-factor', '3', '--no-zoo']
    """

    imagenet: str | None = option(
        None,
        "your ImageNet copy, for thumbnails: ILSVRC2012_img_val.tar, an extracted folder, WebDataset "
        "shards, a Parquet copy or a Hub id",
        metavar="SOURCE",
        group="Images",
        default_text="none, the report says how to add them",
    )
    source_kind: SourceKind | None = option(
        None,
        "the kind of --imagenet, when detection should be skipped",
        group="Images",
        default_text="detected",
    )
    per_factor: int = option(12, "misclassified images shown per factor", metavar="N", group="Images")
    seed: int = option(0, "which images the sample shows; same seed, same images", group="Images")
    thumbnail_size: int = option(
        192,
        "longer side of the embedded images in pixels: cards show them at 128 px and a click "
        "enlarges them; 384 gives sharper enlargements and a page about three times larger",
        metavar="PX",
        group="Images",
    )
    compare_per_factor: int = option(
        4, "images shown per factor and direction in each comparison", metavar="N", group="Comparison"
    )
    title: str | None = option(
        None, "the page title", group="Page", default_text="'ImageNet-X report: MODEL'"
    )
    model_name: str | None = option(
        None, "the model's name on the page", group="Page", default_text="from the results"
    )
    zoo: bool = option(
        True,
        "do not look up the model's place among the released models",
        invert="--no-zoo",
        group="Page",
        default_text="shown when available",
    )

    def __post_init__(self) -> None:
        validate_choices(self)
        if self.imagenet is not None:
            object.__setattr__(self, "imagenet", os.fspath(self.imagenet))
        if not isinstance(self.zoo, bool):
            raise SettingsError(f"zoo must be True or False, not {self.zoo!r}")

    def replace(self, **changes: Any) -> ReportOptions:
        return dataclasses.replace(self, **changes)

    def cli_args(self) -> list[str]:
        """The ``imagenet-x report`` options that reproduce these settings (defaults left out)."""
        return cli_args(self)
