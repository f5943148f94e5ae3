"""Statuses and severities as report badges, and a Score as report text."""

from __future__ import annotations

from collections.abc import Mapping

from auditor.engine.score import Score
from auditor.findings import STATUS_ORDER, Severity, Status
from auditor.report.model import Badge, Count, ScoreView
from auditor.report.text import percent

STATUS_BADGES: Mapping[Status, Badge] = {
    Status.ERROR: Badge("ERROR", "error"), Status.FAIL: Badge("FAIL", "fail"),
    Status.WARN: Badge("WARN", "warn"), Status.WAIVED: Badge("WAIVED", "waived"),
    Status.PASS: Badge("PASS", "pass"), Status.NOT_APPLICABLE: Badge("N/A", "na"),
}
SEVERITY_BADGES: Mapping[Severity, Badge] = {s: Badge(s.value.upper(), s.value) for s in Severity}


def status_order(status: Status) -> int:
    return STATUS_ORDER.index(status)


def reading_order(severity: Severity, status: Status) -> tuple[int, int]:
    """Severity first, then status: a critical fail comes before a medium error."""
    return -severity.weight, STATUS_ORDER.index(status)


ISSUES = (Status.FAIL, Status.ERROR, Status.WARN)


def issue_counts(statuses: list[Status]) -> tuple[Count, ...]:
    """The fails, errors and warns of a practice side by side ("17 FAIL, 2 ERROR"), so the worst
    status alone never hides the rest."""
    return tuple(Count(STATUS_BADGES[s], n) for s in ISSUES
                 if (n := sum(1 for x in statuses if x is s)))


def score_view(value: Score) -> ScoreView:
    """A Score as report text, counts worst-first."""
    counts = tuple(Count(STATUS_BADGES[s], value.counts.get(s.value, 0)) for s in STATUS_ORDER)
    bar = max(0.0, min(100.0, value.score or 0.0))
    return ScoreView(score=percent(value.score),
                     score_without_waivers=percent(value.score_without_waivers),
                     coverage=percent(value.coverage), applicable=value.applicable,
                     assessed=value.assessed, counts=counts, bar=bar)
