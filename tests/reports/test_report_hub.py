"""The Hub side of ``imagenet-x card`` without a network: download and upload are replaced by fakes.

What is checked is our side of the wiring: which files are fetched and at which commit,
what a missing card means, what is uploaded (card, chart and .eval_results in one commit),
that an upload is a pull request unless --commit, guarded by the parent commit, and that a
rerun updates our open pull request instead of opening another.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub import Discussion, ModelCard
from huggingface_hub.errors import RemoteEntryNotFoundError

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ModelCardError
from imagenet_x_hf.reports.card import CHART_NAME, COMMIT_MESSAGE, download_card
from imagenet_x_hf.reports.eval_results import EVAL_RESULTS_FILE

HUB_CARD = "---\nlicense: mit\nlibrary_name: timm\n---\n# Hub model\n\nFrom the Hub.\n"
HEAD = "0123456789abcdef0123456789abcdef01234567"
# Another benchmark's result already in the repo's file: it must survive our update.
HUB_EVAL = "- dataset:\n    id: other/bench\n    task_id: main\n  value: 0.5\n"


@pytest.fixture
def run_dir(tmp_path, vit):
    run = tmp_path / "vit-run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    return run


@pytest.fixture
def fake_download(monkeypatch, tmp_path):
    calls = []
    hub_file = tmp_path / "hub" / "README.md"
    hub_file.parent.mkdir()
    hub_file.write_text(HUB_CARD)

    eval_file = tmp_path / "hub" / "eval.yaml"
    eval_file.write_text(HUB_EVAL)

    def download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        if repo_id == "me/no-card" or (filename == EVAL_RESULTS_FILE and repo_id != "me/with-eval"):
            fake_response = SimpleNamespace(headers={}, request=None)
            raise RemoteEntryNotFoundError(f"404: {filename} not found", response=fake_response)
        return str(eval_file if filename == EVAL_RESULTS_FILE else hub_file)

    def repo_info(self, repo_id, **kwargs):
        return SimpleNamespace(sha=HEAD)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", repo_info)
    return calls


class FakeHub:
    """Records commits; holds the open pull requests ``get_repo_discussions`` lists."""

    def __init__(self):
        self.calls: list[dict] = []
        self.discussions: list[Discussion] = []
        self.listed: list[dict] = []

    def pr(self, num: int, title: str = COMMIT_MESSAGE, author: str = "me") -> None:
        self.discussions.append(
            Discussion(
                title=title,
                status="open",
                num=num,
                repo_id="me/model",
                repo_type="model",
                author=author,
                is_pull_request=True,
                created_at=None,
                endpoint="https://huggingface.co",
            )
        )


@pytest.fixture
def fake_upload(monkeypatch):
    hub = FakeHub()

    def create_commit(self, repo_id, operations, **kwargs):
        hub.calls.append(
            dict(
                repo_id=repo_id,
                files={
                    op.path_in_repo: Path(op.path_or_fileobj).read_bytes()
                    for op in operations
                    if hasattr(op, "path_or_fileobj")
                },
                deleted=[op.path_in_repo for op in operations if not hasattr(op, "path_or_fileobj")],
                **kwargs,
            )
        )
        pr = kwargs.get("create_pr")
        return SimpleNamespace(
            pr_url="https://huggingface.co/me/model/discussions/1" if pr else None,
            commit_url="https://huggingface.co/me/model/commit/abc",
        )

    def get_repo_discussions(self, repo_id, **kwargs):
        hub.listed.append(kwargs)
        return iter([d for d in hub.discussions if kwargs.get("author") in (None, d.author)])

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    monkeypatch.setattr(huggingface_hub.HfApi, "get_repo_discussions", get_repo_discussions)
    monkeypatch.setattr(huggingface_hub.HfApi, "whoami", lambda self, **kw: {"name": "me"})
    # The benchmark datasets on this fake Hub: me/ix is one (it has an eval.yaml), me/plain is not.
    benchmarks = {"me/ix": {"eval.yaml"}, "me/plain": {"README.md"}}
    monkeypatch.setattr(
        huggingface_hub.HfApi, "repo_exists", lambda self, repo_id, **kw: repo_id in benchmarks
    )
    monkeypatch.setattr(
        huggingface_hub.HfApi,
        "file_exists",
        lambda self, repo_id, filename, **kw: filename in benchmarks.get(repo_id, ()),
    )
    return hub


def test_repo_card_is_downloaded_and_updated_locally(run_dir, fake_download, vit, capsys):
    assert main(["card", "--run", str(run_dir), "--repo-id", "me/model", "--revision", "dev", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # Both files are read at the commit the branch pointed to: the parent of a later upload.
    assert fake_download == [
        ("me/model", "README.md", {"repo_type": "model", "revision": HEAD, "token": None}),
        ("me/model", EVAL_RESULTS_FILE, {"repo_type": "model", "revision": HEAD, "token": None}),
    ]
    local = run_dir / "model_card" / "README.md"
    assert summary["card"] == str(local) and "pushed" not in summary
    text = local.read_text()
    assert text.startswith("---\nlicense: mit\nlibrary_name: timm\nmodel-index:\n")
    assert "\n---\n# Hub model\n\nFrom the Hub.\n\n<!-- imagenet-x:robustness:start" in text
    assert ModelCard.load(local).data.library_name == "timm"


def test_repo_without_card_starts_a_new_one(fake_download):
    assert download_card("me/no-card") == ""


def test_unreachable_hub_is_an_error_not_an_empty_card(run_dir, tmp_path, monkeypatch, capsys):
    # Offline (as in this suite), the download fails: starting from an empty card would
    # replace the real one on the next push, so this must stop with a clear error.
    with pytest.raises(ModelCardError, match="cannot download the model card of 'me/model'"):
        download_card("me/model")
    card = tmp_path / "local.md"
    card.write_bytes(b"# untouched\n")
    assert main(["card", "--run", str(run_dir), "--repo-id", "me/model", "--model-card", str(card)]) == 2
    assert "drop --repo-id" in capsys.readouterr().err
    assert card.read_bytes() == b"# untouched\n"


@pytest.mark.parametrize("commit", [False, True], ids=["pull-request", "commit"])
def test_push_uploads_card_chart_and_eval_results(run_dir, fake_download, fake_upload, commit, capsys):
    argv = [
        "card",
        "--run",
        str(run_dir),
        "--repo-id",
        "me/model",
        "--dataset-id",
        "me/ix",
        "--push",
        "--json",
    ]
    assert main(argv + (["--commit"] if commit else [])) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert "warning" not in out.err  # me/ix is a benchmark: nothing to warn about
    (call,) = fake_upload.calls
    assert call["repo_id"] == "me/model" and call["repo_type"] == "model"
    assert call.get("create_pr", False) is (not commit)
    assert call["parent_commit"] == HEAD  # refused by the Hub if the branch moved meanwhile
    local = run_dir / "model_card"
    assert call["files"] == {
        "README.md": (local / "README.md").read_bytes(),
        CHART_NAME: (local / CHART_NAME).read_bytes(),
        EVAL_RESULTS_FILE: (local / EVAL_RESULTS_FILE).read_bytes(),
    }
    expected_url = "commit/abc" if commit else "discussions/1"
    assert summary["pushed"].endswith(expected_url)
    assert "hf_not_a_real_token" not in json.dumps(summary)


def test_rerun_updates_our_open_pull_request(run_dir, fake_download, fake_upload, capsys):
    fake_upload.pr(3, title="Something else")  # ours, but another change
    fake_upload.pr(5, author="someone-else")  # same title, not ours
    fake_upload.pr(7)
    argv = ["card", "--run", str(run_dir), "--repo-id", "me/model", "--push", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    (call,) = fake_upload.calls
    assert call["revision"] == "refs/pr/7" and not call.get("create_pr")
    assert summary["pushed"] == "https://huggingface.co/me/model/discussions/7"
    assert fake_upload.listed[0]["author"] == "me"
    assert fake_upload.listed[0]["discussion_type"] == "pull_request"
    assert fake_upload.listed[0]["discussion_status"] == "open"


def test_commit_to_a_moved_branch_is_refused(run_dir, fake_download, fake_upload, monkeypatch, capsys):
    from huggingface_hub.errors import HfHubHTTPError

    def moved(self, repo_id, operations, **kwargs):
        response = SimpleNamespace(status_code=412, headers={}, request=None)
        raise HfHubHTTPError("412 Precondition Failed: parent commit mismatch", response=response)

    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", moved)
    argv = ["card", "--run", str(run_dir), "--repo-id", "me/model", "--push", "--commit"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "changed after its files were read" in err and HEAD in err and "\n" not in err.strip()


def test_eval_results_of_other_benchmarks_on_the_hub_are_kept(run_dir, fake_download, vit):
    import yaml
    from huggingface_hub import parse_eval_result_entries

    assert main(["card", "--run", str(run_dir), "--repo-id", "me/with-eval", "--dataset-id", "me/ix"]) == 0
    text = (run_dir / "model_card" / EVAL_RESULTS_FILE).read_text()
    entries = parse_eval_result_entries(yaml.safe_load(text))
    assert (entries[0].dataset_id, entries[0].task_id, entries[0].value) == ("other/bench", "main", 0.5)
    ours = entries[1:]
    assert {e.dataset_id for e in ours} == {"me/ix"} and len(ours) == 17
    assert {e.source_url for e in ours} == {"https://huggingface.co/me/with-eval"}


@pytest.mark.parametrize(
    "dataset_id, says",
    [("me/plain", "has no eval.yaml"), ("me/nothing", "does not exist on the Hub")],
    ids=["no-eval-yaml", "no-dataset"],
)
def test_push_of_results_that_point_nowhere_warns_first(
    run_dir, fake_download, fake_upload, capsys, dataset_id, says
):
    argv = [
        "card",
        "--run",
        str(run_dir),
        "--repo-id",
        "me/model",
        "--dataset-id",
        dataset_id,
        "--push",
        "--json",
    ]
    assert main(argv) == 0
    out = capsys.readouterr()
    (warning,) = [line for line in out.err.splitlines() if line.startswith("warning:")]
    assert dataset_id in warning and says in warning and "join no leaderboard" in warning
    assert "export-hub" in warning and "allow-list" in warning
    assert json.loads(out.out)["notes"][-1] == warning.removeprefix("warning: ")
    assert len(fake_upload.calls) == 1  # a warning, not a refusal: the card is still worth pushing


def test_a_multi_factor_rerun_removes_our_stale_entries_from_the_hub(
    tmp_path, fake_download, fake_upload, capsys, vit
):
    """Only our entries in the repo's file, then results with other settings: the file goes, never stale."""
    from imagenet_x_hf.reports.eval_results import dump_entries, eval_result_entries
    from imagenet_x_hf.reports.inputs import load_model_results

    # what the fake Hub serves as the repo's .eval_results file (see fake_download)
    (tmp_path / "hub" / "eval.yaml").write_text(
        dump_entries(eval_result_entries(vit.results, dataset_id="me/ix"))
    )
    multi = tmp_path / "multi.json"
    from imagenet_x_hf.settings import ScoringOptions

    multi_results = load_model_results(vit.source, options=ScoringOptions(which_factor="multi")).results
    multi.write_text(json.dumps(multi_results.to_dict()))
    assert main(["card", "--run", str(multi), "--repo-id", "me/with-eval", "--push", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["eval_results_removed"] is True and summary["eval_results_file"] is None
    assert any("removed the 17 earlier ImageNet-X entries" in n for n in summary["notes"])
    (call,) = fake_upload.calls
    assert EVAL_RESULTS_FILE not in call["files"] and call["deleted"] == [EVAL_RESULTS_FILE]
