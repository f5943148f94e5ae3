"""`auditor demo` end to end: the real CLI writes the report; the PDF is read back with pypdf."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from html import escape
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditor.results import read_results

ROOT = Path(__file__).resolve().parents[2]


def _demo(estate: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "auditor", "demo", "--estate", estate,
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=300, check=False, cwd=ROOT)


def _pdf_text(path: Path) -> str:
    reader = PdfReader(path)
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _squash(text: str) -> str:
    """PDF text extraction breaks lines where the layout wrapped them."""
    return " ".join(text.split())


@pytest.mark.slow
@pytest.mark.parametrize("estate", ["drifted", "neglected"])
def test_demo_report_holds_score_practices_and_failures(estate: str, tmp_path: Path) -> None:
    done = _demo(estate, tmp_path)
    assert done.returncode == 0, done.stderr
    assert str((tmp_path / "report.pdf").resolve()) in done.stdout
    results = read_results(tmp_path / "results.json")
    pdf = _squash(_pdf_text(tmp_path / "report.pdf"))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    score = f"{results.overall.score:.1f}"
    assert score in pdf
    assert score in html
    outline = [getattr(item, "title", "") for item in
               _flatten(PdfReader(tmp_path / "report.pdf").outline)]
    for practice in results.by_practice:
        assert f"{practice.id} {practice.title}" in outline
    failing = [f for f in results.findings if f.status.value in ("fail", "error")]
    assert failing
    for finding in failing:
        assert _squash(finding.message) in pdf, finding.message
        assert finding.subject.id in _squash(pdf) or finding.subject.name in pdf
        assert escape(finding.message, quote=False) in html, finding.message


def _flatten(outline: Sequence[object]) -> list[object]:
    items: list[object] = []
    for item in outline:
        if isinstance(item, list):
            items.extend(_flatten(item))
        else:
            items.append(item)
    return items
