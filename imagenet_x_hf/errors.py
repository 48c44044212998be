"""The exceptions raised by imagenet_x_hf.

Every error names what is wrong and how to fix it. They subclass ``ValueError`` so
that callers who only know the standard library can still catch them.
"""

from __future__ import annotations


class ImageNetXError(ValueError):
    """Base class of every error raised on bad input or bad data."""


class AnnotationFileError(ImageNetXError):
    """An annotation file of the authors' release is missing or damaged."""


class SourceError(ImageNetXError):
    """An ImageNet source (folder, tar, Hub copy) cannot be read or does not match."""


class LabelSpaceError(ImageNetXError):
    """A model's output classes do not map onto the 1000 ImageNet classes."""
