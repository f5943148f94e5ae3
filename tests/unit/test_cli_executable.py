"""Printed commands name the running auditor by an absolute path the shell can run as printed."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli.executable import auditor_command


def test_the_script_that_was_started_by_its_absolute_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "my venv" / "bin" / "auditor"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [os.path.join("my venv", "bin", "auditor"), "lab"])
    assert shlex.split(auditor_command()) == [str(script)]


def test_otherwise_the_script_beside_this_python_which_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/somewhere/pytest"])
    command = shlex.split(auditor_command())
    assert Path(command[0]).is_absolute()
    done = subprocess.run([*command, "--help"], capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "lab" in done.stdout
