"""The ``model-index`` metadata of a model card: our eval results, merged with the card's own.

The Hub reads a card's evaluation results from the ``model-index`` key of its YAML
block. We build them with ``huggingface_hub.EvalResult`` (overall accuracy, and one
``error_ratio_FACTOR`` metric per factor, the benchmark's task ids), replace the ones an
earlier run wrote and keep every other result.

The YAML block is edited as text (``yaml_splice``): in an existing ``model-index``
only our items of its ``results:`` list are replaced, so the card's other keys and
other eval results keep their exact bytes (comments, quoting, flow style, order); a
card without one gets a ``model-index`` key appended. When the layout defeats these
edits (checked by parsing the result), the ``model-index`` key, or as a last resort
the block, is re-serialised instead: same data, new formatting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCardData
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results
from huggingface_hub.utils import yaml_dump

from imagenet_x_hf.errors import ModelCardError
from imagenet_x_hf.reports.yaml_splice import key_span, replace_key, replace_list_items
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.settings import ScoringOptions

# The dataset type names a Hub dataset id: the ImageNet-X benchmark repository that
# 'imagenet-x export-hub --push ID' creates. The authors have published none, so the
# default is the dataset's short name; pass your export's id with --dataset-id.
DATASET_ID = "imagenet-x"
DATASET_NAME = "ImageNet-X"
TASK_TYPE = "image-classification"
TASK_NAME = "Image Classification"
# A factor's error ratio is metric type error_ratio_FACTOR, the benchmark's task id (model-index's
# metric "config" is the metric's load configuration, not a subset); "error_ratio" with the factor
# as config is how earlier releases wrote them, still recognised as ours.
OUR_METRICS = ("accuracy", "error_ratio", *(f"error_ratio_{f}" for f in FACTORS))
KEY = "model-index"
# The settings that change the numbers (the confidence level changes only the intervals,
# which model-index does not hold).
VALUE_SETTINGS = ("split", "which_factor", "error_type", "filter_prototypes", "empty_real")

# Hub dataset configs of the exported dataset (see imagenet_x_hf.export.CONFIGS).
_CONFIG_BY_FILTER = {True: "default", False: "with_prototypes"}


def settings_label(settings: ScoringOptions) -> str:
    """The value-changing settings in a few words, for metric names that must tell runs apart.

    >>> settings_label(ScoringOptions())
    'top factor, top-1'
    >>> settings_label(ScoringOptions(which_factor="multi", error_type="real_class", empty_real="exclude",
    ...                               filter_prototypes=False))
    'multi-factor, ReaL without unlabelled images, prototypes kept'
    """
    parts = ["top factor" if settings.which_factor == "top" else "multi-factor"]
    if settings.error_type == "real_class":
        parts.append("ReaL" + (" without unlabelled images" if settings.empty_real == "exclude" else ""))
    else:
        parts.append({"class": "top-1", "metaclass": "metaclass"}[settings.error_type])
    if not settings.filter_prototypes:
        parts.append("prototypes kept")
    if settings.split != "validation":
        parts.append(f"{settings.split} split")
    return ", ".join(parts)


def eval_results_for(
    results: Results, *, dataset_id: str = DATASET_ID, keep_other_settings: bool = False
) -> list[EvalResult]:
    """Overall accuracy and the per-factor error ratios of ``results`` as ``EvalResult``s.

    Every scoring setting goes into each result's ``args`` (from the one ``ScoringOptions``
    object, so none can be dropped). With ``keep_other_settings`` the metric names also
    carry the settings, since the Hub shows names and not ``args``. Factors without an
    error ratio (no image carries them) are left out: the Hub needs a number.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> rows = {f: {"error_ratio": 1.0 + i / 100} for i, f in enumerate(FACTORS)}
    >>> ours = eval_results_for(Results.from_dict({"accuracy": 0.8, "images": 100, "factors": rows}))
    >>> len(ours), ours[0].metric_name, ours[1].metric_type, ours[1].metric_config, ours[1].metric_value
    (17, 'Top-1 accuracy', 'error_ratio_pose', None, 1.0)
    >>> sorted(ours[0].metric_args)
    ['confidence_level', 'empty_real', 'error_type', 'filter_prototypes', 'split', 'which_factor']
    """
    from imagenet_x_hf.reports.summary import accuracy_name

    settings = results.scoring
    args = settings.to_dict()
    suffix = f" ({settings_label(settings)})" if keep_other_settings else ""
    common = dict(
        task_type=TASK_TYPE,
        task_name=TASK_NAME,
        dataset_type=dataset_id,
        dataset_name=DATASET_NAME,
        dataset_config=_CONFIG_BY_FILTER[settings.filter_prototypes],
        dataset_split=settings.split,
    )
    out = [
        EvalResult(
            **common,
            metric_type="accuracy",
            metric_name=accuracy_name(settings.error_type) + suffix,
            metric_value=results.accuracy,
            metric_args=dict(args),
        )
    ]
    for row in results.factors:
        factor, value = row.factor, row.error_ratio
        if value is None:
            continue
        out.append(
            EvalResult(
                **common,
                metric_type=f"error_ratio_{factor}",
                metric_name=f"Error ratio: {factor.replace('_', ' ')}{suffix}",
                metric_value=value,
                metric_args=dict(args),
            )
        )
    return out


def _value_settings(args: Mapping | None) -> dict:
    return {k: (args or {}).get(k) for k in VALUE_SETTINGS}


def ownership(
    ours: Sequence[EvalResult], *, dataset_id: str = DATASET_ID, keep_other_settings: bool = False
) -> Callable[[EvalResult], bool]:
    """The test of which existing results the new ``ours`` replace.

    An ImageNet-X result is one of our metric types on our dataset id, or one whose
    ``args`` carry our settings (written under another ``--dataset-id``). By default every
    ImageNet-X result is replaced, so a card holds one current set; with
    ``keep_other_settings`` only those computed with the same value-changing settings are.
    """
    want = _value_settings(ours[0].metric_args) if ours else {}

    def is_ours(result: EvalResult) -> bool:
        if result.metric_type not in OUR_METRICS:
            return False
        args = result.metric_args if isinstance(result.metric_args, Mapping) else {}
        imagenet_x = result.dataset_type == dataset_id or {"which_factor", "error_type"} <= set(args)
        if not imagenet_x:
            return False
        return not keep_other_settings or _value_settings(args) == want

    return is_ours


def is_ours(result: EvalResult, like: EvalResult) -> bool:
    """Whether ``result`` is an ImageNet-X result that ``like`` (one of a new set) replaces."""
    return ownership([like], dataset_id=like.dataset_type)(result)


def merge_eval_results(
    existing: Sequence[EvalResult],
    ours: Sequence[EvalResult],
    *,
    is_ours: Callable[[EvalResult], bool] | None = None,
) -> list[EvalResult]:
    """Keep the results that are not ours, in their order, then ours.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> empty = {f: {} for f in FACTORS}
    >>> old = eval_results_for(Results.from_dict({"accuracy": 0.5, "images": 9, "factors": empty}))
    >>> other = EvalResult(task_type="image-classification", dataset_type="imagenet-1k",
    ...                    dataset_name="ImageNet", metric_type="accuracy", metric_value=0.9)
    >>> new = eval_results_for(Results.from_dict({"accuracy": 0.7, "images": 9, "factors": empty}))
    >>> [r.metric_value for r in merge_eval_results(old + [other], new)]
    [0.9, 0.7]
    """
    if not ours:
        return list(existing)
    mine = is_ours or ownership(ours, dataset_id=ours[0].dataset_type)
    return [r for r in existing if not mine(r)] + list(ours)


def parse_yaml_block(content: str, *, source: str) -> tuple[re.Match | None, dict]:
    """The card's YAML block (its regex match, or None) and its data; clear errors when damaged."""
    match = REGEX_YAML_BLOCK.search(content)
    if match is None:
        if re.match(r"\s*---[ \t]*(\r?\n|$)", content):
            # Without this check a second YAML block would be put in front of the first.
            raise ModelCardError(
                f"{source} opens a YAML block with '---' on its first line but never closes it; "
                "add a line '---' after the metadata (or delete the first '---') and rerun; "
                "the card was not changed"
            )
        return None, {}
    try:
        data = yaml.safe_load(match.group(2))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = ""
        if mark is not None:
            line = content[: match.start(2)].count("\n") + mark.line + 1
            where = f" at line {line}"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ModelCardError(
            f"the YAML block at the top of {source} does not parse{where} ({problem}); "
            "fix the YAML between the two '---' lines (or delete the block) and rerun; the card was not changed"
        ) from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ModelCardError(
            f"the YAML block at the top of {source} is a {type(data).__name__}, not a mapping of keys; "
            "make it 'key: value' lines (or delete the block) and rerun; the card was not changed"
        )
    return match, data


