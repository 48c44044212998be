"""Export the annotations as a Hub-ready dataset repository (Parquet, dataset card, benchmark).

The folder it writes loads with ``datasets.load_dataset(folder)`` exactly like the
Hub repository it becomes after ``push``: the card's YAML declares the configs and
the features, so no loading script is needed. ``eval.yaml`` at its root declares the
repository a Hub benchmark (see ``imagenet_x_hf.reports.eval_results``), whose
leaderboards collect the ``.eval_results`` files that ``imagenet-x card`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path

import datasets
from huggingface_hub import DatasetCard, DatasetCardData

from imagenet_x_hf.api import load
from imagenet_x_hf.errors import ImageNetXError

# config name -> whether validation prototypes are dropped
CONFIGS: dict[str, bool] = {"default": True, "with_prototypes": False}
# The card's placeholder for the repository id, filled in when the id is known.
REPO_PLACEHOLDER = "<this repo>"
COMMIT_MESSAGE = "Add ImageNet-X annotations and benchmark definition (imagenet-x-hf export-hub)"


def card_template_path() -> Path:
    """``dataset_card.md``: inside the installed package, or at the top of a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "dataset_card.md", here.parent / "dataset_card.md"):
        if candidate.is_file():
            return candidate
    raise ImageNetXError(
        "dataset_card.md is missing from the installation; reinstall imagenet-x-hf "
        "(pip install --force-reinstall imagenet-x-hf)"
    )


def _parquet_name(config: str, split: str) -> str:
    return f"data/{config}/{split}-00000-of-00001.parquet"


def export_hub(
    output_dir: str | os.PathLike,
    *,
    annotations_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    repo_id: str | None = None,
) -> Path:
    """Write the dataset repository to ``output_dir`` and return its path.

    Layout: ``data/<config>/<split>-00000-of-00001.parquet`` for the configs
    ``default`` (prototypes excluded, as ``imagenet_x_hf.load`` does by default) and
    ``with_prototypes``; ``README.md``: ``dataset_card.md`` with ``configs:`` and
    ``dataset_info:`` filled in from the data (and ``repo_id``, when given, in its
    ``load_dataset`` examples); ``eval.yaml``: the benchmark's tasks.
    """
    out = Path(output_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ImageNetXError(
            f"{str(out)!r} is not empty; choose an empty folder or pass overwrite=True (--overwrite)"
        )
    (out / "data").mkdir(parents=True, exist_ok=True)

    infos = {}
    configs = {}
    for config, filter_prototypes in CONFIGS.items():
        splits = []
        features = None
        data_files = []
        for split in ("validation", "train"):
            ds = load(
                split,
                filter_prototypes=filter_prototypes,
                annotations_dir=annotations_dir,
                cache_dir=cache_dir,
            )
            path = out / _parquet_name(config, split)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".parquet.tmp")
            ds.to_parquet(str(tmp))
            os.replace(tmp, path)  # a crash never leaves a half-written Parquet file
            features = ds.features
            splits.append(
                datasets.SplitInfo(
                    name=split, num_examples=ds.num_rows, num_bytes=ds.data.nbytes, dataset_name="imagenet_x"
                )
            )
            data_files.append({"split": split, "path": _parquet_name(config, split)})
        infos[config] = datasets.DatasetInfo(
            features=features,
            splits=datasets.SplitDict.from_split_dict([vars(s) for s in splits]),
            config_name=config,
        )
        configs[config] = {"data_files": data_files, **({"default": True} if config == "default" else {})}

    template = DatasetCard(card_template_path().read_text(encoding="utf-8"))
    data: DatasetCardData = template.data
    datasets.utils.metadata.MetadataConfigs(configs).to_dataset_card_data(data)
    datasets.info.DatasetInfosDict(infos).to_dataset_card_data(data)
    card = template
    card.data = data
    text = str(card)
    if repo_id:
        text = text.replace(f'"{REPO_PLACEHOLDER}"', f'"{repo_id}"')
    _write_text(out / "README.md", text)
    from imagenet_x_hf.reports.eval_results import EVAL_YAML, eval_yaml_text

    _write_text(out / EVAL_YAML, eval_yaml_text())
    return out


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def push_to_hub(
    folder: str | os.PathLike, repo_id: str, *, commit: bool = False, private: bool = False
) -> str:
    """Upload an exported folder to the Hub in one commit; returns the commit or pull request URL.

    A pull request unless ``commit``; rerunning updates our open pull request instead of
    opening another. The commit the upload builds on is read first and passed as
    ``parent_commit``, so a push made meanwhile by someone else is never overwritten.
    Needs a token (``hf auth login`` or ``HF_TOKEN``); it is never printed.
    """
    from huggingface_hub import CommitOperationAdd, HfApi, get_token

    from imagenet_x_hf.reports.hub import commit_files, head_commit

    if get_token() is None:
        raise ImageNetXError(
            "pushing needs a Hugging Face token with write access: run 'hf auth login' or set HF_TOKEN"
        )
    folder = Path(folder)
    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    parent = head_commit(api, repo_id, repo_type="dataset")
    operations = [
        CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=str(path))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith(".tmp")
    ]
    return commit_files(
        api,
        repo_id,
        operations,
        repo_type="dataset",
        title=COMMIT_MESSAGE,
        commit=commit,
        revision=None,
        parent_commit=parent,
    )
