"""Settings as typed, frozen dataclasses: declared once, validated once, recorded whole.

Each field carries its command-line form in its metadata (flag, help, choices), so the
CLI is generated from the dataclass and cannot drift from it: defaults and choices live
in one place. A settings object is checked when it is built, before any work starts,
serialises to plain JSON (``to_dict``), and hashes to a stable fingerprint.

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
imagenet_x_hf.settings.SettingsError: which_factor must be one of 'top', 'multi', not 'both'
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.schema import SPLITS

T = TypeVar("T")


class SettingsError(ImageNetXError):
    """A setting has a value it cannot take."""


def option(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    flag: str | None = None,
    invert: str | None = None,
    metavar: str | None = None,
    cli: bool = True,
    group: str | None = None,
    type: Callable[[str], Any] | None = None,
    repeat: bool = False,
    default_text: str | None = None,
    fingerprint: bool = True,
) -> Any:
    """A dataclass field with its command-line form.

    Args:
        default: the default value (also shown in ``--help``).
        help: what the setting does, in words a newcomer understands (for a boolean: what
            its flag does).
        choices: the values it may take (checked by ``validate_choices`` and by argparse).
        flag: the option's name (default: ``--`` + the field name with dashes).
        invert: for a boolean that defaults to True, the name of the flag that turns it
            off (``--keep-prototypes`` for ``filter_prototypes``).
        metavar: how ``--help`` names the value.
        cli: ``False`` keeps the field out of the command line.
        group: the ``--help`` section the option is listed in (default: the title given
            to ``add_arguments``).
        type: how the command line's text becomes the value (default: from the default's
            type; ``int`` or ``float`` for numbers, text otherwise).
        repeat: the option may be given several times; the values form a tuple.
        default_text: what ``--help`` says the default is, when the value alone does not
            say it (``None`` meaning "chosen from the hardware").
        fingerprint: ``False`` for a setting that changes no prediction (a resumed run
            may change it freely); see ``prediction_settings``.
    """
    meta = {
        "help": help,
        "choices": choices,
        "flag": flag,
        "invert": invert,
        "metavar": metavar,
        "cli": cli,
        "group": group,
        "type": type,
        "repeat": repeat,
        "default_text": default_text,
        "fingerprint": fingerprint,
    }
    return field(default=default, metadata=meta)


def nested(cls: type, *, fingerprint: bool = True) -> Any:
    """A field holding another settings dataclass; its options join the command line."""
    return field(default_factory=cls, metadata={"nested": cls, "cli": True, "fingerprint": fingerprint})


def _flag(f: dataclasses.Field) -> str:
    meta = f.metadata
    if meta.get("invert"):
        return meta["invert"]
    return meta.get("flag") or "--" + f.name.replace("_", "-")


def _default(f: dataclasses.Field) -> Any:
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _default_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _value_type(f: dataclasses.Field, default: Any) -> Callable[[str], Any] | None:
    if f.metadata.get("type"):
        return f.metadata["type"]
    annotation = str(f.type)
    for name, kind in (("float", float), ("int", int)):
        if isinstance(default, kind) and not isinstance(default, bool):
            return kind
        if default is None and re.match(rf"^{name}\b", annotation):
            return kind
    return None


def validate_choices(obj: Any) -> None:
    """Check every field that declares ``choices``; the error names the field and the allowed values."""
    for f in dataclasses.fields(obj):
        choices = f.metadata.get("choices")
        value = getattr(obj, f.name)
        if choices and value is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise SettingsError(f"{f.name} must be one of {allowed}, not {value!r}")


def add_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    title: str,
    *,
    exclude: tuple[str, ...] = (),
    groups: dict[str, argparse._ArgumentGroup] | None = None,
) -> argparse._ArgumentGroup:
    """Add one option per CLI field of dataclass ``cls`` (and of the dataclasses it nests) to ``parser``.

    Options go into the ``--help`` section their field names (``option(group=...)``), else
    into one named ``title``; ``groups`` holds sections already made (shared across calls,
    so several dataclasses can fill one section). Help texts end in "(default: ...)", taken
    from the dataclass itself. Returns the ``title`` section.
    """
    groups = {} if groups is None else groups

    def section(name: str) -> argparse._ArgumentGroup:
        if name not in groups:
            groups[name] = parser.add_argument_group(name)
        return groups[name]

    default_group = section(title)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("cli", False) or f.name in exclude:
            continue
        if meta.get("nested"):
            add_arguments(parser, meta["nested"], title, exclude=exclude, groups=groups)
            continue
        default = _default(f)
        kwargs: dict[str, Any] = {"dest": f.name}
        shown = meta.get("default_text")
        if isinstance(default, bool):
            # the flag switches away from the default; its help says what the flag does
            action = "store_false" if meta.get("invert") else "store_true"
            kwargs.update(action=action, default=default)
            text = f"{meta['help']} (default: {shown or 'off'})"
        elif "bool" in str(f.type) and default is None:
            # on, off, or None: chosen at run time (--x / --no-x)
            kwargs.update(action=argparse.BooleanOptionalAction, default=None)
            text = f"{meta['help']} (default: {shown or 'automatic'})"
        else:
            kwargs["default"] = default
            if meta.get("choices"):
                kwargs["choices"] = meta["choices"]
            else:
                kind = _value_type(f, default)
                if kind is not None:
                    kwargs["type"] = kind
            if meta.get("repeat"):
                kwargs["action"] = "append"
            if meta.get("metavar"):
                kwargs["metavar"] = meta["metavar"]
            text = f"{meta['help']} (default: {shown or _default_text(default)})"
        kwargs["help"] = text.replace("%", "%%")
        (section(meta["group"]) if meta.get("group") else default_group).add_argument(_flag(f), **kwargs)
    return default_group


def from_namespace(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """Build ``cls`` from the parsed options that ``add_arguments`` declared (plus ``overrides``).

    Nested settings dataclasses are built from the same namespace.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.metadata.get("nested"):
            values[f.name] = from_namespace(f.metadata["nested"], args)
        elif hasattr(args, f.name):
            values[f.name] = getattr(args, f.name)
    values.update(overrides)
    return cls(**values)


