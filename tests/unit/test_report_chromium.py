"""The HTML report in headless Chromium (Debian's chromium package): the script runs under the
report's Content-Security-Policy, the status filter works, printing shows every row, and each demo
estate's report renders (a screenshot that is not blank)."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.report import render_html
from tests.pdftext import page_texts
from tests.unit.test_report import Audit
from tests.unit.test_report_golden import ESTATES, demo_view

CHROMIUM = shutil.which("chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def chromium(tmp_path: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile; its stdout."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class _Dom(HTMLParser):
    """Rows and the filter bar of a DOM dumped by Chromium."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, str]] = []  # (data-status, class)
        self.filter_hidden: bool | None = None
        self.filter_state = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "frow" in (a.get("class") or ""):
            self.rows.append((a.get("data-status") or "", a.get("class") or ""))
        if tag == "nav" and a.get("id") == "filter":
            self.filter_hidden = "hidden" in a
        if tag == "body":
            self.filter_state = a.get("data-filter") or ""


def dom(tmp_path: Path, page: Path, fragment: str = "") -> _Dom:
    parsed = _Dom()
    parsed.feed(chromium(tmp_path, "--dump-dom", page.as_uri() + fragment))
    return parsed


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(Audit().html, encoding="utf-8")
    return path


def test_the_script_runs_under_the_content_security_policy(page: Path, tmp_path: Path) -> None:
    shown = dom(tmp_path, page)
    assert shown.filter_hidden is False  # only the script un-hides the filter bar
    assert shown.rows
    assert not [r for r in shown.rows if "filtered-out" in r[1]]


@pytest.mark.parametrize("status", ["fail", "error", "pass"])
def test_the_status_filter_hides_every_other_row(page: Path, tmp_path: Path,
                                                 status: str) -> None:
    shown = dom(tmp_path, page, f"#status={status}")
    assert shown.filter_state == status
    kept = [r for r in shown.rows if "filtered-out" not in r[1]]
    assert kept
    assert all(s == status for s, _ in kept)
    assert len(kept) == sum(1 for s, _ in shown.rows if s == status)


def test_printing_shows_folded_evidence_rows(page: Path, tmp_path: Path) -> None:

    out = tmp_path / "printed.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={out}",
             page.as_uri() + "#status=fail")
    text = " ".join(page_texts(out))
    flat = "".join(text.split())
    assert "backup_set_id=1" in flat  # a row inside a folded <details>
    assert "PASS" in text  # the filter does not apply to print


@pytest.mark.parametrize("estate", ESTATES)
def test_each_demo_report_renders_in_chromium(estate: str, tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    view = demo_view(estate)
    page = tmp_path / "report.html"
    page.write_text(render_html(view), encoding="utf-8")
    shown = dom(tmp_path, page, "#status=fail")
    failing = sum(1 for p in view.practices for r in p.rules for f in r.findings
                  if f.status.css == "fail")
    assert sum(1 for s, c in shown.rows if s == "fail" and "filtered-out" not in c) >= failing
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri())
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    assert ImageStat.Stat(image).stddev[0] > 20  # text and colour, not a blank page
