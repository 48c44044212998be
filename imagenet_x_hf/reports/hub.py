"""Uploads to the Hub that are safe to repeat: a parent-commit guard, and one pull request per change.

``commit_files`` is what ``card --push`` and ``export-hub --push`` share:

- with ``commit``, the files go straight to the branch, guarded by ``parent_commit``: the
  commit the files were built from (read before). If someone pushed in between, the Hub
  refuses and nothing is overwritten;
- otherwise an open pull request of ours with the same title is updated (a commit to its
  ``refs/pr/N`` branch) instead of opening another one on every rerun; without one, a new
  pull request is opened from ``parent_commit``.

The token is never printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagenet_x_hf.errors import HubUploadError


def _url_prefix(repo_type: str) -> str:
    return "" if repo_type == "model" else f"{repo_type}s/"


def head_commit(api, repo_id: str, *, repo_type: str, revision: str | None = None) -> str | None:
    """The commit ``revision`` points to now (None when the repository does not exist yet)."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return api.repo_info(repo_id, repo_type=repo_type, revision=revision).sha
    except RepositoryNotFoundError:
        return None


def find_open_pull_request(api, repo_id: str, *, repo_type: str, title: str) -> int | None:
    """The number of our (the token's user's) open pull request titled ``title``, or None."""
    user = api.whoami().get("name")
    for discussion in api.get_repo_discussions(
        repo_id,
        author=user,
        discussion_type="pull_request",
        discussion_status="open",
        repo_type=repo_type,
    ):
        if discussion.is_pull_request and discussion.title == title and discussion.status == "open":
            return discussion.num
    return None


def commit_files(
    api,
    repo_id: str,
    operations: Sequence[Any],
    *,
    repo_type: str,
    title: str,
    commit: bool,
    revision: str | None,
    parent_commit: str | None,
) -> str:
    """Upload ``operations`` as described in the module docstring; returns the commit or pull request URL."""
    from huggingface_hub.errors import HfHubHTTPError

    what = f"{repo_type} repository {repo_id!r}"
    try:
        if commit:
            info = api.create_commit(
                repo_id,
                list(operations),
                commit_message=title,
                repo_type=repo_type,
                revision=revision,
                parent_commit=parent_commit,
            )
            return info.commit_url
        number = find_open_pull_request(api, repo_id, repo_type=repo_type, title=title)
        if number is not None:
            api.create_commit(
                repo_id,
                list(operations),
                commit_message=title,
                repo_type=repo_type,
                revision=f"refs/pr/{number}",
            )
            return f"https://huggingface.co/{_url_prefix(repo_type)}{repo_id}/discussions/{number}"
        info = api.create_commit(
            repo_id,
            list(operations),
            commit_message=title,
            repo_type=repo_type,
            revision=revision,
            create_pr=True,
            parent_commit=parent_commit,
        )
        return info.pr_url or info.commit_url
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (409, 412):
            raise HubUploadError(
                f"the {what} changed after its files were read (expected commit {parent_commit}); "
                "nothing was overwritten: rerun to rebuild on the new commit"
            ) from err
        raise HubUploadError(
            f"the upload to the {what} failed ({type(err).__name__}: {str(err).splitlines()[0]}); "
            "check that the token can write to the repository, then rerun"
        ) from err
