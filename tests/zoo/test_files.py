"""Getting the files: hashes checked, clear errors, and a real download over HTTP from 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from imagenet_x_hf.zoo import ZooError, example_predictions, load_zoo
from imagenet_x_hf.zoo.files import GROUPS, MODEL_TYPES_FILE, relative_path

from .conftest import ZOO_DIR, copy_zoo

TOP_CLASS = [relative_path("top", "class", g) for g in GROUPS] + [MODEL_TYPES_FILE]


@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 serving the shared zoo copy; yields its base URL and request log."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(ZOO_DIR))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_over_http_then_cache(server, tmp_path, monkeypatch):
    url, requests = server
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    cache = tmp_path / "cache"
    zoo = load_zoo(cache_dir=cache, base_url=url)
    s = zoo.slice("top", "class")
    assert s.counts()["crop"] == 1272
    for rel in TOP_CLASS + ["LICENSE"]:
        assert (cache / rel).is_file(), rel
    assert not list(cache.rglob("*.part"))  # atomic writes leave no partial files
    assert len(requests) == len(TOP_CLASS) + 1
    # a fresh process (here: fresh caches) reads the cache without the network, even offline
    load_zoo.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = load_zoo(cache_dir=cache, base_url=url).slice("top", "class")
    assert len(requests) == len(TOP_CLASS) + 1
    assert (again.accuracy == s.accuracy).all()
    # the released prediction files come the same way
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    (vit,) = example_predictions(["ViT"], cache_dir=cache, base_url=url)
    assert vit == cache / "model_predictions" / "base" / "ViT.csv"
    assert vit.read_bytes() == (ZOO_DIR / "model_predictions" / "base" / "ViT.csv").read_bytes()


def test_download_of_wrong_bytes_is_refused(tmp_path, monkeypatch):
    fake = copy_zoo(tmp_path / "served", TOP_CLASS)
    target = fake / relative_path("top", "class", "base")
    target.write_bytes(target.read_bytes().replace(b"DINO", b"DINA", 1))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(fake)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        cache = tmp_path / "cache"
        with pytest.raises(
            ZooError, match=r"top_factor/base/class/accuracies_per_factor\.csv downloaded from"
        ):
            load_zoo(cache_dir=cache, base_url=f"http://127.0.0.1:{httpd.server_address[1]}").slice()
        assert not (cache / relative_path("top", "class", "base")).exists()
        assert not list(cache.rglob("*.part"))
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_unreachable_server_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(ZooError, match=r"cannot download .* set IMAGENET_X_ZOO=DIR"):
        load_zoo(cache_dir=tmp_path, base_url="http://127.0.0.1:9/").slice()


def test_changed_byte_is_a_hash_error_naming_the_file(tmp_path):
    copy = copy_zoo(tmp_path / "zoo", TOP_CLASS)
    target = copy / relative_path("top", "class", "crop")
    data = bytearray(target.read_bytes())
    data[200] = ord("7") if data[200] != ord("7") else ord("8")
    target.write_bytes(bytes(data))
    with pytest.raises(
        ZooError, match=r"results/val/top_factor/crop/class/accuracies_per_factor\.csv .* sha256"
    ):
        load_zoo(copy).slice("top", "class")


def test_missing_file_is_a_clear_error(tmp_path, monkeypatch):
    copy = copy_zoo(tmp_path / "zoo", [r for r in TOP_CLASS if "gaussian_blur" not in r])
    with pytest.raises(
        ZooError, match=r"gaussian_blur/class/accuracies_per_factor\.csv is missing from the local copy"
    ):
        load_zoo(copy).slice("top", "class")
    monkeypatch.setenv("IMAGENET_X_ZOO", str(tmp_path / "nowhere"))
    with pytest.raises(ZooError, match=r"\$IMAGENET_X_ZOO .* is not a directory"):
        load_zoo()


def test_offline_without_cache_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IMAGENET_X_ZOO_CACHE", str(tmp_path / "empty"))
    with pytest.raises(
        ZooError, match=r"not in the cache .* HF_HUB_OFFLINE forbids downloading.*IMAGENET_X_ZOO=DIR"
    ):
        load_zoo().slice()
    with pytest.raises(ZooError, match=r"DINO\.csv is not in the cache"):
        example_predictions()
    assert not (tmp_path / "empty").exists()  # nothing attempted


def test_environment_names_the_local_copy(monkeypatch):
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    paths = example_predictions()
    assert [p.name for p in paths] == ["DINO.csv", "ResNet50.csv", "SimCLR.csv", "ViT.csv"]
    assert all(p.parent == ZOO_DIR.resolve() / "model_predictions" / "base" for p in paths)
    with pytest.raises(ZooError, match="unknown example model"):
        example_predictions(["AlexNet"])
