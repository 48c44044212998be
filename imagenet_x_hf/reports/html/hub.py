"""Upload a report to a Hub repository, as a pull request unless a direct commit is asked for."""

from __future__ import annotations

import os
from pathlib import Path

from imagenet_x_hf.errors import ResultsFileError

REPORT_NAME = "imagenet_x_report.html"
COMMIT_MESSAGE = "Add ImageNet-X HTML report (imagenet-x report)"
REPO_TYPES = ("model", "dataset", "space")


def push_report(
    path: str | os.PathLike,
    repo_id: str,
    *,
    path_in_repo: str = REPORT_NAME,
    repo_type: str = "model",
    commit: bool = False,
    revision: str | None = None,
    token: str | None = None,
) -> str:
    """Upload the report at ``path`` to ``repo_id``; a pull request unless ``commit``. Returns its URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from imagenet_x_hf.reports.card import require_token

    if repo_type not in REPO_TYPES:
        raise ResultsFileError(f"unknown repo type {repo_type!r}; pass one of {REPO_TYPES}")
    path = Path(path)
    if not path.is_file():
        raise ResultsFileError(f"no report at {str(path)!r} to upload; write it first (-o PATH)")
    token = require_token(token)
    try:
        info = HfApi(token=token).upload_file(
            path_or_fileobj=str(path),
            path_in_repo=path_in_repo,
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=COMMIT_MESSAGE,
            create_pr=not commit,
        )
    except HfHubHTTPError as err:
        raise ResultsFileError(
            f"the upload to {repo_id!r} failed ({err}); check that the token can write to the repo; "
            f"the report {str(path)!r} is written and can be pushed again"
        ) from err
    return info.pr_url or info.commit_url