def cli_args(obj: Any) -> list[str]:
    """The command-line options that rebuild ``obj``: only the settings that differ from the defaults."""
    out: list[str] = []
    for f in dataclasses.fields(obj):
        meta = f.metadata
        if not meta.get("cli", False):
            continue
        value = getattr(obj, f.name)
        if meta.get("nested"):
            out += cli_args(value)
            continue
        default = _default(f)
        if value == default:
            continue
        if isinstance(default, bool):
            out.append(_flag(f))
        elif default is None and isinstance(value, bool):
            out.append(_flag(f) if value else "--no-" + _flag(f)[2:])
        elif meta.get("repeat"):
            for item in value:
                out += [_flag(f), str(item)]
        else:
            out += [_flag(f), str(value)]
    return out


def prediction_settings(obj: Any) -> dict[str, Any]:
    """The settings of ``obj`` that can change a prediction, as JSON-ready data (fields with
    ``fingerprint=False`` left out, nested dataclasses included)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.metadata.get("fingerprint", True):
            continue
        value = getattr(obj, f.name)
        out[f.name] = prediction_settings(value) if dataclasses.is_dataclass(value) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    """JSON-ready: tuples become lists, mapping keys text (sorted)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def settings_dict(obj: Any) -> dict[str, Any]:
    """Every field of settings dataclass ``obj`` (nested ones too), JSON-ready."""
    return _plain(obj)


def fingerprint(data: Any) -> str:
    """A stable sha256 of JSON-ready ``data`` (keys sorted), as hex.

    >>> fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    True
    """
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


WHICH_FACTORS = ("top", "multi")
ERROR_TYPES = ("class", "real_class", "metaclass")
EMPTY_REAL = ("error", "exclude")


