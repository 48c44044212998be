"""Where a model lives: a local directory or a Hub repository, read the same way.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "config.json").write_text(json.dumps({"model_type": "vit"}))
>>> src = ModelSource.resolve(str(d))
>>> src.is_local, src.config()["model_type"]
(True, 'vit')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagenet_x_hf.errors import ImageNetXError


class ModelLoadError(ImageNetXError):
    """A model cannot be found, read or loaded."""


@dataclass
class ModelSource:
    """A model reference as given (``ref``), resolved to a local directory or a Hub repo."""

    ref: str
    revision: str | None = None
    local_dir: Path | None = None

    @classmethod
    def resolve(cls, ref: str, *, revision: str | None = None) -> ModelSource:
        for prefix in ("hf-hub:", "hf_hub:"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
        path = Path(ref).expanduser()
        if path.is_dir():
            if revision is not None:
                raise ModelLoadError(f"--revision applies to Hub models; {ref} is a local directory")
            return cls(ref=str(path.resolve()), local_dir=path.resolve())
        if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
            raise ModelLoadError(f"{ref} is neither a local directory nor a Hub model id (owner/name)")
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
        from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

        try:
            return Path(hf_hub_download(self.ref, name, revision=self.revision))
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
        except Exception as err:  # offline, network, ...: say what was asked for
            raise ModelLoadError(f"cannot fetch {name} of {self.ref}: {err}") from err

    def config(self) -> dict[str, Any]:
        path = self.file("config.json")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ModelLoadError(f"{path} is not a readable JSON config: {err}") from err

    def commit(self) -> str | None:
        """The Hub commit the cached files come from (``None`` for a local directory)."""
        if self.local_dir is not None:
            return None
        path = self.file("config.json")
        # Hub cache layout: .../snapshots/<commit>/config.json
        return path.parent.name if path.parent.parent.name == "snapshots" else None

    def has_safetensors(self) -> bool:
        if self.local_dir is not None:
            return any(self.local_dir.glob("*.safetensors"))
        for name in ("model.safetensors", "model.safetensors.index.json"):
            if self.file(name, required=False) is not None:
                return True
        return False
