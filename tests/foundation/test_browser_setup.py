"""The browser tests find or install Chromium on a fresh machine, and say plainly when they cannot."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from imagenet_x_hf.browser import ENV, BrowserSetupError, chromium_for_tests, find_chromium


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_found_in_order_named_then_path_then_playwright(tmp_path):
    home = tmp_path / "home"
    downloaded = _executable(home / ".cache/ms-playwright/chromium-1200/chrome-linux/chrome")
    bare = {"PATH": str(tmp_path / "bin"), "HOME": str(home)}
    assert find_chromium(bare) == str(downloaded)
    on_path = _executable(tmp_path / "bin" / "chromium-browser")
    assert find_chromium(bare) == str(on_path)
    named = _executable(tmp_path / "elsewhere" / "my-chrome")
    assert find_chromium({**bare, ENV: str(named)}) == str(named)


def test_a_wrong_named_binary_is_an_error_not_a_fallback(tmp_path):
    _executable(tmp_path / "bin" / "chromium")
    with pytest.raises(BrowserSetupError, match=f"{ENV}=.*not an executable file"):
        find_chromium({"PATH": str(tmp_path / "bin"), ENV: str(tmp_path / "missing")})


def test_installs_when_missing_and_uses_what_the_install_put_there(tmp_path):
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}
    ran = []

    def run(argv):
        ran.append(list(argv))
        if argv[-1] == "chromium" and argv[0] == "apt-get" and argv[1] == "install":
            _executable(tmp_path / "bin" / "chromium")
        return 0

    plans = [[["apt-get", "update"], ["apt-get", "install", "chromium"]], [["never", "run"]]]
    assert chromium_for_tests(env, run=run, plans=plans) == str(tmp_path / "bin" / "chromium")
    assert ran == plans[0]


def test_when_nothing_works_the_error_names_what_was_tried_and_the_fixes(tmp_path):
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}
    plans = [
        [["apt-get", "update"], ["apt-get", "install", "chromium"]],
        [["python", "-m", "playwright", "install"]],
    ]
    codes = iter([100, 1])  # apt-get update fails: install is not attempted; playwright fails
    with pytest.raises(BrowserSetupError) as err:
        chromium_for_tests(env, run=lambda argv: next(codes), plans=plans)
    message = str(err.value)
    assert "'apt-get update' (exit 100)" in message and "(exit 1)" in message
    assert "apt-get install -y chromium" in message and ENV in message


def test_this_machine_has_one(chromium):
    """The suite's own browser tests run here: once the session's fixture found or installed one
    (on a fresh machine it installs it), the lookup alone answers with an executable."""
    path = chromium_for_tests(os.environ, plans=[])
    assert os.access(path, os.X_OK)
