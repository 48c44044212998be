"""Upload an exported predictions repository to the Hub, keeping the models already there.

The upload is one commit (a pull request unless ``commit``; a rerun updates our open
pull request, see :func:`imagenet_x_hf.reports.hub.commit_files`). The Hub repository may
hold models this folder lacks: its models table is read first and its rows kept, so the
pushed table and card list every model, and only the files of the models given (all of
the folder's by default) are uploaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa

from imagenet_x_hf.share.layout import (
    AUTHORS_LICENSE_FILE,
    MODELS_FILE,
    README,
    PredictionsRepoError,
)

COMMIT_TITLE = "Add ImageNet-X predictions"


def remote_models(api, repo_id: str, *, token: str | None, revision: str | None = None) -> pa.Table | None:
    """The models table of the Hub repository, or None when it has none (or does not exist yet)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    from imagenet_x_hf.share.read import read_models_table

    try:
        path = hf_hub_download(
            repo_id,
            MODELS_FILE,
            repo_type="dataset",
            revision=revision,
            token=token,
            endpoint=getattr(api, "endpoint", None),
        )
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
        return None
    return read_models_table(Path(path), where=f"hf://datasets/{repo_id}")


def push_operations(
    folder: Path, remote: pa.Table | None, *, configs: list[str] | None, repo_id: str
) -> list[Any]:
    """The commit operations: the chosen models' files, then the merged models table, card and licence."""
    from huggingface_hub import CommitOperationAdd

    from imagenet_x_hf.share.card import dataset_card
    from imagenet_x_hf.share.export import models_table, parquet_bytes
    from imagenet_x_hf.share.read import read_models_table

    local = read_models_table(folder / MODELS_FILE, where=str(folder))
    rows = {r["config"]: r for r in (remote.to_pylist() if remote is not None else [])}
    chosen = local.to_pylist()
    if configs is not None:
        unknown = sorted(set(configs) - {r["config"] for r in chosen})
        if unknown:
            raise PredictionsRepoError(
                f"{folder} holds no model {unknown[0]!r}; push some of the models it holds"
            )
        chosen = [r for r in chosen if r["config"] in configs]
    operations = []
    for row in chosen:
        operations.append(
            CommitOperationAdd(path_in_repo=row["file"], path_or_fileobj=str(folder / row["file"]))
        )
        rows[row["config"]] = row
    table = models_table(list(rows.values()))
    operations.append(CommitOperationAdd(path_in_repo=MODELS_FILE, path_or_fileobj=parquet_bytes(table)))
    card = dataset_card(table, repo_id=repo_id).encode("utf-8")
    operations.append(CommitOperationAdd(path_in_repo=README, path_or_fileobj=card))
    if (folder / AUTHORS_LICENSE_FILE).is_file():
        operations.append(
            CommitOperationAdd(
                path_in_repo=AUTHORS_LICENSE_FILE, path_or_fileobj=str(folder / AUTHORS_LICENSE_FILE)
            )
        )
    return operations


def push_predictions(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    configs: list[str] | None = None,
    commit: bool = False,
    private: bool = False,
    token: str | None = None,
    api=None,
) -> str:
    """Upload the models ``configs`` (default: all) of an exported folder; returns the pull request or commit URL."""
    from huggingface_hub import HfApi

    from imagenet_x_hf.reports.card import require_token
    from imagenet_x_hf.reports.hub import commit_files, head_commit

    folder = Path(folder)
    if not (folder / MODELS_FILE).is_file():
        raise PredictionsRepoError(f"{folder} holds no {MODELS_FILE}; export predictions into it first")
    token = require_token(token)
    api = api or HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    parent = head_commit(api, repo_id, repo_type="dataset")
    remote = remote_models(api, repo_id, token=token, revision=parent) if parent else None
    operations = push_operations(folder, remote, configs=configs, repo_id=repo_id)
    return commit_files(
        api,
        repo_id,
        operations,
        repo_type="dataset",
        title=COMMIT_TITLE,
        commit=commit,
        revision=None,
        parent_commit=parent,
    )
