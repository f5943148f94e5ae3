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


def score_view(value: Score) -> ScoreView:
    """A Score as report text, counts worst-first."""
    counts = tuple(Count(STATUS_BADGES[s], value.counts.get(s.value, 0)) for s in STATUS_ORDER)
    bar = max(0.0, min(100.0, value.score or 0.0))
    return ScoreView(score=percent(value.score),
                     score_without_waivers=percent(value.score_without_waivers),
                     coverage=percent(value.coverage), applicable=value.applicable,
                     assessed=value.assessed, counts=counts, bar=bar)
