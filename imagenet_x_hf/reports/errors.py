"""Errors of the reports: each names what is wrong with the input and how to fix it."""

from __future__ import annotations

from imagenet_x_hf.errors import ImageNetXError


class ResultsFileError(ImageNetXError):
    """A run directory, results file or predictions file cannot be used for a report."""


class ModelCardError(ImageNetXError):
    """A model card cannot be updated safely (its YAML or its section markers are damaged)."""


class HubAuthError(ImageNetXError):
    """A Hub upload was asked for but no token with write access is available."""
