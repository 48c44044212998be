"""Test-wide settings, loaded before any test module or doctest imports datasets.

The suite never touches the network or the user's caches: Hugging Face libraries
run offline, and ``datasets`` builds into one temporary cache per test session,
so that the annotation tables are built once and shared by all tests.
"""

import atexit
import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="imagenet-x-hf-tests-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.setdefault("HF_DATASETS_CACHE", os.path.join(_CACHE, "datasets"))
os.environ.setdefault("HF_HOME", os.path.join(_CACHE, "hf_home"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
