"""Running the real CLI into an output folder and checking what the folder holds afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from auditor.manifest import problems, read_manifest

ROOT = Path(__file__).resolve().parents[1]
ESTATE = ROOT / "fixtures" / "demo" / "healthy"
KILLED = -9


def audit_args(out: Path, formats: str = "json") -> list[str]:
    """`auditor audit` of the healthy demo estate from its recorded bundle (no server)."""
    return [sys.executable, "-m", "auditor", "audit", "--inventory",
            str(ESTATE / "inventory.yaml"), "--replay", str(ESTATE / "evidence.json"),
            "--format", formats, "--out", str(out)]


def demo_args(out: Path) -> list[str]:
    """`auditor demo` (HTML, PDF in parts by worker processes, JSON)."""
    return [sys.executable, "-m", "auditor", "demo", "--estate", "drifted", "--out", str(out)]


def env(kill_at: str | None = None) -> dict[str, str]:
    """The environment of a run, with the kill hook set when asked."""
    base = {k: v for k, v in os.environ.items() if k != "AUDITOR_TEST_KILL_AT"}
    if kill_at is not None:
        base["AUDITOR_TEST_KILL_AT"] = kill_at
    return {**base, "COLUMNS": "200"}


def run(args: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run to the end (or to the kill)."""
    return subprocess.run(args, capture_output=True, text=True, env=env(kill_at), timeout=300,
                          check=False, cwd=ROOT)


def run_id(folder: Path) -> str:
    """The run id of a folder whose manifest matches its files (asserted)."""
    manifest = read_manifest(folder)
    assert manifest is not None, f"{folder} has no manifest: {sorted(os.listdir(folder))}"
    assert problems(folder, manifest) == [], problems(folder, manifest)
    return manifest.run_id


def leftovers(folder: Path) -> list[str]:
    """Staging and moved-away folders of `folder` in its parent."""
    pattern = re.compile(rf"\.{re.escape(folder.name)}\.(staging|old)-[0-9a-f]{{12}}")
    return sorted(p.name for p in folder.parent.iterdir() if pattern.fullmatch(p.name))


def pdf_workers(parent: int) -> list[int]:
    """The PDF worker processes of a process (pdfworker.py children)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(encoding="ascii", errors="replace")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"pdfworker" in cmdline:
            found.append(int(entry))
    return found
