"""Write the ImageNet-X robustness section and eval results into a model card.

``update_model_card`` builds the whole new card in memory (section, ``model-index``,
chart), checks that ``huggingface_hub.ModelCard`` parses it and that every byte
outside our section and our metadata is unchanged, and only then writes the chart
and the card, each to a temporary file renamed over the old one. Any error leaves
the card as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagenet_x_hf.reports.errors import HubAuthError, ModelCardError
from imagenet_x_hf.reports.model_index import (
    DATASET_ID,
    build_model_index,
    card_data,
    eval_results_for,
    is_ours,
    parse_yaml_block,
    set_model_index,
    splice_eval_results,
)
from imagenet_x_hf.reports.section import find_section, render_section, splice_section
from imagenet_x_hf.reports.summary import check_results

CHART_NAME = "imagenet_x_error_ratios.png"
COMMIT_MESSAGE = "Add ImageNet-X robustness section and eval results (imagenet-x card)"


@dataclass(frozen=True)
class CardUpdate:
    """What ``update_model_card`` wrote."""

    card: Path
    chart: Path | None
    section: str  # "added" or "replaced"
    eval_results: int  # ours, in model-index
    other_eval_results: int  # the card's own, kept


def read_card(path: str | os.PathLike) -> str:
    """The card's text, bytes kept exactly (line endings included); ``""`` if it does not exist."""
    path = Path(path)
    if not path.exists():
        return ""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelCardError(
            f"{str(path)!r} is not UTF-8 text ({err.reason} at byte {err.start}); save the card as UTF-8 and rerun"
        ) from err
    except OSError as err:
        raise ModelCardError(f"cannot read {str(path)!r}: {err}; check the path and its permissions") from err


def render_card(
    content: str,
    results: Mapping,
    *,
    model: str,
    chart: str | None = CHART_NAME,
    reproduce: Sequence[str] = (),
    template: str | os.PathLike | None = None,
    dataset_id: str = DATASET_ID,
    source: str = "the card",
) -> tuple[str, dict]:
    """The new card text and facts about the change; ``content`` is the current card ("" for none).

    >>> from imagenet_x_hf.schema import FACTORS
    >>> rows = {f: {"images": 10, "error_ratio": 1.0} for f in FACTORS}
    >>> new, facts = render_card("# My model\\n", {"accuracy": 0.5, "images": 160, "factors": rows}, model="m")
    >>> new.startswith("---\\nmodel-index:") and "\\n---\\n# My model\\n\\n<!-- imagenet-x" in new
    True
    >>> facts["section"], facts["eval_results"], facts["other_eval_results"]
    ('added', 17, 0)
    """
    from huggingface_hub import ModelCard

    results = check_results(results)
    match, data = parse_yaml_block(content, source=source)
    body_start = match.end() if match else 0
    body = content[body_start:]
    had_section = find_section(body, source=source) is not None

    section = render_section(results, model=model, image=chart, reproduce=reproduce, template=template)
    new_body = splice_section(body, section, source=source)
    ours = eval_results_for(results, dataset_id=dataset_id)
    existing = card_data(data, source=source).eval_results or []
    others = [r for r in existing if not (ours and is_ours(r, ours[0]))]
    with_index = splice_eval_results(content, data, ours, source=source)
    if with_index is None:
        model_index = build_model_index(data, ours, model_name=model, source=source)
        with_index = set_model_index(content, model_index, source=source)
    new_content = with_index[: len(with_index) - len(body)] + new_body

    # Check the result before anything is written: the Hub's parser reads it, our
    # results are in it, and nothing outside our section moved.
    try:
        card = ModelCard(new_content)
    except ValueError as err:  # pragma: no cover - guarded by the checks above
        raise ModelCardError(
            f"the updated card for {source} does not parse ({err}); the card was not changed"
        ) from err
    written = [r for r in card.data.eval_results or [] if any(r == o for o in ours)]
    if len(written) != len(ours):  # pragma: no cover - a failure here is a bug, not bad input
        raise ModelCardError(
            f"the eval results written to {source} do not read back; the card was not changed"
        )
    kept = [r for r in card.data.eval_results or [] if not is_ours(r, ours[0])]
    # Compared as multisets: a whole-key rewrite may regroup results that share a dataset.
    if sorted(map(repr, kept)) != sorted(map(repr, others)):  # pragma: no cover
        raise ModelCardError(f"the other eval results of {source} would change; the card was not changed")
    if card.text != new_body:  # pragma: no cover
        raise ModelCardError(
            f"the body of {source} would change outside its section; the card was not changed"
        )
    facts = {
        "section": "replaced" if had_section else "added",
        "eval_results": len(ours),
        "other_eval_results": len(card.data.eval_results) - len(ours),
    }
    return new_content, facts


