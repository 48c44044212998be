"""More bad inputs, each ending in one line: on the command line at most 3 lines on stderr and
exit 2 (Ctrl-C: one line, exit 130, the run resumable); in Python the project's own error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ImageNetXError


def _cli(capsys, argv):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse
        code = stop.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    return code, lines


def _evaluate_argv(vit, source, out, *extra):
    return [
        "evaluate", "--model", str(vit), "--imagenet", str(source), "--allow-missing", "--output", str(out),
        "--batch-size", "4", "--shard-size", "8", "--workers", "0", "--no-progress", *extra,
    ]  # fmt: skip


def _one_line(raised):
    text = str(raised.value)
    assert len(text.strip().splitlines()) == 1, text
    return text


def _assert_cli_one_line(capsys, argv, says):
    code, lines = _cli(capsys, argv)
    assert code == 2, lines
    assert 1 <= len(lines) <= 3, lines
    assert "Traceback" not in "\n".join(lines)
    assert lines[-1].startswith("imagenet-x ") and "error: " in lines[-1], lines
    assert says in lines[-1], lines


@pytest.fixture
def small_source(tmp_path_factory):
    from imagenet_x_hf.testing import make_synthetic_imagenet

    return make_synthetic_imagenet(tmp_path_factory.mktemp("src"), layout="val_flat", n=6, size=(40, 32))


# -- 3. smaller silent traps ---------------------------------------------------------------------


def test_an_empty_output_is_refused(capsys, model_dirs, small_source, tmp_path, monkeypatch):
    from imagenet_x_hf.runner import RunOptions, evaluate_model

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImageNetXError, match="--output is empty") as raised:
        evaluate_model(str(model_dirs["vit"]), "", options=RunOptions(imagenet=str(small_source)))
    _one_line(raised)
    _assert_cli_one_line(capsys, _evaluate_argv(model_dirs["vit"], small_source, ""), "--output is empty")
    assert list(tmp_path.iterdir()) == []


def test_a_label_map_with_a_key_given_twice_is_refused(tmp_path):
    from imagenet_x_hf.runner import LoadOptions

    path = tmp_path / "map.json"
    path.write_text('{"0": 5, "1": 7, "0": 6}')
    with pytest.raises(ImageNetXError, match=r"key '0' twice") as raised:
        LoadOptions(label_map=str(path))
    _one_line(raised)


@pytest.mark.parametrize(
    ("label_map", "says"),
    [
        ({0: 1.7}, "1.7"),
        ({"a": 1}, "'a' is not a model output index"),
        ([1, 2], "label_map must be"),
        ({True: 1}, "True is not a model output index"),
    ],
)
def test_a_label_map_given_in_python_is_checked_like_a_file(label_map, says):
    from imagenet_x_hf.runner import LoadOptions

    with pytest.raises(ImageNetXError, match=None) as raised:
        LoadOptions(label_map=label_map)
    assert says in _one_line(raised)


def test_a_partial_or_many_to_one_label_map_warns():
    from imagenet_x_hf.runner import resolve_label_space

    with pytest.warns(UserWarning, match=r"1 of the model's 1000 outputs.*no ImageNet class"):
        resolve_label_space(1000, None, model="m", label_map={i: i for i in range(999)})
    with pytest.warns(UserWarning, match=r"2 model outputs .* same ImageNet class"):
        resolve_label_space(3, None, model="m", label_map={0: 5, 1: 5, 2: 7})


def test_score_refuses_an_empty_file_name_cell(tmp_path, capsys):
    csv = tmp_path / "model.csv"
    csv.write_text(
        "file_name,predicted_class,predicted_probability\n"
        "ILSVRC2012_val_00000001.JPEG,65,0.5\n,3,0.2\nILSVRC2012_val_00000002.JPEG,970,0.5\n"
    )
    code, lines = _cli(capsys, ["score", str(csv)])
    assert code == 2 and "empty file_name" in lines[-1], lines


# -- 6. foreign exceptions -------------------------------------------------------------------------


def test_the_api_refuses_wrong_types_with_its_own_error(model_dirs, tmp_path):
    from imagenet_x_hf.runner import RunOptions, evaluate_model

    for call, says in [
        (lambda: RunOptions(imagenet=123), "imagenet must be"),
        (lambda: RunOptions(source_kind="zip"), "source_kind must be one of"),
        (lambda: evaluate_model(None, tmp_path / "out"), "model must be"),
        (lambda: evaluate_model(str(model_dirs["vit"]), None), "output must be"),
    ]:
        with pytest.raises(ImageNetXError) as raised:
            call()
        assert says in _one_line(raised)


def test_a_config_json_that_is_a_list(capsys, model_dirs, small_source, tmp_path):
    from imagenet_x_hf.runner import model_spec

    model = tmp_path / "model"
    shutil.copytree(model_dirs["vit"], model)
    (model / "config.json").write_text("[1, 2]")
    with pytest.raises(ImageNetXError) as raised:
        model_spec(str(model))
    assert "config.json" in _one_line(raised)
    _assert_cli_one_line(capsys, _evaluate_argv(model, small_source, tmp_path / "o"), "config.json")


def test_text_files_named_like_images(capsys, model_dirs, small_source, tmp_path):
    import imagenet_x_hf

    fake = tmp_path / "val"
    fake.mkdir()
    for path in small_source.iterdir():
        (fake / path.name).write_text("not a picture")
    with pytest.raises(ImageNetXError, match="none of") as raised:
        imagenet_x_hf.load("validation", imagenet=fake, allow_missing=True, cache_dir=tmp_path / "c")
    _one_line(raised)
    _assert_cli_one_line(capsys, _evaluate_argv(model_dirs["vit"], fake, tmp_path / "o"), "none of")


def test_a_garbage_parquet_source(capsys, model_dirs, tmp_path):
    import imagenet_x_hf

    garbage = tmp_path / "imagenet.parquet"
    garbage.write_bytes(os.urandom(2048))
    with pytest.raises(ImageNetXError, match="Parquet") as raised:
        imagenet_x_hf.load("validation", imagenet=garbage, cache_dir=tmp_path / "c")
    _one_line(raised)
    _assert_cli_one_line(capsys, _evaluate_argv(model_dirs["vit"], garbage, tmp_path / "o"), "Parquet")


def test_a_home_folder_of_nobody(capsys, model_dirs, tmp_path):
    import imagenet_x_hf

    with pytest.raises(ImageNetXError, match="~nouser") as raised:
        imagenet_x_hf.load("validation", imagenet="~nouser/x")
    _one_line(raised)
    _assert_cli_one_line(capsys, _evaluate_argv(model_dirs["vit"], "~nouser/x", tmp_path / "o"), "~nouser")


@pytest.mark.slow
def test_a_damaged_run_json_or_invocations_json(capsys, model_dirs, small_source, tmp_path):
    out = tmp_path / "run"
    argv = _evaluate_argv(model_dirs["vit"], small_source, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv) == 0
        (out / "invocations.json").write_text("{broken")
        (out / "results.json").unlink()
        assert main(argv) == 0  # only the timing of earlier invocations is lost
        (out / "run.json").write_text("{broken")
        _assert_cli_one_line(capsys, argv, "run.json is damaged")


# -- 7. wording ------------------------------------------------------------------------------------


def test_argparse_errors_are_one_line(capsys):
    code, lines = _cli(capsys, ["evaluate", "--model", "x", "--output", "o", "--no-such-flag"])
    assert code == 2 and len(lines) == 1 and "--no-such-flag" in lines[0], lines
    code, lines = _cli(capsys, ["evaluate", "--output", "o", "--imagenet", "v", "--source-kind", "zip"])
    assert code == 2 and len(lines) == 1 and "invalid choice: 'zip'" in lines[0], lines


def test_source_kinds_are_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--source-kind {folder,class_folders,val_tar,train_tar,webdataset,parquet,hub}" in text


def test_zero_shot_on_a_classifier_says_so(model_dirs):
    from imagenet_x_hf.runner import model_spec

    with pytest.raises(ImageNetXError, match="not an image-text dual encoder") as raised:
        model_spec(str(model_dirs["vit"]), adapter="zero-shot")
    _one_line(raised)


@pytest.mark.slow
def test_a_changed_label_map_is_named_once(model_dirs, small_source, tmp_path):
    from imagenet_x_hf.runner import LoadOptions, RunOptions, evaluate_model

    def run(label_map):
        options = RunOptions(
            imagenet=str(small_source), allow_missing=True, progress=False, num_workers=0,
            load=LoadOptions(label_map=label_map),
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return evaluate_model(str(model_dirs["vit"]), tmp_path / "run", options=options)

    run({i: i for i in range(1000)})
    with pytest.raises(ImageNetXError, match=r"changed since: label_map_sha256\)") as raised:
        run({i: (i + 1) % 1000 for i in range(1000)})
    assert len(str(raised.value)) < 400


@pytest.mark.slow
def test_ctrl_c_is_one_line_exit_130_and_the_run_resumes(model_dirs, tmp_path, subprocess_env):
    from imagenet_x_hf.testing import make_synthetic_imagenet

    source = make_synthetic_imagenet(tmp_path / "src", layout="val_flat", n=16, size=(40, 32))
    out = tmp_path / "run"

    def command(folder):
        argv = _evaluate_argv(model_dirs["vit"], source, folder, "--batch-size", "1", "--shard-size", "4")
        argv[argv.index("--workers") + 1] = "1"
        return [sys.executable, "-m", "imagenet_x_hf", *argv]

    # an uninterrupted run first (into another folder): what stderr holds without Ctrl-C
    clean = subprocess.run(command(tmp_path / "clean"), env=subprocess_env(), capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr[-2000:]
    # (less the dataset build's progress: the source is built by the first run only)
    usual = [line for line in clean.stderr.splitlines() if line.strip() and "Generating" not in line]
    # Ctrl-C as a terminal sends it: SIGINT to the whole process group (decoding workers too),
    # here right after the first shard is written
    interrupt = subprocess_env(IMAGENET_X_HF_CRASH="shard-written:1:interrupt")
    proc = subprocess.Popen(
        command(out),
        env=interrupt,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130, err
    assert lines[: len(usual)] == usual, err
    assert len(lines) == len(usual) + 1 and "interrupted" in lines[-1] and "again" in lines[-1], err
    done = subprocess.run(command(out), env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    timing = json.loads((out / "results.json").read_text())["run"]["timing"]
    assert timing["images_resumed_from_earlier_invocations"] >= 4
