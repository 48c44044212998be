"""Bad input gives a clear error (the problem and the fix) and leaves the card's bytes as they were."""

from __future__ import annotations

import json

import huggingface_hub
import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import HubAuthError, ImageNetXError, ModelCardError, ResultsFileError
from imagenet_x_hf.reports import card as card_module
from imagenet_x_hf.reports.card import CHART_NAME, require_token, update_model_card
from imagenet_x_hf.reports.inputs import load_model_results, read_run
from imagenet_x_hf.settings import CardOptions

GOOD_CARD = b"---\nlicense: mit\n---\n# Model\n\nText.\n"


@pytest.fixture
def card(tmp_path):
    path = tmp_path / "card" / "README.md"
    path.parent.mkdir()
    path.write_bytes(GOOD_CARD)
    return path


def assert_untouched(path, original: bytes) -> None:
    assert path.read_bytes() == original
    assert not (path.parent / CHART_NAME).exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary files left


def run_cli(argv, capsys) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


def test_run_directory_without_results(tmp_path, card, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "predictions.csv").write_text("file_name,predicted_class\n")
    with pytest.raises(
        ResultsFileError, match=r"no results\.json in .*predictions\.csv.*imagenet-x evaluate"
    ):
        read_run(run)
    err = run_cli(["card", "--run", str(run), "--model-card", str(card)], capsys)
    assert "no results.json" in err and "--predictions" in err
    assert_untouched(card, GOOD_CARD)


def test_truncated_or_foreign_results(tmp_path, card, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text('{"accuracy": 0.7, "fact')
    assert "not valid JSON" in run_cli(["card", "--run", str(run), "--model-card", str(card)], capsys)
    (run / "results.json").write_text(json.dumps({"accuracy": 0.7}))
    assert "lacks 'images', 'factors'" in run_cli(
        ["card", "--run", str(run), "--model-card", str(card)], capsys
    )
    assert_untouched(card, GOOD_CARD)


def test_unknown_input_kinds(tmp_path):
    with pytest.raises(ResultsFileError, match="does not exist"):
        load_model_results(tmp_path / "nothing.csv")
    odd = tmp_path / "preds.txt"
    odd.write_text("x")
    with pytest.raises(ResultsFileError, match=r"\.csv/\.parquet"):
        load_model_results(odd)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"---\nlicense: [mit\ntags: x\n---\n# Model\n", r"does not parse at line \d+"),
        (b"---\n- just\n- a list\n---\n# Model\n", "not a mapping"),
        (
            b"---\nmodel-index:\n- results:\n  - {metrics: []}\n---\n# Model\n",
            "model-index .* cannot be read",
        ),
        (
            b"---\nlicense: mit\n---\n<!-- imagenet-x:robustness:start -->\nA\n"
            b"<!-- imagenet-x:robustness:start -->\n<!-- imagenet-x:robustness:end -->\n",
            "2 start and 1 end marker",
        ),
        (b"# Model\n<!-- imagenet-x:robustness:end -->\n", "0 start and 1 end marker"),
    ],
    ids=["malformed-yaml", "yaml-not-a-mapping", "bad-model-index", "duplicate-marker", "end-without-start"],
)
def test_damaged_card_is_refused_and_untouched(card, vit, content, message):
    card.write_bytes(content)
    with pytest.raises(ModelCardError, match=message) as info:
        update_model_card(card, vit.results, CardOptions(model_name="ViT"))
    assert "rerun" in str(info.value) and "not changed" in str(info.value)
    assert_untouched(card, content)


def test_malformed_yaml_through_the_cli(card, vit, capsys, tmp_path):
    bad = b"---\nlicense: mit\ntags: [a, b\n---\n# Model\n"
    card.write_bytes(bad)
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    err = run_cli(["card", "--run", str(run), "--model-card", str(card)], capsys)
    assert "imagenet-x card: error: the YAML block" in err and "fix the YAML" in err
    assert_untouched(card, bad)


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    assert huggingface_hub.get_token() is None


def test_push_without_token(no_token, card, vit, capsys, tmp_path):
    with pytest.raises(HubAuthError, match="hf auth login"):
        require_token()
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    err = run_cli(
        ["card", "--run", str(run), "--model-card", str(card), "--repo-id", "me/model", "--push"], capsys
    )
    assert "needs a token with write access" in err and "HF_TOKEN" in err
    assert_untouched(card, GOOD_CARD)


def test_push_options_need_a_repo(card, vit, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    assert "need --repo-id" in run_cli(
        ["card", "--run", str(run), "--model-card", str(card), "--push"], capsys
    )
    err = run_cli(
        ["card", "--run", str(run), "--model-card", str(card), "--repo-id", "me/m", "--commit"], capsys
    )
    assert "add --push" in err
    assert_untouched(card, GOOD_CARD)


def test_bad_template_leaves_card_untouched(card, vit, tmp_path):
    template = tmp_path / "bad.md.j2"
    template.write_text("{{ no_such_variable }}\n")
    with pytest.raises(ModelCardError, match="failed to render.*no_such_variable"):
        update_model_card(card, vit.results, CardOptions(model_name="ViT", template=template))
    with pytest.raises(ModelCardError, match="does not exist"):
        update_model_card(card, vit.results, CardOptions(model_name="ViT", template=tmp_path / "missing.j2"))
    assert_untouched(card, GOOD_CARD)


def test_failed_write_leaves_card_untouched(card, vit, monkeypatch):
    calls = []

    def failing_replace(src, dst):
        calls.append(dst)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(card_module.os, "replace", failing_replace)
    with pytest.raises(ModelCardError, match="No space left"):
        update_model_card(card, vit.results, CardOptions(model_name="ViT"))
    assert calls  # the write was attempted, and failed before touching the card
    assert_untouched(card, GOOD_CARD)


def test_errors_are_imagenet_x_errors():
    for cls in (ResultsFileError, ModelCardError, HubAuthError):
        assert issubclass(cls, ImageNetXError)
