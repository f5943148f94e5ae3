"""`auditor history dashboard`: one self-contained HTML page (inline CSS and SVG, no script,
no external resource) with the score and coverage trend, per-practice trends, open findings by
age, time to resolve per rule, and links to the stored audits' reports."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup
from sqlalchemy import Connection, select

from auditor.history.queries import AuditRow, OpenFinding, list_audits, open_findings
from auditor.history.schema import findings, intervals
from auditor.history.states import OPEN_STATUSES
from auditor.report.text import percent, visible

TEMPLATES = Path(__file__).resolve().parent / "templates"
AGE_BUCKETS = ((7, "under 7 days"), (30, "7 to 30 days"), (90, "30 to 90 days"),
               (None, "over 90 days"))
MAX_POINTS = 200


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: its name and an SVG polyline's points."""

    name: str
    points: str
    last: str


@dataclass(frozen=True)
class Chart:
    """An inline SVG line chart on a 0-100 axis."""

    title: str
    series: tuple[Series, ...]
    labels: tuple[tuple[float, str, str], ...]  # x, text, text-anchor


@dataclass(frozen=True)
class Resolve:
    """Time to resolve one rule's findings."""

    rule_id: str
    resolved: int
    median_days: float
    max_days: float


WIDTH, HEIGHT, LEFT = 600.0, 160.0, 30.0


def _chart(title: str, runs: Sequence[AuditRow], lines: dict[str, list[float | None]]) -> Chart:
    step = (WIDTH - LEFT - 10) / max(len(runs) - 1, 1)
    series = []
    for name, values in lines.items():
        pts = [f"{LEFT + i * step:.1f},{10 + (HEIGHT - 20) * (1 - v / 100):.1f}"
               for i, v in enumerate(values) if v is not None]
        known = [v for v in values if v is not None]
        series.append(Series(name, " ".join(pts), percent(known[-1]) if known else "n/a"))
    every = max(1, len(runs) // 6)
    last = len(runs) - 1
    labels = tuple((LEFT + i * step, f"{r.now:%Y-%m-%d}",
                    "end" if i == last and last else "start" if i == 0 else "middle")
                   for i, r in enumerate(runs) if i % every == 0 or i == last)
    return Chart(title, tuple(series), labels)


def _age_buckets(open_now: Sequence[OpenFinding]) -> list[tuple[str, int]]:
    out = []
    low = 0.0
    for high, label in AGE_BUCKETS:
        out.append((label, sum(1 for f in open_now
                               if f.age_days >= low and (high is None or f.age_days < high))))
        low = float(high or 0)
    return out


def time_to_resolve(conn: Connection, estate: str, runs: dict[int, AuditRow]) -> list[Resolve]:
    """Per rule: open streaks that ended in a pass or not-applicable, and how long they took."""
    query = (select(findings.c.rule_id, intervals.c.finding_id, intervals.c.status,
                    intervals.c.first_seq, intervals.c.open_since_seq)
             .join(findings, findings.c.id == intervals.c.finding_id)
             .where(intervals.c.estate_key == estate)
             .order_by(intervals.c.finding_id, intervals.c.first_seq))
    days: dict[str, list[float]] = {}
    previous: tuple[int, str, int | None] | None = None
    for rule_id, finding_id, status, first_seq, open_since in conn.execute(query):
        if (previous is not None and previous[0] == finding_id and previous[1] in OPEN_STATUSES
                and status in ("pass", "not_applicable") and previous[2] in runs
                and first_seq in runs):
            took = runs[first_seq].now - runs[previous[2]].now
            days.setdefault(rule_id, []).append(took.total_seconds() / 86400)
        previous = (finding_id, status, open_since)
    return [Resolve(rule, len(v), round(statistics.median(v), 1), round(max(v), 1))
            for rule, v in sorted(days.items())]


def dashboard_html(conn: Connection, estate: str, generated_at: dt.datetime,
                   report_links: dict[str, str] | None = None) -> str:
    """The page for one estate."""
    every = list_audits(conn, estate)
    runs = list(reversed([a for a in every if a.complete]))[-MAX_POINTS:]
    practice_ids = sorted({p for a in runs for p in a.practices}, key=lambda p: (len(p), p))
    overall = _chart("Score and coverage", runs, {
        "score": [a.score for a in runs], "coverage": [a.coverage for a in runs]})
    practices = [_chart(f"{pid} {_title(runs, pid)}", runs,
                        {"score": [a.practices.get(pid, {}).get("score") for a in runs]})
                 for pid in practice_ids]
    open_now = open_findings(conn, estate)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             finalize=_finalize)
    return env.get_template("dashboard.html.j2").render(
        estate=every[0].estate if every else estate, generated=generated_at.isoformat(),
        overall=overall, practices=practices, buckets=_age_buckets(open_now),
        oldest=open_now[:50], open_count=len(open_now),
        resolve=time_to_resolve(conn, estate, {a.seq: a for a in every}), audits=every,
        links=report_links or {}, percent=percent, width=WIDTH, height=HEIGHT, left=LEFT)


def _finalize(value: object) -> object:
    """Every text shown with its hostile characters visible (macros' output is markup)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def _title(runs: Sequence[AuditRow], pid: str) -> str:
    for a in reversed(runs):
        if pid in a.practices:
            return str(a.practices[pid].get("title", ""))
    return ""
