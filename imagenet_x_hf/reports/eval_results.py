"""ImageNet-X as a Hub benchmark: the dataset's ``eval.yaml`` and a model's ``.eval_results`` file.

The Hub's evaluation-results format is documented at
https://huggingface.co/docs/hub/eval-results (source: huggingface/hub-docs,
``docs/hub/eval-results.md``, section "Eval.yaml specification"; the entry format is
specified in https://github.com/huggingface/hub-docs/blob/main/eval_results.yaml):

- a benchmark dataset declares its tasks in ``eval.yaml`` at the repository root:
  ``name``, ``description``, ``evaluation_framework`` and ``tasks``, a list of items
  with a required ``id`` and optional ``config`` and ``split``;
- a model repository holds results in ``.eval_results/*.yaml``: a list of entries, each
  ``dataset: {id, task_id[, revision]}``, ``value``, and optionally ``date`` (an ISO-8601
  string), ``source: {url[, name, user, org]}`` and ``notes``. ``huggingface_hub``
  reads them with ``parse_eval_result_entries``.

The benchmark's tasks are the overall accuracy and each factor's error ratio under the
paper's protocol (top factor, top-1 errors, prototypes excluded, validation split): a
leaderboard must compare like with like, so results computed with other settings are
kept out of ``.eval_results`` (the model card's section and ``model-index`` carry them).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from imagenet_x_hf.errors import ModelCardError
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS
from imagenet_x_hf.settings import ScoringOptions

EVAL_YAML = "eval.yaml"
EVAL_RESULTS_FILE = ".eval_results/imagenet-x.yaml"
# The Hub keeps a list of known frameworks (huggingface.js packages/tasks/src/eval.ts);
# a benchmark outside it is registered by adding its name there (see the docs above).
EVALUATION_FRAMEWORK = "imagenet-x-hf"
TASK_CONFIG = "default"
TASK_SPLIT = "validation"
ACCURACY_TASK = "accuracy"
PROJECT_URL = "https://pypi.org/project/imagenet-x-hf/"


def factor_task(factor: str) -> str:
    """
    >>> factor_task("partial_view")
    'error_ratio_partial_view'
    """
    return f"error_ratio_{factor}"


def task_ids() -> list[str]:
    """The benchmark's task ids: overall accuracy, then each factor's error ratio (paper order)."""
    return [ACCURACY_TASK] + [factor_task(f) for f in FACTORS]


def benchmark_protocol(settings: ScoringOptions) -> bool:
    """Whether results computed with ``settings`` are results of the benchmark's tasks.

    The confidence level changes only the intervals, never the values, so it does not count.

    >>> benchmark_protocol(ScoringOptions(confidence_level=0.9)), benchmark_protocol(ScoringOptions(which_factor="multi"))
    (True, False)
    """
    return settings.replace(confidence_level=ScoringOptions().confidence_level) == ScoringOptions()


def eval_yaml_text() -> str:
    """The benchmark definition written at the root of the exported dataset repository.

    >>> data = yaml.safe_load(eval_yaml_text())
    >>> data["evaluation_framework"], len(data["tasks"]), data["tasks"][1]
    ('imagenet-x-hf', 17, {'id': 'error_ratio_pose', 'config': 'default', 'split': 'validation'})
    """
    lines = [
        "# ImageNet-X as a Hugging Face benchmark (format: https://huggingface.co/docs/hub/eval-results).",
        "# Model repositories report results in .eval_results/imagenet-x.yaml, written by",
        "# 'imagenet-x card' (pip install imagenet-x-hf). Every task uses the paper's protocol:",
        "# each image's top factor, top-1 errors, the annotators' prototype images left out.",
        "name: ImageNet-X",
        "description: >",
        "  ImageNet-X (Idrissi et al., ICLR 2023, arXiv:2211.01866) labels the ImageNet-1k validation",
        "  images with 16 human-annotated factors of variation (pose, background, lighting, ...).",
        "  A model's error ratio on a factor is its error rate on the images with that factor",
        "  divided by its error rate on all annotated images: above 1, the model fails more often",
        "  than its average there. The tasks are the overall top-1 accuracy and each factor's",
        "  error ratio, on the 46,110 annotated validation images that are not prototypes.",
        f"evaluation_framework: {EVALUATION_FRAMEWORK}",
        "",
        "tasks:",
        "  # top-1 accuracy on the annotated validation images (higher is better)",
        f"  - id: {ACCURACY_TASK}",
        f"    config: {TASK_CONFIG}",
        f"    split: {TASK_SPLIT}",
    ]
    for factor in FACTORS:
        lines += [
            f"  # error ratio on images whose top factor is {factor}: {FACTOR_DEFINITIONS[factor]}",
            f"  - id: {factor_task(factor)}",
            f"    config: {TASK_CONFIG}",
            f"    split: {TASK_SPLIT}",
        ]
    return "\n".join(lines) + "\n"


def eval_result_entries(
    results: Mapping,
    *,
    dataset_id: str,
    date: str | None = None,
    source_url: str = PROJECT_URL,
    source_name: str = "imagenet-x-hf",
) -> list[dict[str, Any]]:
    """The ``.eval_results`` entries of a RESULTS dict: accuracy and each factor's error ratio.

    Values are exactly those of ``results`` (no rounding). Factors without an error
    ratio are left out: the Hub needs a number. ``date`` defaults to today (UTC).

    >>> rows = {f: {"error_ratio": 1.5} for f in FACTORS}
    >>> entries = eval_result_entries({"accuracy": 0.75, "factors": rows}, dataset_id="me/imagenet-x",
    ...                               date="2026-01-02")
    >>> entries[0]["dataset"], entries[0]["value"], entries[0]["date"], len(entries)
    ({'id': 'me/imagenet-x', 'task_id': 'accuracy'}, 0.75, '2026-01-02', 17)
    """
    from imagenet_x_hf import __version__
    from imagenet_x_hf.reports.summary import accuracy_name

    date = date or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    notes = (
        f"{accuracy_name(results)} and error ratios; top factor, top-1 errors, prototypes excluded, "
        f"validation split; computed with imagenet-x-hf {__version__}"
    )
    values = [(ACCURACY_TASK, results["accuracy"])]
    values += [(factor_task(f), results["factors"][f].get("error_ratio")) for f in FACTORS]
    return [
        {
            "dataset": {"id": dataset_id, "task_id": task},
            "value": value,
            "date": date,
            "source": {"url": source_url, "name": source_name},
            "notes": notes,
        }
        for task, value in values
        if value is not None
    ]


def read_entries(text: str | None, *, source: str) -> list[dict[str, Any]]:
    """The entries of an existing ``.eval_results`` file ([] for none); a clear error when damaged."""
    if not text or not text.strip():
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ModelCardError(
            f"{source} is not valid YAML ({str(err).splitlines()[0]}); fix it or delete it and rerun; "
            "nothing was changed"
        ) from err
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ModelCardError(
            f"{source} is not a list of evaluation results ('- dataset: ...' items); fix it or delete it "
            "and rerun; nothing was changed"
        )
    return data


def merge_entries(existing: Sequence[Mapping], new: Sequence[dict]) -> list[dict]:
    """Others' entries kept in order, ours (any entry with one of our task ids) replaced by ``new``.

    An entry whose dataset and value are unchanged keeps its earlier date, so rerunning on
    another day does not change the file.
    """
    ours = set(task_ids())

    def task(entry: Mapping) -> Any:
        dataset = entry.get("dataset")
        return dataset.get("task_id") if isinstance(dataset, Mapping) else None

    old = {(e["dataset"].get("id"), task(e)): e for e in existing if task(e) in ours}
    merged = [dict(e) for e in existing if task(e) not in ours]
    for entry in new:
        before = old.get((entry["dataset"]["id"], entry["dataset"]["task_id"]))
        entry = dict(entry)
        if before is not None and before.get("value") == entry["value"] and before.get("date"):
            entry["date"] = before["date"]
        merged.append(entry)
    return merged


def dump_entries(entries: Sequence[Mapping]) -> str:
    """The ``.eval_results`` file's text (block-style YAML, dates as strings as the spec asks)."""
    head = (
        "# ImageNet-X results of this model, written by 'imagenet-x card' (imagenet-x-hf).\n"
        "# Format: https://huggingface.co/docs/hub/eval-results\n"
    )
    return head + yaml.safe_dump(list(entries), sort_keys=False, allow_unicode=True)
