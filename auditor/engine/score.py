"""The score: severity-weighted credit over applicable subjects, with coverage."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel, ConfigDict

from auditor.findings import CREDIT, Finding, Status


class Score(BaseModel):
    """A score over a set of findings, with and without waivers (percentages, 1 decimal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: float | None
    score_without_waivers: float | None
    coverage: float | None
    applicable: int
    assessed: int
    counts: dict[str, int]


def _percent(numerator: float, denominator: float) -> float | None:
    return round(100.0 * numerator / denominator, 1) if denominator else None


def score(findings: Iterable[Finding]) -> Score:
    """rules.md "Severity and score": waived findings leave the score but not the coverage."""
    counts = {status.value: 0 for status in Status}
    weight = credit = weight_raw = credit_raw = 0.0
    applicable = assessed = 0
    for finding in findings:
        counts[finding.status.value] += 1
        if finding.status is Status.NOT_APPLICABLE:
            continue
        applicable += 1
        assessed += finding.status is not Status.ERROR
        w = finding.severity.weight
        weight_raw += w
        credit_raw += w * CREDIT[finding.status_before_waiver]
        if finding.status is not Status.WAIVED:
            weight += w
            credit += w * CREDIT[finding.status]
    return Score(score=_percent(credit, weight),
                 score_without_waivers=_percent(credit_raw, weight_raw),
                 coverage=_percent(assessed, applicable), applicable=applicable, assessed=assessed,
                 counts=counts)


def rollup(findings: Iterable[Finding], key: Callable[[Finding], str | None]) -> dict[str, Score]:
    """A score per group (practice, site, pool); findings with no group are left out."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        group = key(finding)
        if group is not None:
            groups.setdefault(group, []).append(finding)
    return {name: score(items) for name, items in sorted(groups.items())}
