"""The command line that runs this same auditor, for commands the CLI prints for the user.

A bare `auditor` is often not on PATH (a venv that is not activated), so printed commands name
the executable that is running now, as an absolute path the shell can run as printed.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def auditor_command() -> str:
    """`/abs/venv/bin/auditor`, or `/abs/python -m auditor` when no such script exists."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == "auditor" and started.is_file():
        return shlex.quote(str(started.absolute()))
    beside = Path(sys.executable).absolute().parent / "auditor"  # the venv's own script
    if beside.is_file():
        return shlex.quote(str(beside))
    return f"{shlex.quote(str(Path(sys.executable).absolute()))} -m auditor"


def quoted(path: Path) -> str:
    """A path as the shell must see it."""
    return shlex.quote(str(path))
