"""Where the authors' released tables come from: a local copy, the cache, or a pinned download.

The ImageNet-X authors released per-factor accuracy tables of about 2,500 models and
four per-image prediction files in their repository (CC BY-NC 4.0). This package does
not ship them: each file is fetched on first use from the repository's raw file URLs at
one pinned commit, checked against the sha256 stored in :mod:`imagenet_x_hf.zoo.hashes`,
and kept in a cache beside the other Hugging Face caches. Resolution order:

1. ``zoo_dir=`` or the environment variable ``IMAGENET_X_ZOO``: a local copy with the
   authors' layout (no network, ever);
2. the cache, ``cache_dir=`` or ``$IMAGENET_X_ZOO_CACHE`` or
   ``$HF_HOME/imagenet-x-zoo/<commit>`` (``~/.cache/huggingface`` when ``HF_HOME`` is unset);
3. a download from ``base_url=`` or ``$IMAGENET_X_ZOO_URL`` (default: the authors'
   repository at the pinned commit), unless ``HF_HUB_OFFLINE`` is set.

>>> relative_path("top", "class", "crop")
'results/val/top_factor/crop/class/accuracies_per_factor.csv'
>>> sorted(EXAMPLE_MODELS)
['DINO', 'ResNet50', 'SimCLR', 'ViT']
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from imagenet_x_hf.errors import ZooError
from imagenet_x_hf.zoo.hashes import SHA256

COMMIT = "6403d41a5cc435543a63060e336bc2452e3ad223"
REPOSITORY = "facebookresearch/imagenetx"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/{REPOSITORY}/{COMMIT}/"
# In the authors' folder order; a model in two groups is kept in the first.
GROUPS = (
    "base",
    "imagenet_testbed",
    "modelvshuman",
    "crop",
    "colorjitter",
    "colorjitter_crop",
    "adaptive_colorjitter",
    "gaussian_blur",
)
WHICH_FACTOR_FOLDERS = {"top": "top_factor", "multi": "multi_factor"}
ERROR_TYPE_FOLDERS = ("class", "real_class", "metaclass")
MODEL_TYPES_FILE = "imagenet_x/model_types.py"
LICENSE_FILE = "LICENSE"
EXAMPLE_MODELS = ("DINO", "ResNet50", "SimCLR", "ViT")
ENV_DIR = "IMAGENET_X_ZOO"
ENV_CACHE = "IMAGENET_X_ZOO_CACHE"
ENV_URL = "IMAGENET_X_ZOO_URL"
_TIMEOUT_S = 30
_TRUE = {"1", "true", "yes", "on"}


def relative_path(which_factor: str, error_type: str, group: str) -> str:
    """The path of one table inside the authors' repository."""
    return f"results/val/{WHICH_FACTOR_FOLDERS[which_factor]}/{group}/{error_type}/accuracies_per_factor.csv"


def example_relative_path(name: str) -> str:
    """The path of one of the four released prediction files inside the authors' repository."""
    return f"model_predictions/base/{name}.csv"


