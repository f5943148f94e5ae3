"""`auditor audit` records into history; `auditor history` reads it back: list, show, diff,
open, export, report (byte-identical re-render) and the dashboard in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from tests.historykit import DEMO

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.slow


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@dataclass(frozen=True)
class Recorded:
    """Two audits of the drifted demo estate, a week apart, in one store."""

    url: str
    folders: tuple[Path, Path]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    base = tmp_path_factory.mktemp("recorded")
    url = str(base / "history.sqlite")
    folders = (base / "a1", base / "a2")
    for folder, now in zip(folders, ("2026-11-23T20:00Z", "2026-11-30T20:00Z"), strict=True):
        done = cli("audit", "--inventory", DEMO / "inventory.yaml", "--replay",
                   DEMO / "evidence.json", "--out", folder, "--format", "html,json",
                   "--now", now, "--history", url)
        assert done.exit_code == 1, done.output
    return Recorded(url, folders)


def _json(*args: str | Path) -> dict[str, object]:
    done = cli("history", *args, "--json")
    assert done.exit_code == 0, done.output
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_list_show_diff_open_and_export(recorded: Recorded, tmp_path: Path) -> None:
    runs = _json("list", "--history", recorded.url)["audits"]
    assert isinstance(runs, list)
    assert len(runs) == 2
    newest = runs[0]
    shown = _json("show", newest["run_id"][:6], "--history", recorded.url)
    assert shown["run_id"] == newest["run_id"]
    assert shown["complete"] is True
    assert len(str(shown["results_sha256"])) == 64
    diff = _json("diff", "--history", recorded.url)
    assert diff["after"]["run_id"] == newest["run_id"]  # type: ignore[index]
    opened = _json("open", "--history", recorded.url)["findings"]
    assert isinstance(opened, list)
    assert opened
    assert opened[0]["age_days"] >= opened[-1]["age_days"]  # oldest first
    assert cli("history", "export", "--history", recorded.url, "--out",
               tmp_path / "x.jsonl").exit_code == 0
    lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    assert all(json.loads(line)["first_seen_run"] for line in lines)
    bad = cli("history", "show", "zz", "--history", recorded.url)
    assert bad.exit_code == 2
    assert "too short" in bad.output


def test_second_report_has_the_since_section_and_trend(recorded: Recorded) -> None:
    first = (recorded.folders[0] / "report.html").read_text(encoding="utf-8")
    second = (recorded.folders[1] / "report.html").read_text(encoding="utf-8")
    assert 'id="since-last-audit"' not in first
    assert 'id="since-last-audit"' in second
    assert 'id="chart-trend"' in second
    assert "the estate worsened" in second


def test_a_stored_audit_renders_again_byte_for_byte(recorded: Recorded, tmp_path: Path) -> None:
    newest = _json("list", "--history", recorded.url)["audits"][0]  # type: ignore[index]
    done = cli("history", "report", newest["run_id"][:8], "--out", tmp_path / "again",
               "--history", recorded.url)
    assert done.exit_code == 0, done.output
    for name in ("results.json", "report.html", "evidence.json"):
        assert (tmp_path / "again" / name).read_bytes() == \
            (recorded.folders[1] / name).read_bytes(), name


def test_no_history_records_nothing(recorded: Recorded, tmp_path: Path) -> None:
    url = str(tmp_path / "h.sqlite")
    done = cli("audit", "--inventory", DEMO / "inventory.yaml", "--replay",
               DEMO / "evidence.json", "--out", tmp_path / "a", "--format", "json",
               "--history", url, "--no-history", "--rule", "BR-001")
    assert done.exit_code == 1, done.output
    assert not Path(url).exists()


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.polylines: list[str] = []
        self.links: list[str] = []
        self.external: list[str] = []
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "polyline":
            self.polylines.append(a.get("points") or "")
        if tag == "a" and "report-link" in (a.get("class") or ""):
            self.links.append(a.get("href") or "")
        if tag in ("script", "link", "img") or (a.get("src") or "").startswith("http"):
            self.external.append(tag)
        if tag == "tr":
            self.rows += 1


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_dashboard_in_headless_chromium(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "dash"
    done = cli("history", "dashboard", "--out", out, "--history", recorded.url, "--reports", "1")
    assert done.exit_code == 0, done.output
    page = out / "dashboard.html"
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]
    dumped = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                            text=True, timeout=180, check=True).stdout
    dom = _Dom()
    dom.feed(dumped)
    assert {"trend", "practices", "open-by-age", "time-to-resolve", "audits"} <= dom.ids
    assert len(dom.polylines) >= 3
    assert all(p.count(",") == 2 for p in dom.polylines[:2])
    assert dom.links
    assert all((out / link).is_file() for link in dom.links)
    assert dom.external == []
    shot = tmp_path / "dashboard.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,1600",
                    page.as_uri()], capture_output=True, timeout=180, check=True)
    assert shot.stat().st_size > 20_000  # a blank page is a few kB
    keep = Path.cwd() / "history-dashboard.png"
    if "AUDITOR_KEEP_SCREENSHOT" in __import__("os").environ:
        shutil.copy(shot, keep)
