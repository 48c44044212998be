"""Write the ImageNet-X robustness section and eval results into a model card.

``update_model_card`` builds the whole new card in memory (section, ``model-index``,
chart, ``.eval_results/imagenet-x.yaml``), checks that ``huggingface_hub.ModelCard``
parses it and that every byte outside our section and our metadata is unchanged, and
only then writes the files, each to a temporary file renamed over the old one. Any
error leaves the card as it was.

A card holds one current set of ImageNet-X results: a run with other settings replaces
the earlier set (and the section says which settings it shows), unless
``keep_other_settings`` asks to keep several, whose metric names then carry their settings.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from imagenet_x_hf.errors import HubAuthError, ModelCardError
from imagenet_x_hf.reports import eval_results as hub_eval
from imagenet_x_hf.reports.model_index import (
    DATASET_ID,
    build_model_index,
    card_data,
    eval_results_for,
    ownership,
    parse_yaml_block,
    set_model_index,
    splice_eval_results,
)
from imagenet_x_hf.reports.section import find_section, render_section, splice_section
from imagenet_x_hf.results import Results
from imagenet_x_hf.settings import CardOptions

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
    replaced_other_settings: int = 0  # earlier ImageNet-X results computed with other settings
    eval_results_file: Path | None = None  # .eval_results/imagenet-x.yaml, when written
    eval_results_note: str | None = None  # why it was not written, or what to know about it
    eval_results_removed: bool = False  # it held only stale ImageNet-X entries and was deleted


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
    results: Results,
    options: CardOptions | None = None,
    *,
    reproduce: Sequence[str] = (),
    source: str = "the card",
) -> tuple[str, dict]:
    """The new card text and facts about the change; ``content`` is the current card ("" for none).

    The model is named ``options.model_name`` (else the results' model); the section shows
    the chart ``CHART_NAME`` when ``options.chart``; ``reproduce`` are the commands that
    recreate the numbers.

    >>> from imagenet_x_hf.schema import FACTORS
    >>> rows = {f: {"images": 10, "error_ratio": 1.0} for f in FACTORS}
    >>> results = Results.from_dict({"accuracy": 0.5, "images": 160, "factors": rows})
    >>> new, facts = render_card("# My model\\n", results, CardOptions(model_name="m"))
    >>> new.startswith("---\\nmodel-index:") and "\\n---\\n# My model\\n\\n<!-- imagenet-x" in new
    True
    >>> facts["section"], facts["eval_results"], facts["other_eval_results"]
    ('added', 17, 0)
    """
    from huggingface_hub import ModelCard

    options = options or CardOptions()
    model = options.model_name or results.model or "model"
    dataset_id, keep_other_settings = options.dataset_id or DATASET_ID, options.keep_other_settings
    match, data = parse_yaml_block(content, source=source)
    body_start = match.end() if match else 0
    body = content[body_start:]
    had_section = find_section(body, source=source) is not None

    ours = eval_results_for(results, dataset_id=dataset_id, keep_other_settings=keep_other_settings)
    mine = ownership(ours, dataset_id=dataset_id, keep_other_settings=keep_other_settings)
    existing = card_data(data, source=source).eval_results or []
    others = [r for r in existing if not mine(r)]
    same_settings = ownership(ours, dataset_id=dataset_id, keep_other_settings=True)
    any_imagenet_x = ownership(ours, dataset_id=dataset_id)
    replaced = [r for r in existing if mine(r) and not same_settings(r)]
    section = render_section(
        results,
        model=model,
        image=CHART_NAME if options.chart else None,
        reproduce=reproduce,
        template=options.template,
        replaced_other_settings=len(replaced),
        other_settings_kept=keep_other_settings and any(any_imagenet_x(r) for r in others),
    )
    new_body = splice_section(body, section, source=source)
    with_index = splice_eval_results(content, data, ours, source=source, is_ours=mine)
    if with_index is None:
        model_index = build_model_index(data, ours, model_name=model, source=source, is_ours=mine)
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
    kept = [r for r in card.data.eval_results or [] if not mine(r)]
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
        "replaced_other_settings": len(replaced),
    }
    return new_content, facts


def _write_atomically(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place.

    On failure the temporary files, and the folders made for them, are removed again.
    """
    staged: list[tuple[Path, Path]] = []
    made: list[Path] = []
    done = False
    try:
        for path, data in files:
            missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made += missing
            tmp = path.with_name(f".{path.name}.imagenet-x.tmp")
            tmp.write_bytes(data)
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
        done = True
    except OSError as err:
        raise ModelCardError(
            f"cannot write {str(path)!r}: {err}; check the folder and its permissions"
        ) from err
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if not done:
            for folder in sorted(made, key=lambda d: len(d.parts), reverse=True):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty: a folder something else wrote into stays


def update_model_card(
    card_path: str | os.PathLike,
    results: Results,
    options: CardOptions | None = None,
    *,
    reproduce: Sequence[str] = (),
    base_content: str | None = None,
    eval_results_base: str | None = None,
    source_url: str | None = None,
    date: str | None = None,
) -> CardUpdate:
    """Add (or replace) the robustness section and eval results of ``card_path``, as ``options`` say.

    The card is created when it does not exist; ``base_content`` (e.g. the card
    downloaded from the Hub) replaces what is read from ``card_path``. With
    ``options.chart``, the error-ratio chart is written next to the card as
    ``imagenet_x_error_ratios.png`` and referenced from the section.

    With ``options.eval_results``, ``.eval_results/imagenet-x.yaml`` is written beside the card
    (the Hub's evaluation-results format, see ``imagenet_x_hf.reports.eval_results``),
    pointing at the benchmark ``options.dataset_id``; entries of other benchmarks in it are kept.
    ``eval_results_base`` (e.g. downloaded from the Hub) replaces the local file's text.
    Without a dataset id it is written only when our earlier entries there name the
    benchmark; ``options.dataset_revision`` pins the benchmark's commit and ``date`` is when the
    evaluation ran. Results computed with settings other than the benchmark's are not
    written there and remove our earlier entries (the file never contradicts the card);
    ``CardUpdate.eval_results_note`` says so.
    """
    card_path = Path(card_path)
    options = options or CardOptions()
    content = read_card(card_path) if base_content is None else base_content
    model = options.model_name or results.model or card_path.parent.name or "model"
    options = options.replace(model_name=model)
    new_content, facts = render_card(
        content, results, options, reproduce=reproduce, source=repr(str(card_path))
    )
    files = [(card_path, new_content.encode("utf-8"))]
    eval_path, note, removed = None, None, False
    if options.eval_results:
        eval_path = card_path.parent / hub_eval.EVAL_RESULTS_FILE
        existing_text = read_card(eval_path) if eval_results_base is None else eval_results_base
        existing = hub_eval.read_entries(existing_text, source=repr(str(eval_path)))
        text, note = eval_results_text(
            results,
            dataset_id=options.dataset_id,
            existing=existing,
            source_url=source_url,
            date=date,
            revision=options.dataset_revision,
        )
        if text is None:
            eval_path = None
        elif text == "":
            # Nothing left but our stale entries: the file goes (on the Hub too, at push).
            removed = True
        else:
            files.append((eval_path, text.encode("utf-8")))
    chart_path = None
    if options.chart:
        from imagenet_x_hf.reports.plots import figure_bytes, plot_error_ratios

        chart_path = card_path.parent / CHART_NAME
        files.insert(0, (chart_path, figure_bytes(plot_error_ratios(results, model=model), "png")))
    _write_atomically(files)
    if removed:
        local = card_path.parent / hub_eval.EVAL_RESULTS_FILE
        local.unlink(missing_ok=True)
        eval_path = None
    return CardUpdate(
        card=card_path,
        chart=chart_path,
        eval_results_file=eval_path,
        eval_results_note=note,
        eval_results_removed=removed,
        **facts,
    )


def eval_results_text(
    results: Results,
    *,
    dataset_id: str | None,
    existing: Sequence[Mapping],
    source_url: str | None = None,
    date: str | None = None,
    revision: str | None = None,
) -> tuple[str | None, str | None]:
    """The new text of ``.eval_results/imagenet-x.yaml`` and a note for the user.

    The text is None when the file is to be left as it is, ``""`` when it is to be
    deleted (it held only our entries, which these results make stale). The file never
    contradicts the card: results computed with settings other than the benchmark's remove
    our earlier entries instead of leaving them. Without ``dataset_id`` the benchmark our
    earlier entries point at is used; with neither, nothing is written.
    """
    file = hub_eval.EVAL_RESULTS_FILE
    if not hub_eval.benchmark_protocol(results.scoring):
        kept = hub_eval.without_ours(existing)
        why = (
            "the benchmark's tasks use the default settings (top factor, top-1 errors, prototypes "
            "excluded, validation) and these results do not"
        )
        if len(kept) == len(existing):
            return None, f"{file} not written: {why}"
        gone = len(existing) - len(kept)
        note = f"removed the {gone} earlier ImageNet-X entries of {file}, which these results replace: {why}"
        return (hub_eval.dump_entries(kept) if kept else ""), note
    earlier = hub_eval.our_dataset_ids(existing)
    dataset_id = dataset_id or (earlier[-1] if earlier else None)
    if not dataset_id:
        return None, (
            f"{file} not written: name the Hub benchmark dataset the results belong to with "
            "--dataset-id OWNER/NAME (publish one with 'imagenet-x export-hub DIR --push OWNER/NAME')"
        )
    entries = hub_eval.eval_result_entries(
        results,
        dataset_id=dataset_id,
        date=date,
        revision=revision,
        **({"source_url": source_url, "source_name": "Model card (imagenet-x-hf)"} if source_url else {}),
    )
    note = None
    if "/" not in dataset_id:
        note = (
            f"{file} points at {dataset_id!r}, which is not a Hub id (OWNER/NAME): its results join no "
            "leaderboard; pass the benchmark dataset's id with --dataset-id"
        )
    return hub_eval.dump_entries(hub_eval.merge_entries(existing, entries)), note


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


def _download(repo_id: str, filename: str, *, revision: str | None, token: str | None) -> str | None:
    """A text file of a Hub model repository, or None when the repository has no such file."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    try:
        path = hf_hub_download(repo_id, filename, repo_type="model", revision=revision, token=token)
    except RemoteEntryNotFoundError:
        # The Hub answered: no such file yet. (Offline, or unreachable, is an error:
        # starting from an empty card would replace the real one.)
        return None
    except OSError as err:  # HTTP errors, offline mode, a missing local cache entry
        raise ModelCardError(
            f"cannot download the model card of {repo_id!r} ({type(err).__name__}: {err}); check the repo id, "
            "your connection and access rights, or drop --repo-id and update a local copy with --model-card"
        ) from err
    return read_card(path)


def download_card(repo_id: str, *, revision: str | None = None, token: str | None = None) -> str:
    """The README.md of a Hub model repository ("" when it has none)."""
    return _download(repo_id, "README.md", revision=revision, token=token) or ""


@dataclass(frozen=True)
class HubCard:
    """What ``read_hub_card`` read: the card and our eval-results file at one commit."""

    card: str
    eval_results: str | None
    commit: str | None  # the commit both were read at (the parent of our upload)


def read_hub_card(repo_id: str, *, revision: str | None = None, token: str | None = None) -> HubCard:
    """The card and ``.eval_results/imagenet-x.yaml`` of ``repo_id``, both read at the same commit."""
    from huggingface_hub import HfApi

    from imagenet_x_hf.reports.hub import head_commit

    try:
        commit = head_commit(HfApi(token=token), repo_id, repo_type="model", revision=revision)
    except OSError as err:
        raise ModelCardError(
            f"cannot read the repository {repo_id!r} on the Hub ({type(err).__name__}: {err}); check the repo "
            "id, your connection and access rights, or drop --repo-id and update a local copy with --model-card"
        ) from err
    at = commit or revision
    return HubCard(
        card=download_card(repo_id, revision=at, token=token),
        eval_results=_download(repo_id, hub_eval.EVAL_RESULTS_FILE, revision=at, token=token),
        commit=commit,
    )


def push_card(
    update: CardUpdate,
    repo_id: str,
    *,
    commit: bool = False,
    token: str | None = None,
    revision: str | None = None,
    parent_commit: str | None = None,
) -> str:
    """Upload the card, its chart and its eval-results file to ``repo_id`` in one commit.

    A pull request unless ``commit`` (a rerun updates our open pull request instead of
    opening another); ``parent_commit`` (the commit the card was read at) guards against
    overwriting changes pushed since. Returns the URL of the commit or pull request.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    from imagenet_x_hf.reports.hub import HubUploadError, commit_files

    token = require_token(token)
    operations = [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=str(update.card))]
    if update.chart is not None:
        operations.append(
            CommitOperationAdd(path_in_repo=update.chart.name, path_or_fileobj=str(update.chart))
        )
    if update.eval_results_file is not None:
        operations.append(
            CommitOperationAdd(
                path_in_repo=hub_eval.EVAL_RESULTS_FILE, path_or_fileobj=str(update.eval_results_file)
            )
        )
    if update.eval_results_removed:  # only our stale entries were in the repo's file
        operations.append(CommitOperationDelete(path_in_repo=hub_eval.EVAL_RESULTS_FILE))
    try:
        return commit_files(
            HfApi(token=token),
            repo_id,
            operations,
            repo_type="model",
            title=COMMIT_MESSAGE,
            commit=commit,
            revision=revision,
            parent_commit=parent_commit,
        )
    except HubUploadError as err:
        raise ModelCardError(f"{err}; the local card {str(update.card)!r} is written") from err


def benchmark_warning(dataset_id: str, *, token: str | None = None) -> str | None:
    """Why results pointing at ``dataset_id`` would join no leaderboard, or None when it looks fine.

    Checks that the dataset exists on the Hub and has an ``eval.yaml``; whether the Hub has
    put it on its benchmark allow-list cannot be asked, so that is left to the README.
    """
    from huggingface_hub import HfApi

    steps = "; ".join(hub_eval.registration_steps(dataset_id)[:2])
    if "/" not in dataset_id:
        return f"{dataset_id!r} is not a Hub dataset id (OWNER/NAME), so these results join no leaderboard"
    api = HfApi(token=token)
    try:
        if not api.repo_exists(dataset_id, repo_type="dataset"):
            return f"the benchmark dataset {dataset_id} does not exist on the Hub, so these results join no leaderboard: {steps}"
        if not api.file_exists(dataset_id, hub_eval.EVAL_YAML, repo_type="dataset"):
            return f"the dataset {dataset_id} has no {hub_eval.EVAL_YAML}, so it is no benchmark and these results join no leaderboard: {steps}"
    except OSError as err:
        return f"could not check the benchmark dataset {dataset_id} on the Hub ({type(err).__name__}); make sure it exists with an {hub_eval.EVAL_YAML}"
    return None