def _write_atomically(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.imagenet-x.tmp")
            tmp.write_bytes(data)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError as err:
        raise ModelCardError(
            f"cannot write {str(path)!r}: {err}; check the folder and its permissions"
        ) from err
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def update_model_card(
    card_path: str | os.PathLike,
    results: Mapping,
    *,
    model: str | None = None,
    base_content: str | None = None,
    chart: bool = True,
    reproduce: Sequence[str] = (),
    template: str | os.PathLike | None = None,
    dataset_id: str = DATASET_ID,
) -> CardUpdate:
    """Add (or replace) the robustness section and eval results of ``card_path``.

    The card is created when it does not exist; ``base_content`` (e.g. the card
    downloaded from the Hub) replaces what is read from ``card_path``. With
    ``chart``, the error-ratio chart is written next to the card as
    ``imagenet_x_error_ratios.png`` and referenced from the section.
    """
    card_path = Path(card_path)
    content = read_card(card_path) if base_content is None else base_content
    results = check_results(results)
    model = model or results.get("model") or card_path.parent.name or "model"
    new_content, facts = render_card(
        content,
        results,
        model=model,
        chart=CHART_NAME if chart else None,
        reproduce=reproduce,
        template=template,
        dataset_id=dataset_id,
        source=repr(str(card_path)),
    )
    files = [(card_path, new_content.encode("utf-8"))]
    chart_path = None
    if chart:
        from imagenet_x_hf.reports.plots import figure_bytes, plot_error_ratios

        chart_path = card_path.parent / CHART_NAME
        files.insert(0, (chart_path, figure_bytes(plot_error_ratios(results, model=model), "png")))
    _write_atomically(files)
    return CardUpdate(card=card_path, chart=chart_path, **facts)


def require_token(token: str | None = None) -> str:
    """The Hub token to push with; a clear error when there is none (the token is never printed)."""
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise HubAuthError(
            "pushing to the Hub needs a token with write access and none was found: run 'hf auth login' "
            "or set HF_TOKEN, then rerun (or drop --push to only write the card locally); nothing was written"
        )
    return token


def download_card(repo_id: str, *, revision: str | None = None, token: str | None = None) -> str:
    """The README.md of a Hub model repository ("" when it has none)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    try:
        path = hf_hub_download(repo_id, "README.md", repo_type="model", revision=revision, token=token)
    except RemoteEntryNotFoundError:
        # The Hub answered: the repo has no card yet. (Offline, or unreachable, is an
        # error: starting from an empty card would replace the real one.)
        return ""
    except OSError as err:  # HTTP errors, offline mode, a missing local cache entry
        raise ModelCardError(
            f"cannot download the model card of {repo_id!r} ({type(err).__name__}: {err}); check the repo id, "
            "your connection and access rights, or drop --repo-id and update a local copy with --model-card"
        ) from err
    return read_card(path)


def push_card(
    update: CardUpdate,
    repo_id: str,
    *,
    commit: bool = False,
    token: str | None = None,
    revision: str | None = None,
) -> str:
    """Upload the card (and its chart) to ``repo_id``; a pull request unless ``commit``. Returns its URL."""
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    token = require_token(token)
    operations = [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(update.card))]
    if update.chart is not None:
        operations.append(
            CommitOperationAdd(path_in_repo=update.chart.name, path_or_fileobj=str(update.chart))
        )
    try:
        info = HfApi(token=token).create_commit(
            repo_id,
            operations,
            commit_message=COMMIT_MESSAGE,
            repo_type="model",
            revision=revision,
            create_pr=not commit,
        )
    except HfHubHTTPError as err:
        raise ModelCardError(
            f"the upload to {repo_id!r} failed ({err}); check that the token can write to the repo; "
            f"the local card {str(update.card)!r} is written and can be pushed again"
        ) from err
    return info.pr_url or info.commit_url
