"""Where a model lives: a local directory or a Hub repository, read the same way.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "config.json").write_text(json.dumps({"model_type": "vit"}))
>>> src = ModelSource.resolve(str(d))
>>> src.is_local, src.config()["model_type"]
(True, 'vit')
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagenet_x_hf.errors import ModelLoadError


@dataclass
class ModelSource:
    """A model reference as given (``ref``), resolved to a local directory or a Hub repo."""

    ref: str
    revision: str | None = None
    local_dir: Path | None = None

    @classmethod
    def resolve(cls, ref: str, *, revision: str | None = None) -> ModelSource:
        """A local directory when ``ref`` names one, else a Hub id; a path that is not there says so.

        >>> ModelSource.resolve("./models/nope")
        Traceback (most recent call last):
        ...
        imagenet_x_hf.errors.ModelLoadError: the model folder ./models/nope does not exist; check the path (a Hub id has the form owner/name)
        """
        for prefix in ("hf-hub:", "hf_hub:"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
        path = Path(ref).expanduser()
        if path.is_dir():
            if revision is not None:
                raise ModelLoadError(f"--revision applies to Hub models; {ref} is a local directory")
            return cls(ref=str(path.resolve()), local_dir=path.resolve())
        if path.exists():
            raise ModelLoadError(f"{ref} is a file; pass the folder the model was saved in")
        looks_local = ref.startswith((".", "/", "~")) or ref.count("/") > 1 or "\\" in ref
        # "models/nope" next to an existing folder "models" is a path, not the Hub repo models/nope
        if looks_local or (ref.count("/") == 1 and path.parent.is_dir()):
            raise ModelLoadError(
                f"the model folder {ref} does not exist; check the path (a Hub id has the form owner/name)"
            )
        return cls(ref=ref, revision=revision)

    @property
    def is_local(self) -> bool:
        return self.local_dir is not None

    def file(self, name: str, *, required: bool = True) -> Path | None:
        """A file of the model (downloaded into the Hub cache when remote)."""
        if self.local_dir is not None:
            path = self.local_dir / name
            if path.is_file():
                return path
            if required:
                raise ModelLoadError(f"{self.ref} has no {name}; is this a saved model directory?")
            return None
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        try:
            return Path(hf_hub_download(self.ref, name, revision=self.revision))
        except LocalEntryNotFoundError:
            # offline (HF_HUB_OFFLINE=1, or no network) and not in the local cache
            if not required:
                return None
            raise ModelLoadError(
                f"{self.ref} is not a local folder, and the Hub model {self.ref} is not in the local "
                f"cache ({name} missing) while the Hub cannot be reached; download it once with "
                f"network access (hf download {self.ref}) or pass the folder it was saved in"
            ) from None
        except EntryNotFoundError:
            if required:
                raise ModelLoadError(f"the Hub model {self.ref} has no {name}") from None
            return None
        except (RepositoryNotFoundError, RevisionNotFoundError) as err:
            raise ModelLoadError(
                f"cannot find the Hub model {self.ref}"
                + (f" at revision {self.revision}" if self.revision else "")
                + f" ({type(err).__name__}); check the id, or log in for a gated/private model"
            ) from None
        except Exception as err:  # network, permissions, ...: say what was asked for
            raise ModelLoadError(f"cannot fetch {name} of the Hub model {self.ref}: {err}") from None

    def config(self) -> dict[str, Any]:
        path = self.file("config.json")
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ModelLoadError(f"{path} is not a readable JSON config: {err}") from err
        if not isinstance(config, dict):
            raise ModelLoadError(
                f"{path} holds a JSON {type(config).__name__}, not the object of settings a model's "
                "config.json is; save the model again (save_pretrained) or fix the file"
            )
        return config

    def commit(self) -> str | None:
        """The Hub commit the cached files come from (``None`` for a local directory)."""
        if self.local_dir is not None:
            return None
        path = self.file("config.json")
        # Hub cache layout: .../snapshots/<commit>/config.json
        return path.parent.name if path.parent.parent.name == "snapshots" else None

    def has_safetensors(self) -> bool:
        """Whether the weights a loader picks first are safetensors (``model.safetensors`` or its index).

        Other ``*.safetensors`` files in the folder (adapters, optimizer states) do not count:
        they are not what gets loaded.
        """
        names = ("model.safetensors", "model.safetensors.index.json")
        if self.local_dir is not None:
            return any((self.local_dir / name).is_file() for name in names)
        return any(self.file(name, required=False) is not None for name in names)

    def folder(self) -> Path:
        """The folder holding the model's files (for a Hub id: its snapshot in the local cache)."""
        if self.local_dir is not None:
            return self.local_dir
        return self.file("config.json").parent

    def content_hashes(self) -> dict[str, str]:
        """sha256 of the model's files, by path within its folder: what a resumed run must find unchanged.

        Only the files that can change a prediction count: weights, configs (JSON), tokenizer
        and vocabulary files, repository code; a model card or an image beside them does not.
        A local folder: all of those. A Hub id: those in its cached snapshot except weights,
        which its commit already pins (and which may not be downloaded yet when a run starts).
        """
        folder = self.folder()
        out: dict[str, str] = {}
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                continue
            if not path.name.endswith((*WEIGHT_SUFFIXES, *PREDICTION_SUFFIXES)):
                continue
            if self.local_dir is None and path.name.endswith(WEIGHT_SUFFIXES):
                continue
            out[rel.as_posix()] = file_sha256(path)
        return out


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".ckpt", ".msgpack", ".h5", ".pth.tar")
# configs, processor and tokenizer files, vocabularies, SentencePiece models, repository code
PREDICTION_SUFFIXES = (".json", ".txt", ".model", ".vocab", ".tiktoken", ".py", ".yaml", ".yml")


def file_sha256(path: Path, *, chunk: int = 1 << 22) -> str:
    """The sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