@dataclass(frozen=True)
class ScoringOptions:
    """How predictions become error ratios; shared by score, evaluate, card, compare, plot and the metric.

    The defaults are the authors' toolkit's, so that first numbers are the paper's.
    """

    split: str = option("validation", "the annotated split the predictions are for", choices=SPLITS)
    which_factor: str = option(
        "top",
        "top: each image's most salient factor; multi: every factor marked",
        choices=WHICH_FACTORS,
    )
    error_type: str = option(
        "class",
        "class: top-1; real_class: prediction in the ImageNet-ReaL set; "
        "metaclass: predicted metaclass is the true one",
        choices=ERROR_TYPES,
    )
    filter_prototypes: bool = option(
        True,
        "score the annotators' prototype images too (the paper leaves them out)",
        invert="--keep-prototypes",
    )
    empty_real: str = option(
        "error",
        "with real_class, images without ReaL labels count as errors (the toolkit) "
        "or are excluded (the ReaL protocol)",
        choices=EMPTY_REAL,
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

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``score_predictions`` these settings give."""
        return self.to_dict()


ADAPTERS = ("auto", "transformers", "timm", "zero-shot")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PREPROCESSING_PATHS = ("auto", "fast", "reference")
PROCESSOR_BACKENDS = ("pil", "torchvision")


def _positive(name: str, value: Any, *, allow_none: bool = False, minimum: int = 1) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        need = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise SettingsError(f"{name} must be {need}, not {value!r}")


def _flag_of(cls: type, name: str) -> str:
    return _flag(next(f for f in dataclasses.fields(cls) if f.name == name))


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
    processor_backend: str | None = option(
        None,
        "transformers image-processor backend to follow",
        choices=PROCESSOR_BACKENDS,
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
            from imagenet_x_hf.runner.labels import read_label_map

            path = self.label_map
            object.__setattr__(self, "label_map", read_label_map(path))
            object.__setattr__(self, "label_map_file", str(path))
        elif self.label_map is not None:
            object.__setattr__(self, "label_map", {int(k): int(v) for k, v in dict(self.label_map).items()})
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
    imagenet_x_hf.settings.SettingsError: --workers must be a whole number >= 0, not -1
    """

    imagenet: str | None = option(
        None,
        "your ImageNet: a folder, tar, Parquet/WebDataset folder or Hub dataset id",
        metavar="SOURCE",
        group="data",
        default_text="required",
        fingerprint=False,  # the rows it gives are fingerprinted instead (a path may be spelled many ways)
    )
    source_kind: str | None = option(
        None,
        "force the kind of SOURCE instead of detecting it",
        metavar="KIND",
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
    adapter: str = option(
        "auto",
        "how to load the model; auto: timm for timm saves, zero-shot for CLIP-style dual encoders, "
        "transformers otherwise",
        choices=ADAPTERS,
        group="model",
    )
    load: LoadOptions = nested(LoadOptions)
    preprocessing: str = option(
        "auto",
        "fast: decode+resize in workers, normalise on the device; reference: the model's own "
        "transform per image; auto: fast when it reproduces the reference on probe images",
        choices=PREPROCESSING_PATHS,
        group="speed and numerics",
    )
    precision: str = option(
        "auto",
        "autocast precision; auto: bf16 (or fp16) on GPU, fp32 on CPU",
        choices=PRECISIONS,
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
        _positive(_flag_of(RunOptions, "batch_size"), self.batch_size, allow_none=True)
        _positive(_flag_of(RunOptions, "num_workers"), self.num_workers, allow_none=True, minimum=0)
        _positive(_flag_of(RunOptions, "shard_size"), self.shard_size)
        for name in ("allow_missing", "rebuild", "compile", "overwrite", "progress"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.channels_last not in (None, True, False):
            raise SettingsError(f"channels_last must be True, False or None, not {self.channels_last!r}")
        if self.imagenet is not None:
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


def _with_scoring_shortcuts(cls: type) -> type:
    """Let ``RunOptions(which_factor="multi")`` mean ``RunOptions(scoring=ScoringOptions(which_factor="multi"))``,
    and make an unknown keyword a ``SettingsError`` that lists the known ones.

    >>> RunOptions(which_factor="multi").scoring.which_factor
    'multi'
    >>> RunOptions(which_factor="both")
    Traceback (most recent call last):
    ...
    imagenet_x_hf.settings.SettingsError: which_factor must be one of 'top', 'multi', not 'both'
    """
    init = cls.__init__
    own = {f.name for f in dataclasses.fields(cls)}
    scoring = {f.name for f in dataclasses.fields(ScoringOptions)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - own - scoring)
        if unknown:
            raise SettingsError(f"unknown run settings {unknown}; known: {sorted(own | scoring)}")
        moved = {k: kwargs.pop(k) for k in sorted(set(kwargs) & scoring)}
        base = kwargs.get("scoring", ScoringOptions())
        if moved and isinstance(base, ScoringOptions):
            kwargs["scoring"] = dataclasses.replace(base, **moved)
        init(self, *args, **kwargs)

    __init__.__doc__ = init.__doc__
    cls.__init__ = __init__
    return cls


_with_scoring_shortcuts(RunOptions)
