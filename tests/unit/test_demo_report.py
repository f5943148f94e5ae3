"""`auditor demo` end to end: the real CLI writes the report; the PDF is read back with pypdf."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
from pypdf import PdfReader

from auditor.results import read_results
from tests.pdftext import page_texts

ROOT = Path(__file__).resolve().parents[2]


def _demo(estate: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "auditor", "demo", "--estate", estate,
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=1200, check=False, cwd=ROOT)


@functools.cache
def _page_texts(path: Path) -> tuple[str, ...]:
    """Each page's text, read once per file."""
    return tuple(page_texts(path))


def _pdf_text(path: Path) -> str:
    return "\n".join(_page_texts(path))


def _solid(text: str) -> str:
    """Text without any whitespace: where the layout wrapped a line does not matter."""
    return "".join(text.split())


def _squash(text: str) -> str:
    """PDF text extraction breaks lines where the layout wrapped them."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Rendered:
    """`auditor demo` of an estate (report.pdf), and `auditor report` of its results as PDF/A."""

    demo: Path
    report: Path
    stdout: str


@pytest.fixture(scope="module", params=["healthy", "drifted", "neglected"])
def rendered(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Rendered]:
    """The one demo render of each estate, and one PDF/A of it through `auditor report`."""
    estate = str(request.param)
    demo, report = tmp_path_factory.mktemp(f"demo-{estate}"), tmp_path_factory.mktemp("report")
    done = _demo(estate, demo)
    assert done.returncode == 0, done.stderr
    made = subprocess.run(
        [sys.executable, "-m", "auditor", "report", str(demo / "results.json"), "--inventory",
         str(ROOT / "fixtures" / "demo" / estate / "inventory.yaml"), "--bundle",
         str(demo / "evidence.json"), "--out", str(report), "--format", "pdfa,md"],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    return estate, Rendered(demo, report, done.stdout)


@pytest.mark.slow
def test_demo_report_holds_score_practices_and_failures(rendered: tuple[str, Rendered]) -> None:
    estate, out = rendered
    if estate == "healthy":
        pytest.skip("the healthy estate has no failures")
    tmp_path = out.demo
    done = out
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
        # a long path may wrap at its separators (a line break in the extracted text)
        assert _solid(finding.message) in _solid(pdf), finding.message
        assert _solid(finding.subject.id) in _solid(pdf) or finding.subject.name in pdf
        assert escape(finding.message, quote=False) in html, finding.message


def _flatten(outline: Sequence[object]) -> list[object]:
    items: list[object] = []
    for item in outline:
        if isinstance(item, list):
            items.extend(_flatten(item))
        else:
            items.append(item)
    return items


# the running header and footer of every page, not content
_RUNNING = re.compile(r"^(Backup and DR audit: |Rendered \d{4}-|Page \d+ of \d+$)")
# what starts a page by itself: a page before it may be a short section end
_PAGE_STARTS = ("Contents", "Executive summary", "Scores", "Scope and limitations",
                "Findings by practice", "Appendix A: Evidence")
_PRACTICE = re.compile(r"^P\d+ ")


def _content_lines(page: str) -> list[str]:
    lines = [line.strip() for line in page.splitlines()]
    return [line for line in lines if line and line != "•" and not _RUNNING.match(line)]


@pytest.mark.slow
def test_pdf_pdfa_and_report_have_the_same_pages(rendered: tuple[str, Rendered]) -> None:
    _, out = rendered
    pdf = _page_texts(out.demo / "report.pdf")
    pdfa = _page_texts(out.report / "report-pdfa.pdf")
    assert len(pdf) == len(pdfa)
    assert [_content_lines(p)[:1] for p in pdf] == [_content_lines(p)[:1] for p in pdfa]


@pytest.mark.slow
def test_no_page_holds_less_than_five_lines(rendered: tuple[str, Rendered]) -> None:
    _, out = rendered
    pages = [_content_lines(p) for p in _page_texts(out.demo / "report.pdf")]
    short = []
    for i, lines in enumerate(pages[1:-1], start=1):  # the cover and the last page may be short
        following = pages[i + 1][:1]
        starts = bool(following) and (following[0] in _PAGE_STARTS
                                      or bool(_PRACTICE.match(following[0])))
        if len(lines) < 5 and not starts:
            short.append((i + 1, lines, following))
    assert short == []


@pytest.mark.slow
def test_demo_pdfs_hold_no_raw_dates_cut_values_or_placeholders(
        rendered: tuple[str, Rendered]) -> None:
    _, out = rendered
    text = _squash(_pdf_text(out.demo / "report.pdf"))
    summary = (out.report / "summary.md").read_text(encoding="utf-8")
    for found in (text, summary):
        for bad in ("/Date(", "more characters in", "backup01", "<export share>"):
            assert bad not in found
    assert "Audit opinion" in text
    assert "\\." not in summary
    assert "\\-" not in summary


@pytest.mark.slow
def test_pdfa_carries_its_bundle_file_byte_for_byte(rendered: tuple[str, Rendered]) -> None:
    """The PDF/A `auditor report` made holds the bundle it was given, and the practices' outline."""
    _, out = rendered
    reader = PdfReader(out.report / "report-pdfa.pdf")
    attached = reader.attachments["evidence.json"][0]
    assert attached == (out.demo / "evidence.json").read_bytes()
    results = read_results(out.demo / "results.json")
    assert hashlib.sha256(attached).hexdigest() == results.bundle_sha256
    outline = {getattr(item, "title", "") for item in _flatten(reader.outline)}
    assert {f"{p.id} {p.title}" for p in results.by_practice} <= outline
    pages = _page_texts(out.report / "report-pdfa.pdf")
    assert f"Page {len(pages)} of {len(pages)}" in _squash(pages[-1])
