"""`auditor audit` records into history; `auditor history` reads it back: list, show, diff,
open, export, report (byte-identical re-render) and the dashboard in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.engine.score import score
from auditor.findings import STATUS_ORDER
from auditor.results import Results
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


OPEN = ("fail", "warn", "error")


def _statuses(folder: Path) -> dict[tuple[str, str], str]:
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {(f["rule_id"], f["subject"]["id"]): f["status"] for f in data["findings"]}


def _finding_rows(page: str) -> list[tuple[str, str, str, str | None]]:
    """(rule, subject, status, open-since line) of every row of the findings tables."""
    out = []
    for part in page.split('<section class="rule')[1:]:
        chunk = part[:part.index("</section>")]
        rule = re.search(r'(?:<h3>|<p class="continued">)([A-Z]+-\d+) ', chunk)
        assert rule is not None
        for row in re.findall(r'<tr class="frow row-\w+" data-status="(\w+)">(.*?)</tr>', chunk,
                              re.S):
            subject = re.search(r'<span class="sub subject-id">(.*?)</span>', row[1])
            since = re.search(r'<span class="sub open-since">(.*?)</span>', row[1])
            assert subject is not None
            out.append((rule.group(1), html.unescape(subject.group(1)), row[0],
                        html.unescape(since.group(1)) if since else None))
    return out


def test_finding_rows_say_how_long_they_have_been_open(recorded: Recorded) -> None:
    """Audit 2 (a week after audit 1): a row open in both says since audit 1 and 7 days; a
    row open only now says it is new; a passed or waived row says nothing; audit 1 (no
    history yet) says it nowhere."""
    first = _statuses(recorded.folders[0])
    rows = _finding_rows((recorded.folders[1] / "report.html").read_text(encoding="utf-8"))
    assert len(rows) > 50
    shown = 0
    for rule, subject, status, since in rows:
        if status not in OPEN:
            assert since is None, (rule, subject)
            continue
        shown += 1
        expected = "open since 2026-11-23 (7 d)" if first.get((rule, subject)) in OPEN \
            else "open since 2026-11-30 (new in this audit)"
        assert since == expected, (rule, subject)
    assert shown == sum(1 for s in _statuses(recorded.folders[1]).values() if s in OPEN)
    assert {r[3] for r in rows} >= {"open since 2026-11-23 (7 d)",
                                    "open since 2026-11-30 (new in this audit)"}
    page = (recorded.folders[0] / "report.html").read_text(encoding="utf-8")
    assert _finding_rows(page)
    assert "open-since" not in page


def _rank(status: str) -> int:
    return [s.value for s in STATUS_ORDER].index(status)


def _expected_counts(before: dict[tuple[str, str], str],
                     after: dict[tuple[str, str], str]) -> str:
    """Independently of history: resolved, new, regressed and improved findings."""
    counts = dict.fromkeys(("resolved", "new", "regressed", "improved"), 0)
    for key in before.keys() | after.keys():
        b, a = before.get(key), after.get(key)
        if a in OPEN and b in (None, "not_applicable"):
            counts["new"] += 1
        elif a in OPEN and (b not in OPEN or _rank(a) < _rank(str(b))):
            counts["regressed"] += 1
        elif a in OPEN and _rank(a) > _rank(str(b)):
            counts["improved"] += 1
        elif b in OPEN and a in ("pass", "not_applicable"):
            counts["resolved"] += 1
    said = [f"{counts['resolved']} resolved", f"{counts['new']} new"]
    return ", ".join(said + [f"{counts[k]} {k}" for k in ("regressed", "improved") if counts[k]])


def _summary(folder: Path) -> str:
    page = (folder / "report.html").read_text(encoding="utf-8")
    start = page.index('class="exec-text"')
    part = page[start:page.index('class="counts"', start)]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)))


def test_executive_summary_says_whether_the_estate_improved(recorded: Recorded,
                                                             tmp_path: Path) -> None:
    scores = [json.loads((f / "results.json").read_text(encoding="utf-8"))["overall"]["score"]
              for f in recorded.folders]
    assert scores[1] < scores[0]  # a week older, the same backups
    counts = _expected_counts(*(_statuses(f) for f in recorded.folders))
    assert (f"Worse since the last full audit on 2026-11-23: score {scores[0]:.1f} → "
            f"{scores[1]:.1f}, {counts}.") in _summary(recorded.folders[1])
    assert "since the last" not in _summary(recorded.folders[0]).lower()

    # A partial audit compares its scope only: BR-001 as the last audit saw it, not the estate.
    url = tmp_path / "history.sqlite"
    with closing(sqlite3.connect(recorded.url)) as source, \
            closing(sqlite3.connect(url)) as copy:
        source.backup(copy)  # the WAL's committed pages too, which a file copy would miss
    done = cli("audit", "--inventory", DEMO / "inventory.yaml", "--replay",
               DEMO / "evidence.json", "--out", tmp_path / "p", "--format", "html,json",
               "--now", "2026-11-30T20:00Z", "--history", url, "--rule", "BR-001")
    assert done.exit_code == 1, done.output
    second = Results.model_validate_json((recorded.folders[1] / "results.json").read_bytes())
    br001 = score([f for f in second.findings if f.rule_id == "BR-001"]).score
    assert br001 is not None
    assert br001 != second.overall.score
    said = _summary(tmp_path / "p")
    assert (f"Unchanged since the last audit on 2026-11-30, over this partial audit's scope "
            f"only: score {br001:.1f} → {br001:.1f}, 0 resolved, 0 new.") in said


def test_per_practice_trend_is_a_chart_with_a_series_per_practice(recorded: Recorded) -> None:
    """One series per practice of audit 2, a point per stored audit and this one (none where a
    practice had no score), each point at its score on the panel's 0-100 axis."""
    results = [json.loads((f / "results.json").read_text(encoding="utf-8"))
               for f in recorded.folders]
    scores = {p["id"]: [r_p.get(p["id"]) for r_p in
                        ({q["id"]: q["score"]["score"] for q in r["by_practice"]}
                         for r in results)] for p in results[1]["by_practice"]}
    page = (recorded.folders[1] / "report.html").read_text(encoding="utf-8")
    start = page.index('id="chart-practice-trend"')
    svg = page[page.index("<svg", start):page.index("</svg>", start)]
    groups = re.findall(r'<g class="practice-series" data-practice="([^"]+)">(.*?)</g>', svg,
                        re.S)
    assert [g[0] for g in groups] == sorted(scores, key=lambda p: (len(p), p))
    for i, (pid, body) in enumerate(groups):
        top = (i // 3) * 62.0 + 16.0  # the panel's row, and its plot's top
        points = [float(cy) for cy in re.findall(r'<circle class="point" cx="[\d.]+" '
                                                 r'cy="([\d.]+)"', body)]
        expected = [v for v in scores[pid] if v is not None]
        assert len(points) == len(expected), pid
        drawn = [100 * (1 - (cy - top) / 34) for cy in points]
        assert all(abs(d - v) < 0.1 for d, v in zip(drawn, expected, strict=True)), pid
    assert sum(v is not None for s in scores.values() for v in s) > len(scores)  # some lines
    assert "chart-practice-trend" not in \
        (recorded.folders[0] / "report.html").read_text(encoding="utf-8")
