"""ImageNet-X as a Hub benchmark: the dataset's ``eval.yaml`` and a model's ``.eval_results`` file.

The Hub's evaluation-results format is documented at
https://huggingface.co/docs/hub/eval-results (source: huggingface/hub-docs,
``docs/hub/eval-results.md``, section "Eval.yaml specification"; the entry format is
specified in https://github.com/huggingface/hub-docs/blob/main/eval_results.yaml):

- a benchmark dataset declares its tasks in ``eval.yaml`` at the repository root:
  ``name``, ``description``, ``evaluation_framework`` and ``tasks``, a list of items
  with a required ``id`` and optional ``config`` and ``split``. The Hub checks the file
  at push (``evaluation_framework`` must be a name huggingface.js lists), and a dataset
  becomes a benchmark with a leaderboard only once the Hub puts it on an allow-list
  (``registration_steps``). The format has no field for a task's direction or scale, so
  both are said in the description and in every entry's notes;
- a model repository holds results in ``.eval_results/*.yaml``: a list of entries, each
  ``dataset: {id, task_id[, revision]}``, ``value``, and optionally ``date`` (an ISO-8601
  string), ``source: {url[, name, user, org]}`` and ``notes``. ``huggingface_hub``
  reads them with ``parse_eval_result_entries``.

The benchmark's tasks are the overall accuracy and each factor's error ratio under the
paper's protocol (top factor, top-1 errors, prototypes excluded, validation split): a
leaderboard must compare like with like, so results computed with other settings are
kept out of ``.eval_results`` (the model card's section and ``model-index`` carry them), and
a run with other settings removes our earlier entries there rather than leave numbers the
card no longer shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from imagenet_x_hf.errors import ModelCardError
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS
from imagenet_x_hf.settings import ScoringOptions

EVAL_YAML = "eval.yaml"
EVAL_RESULTS_FILE = ".eval_results/imagenet-x.yaml"
# The Hub validates eval.yaml's evaluation_framework against a list kept in huggingface.js
# (packages/tasks/src/eval.ts, EVALUATION_FRAMEWORKS); a name outside it fails at push.
# These were the listed names when this was written; ours is added by a pull request there.
HUB_FRAMEWORKS = ("inspect-ai", "math-arena", "mteb", "olmo-bench", "harbor", "archipelago")
EVALUATION_FRAMEWORK = "imagenet-x-hf"
FRAMEWORKS_URL = "https://github.com/huggingface/huggingface.js/blob/main/packages/tasks/src/eval.ts"
ALLOW_LIST_URL = "https://huggingface.co/spaces/OpenEvals/README/discussions/2"
TASK_CONFIG = "default"
TASK_SPLIT = "validation"
ACCURACY_TASK = "accuracy"
# Our entries say so in their notes: how a later run tells them from others' entries of the
# same task ids (another benchmark may well call a task "accuracy").
NOTES_MARK = "computed with imagenet-x-hf"


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


def eval_yaml_text(evaluation_framework: str | None = None) -> str:
    """The benchmark definition written at the root of the exported dataset repository.

    ``evaluation_framework`` is written only when given: the Hub refuses names that
    huggingface.js does not list (``HUB_FRAMEWORKS``), and ``imagenet-x-hf`` is not listed
    yet, so by default the line stays a comment saying how to enable it.

    >>> data = yaml.safe_load(eval_yaml_text())
    >>> "evaluation_framework" in data, len(data["tasks"]), data["tasks"][1]
    (False, 17, {'id': 'error_ratio_pose', 'config': 'default', 'split': 'validation'})
    >>> yaml.safe_load(eval_yaml_text("inspect-ai"))["evaluation_framework"]
    'inspect-ai'
    """
    if evaluation_framework is None:
        framework = [
            f"# evaluation_framework: {EVALUATION_FRAMEWORK}",
            "#   (uncomment once the Hub lists this name: a name outside the list in",
            f"#   {FRAMEWORKS_URL}",
            "#   fails validation when this file is pushed)",
        ]
    else:
        framework = [f"evaluation_framework: {evaluation_framework}"]
    lines = [
        "# ImageNet-X as a Hugging Face benchmark (format: https://huggingface.co/docs/hub/eval-results).",
        "# Model repositories report results in .eval_results/imagenet-x.yaml, written by",
        "# 'imagenet-x card --dataset-id THIS_REPO' (pip install imagenet-x-hf). Every task uses the",
        "# paper's protocol: each image's top factor, top-1 errors, the annotators' prototypes left out.",
        "# Values: 'accuracy' is a fraction (0.754 means 75.4%), higher is better; the error ratios",
        "# are plain ratios (1 = the model's average error rate), LOWER is better. The format has no",
        "# direction field: a leaderboard that sorts every task high to low puts the most fragile",
        "# model first on the error-ratio tasks.",
        "name: ImageNet-X",
        "description: >",
        "  ImageNet-X (Idrissi et al., ICLR 2023, arXiv:2211.01866) labels the ImageNet-1k validation",
        "  images with 16 human-annotated factors of variation (pose, background, lighting, ...).",
        "  A model's error ratio on a factor is its error rate on the images with that factor",
        "  divided by its error rate on all annotated images: above 1, the model fails more often",
        "  than its average there, so lower is better. The tasks are the overall top-1 accuracy (a",
        "  fraction between 0 and 1, higher is better) and each factor's error ratio (a ratio, lower",
        "  is better), on the 46,110 annotated validation images that are not prototypes.",
        *framework,
        "",
        "tasks:",
        "  # top-1 accuracy on the annotated validation images: a fraction, higher is better",
        f"  - id: {ACCURACY_TASK}",
        f"    config: {TASK_CONFIG}",
        f"    split: {TASK_SPLIT}",
    ]
    for factor in FACTORS:
        lines += [
            f"  # error ratio (lower is better) on images whose top factor is {factor}: "
            f"{FACTOR_DEFINITIONS[factor]}",
            f"  - id: {factor_task(factor)}",
            f"    config: {TASK_CONFIG}",
            f"    split: {TASK_SPLIT}",
        ]
    return "\n".join(lines) + "\n"


def registration_steps(dataset_id: str | None = None) -> list[str]:
    """What makes the exported dataset a Hub benchmark, step by step (README and ``export-hub`` print them).

    >>> steps = registration_steps("me/imagenet-x")
    >>> len(steps), "me/imagenet-x" in steps[0]
    (4, True)
    """
    repo = dataset_id or "OWNER/imagenet-x"
    return [
        f"push the exported folder as the dataset {repo} (eval.yaml at its root): "
        f"imagenet-x export-hub DIR --push {repo}",
        f"ask for {repo} to be added to the Hub's benchmark allow-list: {ALLOW_LIST_URL} "
        "(until then its results show on model pages but no leaderboard is built)",
        f"optional: have '{EVALUATION_FRAMEWORK}' added to the Hub's framework list ({FRAMEWORKS_URL}), "
        "then uncomment evaluation_framework in eval.yaml; meanwhile leave it out (an unlisted name "
        "fails validation at push)",
        f"write each model's results pointing at it: imagenet-x card --run RUN --dataset-id {repo} "
        "--repo-id MODEL --push",
    ]


def eval_result_entries(
    results: Results,
    *,
    dataset_id: str,
    date: str | None = None,
    source_url: str | None = None,
    source_name: str | None = None,
    revision: str | None = None,
) -> list[dict[str, Any]]:
    """The ``.eval_results`` entries of ``results``: accuracy and each factor's error ratio.

    Values are exactly those of ``results`` (no rounding). Factors without an error
    ratio are left out: the Hub needs a number. ``date`` is when the evaluation ran (left
    out when unknown: the Hub then shows the commit's date); ``source_url`` where the
    results can be checked (left out when there is none); ``revision`` the benchmark
    dataset's commit.

    >>> rows = {f: {"error_ratio": 1.5} for f in FACTORS}
    >>> results = Results.from_dict({"accuracy": 0.75, "images": 100, "factors": rows})
    >>> entries = eval_result_entries(results, dataset_id="me/imagenet-x", date="2026-01-02")
    >>> entries[0]["dataset"], entries[0]["value"], entries[0]["date"], len(entries), "source" in entries[0]
    ({'id': 'me/imagenet-x', 'task_id': 'accuracy'}, 0.75, '2026-01-02', 17, False)
    """
    from imagenet_x_hf import __version__
    from imagenet_x_hf.reports.summary import accuracy_name

    notes = (
        f"{accuracy_name(results.scoring.error_type)} (a fraction) and error ratios (lower is better); top factor, top-1 "
        f"errors, prototypes excluded, validation split; {NOTES_MARK} {__version__}"
    )
    values = [(ACCURACY_TASK, results.accuracy)]
    values += [(factor_task(row.factor), row.error_ratio) for row in results.factors]
    entries = []
    for task, value in values:
        if value is None:
            continue
        entry: dict[str, Any] = {"dataset": {"id": dataset_id, "task_id": task}, "value": value}
        if revision:
            entry["dataset"]["revision"] = revision
        if date:
            entry["date"] = date
        if source_url:
            entry["source"] = {"url": source_url, **({"name": source_name} if source_name else {})}
        entry["notes"] = notes
        entries.append(entry)
    return entries


def _task(entry: Mapping) -> Any:
    dataset = entry.get("dataset")
    return dataset.get("task_id") if isinstance(dataset, Mapping) else None


def _dataset(entry: Mapping) -> Any:
    dataset = entry.get("dataset")
    return dataset.get("id") if isinstance(dataset, Mapping) else None


def is_ours(entry: Mapping, dataset_id: str | None = None) -> bool:
    """An ImageNet-X entry: one of our task ids, on ``dataset_id`` or written by this package.

    >>> theirs = {"dataset": {"id": "other/bench", "task_id": "accuracy"}, "value": 0.5}
    >>> is_ours(theirs, "me/imagenet-x"), is_ours(theirs, "other/bench")
    (False, True)
    """
    if _task(entry) not in set(task_ids()):
        return False
    return _dataset(entry) == dataset_id or NOTES_MARK in str(entry.get("notes") or "")


def our_dataset_ids(entries: Sequence[Mapping]) -> list[str]:
    """The benchmark ids that this package's earlier entries point at, in order of appearance."""
    ids: list[str] = []
    for entry in entries:
        if is_ours(entry) and isinstance(_dataset(entry), str) and _dataset(entry) not in ids:
            ids.append(_dataset(entry))
    return ids


def without_ours(existing: Sequence[Mapping], dataset_id: str | None = None) -> list[dict]:
    """The entries that are not ImageNet-X's (see ``is_ours``), in order."""
    return [dict(e) for e in existing if not is_ours(e, dataset_id)]


def merge_entries(existing: Sequence[Mapping], new: Sequence[dict]) -> list[dict]:
    """Others' entries kept in order, ours replaced by ``new``.

    Ours are entries of our task ids on the new entries' dataset, or written by this package
    (under an earlier ``--dataset-id``); another benchmark's task of the same name is kept.

    >>> theirs = {"dataset": {"id": "other/bench", "task_id": "accuracy"}, "value": 0.5}
    >>> old = {"dataset": {"id": "me/ix", "task_id": "accuracy"}, "value": 0.7}
    >>> new = {"dataset": {"id": "me/ix", "task_id": "accuracy"}, "value": 0.8}
    >>> [e["value"] for e in merge_entries([theirs, old], [new])]
    [0.5, 0.8]
    """
    dataset_id = new[0]["dataset"]["id"] if new else None
    return without_ours(existing, dataset_id) + [dict(e) for e in new]


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


def dump_entries(entries: Sequence[Mapping]) -> str:
    """The ``.eval_results`` file's text (block-style YAML, dates as strings as the spec asks)."""
    head = (
        "# ImageNet-X results of this model, written by 'imagenet-x card' (imagenet-x-hf).\n"
        "# Format: https://huggingface.co/docs/hub/eval-results\n"
    )
    return head + yaml.safe_dump(list(entries), sort_keys=False, allow_unicode=True)
