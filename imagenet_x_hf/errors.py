"""The exceptions raised by imagenet_x_hf, all in one place.

Every error names what is wrong and how to fix it. They subclass ``ValueError`` so
that callers who only know the standard library can still catch them; the command line
prints any of them as one line and exits with status 2.
"""

from __future__ import annotations


class ImageNetXError(ValueError):
    """Base class of every error raised on bad input or bad data."""


class SettingsError(ImageNetXError):
    """A setting has a value it cannot take."""


class AnnotationFileError(ImageNetXError):
    """An annotation file of the authors' release is missing or damaged."""


class SourceError(ImageNetXError):
    """An ImageNet source (folder, tar, Hub copy) cannot be read or does not match."""


class LabelSpaceError(ImageNetXError):
    """A model's output classes do not map onto the 1000 ImageNet classes."""


class ModelLoadError(ImageNetXError):
    """A model cannot be found, read or loaded."""


class RunnerError(ImageNetXError):
    """A run failed (on this process or another one)."""


class RunStateError(ImageNetXError):
    """The output directory holds something this run cannot continue from."""


class ResultsFileError(ImageNetXError):
    """A run directory, results file or predictions file cannot be used for a report."""


class ModelCardError(ImageNetXError):
    """A model card cannot be updated safely (its YAML or its section markers are damaged)."""


class HubAuthError(ImageNetXError):
    """A Hub upload was asked for but no token with write access is available."""


class HubUploadError(ImageNetXError):
    """An upload to the Hub failed or would overwrite changes made since the files were read."""


class ZooError(ImageNetXError):
    """The authors' released tables cannot be had, or a file of them is damaged."""


class PredictionsRepoError(ImageNetXError):
    """A predictions repository (a folder or a Hub dataset) cannot be written or read as asked."""


class BrowserSetupError(RuntimeError):
    """No Chromium could be found or installed (for the browser tests); the message names the fixes.

    A ``RuntimeError``, not an ``ImageNetXError``: the machine lacks a tool, the input is fine.
    """
