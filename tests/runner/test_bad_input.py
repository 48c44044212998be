"""Every expected failure is one line naming the problem and the fix: the CLI exits 2 with it
(no traceback), the Python API raises the project's own error with it."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ImageNetXError


@dataclass
class Case:
    """A bad input: how the command line gets it, how the API gets it, what the message says."""

    args: dict[str, Any]  # evaluate options to change: flag -> value (None drops it, True adds it)
    api: Callable[[], Any]
    says: str
    never_says: tuple[str, ...] = field(default=())


def _cases(ctx) -> dict[str, Case]:
    from imagenet_x_hf import load
    from imagenet_x_hf.runner import LoadOptions, RunOptions, ScoringOptions, evaluate_model, model_spec

    tmp, vit, src = ctx["tmp"], ctx["vit"], ctx["source"]
    (tmp / "a-file").write_text("not a folder")
    (tmp / "models").mkdir()
    (tmp / "bad-map.json").write_text("{not json")
    (tmp / "elsewhere").mkdir()
    (tmp / "elsewhere" / "notes.txt").write_text("no images here")
    (tmp / "random").mkdir()
    random_tar = tmp / "random" / "ILSVRC2012_img_val.tar"
    random_tar.write_bytes(os.urandom(64 * 1024))
    (tmp / "data").mkdir()  # data/val: a typo inside a local folder, not a Hub id
    (tmp / "gzipped").mkdir()
    gzip_tar = tmp / "gzipped" / "ILSVRC2012_img_val.tar"
    gzip_tar.write_bytes(gzip.compress(os.urandom(4096)))
    corrupt = tmp / "corrupt-vit"
    shutil.copytree(vit, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64 + b"these are not tensors")

    def run(model=str(vit), output=tmp / "out", **options):
        return lambda: evaluate_model(
            model,
            output,
            options=RunOptions(imagenet=str(src), allow_missing=True, progress=False, **options),
        )

    return {
        "output is a file": Case(
            {"--output": "a-file"}, run(output=tmp / "a-file"), "is a file, not a folder"
        ),
        "output under a file": Case(
            {"--output": "a-file/sub"}, run(output=tmp / "a-file" / "sub"), "a-file is a file"
        ),
        "corrupt safetensors": Case(
            {"--model": str(corrupt)},
            lambda: model_spec(str(corrupt)).load(),
            "is the weights file complete?",
        ),
        "negative workers": Case(
            {"--workers": "-1"}, lambda: RunOptions(num_workers=-1), "--workers must be a whole number >= 0"
        ),
        "zero batch size": Case(
            {"--batch-size": "0"}, lambda: RunOptions(batch_size=0), "--batch-size must be a positive"
        ),
        "zero shard size": Case(
            {"--shard-size": "0"}, lambda: RunOptions(shard_size=0), "--shard-size must be a positive"
        ),
        "confidence level 2": Case(
            {"--confidence-level": "2"},
            lambda: RunOptions(scoring=ScoringOptions(confidence_level=2)),
            "confidence_level must be a number between 0 and 1",
        ),
        "label map not JSON": Case(
            {"--label-map": "bad-map.json"},
            lambda: LoadOptions(label_map=str(tmp / "bad-map.json")),
            "is not valid JSON",
        ),
        "label map missing": Case(
            {"--label-map": "no-map.json"},
            lambda: LoadOptions(label_map=str(tmp / "no-map.json")),
            "cannot read the label map",
        ),
        "local model path that does not exist": Case(
            {"--model": "models/nope"}, lambda: model_spec("models/nope"), "models/nope does not exist"
        ),
        "uncached Hub model offline": Case(
            {"--model": "nobody/uncached-model"},
            lambda: model_spec("nobody/uncached-model"),
            "is not in the local cache",
        ),
        "images missing without --allow-missing": Case(
            {"--allow-missing": None},
            lambda: load("validation", imagenet=src, filter_prototypes=False),
            "missing",
            never_says=("allow_missing=True",),
        ),
        "not an ImageNet folder, with --allow-missing": Case(
            {"--imagenet": "elsewhere"},
            lambda: load("validation", imagenet=tmp / "elsewhere", allow_missing=True),
            "holds no ImageNet images",
        ),
        "random bytes named like the val tar": Case(
            {"--imagenet": str(random_tar)},
            lambda: load("validation", imagenet=random_tar),
            "is not a readable tar",
            never_says=("invalid literal",),
        ),
        "gzip named like the val tar": Case(
            {"--imagenet": str(gzip_tar)},
            lambda: load("validation", imagenet=gzip_tar),
            "is a gzip-compressed file, not a plain tar",
        ),
        "val_tar kind on a folder": Case(
            {"--source-kind": "val_tar"},
            lambda: load("validation", imagenet=src, source_kind="val_tar"),
            "needs a tar file",
            never_says=("IsADirectoryError",),
        ),
        "relative ImageNet path that does not exist": Case(
            {"--imagenet": "data/val"},
            lambda: load("validation", imagenet="data/val"),
            "'data/val' does not exist",
        ),
        "uncached Hub dataset offline": Case(
            {"--imagenet": "nobody/uncached-imagenet"},
            lambda: load("validation", imagenet="nobody/uncached-imagenet"),
            "not in the local cache while the Hub is offline",
        ),
        "no ImageNet source": Case(
            {"--imagenet": None}, lambda: evaluate_model(str(vit), tmp / "out"), "no ImageNet source"
        ),
        "zero-shot template without {}": Case(
            {"--template": "a photo"}, lambda: LoadOptions(templates=("a photo",)), "needs a '{}'"
        ),
        "revision of a local folder": Case(
            {"--revision": "v2"},
            lambda: model_spec(str(vit), options=LoadOptions(revision="v2")),
            "--revision",
        ),
        "unknown preprocessing (API only: argparse checks the CLI's choices)": Case(
            {}, lambda: RunOptions(preprocessing="fastest"), "preprocessing must be one of"
        ),
        "scoring options of the wrong type": Case(
            {}, lambda: RunOptions(scoring="multi"), "scoring must be a ScoringOptions"
        ),
    }


CASES = [
    "output is a file",
    "output under a file",
    pytest.param("corrupt safetensors", marks=pytest.mark.slow),
    "negative workers",
    "zero batch size",
    "zero shard size",
    "confidence level 2",
    "label map not JSON",
    "label map missing",
    "local model path that does not exist",
    "uncached Hub model offline",
    "images missing without --allow-missing",
    pytest.param("not an ImageNet folder, with --allow-missing", marks=pytest.mark.slow),
    "random bytes named like the val tar",
    "gzip named like the val tar",
    "val_tar kind on a folder",
    "relative ImageNet path that does not exist",
    "uncached Hub dataset offline",
    "no ImageNet source",
    "zero-shot template without {}",
    "revision of a local folder",
    "unknown preprocessing (API only: argparse checks the CLI's choices)",
    "scoring options of the wrong type",
]


@pytest.fixture
def ctx(tmp_path, model_dirs, imagenet_source, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths (models/nope, a-file) are taken from here
    return {"tmp": tmp_path, "vit": model_dirs["vit"], "source": imagenet_source}


def _argv(ctx, changes: dict[str, Any]) -> list[str]:
    options: dict[str, Any] = {
        "--model": str(ctx["vit"]),
        "--imagenet": str(ctx["source"]),
        "--allow-missing": True,
        "--output": "out",
        "--workers": "0",
        "--no-progress": True,
    }
    options.update(changes)
    argv = ["evaluate"]
    for flag, value in options.items():
        if value is True:
            argv.append(flag)
        elif value is not None:
            argv += [flag, value]
    return argv


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line(name, ctx, capsys):
    case = _cases(ctx)[name]
    with pytest.raises(ImageNetXError) as raised:
        case.api()
    assert len(str(raised.value).strip().splitlines()) == 1, str(raised.value)
    if not case.args:
        assert case.says in str(raised.value)
        return
    capsys.readouterr()
    code = main(_argv(ctx, case.args))
    err = capsys.readouterr().err
    assert code == 2, err
    # stderr may also carry warnings and progress output before it; the error is one line, the last
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert errors == [err.strip().splitlines()[-1]], err
    assert errors[0].startswith("imagenet-x evaluate: error: ")
    assert case.says in errors[0], err
    for text in case.never_says:
        assert text not in err


@pytest.mark.slow
def test_the_console_command_exits_2_without_a_traceback(tmp_path, model_dirs, imagenet_source):
    (tmp_path / "a-file").write_text("x")
    argv = _argv(
        {"vit": model_dirs["vit"], "source": imagenet_source}, {"--output": str(tmp_path / "a-file")}
    )
    done = subprocess.run([sys.executable, "-m", "imagenet_x_hf", *argv], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1:] == [
        f"imagenet-x evaluate: error: --output {tmp_path / 'a-file'} is a file, not a folder; choose a folder path"
    ]


def test_a_timm_folder_loads_only_safetensors_without_allow_pickle(tiny, tmp_path):
    """pytorch_model.bin beside an unrelated *.safetensors file: timm would read the pickle."""
    import torch

    from imagenet_x_hf.runner import LoadOptions, ModelLoadError, model_spec

    folder = tiny.build_timm(tmp_path / "timm")
    weights = folder / "model.safetensors"
    from safetensors.torch import load_file

    torch.save(load_file(weights), folder / "pytorch_model.bin")
    weights.rename(folder / "optimizer.safetensors")
    with pytest.raises(ModelLoadError, match="pytorch_model.bin.*--allow-pickle"):
        model_spec(str(folder))
    spec = model_spec(str(folder), options=LoadOptions(allow_pickle=True))
    assert isinstance(spec.load(), torch.nn.Module)
    # with model.safetensors present, timm reads it and no flag is needed
    shutil.copy(folder / "optimizer.safetensors", folder / "model.safetensors")
    assert model_spec(str(folder)).load() is not None
    assert json.loads((folder / "config.json").read_text())["architecture"] == "resnet10t"
    assert Path(folder / "pytorch_model.bin").is_file()
