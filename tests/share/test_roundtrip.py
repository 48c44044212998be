"""Export, then read back: the layout datasets loads, the models table, and scores equal to the source's."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.metrics import read_predictions, score_predictions
from imagenet_x_hf.settings import ScoringOptions
from imagenet_x_hf.share import PredictionsRepoError, export_predictions, open_predictions

from .conftest import MODEL_NAMES, PREDICTIONS_DIR, RUN_MODEL, run_table

SETTINGS = [
    {"which_factor": which, "error_type": error}
    for which in ("top", "multi")
    for error in ("class", "real_class", "metaclass")
] + [
    {"which_factor": "top", "error_type": "real_class", "empty_real": "exclude", "filter_prototypes": False},
    {"which_factor": "multi", "error_type": "class", "confidence_level": 0.9},
]


@pytest.mark.slow
def test_datasets_loads_each_model_and_the_models_table(authors_repo):
    for name in ("ViT", "SimCLR"):
        ds = datasets.load_dataset(str(authors_repo), name, split="validation")
        csv = read_predictions(PREDICTIONS_DIR / f"{name}.csv")
        assert ds.num_rows == len(csv) == 50_000
        assert ds["file_name"][:3] == csv.names()[:3].tolist()
        assert np.array_equal(np.asarray(ds["predicted_class"]), csv.predicted_class)
        assert np.array_equal(np.asarray(ds["predicted_probability"]), csv.predicted_probability)
    models = datasets.load_dataset(str(authors_repo), split="train")  # the default configuration
    assert sorted(models["config"]) == sorted(MODEL_NAMES)
    assert set(models["license"]) == {"cc-by-nc-4.0"}
    assert "CC BY-NC 4.0" in (authors_repo / "LICENSE-imagenetx").read_text()
    card = (authors_repo / "README.md").read_text()
    assert (
        "config_name: ViT" in card
        and "path: predictions/ViT.parquet" in card
        and "license: cc-by-nc-4.0" in card
    )


MULTI = ScoringOptions(which_factor="multi")


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(str(v) for v in s.values()))
def test_authors_files_score_the_same_from_the_export(authors_repo, settings):
    repo = open_predictions(authors_repo / "DINO")
    (model,) = repo.models
    exported = score_predictions(repo.read(model), ScoringOptions(**settings)).to_dict()
    original = score_predictions(
        read_predictions(PREDICTIONS_DIR / "DINO.csv"), ScoringOptions(**settings)
    ).to_dict()
    assert exported == original  # every number, intervals and calibration included, to 0.0
    assert exported["calibration"] is not None


def test_run_round_trip_every_setting(run_dir, tmp_path):
    results = json.loads((run_dir / "results.json").read_text())
    out = export_predictions([run_dir], tmp_path / "repo")
    (m,) = out.exported
    assert m.config == "org--tiny-vit" and m.model == RUN_MODEL and m.has_top5
    repo = open_predictions(tmp_path / "repo")
    (model,) = repo.models
    row = model.row
    assert row["revision"] == "main" and row["commit"] == "c" * 40 and row["fingerprint"] == "f" * 64
    assert json.loads(row["options_json"])["batch_size"] == 64
    assert json.loads(row["load_report_json"]) == {"missing_keys": [], "unexpected_keys": []}
    assert row["accuracy"] == results["accuracy"]
    predictions = repo.read(model)
    # the run's own numbers, as results.json holds them
    again = score_predictions(predictions).to_dict()
    assert json.loads(json.dumps(again)) == {k: v for k, v in results.items() if k not in ("run", "zoo")}
    for settings in SETTINGS:
        options = ScoringOptions(**settings)
        source = score_predictions(read_predictions(run_dir / "predictions.parquet", name=RUN_MODEL), options)
        assert score_predictions(predictions, options) == source
    table = pq.read_table(tmp_path / "repo" / m.file)
    original = run_table()
    assert (
        table.schema.field("predicted_probability").type
        == original.schema.field("predicted_probability").type
    )
    assert np.array_equal(
        table["top5_classes"].combine_chunks().flatten().to_numpy(),
        original["top5_classes"].combine_chunks().flatten().to_numpy(),
    )
    assert np.array_equal(
        table["top5_probabilities"].combine_chunks().flatten().to_numpy(),
        original["top5_probabilities"].combine_chunks().flatten().to_numpy(),
    )
    ds = datasets.load_dataset(str(tmp_path / "repo"), "org--tiny-vit", split="validation")
    assert len(ds[0]["top5_classes"]) == 5


def test_reexport_replaces_one_model_and_keeps_the_others(tmp_path):
    from .conftest import authors_files

    folder = tmp_path / "repo"
    export_predictions(authors_files()[:2], folder)
    kept = (folder / "predictions" / "DINO.parquet").read_bytes()
    csv = read_predictions(PREDICTIONS_DIR / "ResNet50.csv")
    changed = csv.predicted_class.copy()
    changed[:100] = (changed[:100] + 1) % 1000
    from imagenet_x_hf.metrics import Predictions

    replacement = Predictions.from_arrays(csv.file_names, changed, csv.predicted_probability, name="ResNet50")
    out = export_predictions([replacement], folder)
    assert [m.replaced for m in out.exported] == [True]
    assert out.models == ["DINO", "ResNet50"]
    assert (folder / "predictions" / "DINO.parquet").read_bytes() == kept
    repo = open_predictions(folder)
    by_name = {m.config: m for m in repo.models}
    assert np.array_equal(repo.read(by_name["ResNet50"]).predicted_class, changed)
    assert by_name["DINO"].row["license"] == "cc-by-nc-4.0" and by_name["ResNet50"].row["license"] is None
    assert "config_name: DINO" in (folder / "README.md").read_text()


def test_logits_are_exported_in_float16(tmp_path):
    import pyarrow as pa

    table = run_table().slice(0, 300)
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 1000)).astype(np.float32)
    with_logits = table.append_column(
        "logits", pa.FixedSizeListArray.from_arrays(pa.array(logits.ravel()), 1000)
    )
    source = tmp_path / "mine.parquet"
    pq.write_table(with_logits, source)
    out = export_predictions([source], tmp_path / "repo", logits=True)
    assert out.exported[0].has_logits
    stored = pq.read_table(tmp_path / "repo" / out.exported[0].file)["logits"].combine_chunks()
    assert stored.type.value_type == pa.float16() and stored.type.list_size == 1000
    assert np.allclose(stored.flatten().to_numpy().astype(np.float32), logits.ravel(), atol=1e-2, rtol=1e-3)
    pq.write_table(table, tmp_path / "plain.parquet")
    with pytest.raises(PredictionsRepoError, match="no logits column"):
        export_predictions([tmp_path / "plain.parquet"], tmp_path / "repo2", logits=True)


def test_changed_file_and_bad_requests_are_clear_errors(tmp_path):
    from .conftest import authors_files

    folder = tmp_path / "repo"
    export_predictions(authors_files()[3:], folder)
    with pytest.raises(PredictionsRepoError, match="no model 'Nope'; it holds: ViT"):
        open_predictions(folder / "Nope")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(PredictionsRepoError, match="not empty and holds no models.parquet"):
        export_predictions(authors_files()[3:], other)
    with pytest.raises(PredictionsRepoError, match="cannot be called 'models'"):
        export_predictions(authors_files()[3:], tmp_path / "r3", names=["models"])
    table = pq.read_table(folder / "predictions" / "ViT.parquet")
    pq.write_table(table.slice(1), folder / "predictions" / "ViT.parquet")
    repo = open_predictions(folder)
    with pytest.raises(PredictionsRepoError, match="was changed after export"):
        repo.read(repo.models[0])


def test_models_sharing_an_image_list_read_it_once_and_the_same(authors_repo, tmp_path):
    from imagenet_x_hf.metrics import Predictions

    repo = open_predictions(authors_repo)
    keys = {m.row["file_names_sha256"] for m in repo.models}
    assert len(keys) == 1  # the four files list the same 50,000 images
    for model in repo.models:
        got = repo.read(model)
        want = read_predictions(PREDICTIONS_DIR / f"{model.model}.csv")
        assert np.array_equal(got.names(), want.names())
        assert np.array_equal(got.predicted_class, want.predicted_class)
        assert np.array_equal(got.predicted_probability, want.predicted_probability)
        assert score_predictions(got, MULTI) == score_predictions(want, MULTI)
    assert len(repo._names) == 1
    # a model on other images has its own list
    csv = read_predictions(PREDICTIONS_DIR / "ViT.csv")
    part = Predictions.from_arrays(csv.file_names[:1000], csv.predicted_class[:1000], name="part")
    folder = tmp_path / "mixed"
    export_predictions([PREDICTIONS_DIR / "ViT.csv", part], folder)
    repo = open_predictions(folder)
    read = {m.model: repo.read(m) for m in repo.models}
    assert len(read["part"]) == 1000 and len(read["ViT"]) == 50_000
    assert np.array_equal(read["part"].names(), csv.names()[:1000])
