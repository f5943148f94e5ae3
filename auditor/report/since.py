"""The "Since the last audit" section: what history says changed, as rows the template prints
(report_templates/_history.html.j2). Built from a history snapshot; the report never opens a
store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from auditor.history.model import CHANGED, Category, Change, Comparison, SinceLastAudit, TrendPoint
from auditor.history.states import OPEN_STATUSES
from auditor.report.charts import Chart, ChartTable
from auditor.report.practicetrend import practice_trend, series_of
from auditor.report.text import duration, percent, when

LABELS = {Category.NEW: "New", Category.REGRESSED: "Regressed", Category.IMPROVED: "Improved",
          Category.RESOLVED: "Resolved", Category.WAIVED: "Waived", Category.RETIRED: "Retired",
          Category.STILL_OPEN: "Still open"}
TREND_COLUMNS = 6


@dataclass(frozen=True)
class ChangeRow:
    """One finding's change."""

    category: str
    css: str
    rule_id: str
    subject: str
    severity: str
    change: str
    open_for: str


@dataclass(frozen=True)
class SinceView:
    """The section's content."""

    headline: str
    verdict: str
    counts: tuple[tuple[str, int], ...]
    rows: tuple[ChangeRow, ...]
    practice_chart: Chart | None  # each practice's score over the past audits and this one
    # (rule id, subject id lower-cased) -> "open since 2026-11-23 (7 d)", for the findings rows
    opened: Mapping[tuple[str, str], str] = field(default_factory=dict, compare=False)

    def open_since(self, rule_id: str, subject_id: str) -> str:
        """The line an open finding's row shows, or "" when history does not know it."""
        return self.opened.get((rule_id, subject_id.lower()), "")


def _age(change: Change) -> str:
    """The open streak's age in the report's readable units ('7 d', '12 d 12 h', '5 h')."""
    return duration((change.age_days or 0.0) * 24)


def _began_now(change: Change) -> bool:
    """The open streak begins in this audit (it was not open before)."""
    return change.before is None or change.before not in OPEN_STATUSES


def _open_for(change: Change) -> str:
    if change.age_days is None or change.open_since is None:
        return ""
    age = "new in this audit" if _began_now(change) else _age(change)
    return f"{age} (since {change.open_since:%Y-%m-%d})"


def _open_since(change: Change) -> str:
    """'open since 2026-11-23 (7 d)'; a streak that begins in this audit says so."""
    if change.open_since is None:
        return ""
    age = "new in this audit" if _began_now(change) else _age(change)
    return f"open since {change.open_since:%Y-%m-%d} ({age})"


def _row(change: Change) -> ChangeRow:
    arrow = f"{change.before or 'absent'} → {change.after or 'gone'}"
    return ChangeRow(LABELS[change.category], change.category.value, change.rule_id,
                     change.subject_id, change.severity, arrow, _open_for(change))


def _headline(since: SinceLastAudit) -> str:
    o = since.overall
    delta = "" if o.delta is None else f" ({o.delta:+.1f} points)"
    return (f"Since the last audit ({since.previous_run[:8]}, {when(since.previous_at)}) the "
            f"estate {since.verdict}: score {percent(o.score_before)} → "
            f"{percent(o.score_after)}{delta}, coverage {percent(o.coverage_before)} → "
            f"{percent(o.coverage_after)}.")


def _practice_chart(since: SinceLastAudit, trend: Sequence[TrendPoint]) -> Chart | None:
    """Each practice's score over the past full audits and this one; its table shows the
    last TREND_COLUMNS of them."""
    if not since.practices:
        return None
    now = {pid: (c.title, c.score_after) for pid, c in since.practices.items()}
    series = series_of(now, [p.practices for p in trend])
    past = list(trend)[-TREND_COLUMNS:]
    headers = ("Practice", *(f"{p.at:%Y-%m-%d}" for p in past), "This audit", "Change")
    rows = []
    for s in series:
        change = since.practices[s.practice]
        delta = "" if change.delta is None else f"{change.delta:+.1f}"
        shown = s.scores[-len(past) - 1:]
        rows.append((f"{s.practice} {s.title}", *(percent(v) for v in shown), delta))
    note = (f"The table shows the last {len(past)} of the {len(trend)} past audits the chart "
            "draws." if len(trend) > len(past) else "")
    table = ChartTable("Score by practice over the last audits", headers, tuple(rows),
                       (False, *([True] * (len(headers) - 1))), note)
    partial = since.comparison is not None and since.comparison.partial
    dates = [f"{p.at:%Y-%m-%d}" for p in trend] + \
        ["this partial audit (its scope only)" if partial else "this audit"]
    return practice_trend("chart-practice-trend", series, dates, table)


_VERDICTS = {"improved": "Improved", "worsened": "Worse", "unchanged": "Unchanged"}


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def summary_sentence(since: SinceLastAudit | None) -> str:
    """The executive summary's sentence: 'Improved since the last full audit on 2026-11-23:
    score 80.1 → 87.1, 3 resolved, 1 new.'; "" without history (or a snapshot stored before
    the comparison existed)."""
    c: Comparison | None = since.comparison if since else None
    if c is None:
        return ""
    counts = [f"{c.counts.get(Category.RESOLVED, 0)} resolved",
              f"{c.counts.get(Category.NEW, 0)} new"]
    counts += [f"{n} {cat.value}" for cat in (Category.REGRESSED, Category.IMPROVED)
               if (n := c.counts.get(cat, 0))]
    where = (f"the last audit on {c.at:%Y-%m-%d}, over this partial audit's scope only"
             if c.partial else f"the last full audit on {c.at:%Y-%m-%d}")
    return (f"{_VERDICTS[c.verdict]} since {where}: score {_score(c.score_before)} → "
            f"{_score(c.score_after)}, {', '.join(counts)}.")


def since_view(since: SinceLastAudit | None, trend: Sequence[TrendPoint]) -> SinceView | None:
    """The section, or None when history holds no earlier audit of the estate."""
    if since is None:
        return None
    shown = [c for c in since.changes if c.category in CHANGED]
    shown += since.of(Category.STILL_OPEN)
    return SinceView(
        headline=_headline(since), verdict=since.verdict,
        counts=tuple((LABELS[c], len(since.of(c))) for c in Category),
        rows=tuple(_row(c) for c in shown), practice_chart=_practice_chart(since, trend),
        opened={(c.rule_id, c.subject_id.lower()): _open_since(c) for c in since.changes
                if c.open_since is not None})
