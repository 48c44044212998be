"""The reports' errors; they live in ``imagenet_x_hf.errors`` and are importable from here too."""

from __future__ import annotations

from imagenet_x_hf.errors import HubAuthError as HubAuthError
from imagenet_x_hf.errors import ModelCardError as ModelCardError
from imagenet_x_hf.errors import ResultsFileError as ResultsFileError
