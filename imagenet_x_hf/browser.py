"""A headless Chromium for the HTML report's browser tests: found, or installed, never skipped.

The test command of the README (``pip install -e ".[dev]" && python -m pytest -q``) must
pass on a fresh machine, and the report's browser tests need a Chromium binary that
pip cannot install. ``chromium_for_tests`` looks in this order:

1. ``IMAGENET_X_CHROMIUM`` (a path; an error when it names no executable file);
2. ``chromium``, ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` on ``PATH``;
3. a Chromium that playwright downloaded earlier (``PLAYWRIGHT_BROWSERS_PATH`` or
   ``~/.cache/ms-playwright``);

and when none is there, installs one: Debian's ``chromium`` with ``apt-get`` as root (or
through ``sudo -n`` when that needs no password), otherwise playwright's own build
(``python -m playwright install chromium``, a download from playwright's servers). When
that fails too, ``BrowserSetupError`` says what was tried and how to fix it.

>>> find_chromium({"PATH": "", "HOME": "/nonexistent"}) is None
True
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from imagenet_x_hf.errors import BrowserSetupError as BrowserSetupError

ENV = "IMAGENET_X_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PLAYWRIGHT_BUILDS = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-*/headless_shell")

Runner = Callable[[Sequence[str]], int]


def _executable(path: str | os.PathLike) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_chromium(env: Mapping[str, str] | None = None) -> str | None:
    """The Chromium the browser tests use, or None when there is none (see the module's order)."""
    env = os.environ if env is None else env
    named = env.get(ENV)
    if named:
        if not _executable(named):
            raise BrowserSetupError(
                f"{ENV}={named} is not an executable file: point it at a Chromium binary, "
                f"or unset it to use the chromium on PATH"
            )
        return named
    for name in NAMES:
        found = shutil.which(name, path=env.get("PATH", ""))
        if found:
            return found
    home = env.get("HOME")
    root = env.get("PLAYWRIGHT_BROWSERS_PATH") or (
        str(Path(home) / ".cache" / "ms-playwright") if home else ""
    )
    if root:
        for pattern in _PLAYWRIGHT_BUILDS:
            for path in sorted(glob.glob(os.path.join(root, pattern)), reverse=True):
                if _executable(path):
                    return path
    return None


def _run(argv: Sequence[str]) -> int:
    print(f"browser tests: running {' '.join(argv)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(list(argv), env=env, check=False).returncode


def install_plans(*, is_root: bool, has_apt: bool, has_sudo: bool) -> list[list[list[str]]]:
    """The ways to install a Chromium here, best first; each is a list of commands run in order.

    >>> [p[-1][-1] for p in install_plans(is_root=True, has_apt=True, has_sudo=False)]
    ['chromium', 'chromium']
    >>> install_plans(is_root=False, has_apt=True, has_sudo=False)[0][0][1:]
    ['-m', 'playwright', 'install', 'chromium']
    """
    apt = [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]]
    plans = []
    if has_apt and is_root:
        plans.append(apt)
    elif has_apt and has_sudo:
        plans.append([["sudo", "-n", *command] for command in apt])
    plans.append([[sys.executable, "-m", "playwright", "install", "chromium"]])
    return plans


def _can_sudo() -> bool:
    if not shutil.which("sudo"):
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0


def chromium_for_tests(
    env: Mapping[str, str] | None = None,
    *,
    run: Runner = _run,
    plans: list[list[list[str]]] | None = None,
) -> str:
    """A Chromium binary for the browser tests: found, else installed; ``BrowserSetupError`` otherwise."""
    found = find_chromium(env)
    if found:
        return found
    if plans is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
        plans = install_plans(
            is_root=is_root, has_apt=bool(shutil.which("apt-get")), has_sudo=not is_root and _can_sudo()
        )
    tried = []
    for plan in plans:
        print(
            "browser tests: no Chromium found; installing one (set IMAGENET_X_CHROMIUM=PATH to use your own)",
            file=sys.stderr,
            flush=True,
        )
        for command in plan:
            code = run(command)
            if code != 0:
                break
        tried.append(f"'{' '.join(command)}' (exit {code})")
        found = find_chromium(env)
        if found:
            return found
    raise BrowserSetupError(
        "the HTML report's browser tests need Chromium and none was found or could be installed "
        f"(tried {', '.join(tried) or 'nothing'}): install Debian's chromium ('apt-get install -y chromium' as root) "
        f"or playwright's ('python -m playwright install chromium'), or set {ENV}=PATH to a Chromium binary"
    )
