"""ImageNet-X for the Hugging Face ecosystem.

>>> import imagenet_x_hf
>>> imagenet_x_hf.FACTORS[0], len(imagenet_x_hf.FACTORS)
('pose', 16)
"""

import importlib
from typing import TYPE_CHECKING, Any

from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS, METACLASSES

if TYPE_CHECKING:
    from imagenet_x_hf.api import load
    from imagenet_x_hf.errors import AnnotationFileError, ImageNetXError, LabelSpaceError, SourceError
    from imagenet_x_hf.loaders.factors import add_factors
    from imagenet_x_hf.metrics import METRIC_PATH

__version__ = "0.1.0"

# Imported on first use, so that ``import imagenet_x_hf`` and ``imagenet-x --help``
# do not pay for datasets, pyarrow and torch, and so that importing
# ``imagenet_x_hf.schema`` loads no other module of the package.
_LAZY = {
    "AnnotationFileError": ("imagenet_x_hf.errors", "AnnotationFileError"),
    "ImageNetXError": ("imagenet_x_hf.errors", "ImageNetXError"),
    "LabelSpaceError": ("imagenet_x_hf.errors", "LabelSpaceError"),
    "SourceError": ("imagenet_x_hf.errors", "SourceError"),
    "load": ("imagenet_x_hf.api", "load"),
    "add_factors": ("imagenet_x_hf.loaders.factors", "add_factors"),
    "METRIC_PATH": ("imagenet_x_hf.metrics", "METRIC_PATH"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FACTORS",
    "FACTOR_DEFINITIONS",
    "METACLASSES",
    "METRIC_PATH",
    "AnnotationFileError",
    "ImageNetXError",
    "LabelSpaceError",
    "SourceError",
    "add_factors",
    "load",
    "__version__",
]
