"""The layout of a predictions repository, the same on disk and on the Hub.

::

    README.md                      dataset card; its YAML ``configs:`` declares one
                                   configuration per model and ``models``
    models.parquet                 the models table, one row per model
    predictions/<config>.parquet   one model's per-image predictions
    LICENSE-imagenetx              the authors' licence, when their files are included

A configuration name is the model name made safe for a path: ``org/name`` becomes
``org--name`` (the Hub cache's own convention) and other characters outside
``[A-Za-z0-9._-]`` become ``-``.

>>> config_name("google/vit-base-patch16-224"), config_name("ResNet50")
('google--vit-base-patch16-224', 'ResNet50')
>>> parse_hub_spec("hf://datasets/me/zoo-preds@v1/google/vit-base-patch16-224")
HubSpec(repo_id='me/zoo-preds', revision='v1', model='google/vit-base-patch16-224')
>>> parse_hub_spec("hf://datasets/me/zoo-preds")
HubSpec(repo_id='me/zoo-preds', revision=None, model=None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from imagenet_x_hf.errors import PredictionsRepoError

README = "README.md"
MODELS_FILE = "models.parquet"
MODELS_CONFIG = "models"
PREDICTIONS_DIR = "predictions"
AUTHORS_LICENSE_FILE = "LICENSE-imagenetx"
SPLIT = "validation"
HUB_PREFIX = "hf://datasets/"
TOP_K = 5
AUTHORS_LICENSE = "cc-by-nc-4.0"
NUM_LOGITS = 1000

# The models table: what is known of each model, one row per configuration. JSON columns
# keep nested records (run options, load report) readable by any Parquet reader.
MODELS_SCHEMA = pa.schema(
    [
        ("config", pa.string()),
        ("model", pa.string()),
        ("revision", pa.string()),
        ("commit", pa.string()),
        ("model_type", pa.string()),
        ("family", pa.string()),
        ("source_kind", pa.string()),
        ("split", pa.string()),
        ("images", pa.int64()),
        ("accuracy", pa.float64()),
        ("accuracy_settings", pa.string()),
        ("has_top5", pa.bool_()),
        ("has_logits", pa.bool_()),
        ("probability_type", pa.string()),
        ("fingerprint", pa.string()),
        ("options_json", pa.string()),
        ("load_report_json", pa.string()),
        ("source_identity_json", pa.string()),
        ("license", pa.string()),
        ("file", pa.string()),
        ("sha256", pa.string()),
        ("file_names_sha256", pa.string()),
    ]
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def config_name(model: str) -> str:
    """The configuration (and file) name of a model: safe for paths, unique per model name."""
    name = _SAFE.sub("-", str(model).strip().replace("/", "--")).strip("-.")
    if not name:
        raise PredictionsRepoError(
            f"model name {model!r} gives an empty configuration name; pass --name NAME"
        )
    if name == MODELS_CONFIG:
        raise PredictionsRepoError(
            f"a model cannot be called {MODELS_CONFIG!r}: that configuration is the models table; "
            "pass another name (--name NAME)"
        )
    return name


def predictions_file(config: str) -> str:
    """The path of a model's predictions inside the repository."""
    return f"{PREDICTIONS_DIR}/{config}.parquet"


@dataclass(frozen=True)
class HubSpec:
    """``hf://datasets/ORG/REPO[@REVISION][/MODEL]`` taken apart."""

    repo_id: str
    revision: str | None
    model: str | None


def is_hub_spec(text: object) -> bool:
    """True for an ``hf://datasets/...`` address."""
    return isinstance(text, str) and text.startswith(HUB_PREFIX)


def parse_hub_spec(text: str) -> HubSpec:
    """Take an ``hf://datasets/ORG/REPO[@REVISION][/MODEL]`` address apart, or say what is wrong."""
    rest = text[len(HUB_PREFIX) :].strip("/")
    parts = rest.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise PredictionsRepoError(
            f"{text!r} names no dataset repository; write hf://datasets/ORG/REPO (all models) "
            "or hf://datasets/ORG/REPO/MODEL (one)"
        )
    name, _, revision = parts[1].partition("@")
    model = "/".join(parts[2:]) or None
    return HubSpec(repo_id=f"{parts[0]}/{name}", revision=revision or None, model=model)
