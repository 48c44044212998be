"""ImageNet-X for the Hugging Face ecosystem.

>>> import imagenet_x_hf
>>> imagenet_x_hf.FACTORS[0], len(imagenet_x_hf.FACTORS)
('pose', 16)
"""

from imagenet_x_hf.api import load
from imagenet_x_hf.errors import (
    AnnotationFileError,
    ImageNetXError,
    LabelSpaceError,
    SourceError,
)
from imagenet_x_hf.loaders.factors import add_factors
from imagenet_x_hf.metrics import METRIC_PATH
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS, METACLASSES

__version__ = "0.1.0"

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