def card_data(data: Mapping[str, Any], *, source: str) -> ModelCardData:
    """``ModelCardData`` of the card's YAML (checks its ``model-index``)."""
    try:
        return ModelCardData(**data)
    except (ValueError, TypeError) as err:
        raise ModelCardError(
            f"the model-index in {source} cannot be read ({err}); fix it or delete the "
            "'model-index' key, then rerun; the card was not changed"
        ) from err


def build_model_index(
    data: Mapping[str, Any],
    ours: Sequence[EvalResult],
    *,
    model_name: str,
    source: str,
    is_ours: Callable[[EvalResult], bool] | None = None,
) -> list[dict]:
    """The new ``model-index`` value: the card's results that are not ours, then ours."""
    existing = card_data(data, source=source)
    merged = merge_eval_results(existing.eval_results or [], ours, is_ours=is_ours)
    card = ModelCardData(eval_results=merged, model_name=existing.model_name or model_name)
    return card.to_dict()[KEY]


def set_model_index(content: str, model_index: list[dict], *, source: str) -> str:
    """``content`` (a whole card) with its ``model-index`` set; every other byte kept where possible.

    >>> card = "---\\nlicense: mit  # keep me\\n---\\n# Title\\n"
    >>> print(set_model_index(card, [{"name": "m", "results": []}], source="card"), end="")
    ---
    license: mit  # keep me
    model-index:
    - name: m
      results: []
    ---
    # Title
    """
    line_break = "\r\n" if "\r\n" in content else "\n"
    dumped = yaml_dump({KEY: model_index}, sort_keys=False)
    if line_break != "\n":
        dumped = dumped.replace("\n", line_break)
    match, data = parse_yaml_block(content, source=source)
    if match is None:
        return f"---{line_break}{dumped}---{line_break}{content}"
    block = match.group(2)
    expected = {**data, KEY: model_index}
    new_block = replace_key(block, KEY, dumped)
    if new_block is not None:
        try:
            ok = yaml.safe_load(new_block) == expected
        except yaml.YAMLError:
            ok = False
        if ok:
            return content[: match.start(2)] + new_block + content[match.end(2) :]
    # The layout defeats a surgical edit (e.g. flow style or a duplicated key): rewrite
    # the block from its data; values are kept, formatting is not.
    new_block = yaml_dump(expected, sort_keys=False).rstrip("\n")
    if line_break != "\n":
        new_block = new_block.replace("\n", line_break)
    return content[: match.start(2)] + new_block + content[match.end(2) :]


