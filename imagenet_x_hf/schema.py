"""Names and features shared by every part of imagenet_x_hf: constants only.

``FACTORS`` and ``METACLASSES`` follow the order of the ImageNet-X paper and of the
authors' toolkit. The 1000 ImageNet-1k classes (``WNIDS``, ``CLASS_NAMES``) come from
``imagenet_classes.tsv`` beside this file, a copy of the class list of the authors'
release (``imagenet_x_hf.annotations`` checks that the two agree). This module imports
no other module of the package, so every layer can depend on it.

>>> FACTORS[:3]
('pose', 'background', 'pattern')
>>> len(FACTORS), len(METACLASSES)
(16, 17)
>>> from imagenet_x_hf import schema
>>> schema.CLASS_NAMES[0], schema.WNIDS[0], schema.CLASS_NAMES[134]
('tench', 'n01440764', 'crane (n02012849)')
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    import datasets

FACTORS: tuple[str, ...] = (
    "pose",
    "background",
    "pattern",
    "color",
    "smaller",
    "shape",
    "partial_view",
    "subcategory",
    "texture",
    "larger",
    "darker",
    "object_blocking",
    "person_blocking",
    "style",
    "brighter",
    "multiple_objects",
)

# One-line definitions, as the annotators were asked to judge them.
FACTOR_DEFINITIONS: dict[str, str] = {
    "pose": "the object is seen in an unusual pose, orientation or place in the frame",
    "background": "the scene behind the object is unusual for its class",
    "pattern": "the object carries an unusual pattern (stripes, spots, prints)",
    "color": "the object has an unusual colour",
    "smaller": "the object fills less of the image than usual",
    "shape": "the object has an unusual shape",
    "partial_view": "only part of the object is in the frame (cropped by the camera)",
    "subcategory": "the object is an unusual kind, breed or variety of its class",
    "texture": "the object has an unusual surface texture",
    "larger": "the object fills more of the image than usual",
    "darker": "the lighting is darker than usual",
    "object_blocking": "another object hides part of the object",
    "person_blocking": "a person or a body part hides part of the object",
    "style": "the image is a drawing, painting, rendering or otherwise stylised",
    "brighter": "the lighting is brighter than usual",
    "multiple_objects": "several objects or instances share the image",
}

# The 16 metaclasses the paper reports on, then "other" for every remaining class.
METACLASSES: tuple[str, ...] = (
    "device",
    "dog",
    "commodity",
    "bird",
    "structure",
    "covering",
    "wheeled_vehicle",
    "food",
    "equipment",
    "insect",
    "vehicle",
    "furniture",
    "primate",
    "vessel",
    "snake",
    "natural_object",
    "other",
)

Split = Literal["validation", "train"]
SPLITS: tuple[str, ...] = get_args(Split)
# the kinds of ImageNet source the loaders read (imagenet_x_hf.loaders describes each)
SourceKind = Literal["folder", "class_folders", "val_tar", "train_tar", "webdataset", "parquet", "hub"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
NUM_CLASSES = 1000


def _read_classes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    lines = (Path(__file__).with_name("imagenet_classes.tsv")).read_text(encoding="utf-8").splitlines()
    wnids, names = zip(*(line.split("\t") for line in lines), strict=True)
    # ImageNet names two pairs of classes alike ("crane", "maillot"); a ClassLabel
    # needs unique names, so those four carry their WordNet id.
    unique = tuple(f"{n} ({w})" if names.count(n) > 1 else n for w, n in zip(wnids, names, strict=True))
    return tuple(wnids), unique


WNIDS, CLASS_NAMES = _read_classes()


def annotation_features() -> datasets.Features:
    """The ``datasets.Features`` of one annotated image, without the image.

    >>> list(annotation_features())[:4]
    ['file_name', 'label', 'factors', 'top_factor']
    """
    # datasets takes ~0.5 s to import: importing the constants above must not pay for it
    import datasets

    factor = datasets.ClassLabel(names=list(FACTORS))
    return datasets.Features(
        {
            "file_name": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(CLASS_NAMES)),
            "factors": datasets.List(factor),
            "top_factor": factor,
            "metaclass": datasets.ClassLabel(names=list(METACLASSES)),
            "justification": datasets.Value("string"),
            "one_word": datasets.Value("string"),
            "is_prototype": datasets.Value("bool"),
            "real_labels": datasets.List(datasets.Value("int16")),
        }
    )


def image_features() -> datasets.Features:
    """The annotation features plus an ``image`` column.

    The column stores the original file bytes; ``mode="RGB"`` converts the few
    grayscale and CMYK images of ImageNet when they are decoded.
    """
    import datasets  # on first use, as above

    features = annotation_features()
    features["image"] = datasets.Image(mode="RGB")
    return features
