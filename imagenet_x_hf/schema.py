"""Names and features shared by every part of imagenet_x_hf.

``FACTORS`` and ``METACLASSES`` follow the order of the ImageNet-X paper and of the
authors' toolkit. The 1000 ImageNet class names are read from the authors' release
the first time they are asked for (``CLASS_NAMES``, ``WNIDS``).

>>> FACTORS[:3]
('pose', 'background', 'pattern')
>>> len(FACTORS), len(METACLASSES)
(16, 17)
>>> from imagenet_x_hf import schema
>>> schema.CLASS_NAMES[0], schema.WNIDS[0], schema.CLASS_NAMES[134]
('tench', 'n01440764', 'crane (n02012849)')
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

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

SPLITS: tuple[str, ...] = ("validation", "train")
NUM_CLASSES = 1000


@functools.cache
def _classes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from imagenet_x_hf.annotations import read_class_list

    wnids, names = read_class_list()
    # ImageNet names two pairs of classes alike ("crane", "maillot"); a ClassLabel
    # needs unique names, so those four carry their WordNet id.
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    unique = tuple(
        f"{name} ({wnid})" if seen[name] > 1 else name for wnid, name in zip(wnids, names, strict=False)
    )
    return tuple(wnids), unique


def __getattr__(name: str) -> Any:
    if name == "CLASS_NAMES":
        return _classes()[1]
    if name == "WNIDS":
        return _classes()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def annotation_features() -> datasets.Features:
    """The ``datasets.Features`` of one annotated image, without the image.

    >>> list(annotation_features())[:4]
    ['file_name', 'label', 'factors', 'top_factor']
    """
    import datasets

    factor = datasets.ClassLabel(names=list(FACTORS))
    return datasets.Features(
        {
            "file_name": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(_classes()[1])),
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
    import datasets

    features = annotation_features()
    features["image"] = datasets.Image(mode="RGB")
    return features
