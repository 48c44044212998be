"""The dataset card of a predictions repository, generated from its models table.

The YAML header declares one configuration per model (``datasets.load_dataset(REPO,
"<model>")`` and the Hub's viewer read it) and the ``models`` table as the default one.
The text says what the predictions are, how to score them and under which licences
they come.
"""

from __future__ import annotations

import pyarrow as pa
import yaml

from imagenet_x_hf.share.layout import AUTHORS_LICENSE, MODELS_CONFIG, MODELS_FILE, SPLIT

_PLACEHOLDER = "ORG/REPO"


def card_configs(table: pa.Table) -> list[dict]:
    """The ``configs:`` entries: the models table (default), then one per model."""
    configs = [
        {
            "config_name": MODELS_CONFIG,
            "data_files": [{"split": "train", "path": MODELS_FILE}],
            "default": True,
        }
    ]
    for row in table.to_pylist():
        configs.append(
            {
                "config_name": row["config"],
                "data_files": [{"split": row.get("split") or SPLIT, "path": row["file"]}],
            }
        )
    return configs


def _licence(rows: list[dict]) -> str:
    licences = {r.get("license") for r in rows}
    if licences == {AUTHORS_LICENSE}:
        return AUTHORS_LICENSE
    if len(licences) == 1 and None not in licences:
        return str(next(iter(licences)))
    return "other"


def _has_authors(rows: list[dict]) -> bool:
    return any(r.get("license") == AUTHORS_LICENSE and r.get("source_kind") == "authors" for r in rows)


def _cell(value, fmt: str = "") -> str:
    return "-" if value is None else format(value, fmt)


def dataset_card(table: pa.Table, *, repo_id: str | None = None) -> str:
    """The README.md of a predictions repository holding the models of ``table``.

    >>> from imagenet_x_hf.share.export import models_table
    >>> text = dataset_card(models_table([{"config": "toy", "model": "toy", "file": "predictions/toy.parquet"}]))
    >>> "config_name: toy" in text and "load_dataset" in text
    True
    """
    rows = table.to_pylist()
    header: dict = {"license": _licence(rows)}
    if header["license"] == "other":
        # the Hub asks a name (and a link) for a licence it does not know: here, one per model
        header["license_name"] = "per-model"
        header["license_link"] = "LICENSE-imagenetx" if _has_authors(rows) else "README.md"
    header |= {
        "pretty_name": "ImageNet-X predictions",
        "tags": ["imagenet-x", "model-predictions", "robustness", "imagenet"],
        "task_categories": ["image-classification"],
        "configs": card_configs(table),
    }
    repo = repo_id or _PLACEHOLDER
    first = rows[0]["config"] if rows else "MODEL"
    lines = [
        "---",
        yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(),
        "---",
        "",
        "# ImageNet-X predictions",
        "",
        f"Per-image ImageNet predictions of {len(rows)} model{'s' if len(rows) != 1 else ''}, one configuration "
        "per model, written by `imagenet-x export-predictions` (package `imagenet-x-hf`). With them any "
        "breakdown of the models' mistakes can be computed again without running the models: the per-factor "
        "error ratios of ImageNet-X (Idrissi et al., ICLR 2023), ImageNet-ReaL or metaclass errors, "
        "calibration, or a label set published later.",
        "",
        "## What each configuration holds",
        "",
        "One row per image, in the model's run order:",
        "",
        "- `file_name`: the ImageNet file name (`ILSVRC2012_val_00000001.JPEG`);",
        "- `predicted_class`: the top-1 ImageNet class id (0-999, standard order);",
        "- `predicted_probability`: its softmax probability, at the precision the run stored it;",
        "- `top5_classes`, `top5_probabilities`: the five most probable classes, when the run kept them;",
        "- `logits`: all 1000 logits in float16, when exported with `--logits`.",
        "",
        f"The `{MODELS_CONFIG}` configuration (the default) is the models table: model id and revision, the run's "
        "settings (`options_json`) and fingerprint, accuracy under the ImageNet-X toolkit's defaults, model "
        "type and family where known, the model's load report and the image source's identity where the "
        "run recorded them, the licence, and each file's sha256.",
        "",
        "## How to load and score",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'models = load_dataset("{repo}", split="train")            # the models table',
        f'preds = load_dataset("{repo}", "{first}", split="{SPLIT}")',
        "```",
        "",
        "Per-factor error ratios with intervals, for one model or all, downloading only the files asked for "
        "(`pip install imagenet-x-hf`):",
        "",
        "```bash",
        f"imagenet-x score hf://datasets/{repo}/{first}",
        f"imagenet-x score hf://datasets/{repo} --error-type real_class --which-factor multi --json",
        f"imagenet-x compare hf://datasets/{repo}",
        f"imagenet-x rank hf://datasets/{repo}/{first}",
        "```",
        "",
        "```python",
        "from imagenet_x_hf.metrics import score_predictions",
        "from imagenet_x_hf.share import open_predictions",
        "",
        f'repo = open_predictions("hf://datasets/{repo}")',
        "results = {m.model: score_predictions(repo.read(m)) for m in repo.models}",
        "```",
        "",
        "## Models",
        "",
        "| model | configuration | images | accuracy | top-5 | type | licence |",
        "| --- | --- | ---: | ---: | :---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | `{r['config']}` | {_cell(r.get('images'), ',')} | {_cell(r.get('accuracy'), '.4f')} | "
            f"{'yes' if r.get('has_top5') else 'no'} | {r.get('model_type') or '-'} | {r.get('license') or 'not stated'} |"
        )
    lines += [
        "",
        "## Licences",
        "",
        'The predictions of each model come under the licence in its row above ("not stated": the exporter '
        "gave none; ask them before reuse). The ImageNet-X annotations used to score them are the authors' "
        "(CC BY-NC 4.0); ImageNet images are not included and remain under ImageNet's terms of access.",
    ]
    if _has_authors(rows):
        lines += [
            "",
            "The prediction files of DINO, ResNet50, SimCLR and ViT are the ImageNet-X authors' release, under "
            "CC BY-NC 4.0 (non-commercial use, with attribution); see `LICENSE-imagenetx`.",
        ]
    lines += [
        "",
        "## Citation",
        "",
        "```bibtex",
        "@inproceedings{idrissi2023imagenetx,",
        "  title={ImageNet-X: Understanding Model Mistakes with Factor of Variation Annotations},",
        "  author={Idrissi, Badr Youbi and Bouchacourt, Diane and Balestriero, Randall and Evtimov, Ivan and",
        "          Hazirbas, Caner and Ballas, Nicolas and Vincent, Pascal and Drozdzal, Michal and",
        "          Lopez-Paz, David and Ibrahim, Mark},",
        "  booktitle={International Conference on Learning Representations},",
        "  year={2023}",
        "}",
        "```",
        "",
    ]
    return "\n".join(lines)
