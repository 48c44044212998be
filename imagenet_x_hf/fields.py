"""Settings fields that know their command-line form, and the CLI generated from them.

A settings class is a frozen dataclass whose fields are made with ``option`` (one value)
or ``nested`` (another settings class). The field's type says what it takes: a
``Literal[...]`` type gives the choices, ``int`` / ``float`` how the text is read, ``bool``
a switch. Its metadata says how it looks on the command line (flag, help, section). From
that one declaration this module makes the argparse options (``add_arguments``), builds
the object back from parsed arguments (``from_namespace``), and writes the options that
rebuild an object (``cli_args``, for the reproduce commands of cards and reports), so
the three cannot drift apart.

Why not a library: transformers' ``HfArgumentParser`` reads a nested dataclass field as
one string, and none of it, tyro or simple-parsing (neither a dependency) turns an object
back into the command line that rebuilds it, which every card's reproduce command needs.

>>> from dataclasses import dataclass
>>> from typing import Literal
>>> @dataclass(frozen=True)
... class Demo:
...     mode: Literal["fast", "slow"] = option("fast", "how to go")
...     level: float = option(0.5, "how far")
>>> choices_of(Demo, "mode")
('fast', 'slow')
>>> parser = argparse.ArgumentParser()
>>> _ = add_arguments(parser, Demo, "demo")
>>> args = parser.parse_args(["--mode", "slow", "--level", "0.25"])
>>> from_namespace(Demo, args)
Demo(mode='slow', level=0.25)
>>> cli_args(Demo(mode="slow"))
['--mode', 'slow']
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from imagenet_x_hf.errors import SettingsError

T = TypeVar("T")


@dataclass(frozen=True)
class CliForm:
    """How a setting looks on the command line (the keywords of ``option``).

    Attributes:
        flag: the option's name (default: ``--`` + the field name with dashes).
        invert: for a boolean that defaults to True, the name of the flag that turns it
            off (``--keep-prototypes`` for ``filter_prototypes``).
        metavar: how ``--help`` names the value.
        cli: ``False`` keeps the field out of the command line.
        group: the ``--help`` section the option is listed in (default: the title given
            to ``add_arguments``).
        type: how the command line's text becomes the value (default: from the field's
            type; ``int`` or ``float`` for numbers, text otherwise).
        repeat: the option may be given several times; the values form a tuple.
        default_text: what ``--help`` says the default is, when the value alone does not
            say it (``None`` meaning "chosen from the hardware").
        fingerprint: ``False`` for a setting that changes no prediction (a resumed run
            may change it freely); see ``imagenet_x_hf.fingerprint.prediction_settings``.
    """

    flag: str | None = None
    invert: str | None = None
    metavar: str | None = None
    cli: bool = True
    group: str | None = None
    type: Callable[[str], Any] | None = None
    repeat: bool = False
    default_text: str | None = None
    fingerprint: bool = True


def option(default: Any, help: str, **form: Any) -> Any:
    """A dataclass field with its command-line form.

    ``default`` is the default value (also shown in ``--help``); ``help`` says what the
    setting does, in words a newcomer understands (for a boolean: what its flag does);
    ``form`` holds the fields of ``CliForm`` (flag, invert, metavar, group, ...). The
    choices a field may take come from its ``Literal[...]`` type (see ``choices_of``).
    """
    meta = {"help": help, **{f.name: getattr(CliForm(**form), f.name) for f in dataclasses.fields(CliForm)}}
    return field(default=default, metadata=meta)


def nested(cls: type, *, fingerprint: bool = True) -> Any:
    """A field holding another settings dataclass; its options join the command line."""
    return field(default_factory=cls, metadata={"nested": cls, "cli": True, "fingerprint": fingerprint})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _members(hint: Any) -> tuple[Any, ...]:
    """The types a field may hold: ``int | None`` -> (int, NoneType)."""
    if get_origin(hint) in (Union, types.UnionType):
        return get_args(hint)
    return (hint,)


def choices_of(cls: type, name: str) -> tuple[Any, ...] | None:
    """The values field ``name`` of ``cls`` may take, from its ``Literal`` type (None: any)."""
    for member in _members(_hints(cls)[name]):
        if get_origin(member) is Literal:
            return get_args(member)
    return None


def _is(cls: type, name: str, kind: type) -> bool:
    return kind in _members(_hints(cls)[name])


def flag_of(cls: type, name: str) -> str:
    """The command-line flag of field ``name`` of ``cls`` (``num_workers`` -> ``--workers``)."""
    return _flag(next(f for f in dataclasses.fields(cls) if f.name == name))


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


def _value_type(cls: type, f: dataclasses.Field) -> Callable[[str], Any] | None:
    if f.metadata.get("type"):
        return f.metadata["type"]
    for kind in (float, int):
        if _is(cls, f.name, kind):
            return kind
    return None


def validate_choices(obj: Any) -> None:
    """Check every field with a ``Literal`` type; the error names the field and the allowed values."""
    for f in dataclasses.fields(obj):
        choices = choices_of(type(obj), f.name)
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
        elif default is None and _is(cls, f.name, bool):
            # on, off, or None: chosen at run time (--x / --no-x)
            kwargs.update(action=argparse.BooleanOptionalAction, default=None)
            text = f"{meta['help']} (default: {shown or 'automatic'})"
        else:
            kwargs["default"] = default
            choices = choices_of(cls, f.name)
            if choices:
                kwargs["choices"] = choices
            else:
                kind = _value_type(cls, f)
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


def plain(value: Any) -> Any:
    """JSON-ready: tuples become lists, mapping keys text (sorted), dataclasses dicts."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def settings_dict(obj: Any) -> dict[str, Any]:
    """Every field of settings dataclass ``obj`` (nested ones too), JSON-ready."""
    return plain(obj)