def is_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` asks the Hugging Face libraries not to use the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def default_cache_dir() -> Path:
    """``$IMAGENET_X_ZOO_CACHE``, else ``imagenet-x-zoo/<commit>`` under ``HF_HOME`` (as huggingface_hub resolves it)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    home = os.environ.get("HF_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home = os.path.join(xdg, "huggingface")
    return Path(home).expanduser() / "imagenet-x-zoo" / COMMIT


@dataclass(frozen=True)
class ZooSource:
    """Where the files are read from, resolved once: a local copy, or a cache fed by downloads."""

    local_dir: Path | None
    cache_dir: Path
    base_url: str
    offline: bool

    @property
    def key(self) -> str:
        return str(self.local_dir) if self.local_dir else f"{self.cache_dir}|{self.base_url}"

    def describe(self) -> str:
        if self.local_dir:
            return f"local copy {self.local_dir}"
        return f"cache {self.cache_dir}" + (
            " (offline)" if self.offline else f", downloads from {self.base_url}"
        )


def resolve_source(
    zoo_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> ZooSource:
    """Resolve where the files come from (see the module docstring for the order)."""
    local = zoo_dir if zoo_dir is not None else os.environ.get(ENV_DIR) or None
    local_dir = None
    if local is not None:
        local_dir = Path(local).expanduser().resolve()
        if not local_dir.is_dir():
            origin = "zoo_dir" if zoo_dir is not None else f"${ENV_DIR}"
            raise ZooError(
                f"{origin} {str(local)!r} is not a directory; point it at a copy of the authors' "
                f"repository (with results/val/...) or unset it to download the tables"
            )
    url = base_url or os.environ.get(ENV_URL) or DEFAULT_BASE_URL
    if not url.endswith("/"):
        url += "/"
    return ZooSource(
        local_dir=local_dir,
        cache_dir=Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir(),
        base_url=url,
        offline=is_offline(),
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# (path, size, mtime_ns) of files already checked in this process: hash each file once.
_VERIFIED: set[tuple[str, int, int]] = set()


def _check_hash(path: Path, relative: str, *, where: str) -> None:
    stat = path.stat()
    stamp = (str(path), stat.st_size, stat.st_mtime_ns)
    if stamp in _VERIFIED:
        return
    found = sha256_of(path)
    if found != SHA256[relative]:
        raise ZooError(
            f"{relative} in {where} has sha256 {found[:12]}..., not the {SHA256[relative][:12]}... of the "
            f"authors' file at commit {COMMIT[:7]}; the file is damaged or from another version: "
            "replace it with the original (delete it to download it again)"
        )
    _VERIFIED.add(stamp)


def _how_to_get(relative: str) -> str:
    return (
        f"download {DEFAULT_BASE_URL}{relative} (or clone https://github.com/{REPOSITORY} at commit "
        f"{COMMIT[:7]}) and set {ENV_DIR}=DIR to that copy, or run once with network access "
        "(unset HF_HUB_OFFLINE) to fill the cache"
    )


def _download(url: str, target: Path, relative: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        found = sha256_of(Path(tmp))
        if found != SHA256[relative]:
            raise ZooError(
                f"{relative} downloaded from {url} has sha256 {found[:12]}..., not the expected "
                f"{SHA256[relative][:12]}...; the server sent another file: check ${ENV_URL} "
                f"(default {DEFAULT_BASE_URL})"
            )
        os.replace(tmp, target)  # atomic: a reader never sees half a file
    except (urllib.error.URLError, OSError) as err:
        raise ZooError(f"cannot download {relative} from {url}: {err}; {_how_to_get(relative)}") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(relative: str, source: ZooSource) -> Path:
    """The local path of one released file, downloaded and checked if needed."""
    if relative not in SHA256:
        raise ZooError(f"{relative!r} is not a file of the authors' release known to this package")
    if source.local_dir is not None:
        path = source.local_dir / relative
        if not path.is_file():
            raise ZooError(
                f"{relative} is missing from the local copy {source.local_dir} (from zoo_dir or ${ENV_DIR}); "
                f"use a full copy of the authors' repository, or unset {ENV_DIR} to download: "
                + _how_to_get(relative)
            )
        _check_hash(path, relative, where=f"the local copy {source.local_dir}")
        return path
    path = source.cache_dir / relative
    if path.is_file():
        _check_hash(path, relative, where=f"the cache {source.cache_dir}")
        return path
    if source.offline:
        raise ZooError(
            f"the ImageNet-X zoo file {relative} is not in the cache {source.cache_dir} and HF_HUB_OFFLINE "
            f"forbids downloading it; {_how_to_get(relative)}"
        )
    url = source.base_url + relative
    if not url.startswith(("https://", "http://")):
        raise ZooError(f"the zoo URL {source.base_url!r} is not http(s); set ${ENV_URL} to an http(s) URL")
    _download(url, path, relative)
    _VERIFIED.add((str(path), path.stat().st_size, path.stat().st_mtime_ns))
    if relative != LICENSE_FILE and not (source.cache_dir / LICENSE_FILE).is_file():
        fetch(LICENSE_FILE, source)  # the terms travel with the data
    return path


def table_files(source: ZooSource, which_factor: str, error_type: str) -> dict[str, Path]:
    """group -> local path of the per-factor accuracy table (one which_factor x error_type)."""
    return {group: fetch(relative_path(which_factor, error_type, group), source) for group in GROUPS}


def example_predictions(
    names: tuple[str, ...] | list[str] = EXAMPLE_MODELS,
    *,
    zoo_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> list[Path]:
    """Paths of the authors' released prediction files (DINO, ResNet50, SimCLR, ViT), fetched if needed.

    They are real top-1 predictions of four published models on the 50,000 validation
    images, in the format ``imagenet-x score`` reads.
    """
    unknown = [n for n in names if n not in EXAMPLE_MODELS]
    if unknown:
        raise ZooError(f"unknown example model(s) {unknown}; pass some of {list(EXAMPLE_MODELS)}")
    source = resolve_source(zoo_dir, cache_dir=cache_dir, base_url=base_url)
    return [fetch(example_relative_path(n), source) for n in names]


# Parsed tables and fitted trends are kept beside the downloads, so that a new process
# starts from arrays instead of CSV text. They derive from files whose hashes are
# fixed in this package (and checked on every first use), so the hashes key them;
# bump DERIVED_VERSION whenever what is derived changes.
DERIVED_VERSION = 2


def derived_path(source: ZooSource, name: str) -> Path:
    """Where a derived array file (``name``) for the pinned release lives."""
    key = hashlib.sha256("".join(sorted(SHA256.values())).encode()).hexdigest()[:12]
    return source.cache_dir / "derived" / f"{name}-{key}-v{DERIVED_VERSION}.npz"


def load_derived(path: Path) -> dict | None:
    """The arrays of a derived file, or None when absent or unreadable (it is rebuilt then)."""
    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None


def save_derived(path: Path, arrays: dict) -> None:
    """Write a derived file atomically; a cache that cannot be written is skipped (it only saves time)."""
    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass
