"""The plain data history hands to its callers (the CLI, the report, the dashboard): no store
behind it, so the report can take a snapshot without ever opening one."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Category(StrEnum):
    """How a finding changed between two audits."""

    NEW = "new"  # open now; before, absent or not applicable
    REGRESSED = "regressed"  # open now; before, passed, waived, or open with a better status
    IMPROVED = "improved"  # open before and now, with a better status now
    RESOLVED = "resolved"  # open before; now passed or not applicable
    WAIVED = "waived"  # open before; now covered by a waiver
    RETIRED = "retired"  # gone: its rule left the rule pack or its subject the inventory
    STILL_OPEN = "still_open"  # open before and now, same status


CHANGED = (Category.NEW, Category.REGRESSED, Category.IMPROVED, Category.RESOLVED,
           Category.WAIVED, Category.RETIRED)


class Change(BaseModel):
    """One finding's change."""

    model_config = ConfigDict(frozen=True)

    category: Category
    rule_id: str
    subject_id: str
    practice: str
    severity: str
    before: str | None
    after: str | None
    message: str
    open_since: dt.datetime | None = None
    open_since_run: str | None = None
    age_days: float | None = None


class ScoreChange(BaseModel):
    """A score and a coverage, before and after."""

    model_config = ConfigDict(frozen=True)

    title: str
    score_before: float | None
    score_after: float | None
    coverage_before: float | None
    coverage_after: float | None

    @property
    def delta(self) -> float | None:
        """The score change in points."""
        if self.score_before is None or self.score_after is None:
            return None
        return round(self.score_after - self.score_before, 1)


class TrendPoint(BaseModel):
    """One past full audit on the trend."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    at: dt.datetime
    score: float | None
    coverage: float | None
    practices: dict[str, float | None]


class Comparison(BaseModel):
    """The executive summary's comparison: a full audit against the last full audit in
    history; a partial audit against what history knew of its scope (the last audit)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    at: dt.datetime
    partial: bool  # this audit is partial: compared over its scope only
    score_before: float | None
    score_after: float | None
    counts: dict[str, int]  # Category value -> number of findings

    @property
    def verdict(self) -> str:
        """improved, worsened or unchanged (by the score; by the findings when no score)."""
        return _verdict(self.score_before, self.score_after, self.counts)


def _verdict(before: float | None, after: float | None, counts: dict[str, int]) -> str:
    if before is not None and after is not None:
        delta = round(after - before, 1)
    else:
        gained = counts.get(Category.RESOLVED, 0) + counts.get(Category.IMPROVED, 0)
        lost = counts.get(Category.NEW, 0) + counts.get(Category.REGRESSED, 0)
        delta = float(gained - lost)
    return "improved" if delta > 0 else "worsened" if delta < 0 else "unchanged"


class SinceLastAudit(BaseModel):
    """This audit against the last one recorded before it (over this audit's scope)."""

    model_config = ConfigDict(frozen=True)

    previous_run: str
    previous_at: dt.datetime
    previous_complete: bool
    overall: ScoreChange
    practices: dict[str, ScoreChange]
    changes: list[Change]
    comparison: Comparison | None = None  # absent in snapshots stored before it existed

    def of(self, cat: Category) -> list[Change]:
        """The changes of one category."""
        return [c for c in self.changes if c.category is cat]

    @property
    def verdict(self) -> str:
        """improved, worsened or unchanged (by the score; by the findings when no score)."""
        counts = {c.value: len(self.of(c)) for c in Category}
        return _verdict(self.overall.score_before, self.overall.score_after, counts)


class HistorySnapshot(BaseModel):
    """What a report is given from history: past full audits, and the change since the last."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    trend: list[TrendPoint]
    since: SinceLastAudit | None