def _line_break(content: str) -> str:
    return "\r\n" if "\r\n" in content else "\n"


def splice_eval_results(
    content: str,
    data: Mapping[str, Any],
    ours: Sequence[EvalResult],
    *,
    source: str,
    is_ours: Callable[[EvalResult], bool] | None = None,
) -> str | None:
    """``content`` with our results items of its ``model-index`` replaced, nothing else touched.

    Returns None when the card has no ``model-index`` or one laid out in a way this
    edit does not handle (several model entries, flow-style lists, a results item that
    mixes our metrics with others'); the caller then rewrites the whole key.
    """
    match = REGEX_YAML_BLOCK.search(content)
    model_index = data.get(KEY)
    if not ours or match is None or not isinstance(model_index, list) or len(model_index) != 1:
        return None
    entry = model_index[0]
    if not isinstance(entry, dict) or not isinstance(entry.get("results"), list):
        return None
    groups = entry["results"]
    mine = is_ours or ownership(ours, dataset_id=ours[0].dataset_type)

    def group_is_ours(i: int) -> bool | None:
        try:
            _, results = model_index_to_eval_results([{"name": "-", "results": [groups[i]]}])
        except (KeyError, TypeError, ValueError):
            return False  # not ours to judge: keep it as it is
        flags = {mine(r) for r in results}
        return None if len(flags) > 1 else bool(flags and flags.pop())

    flags = [group_is_ours(i) for i in range(len(groups))]
    if None in flags:
        return None
    block = match.group(2)
    span = key_span(block, KEY)
    if not isinstance(span, tuple):
        return None
    new_groups = eval_results_to_model_index("-", list(ours))[0]["results"]
    new_entry = replace_list_items(
        block[span[0] : span[1]],
        is_ours=lambda i: flags[i] if i < len(flags) else None,
        new_items=new_groups,
        line_break=_line_break(content),
    )
    if new_entry is None:
        return None
    new_block = block[: span[0]] + new_entry + block[span[1] :]
    expected_entry = dict(entry, results=[g for g, mine in zip(groups, flags) if not mine] + new_groups)
    try:
        ok = yaml.safe_load(new_block) == {**data, KEY: [expected_entry]}
    except yaml.YAMLError:
        ok = False
    if not ok:
        return None
    return content[: match.start(2)] + new_block + content[match.end(2) :]
