"""Reading hf://datasets/ORG/REPO through huggingface_hub from a Hub stand-in on 127.0.0.1.

The server answers the Hub's file-resolve route (``/datasets/ORG/REPO/resolve/REV/PATH``,
HEAD and GET, with the commit and ETag headers huggingface_hub reads) from an exported
folder, and logs every path asked for, so a test can tell which files were downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
import urllib.parse

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.metrics import read_predictions, score_predictions
from imagenet_x_hf.share import PredictionsRepoError, open_predictions

from .conftest import PREDICTIONS_DIR

REPO_ID = "someone/imagenet-x-preds"
_ROUTE = re.compile(r"^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


class _Hub(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args, root, log, revisions, **kwargs):
        self.root, self.log, self.revisions = root, log, revisions
        super().__init__(*args, **kwargs)

    def log_message(self, *args):  # keep the test output clean
        pass

    def _answer(self, body: bool) -> None:
        match = _ROUTE.match(urllib.parse.unquote(urllib.parse.urlsplit(self.path).path))
        if not match or match[1] != REPO_ID:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.end_headers()
            return
        self.log.append((self.command, match[3]))
        self.revisions.append(match[2])
        path = self.root / match[3]
        if not path.is_file():
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567")
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)


class _Log(list):
    """(method, path) of each request; ``revisions`` the revision each asked for."""

    def __init__(self):
        super().__init__()
        self.revisions: list[str] = []


@pytest.fixture
def hub(authors_repo, tmp_path, monkeypatch):
    """The exported authors' repository served as a Hub dataset; yields the request log."""
    import huggingface_hub.constants

    log = _Log()
    handler = functools.partial(_Hub, root=authors_repo, log=log, revisions=log.revisions)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    try:
        yield log
    finally:
        httpd.shutdown()
        httpd.server_close()


def _fetched(log) -> set[str]:
    return {path for method, path in log if method == "GET"}


def test_one_model_downloads_only_its_file(hub):
    repo = open_predictions(f"hf://datasets/{REPO_ID}/ViT")
    (model,) = repo.models
    predictions = repo.read(model)
    assert _fetched(hub) == {"models.parquet", "predictions/ViT.parquet"}
    assert score_predictions(predictions) == score_predictions(read_predictions(PREDICTIONS_DIR / "ViT.csv"))


def test_cli_reads_the_hub_and_then_the_cache_offline(hub, monkeypatch, capsys):
    import huggingface_hub.constants

    assert main(["score", f"hf://datasets/{REPO_ID}/SimCLR", f"hf://datasets/{REPO_ID}/DINO", "--json"]) == 0
    out = capsys.readouterr().out
    assert [r["model"] for r in __import__("json").loads(out)["results"]] == ["SimCLR", "DINO"]
    assert _fetched(hub) == {"models.parquet", "predictions/SimCLR.parquet", "predictions/DINO.parquet"}
    # offline: what is cached still reads, what is not is a one-line error
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    hub.clear()
    assert main(["score", f"hf://datasets/{REPO_ID}/DINO"]) == 0
    capsys.readouterr()
    assert main(["score", f"hf://datasets/{REPO_ID}/ResNet50"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not in the Hugging Face cache" in err and "HF_HUB_OFFLINE" in err
    assert hub == []  # offline: no request at all


def test_every_model_and_missing_ones(hub, capsys):
    assert main(["compare", f"hf://datasets/{REPO_ID}", "--no-paired", "--json"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    assert sorted(report["models"]) == ["DINO", "ResNet50", "SimCLR", "ViT"]
    with pytest.raises(PredictionsRepoError, match="no model 'BiT'"):
        open_predictions(f"hf://datasets/{REPO_ID}/BiT")
    with pytest.raises(PredictionsRepoError, match="does not exist or is private"):
        open_predictions("hf://datasets/nobody/nothing")


def test_a_pinned_revision_is_asked_for(hub):
    repo = open_predictions(f"hf://datasets/{REPO_ID}@v1.0/ResNet50")
    assert [m.config for m in repo.models] == ["ResNet50"] and repo.location.endswith("@v1.0")
    repo.read(repo.models[0])
    assert set(hub.revisions) == {"v1.0"}
