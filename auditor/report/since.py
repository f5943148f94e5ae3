"""The "Since the last audit" section: what history says changed, as rows the template prints
(report_templates/_history.html.j2). Built from a history snapshot; the report never opens a
store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.history.model import CHANGED, Category, Change, SinceLastAudit, TrendPoint
from auditor.report.text import percent, when

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
    practice_headers: tuple[str, ...]
    practice_rows: tuple[tuple[str, ...], ...]


def _open_for(change: Change) -> str:
    if change.age_days is None or change.open_since is None:
        return ""
    return f"{change.age_days:g} d (since {change.open_since:%Y-%m-%d})"


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


def _practice_table(since: SinceLastAudit, trend: Sequence[TrendPoint]
                    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    past = list(trend)[-TREND_COLUMNS:]
    headers = ("Practice", *(f"{p.at:%Y-%m-%d}" for p in past), "This audit", "Change")
    rows = []
    for pid, change in sorted(since.practices.items(), key=lambda p: (len(p[0]), p[0])):
        scores = [percent(p.practices.get(pid)) for p in past]
        delta = "" if change.delta is None else f"{change.delta:+.1f}"
        rows.append((f"{pid} {change.title}", *scores, percent(change.score_after), delta))
    return headers, tuple(rows)


def since_view(since: SinceLastAudit | None, trend: Sequence[TrendPoint]) -> SinceView | None:
    """The section, or None when history holds no earlier audit of the estate."""
    if since is None:
        return None
    shown = [c for c in since.changes if c.category in CHANGED]
    shown += since.of(Category.STILL_OPEN)
    headers, rows = _practice_table(since, trend)
    return SinceView(
        headline=_headline(since), verdict=since.verdict,
        counts=tuple((LABELS[c], len(since.of(c))) for c in Category),
        rows=tuple(_row(c) for c in shown), practice_headers=headers, practice_rows=rows)
