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
from dataclasses import dataclass, field
from typing import Any, TypeVar

from imagenet_x_hf.errors import ImageNetXError

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
) -> Any:
    """A dataclass field with its command-line form.

    Args:
        default: the default value (also shown in ``--help``).
        help: what the setting does, in words a newcomer understands (for a boolean: what
            its flag does).
        choices: the values it may take (checked by ``validate`` and by argparse).
        flag: the option's name (default: ``--`` + the field name with dashes).
        invert: for a boolean that defaults to True, the name of the flag that turns it
            off (``--keep-prototypes`` for ``filter_prototypes``).
        metavar: how ``--help`` names the value.
        cli: ``False`` keeps the field out of the command line.
    """
    meta = {
        "help": help,
        "choices": choices,
        "flag": flag,
        "invert": invert,
        "metavar": metavar,
        "cli": cli,
    }
    return field(default=default, metadata=meta)


def _flag(f: dataclasses.Field) -> str:
    meta = f.metadata
    if meta.get("invert"):
        return meta["invert"]
    return meta.get("flag") or "--" + f.name.replace("_", "-")


def _default_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


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
) -> argparse._ArgumentGroup:
    """Add one option per CLI field of dataclass ``cls`` to ``parser``, as a group named ``title``.

    Help texts end in "(default: ...)", taken from the dataclass itself.
    """
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if not meta.get("cli", False) or f.name in exclude:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kwargs: dict[str, Any] = {"dest": f.name}
        if isinstance(default, bool):
            # the flag switches away from the default; its help says what the flag does
            action = "store_false" if meta.get("invert") else "store_true"
            kwargs.update(action=action, default=default)
            text = f"{meta['help']} (default: off)"
        else:
            kwargs["default"] = default
            if meta.get("choices"):
                kwargs["choices"] = meta["choices"]
            elif isinstance(default, float):
                kwargs["type"] = float
            elif isinstance(default, int):
                kwargs["type"] = int
            if meta.get("metavar"):
                kwargs["metavar"] = meta["metavar"]
            text = f"{meta['help']} (default: {_default_text(default)})"
        kwargs["help"] = text.replace("%", "%%")
        group.add_argument(_flag(f), **kwargs)
    return group


def from_namespace(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """Build ``cls`` from the parsed options that ``add_arguments`` declared (plus ``overrides``)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
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
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if value == default:
            continue
        if isinstance(default, bool):
            out.append(_flag(f))
        else:
            out += [_flag(f), str(value)]
    return out


def fingerprint(data: Any) -> str:
    """A stable sha256 of JSON-ready ``data`` (keys sorted), as hex."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


SPLITS = ("validation", "train")
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
