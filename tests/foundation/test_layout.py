"""The house reads top-down: no module imports from a layer above its own, and no function
takes more than eight parameters (settings travel as one object)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
from pathlib import Path

import imagenet_x_hf

PACKAGE = Path(imagenet_x_hf.__file__).resolve().parent

# Lowest first. A module may import from its own layer and the layers below it.
LAYERS = (
    ("errors", "schema", "__version__", "browser"),
    ("fields", "label_map"),
    ("fingerprint",),
    ("settings",),
    ("results", "annotations"),
    ("metrics", "loaders", "stats", "testing", "imagenet_x", "zoo"),
    ("api", "load"),  # ``from imagenet_x_hf import load`` is api.load
    ("runner",),
    ("reports", "share", "export"),
    ("commands",),
    ("cli", "__main__", "__init__"),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


# The public ``load`` mirrors ``datasets.load_dataset``: the contract of DESIGN.md, one call
# with its keyword options, as the ecosystem's loaders take them.
MANY_PARAMETERS_ALLOWED = {"imagenet_x_hf.api.load"}
MAX_PARAMETERS = 8


def _unit(path: Path) -> str:
    """The part of the package a file belongs to: its top-level module or subpackage."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imported_units(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):  # imports inside functions count: a lazy import is still an import
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("imagenet_x_hf"):
            if node.module == "imagenet_x_hf":
                out |= {alias.name for alias in node.names}
            else:
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("imagenet_x_hf.")}
    return out


def test_imports_read_top_down():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        assert unit in LAYER, f"{path.relative_to(PACKAGE)}: put {unit!r} in a layer of LAYERS"
        for imported in _imported_units(ast.parse(path.read_text(encoding="utf-8"))):
            assert imported in LAYER, f"{path.relative_to(PACKAGE)} imports {imported!r}, which has no layer"
            if LAYER[imported] > LAYER[unit]:
                upward.append(f"{path.relative_to(PACKAGE)} ({unit}) imports {imported}")
    assert upward == []


def test_the_layer_rule_catches_an_upward_import():
    lazy = ast.parse("def f():\n    from imagenet_x_hf.runner.labels import read_label_map\n")
    assert _imported_units(lazy) == {"runner"} and LAYER["runner"] > LAYER["settings"]


def _functions(module):
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            yield f"{module.__name__}.{name}", obj
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if not inspect.isfunction(member):
                    continue
                if attr == "__init__" and dataclasses.is_dataclass(obj):
                    continue  # a dataclass constructor: one parameter per field is its job
                yield f"{module.__name__}.{name}.{attr}", member


def _parameters(function) -> int:
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    params = inspect.signature(function).parameters.values()
    return sum(1 for p in params if p.name not in ("self", "cls") and p.kind not in kinds)


def test_no_function_takes_more_than_eight_parameters():
    skip = ("imagenet_x_hf.__main__", "imagenet_x_hf.metrics.imagenet_x.")  # a script; the evaluate module
    crowded = []
    for info in pkgutil.walk_packages(imagenet_x_hf.__path__, "imagenet_x_hf."):
        if info.name.startswith(skip):
            continue
        for name, function in _functions(importlib.import_module(info.name)):
            if _parameters(function) > MAX_PARAMETERS and name not in MANY_PARAMETERS_ALLOWED:
                crowded.append(f"{name}: {_parameters(function)}")
    assert crowded == []


def test_the_parameter_count_sees_a_crowded_function():
    def crowded(a, b, c, d, e, f, g, h, i, *args, **kwargs):
        pass

    assert _parameters(crowded) == 9 > MAX_PARAMETERS
