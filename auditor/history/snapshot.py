"""The history snapshot a report is rendered with: the trend of past full audits and what
changed since the last audit, for an audit whose results exist but are not yet recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection

from auditor.findings import CREDIT, Severity, Status
from auditor.history.diff import category, classify
from auditor.history.model import (
    Comparison,
    HistorySnapshot,
    ScoreChange,
    SinceLastAudit,
    TrendPoint,
)
from auditor.history.queries import AuditRow, audits_by_seq, list_audits
from auditor.history.states import State, covers, results_estate_key, results_states, states_at
from auditor.results import Results

TREND_POINTS = 24


def build_snapshot(conn: Connection, results: Results, run_id: str,
                   points: int = TREND_POINTS) -> HistorySnapshot:
    """The snapshot for `results` (to be recorded as `run_id`)."""
    estate = results_estate_key(results)
    full = list_audits(conn, estate, limit=points, full_only=True)
    trend = [TrendPoint(run_id=a.run_id, at=a.now, score=a.score, coverage=a.coverage,
                        practices={k: v.get("score") for k, v in a.practices.items()})
             for a in reversed(full)]
    latest = list_audits(conn, estate, limit=1)
    since = _since(conn, results, run_id, latest[0], full[0] if full else None) \
        if latest else None
    return HistorySnapshot(run_id=run_id, trend=trend, since=since)


def _since(conn: Connection, results: Results, run_id: str, last: AuditRow,
           last_full: AuditRow | None) -> SinceLastAudit:
    before = {k: s for k, s in states_at(conn, last.estate_key, last.seq).items()
              if covers(results, s)}
    after = results_states(results)
    seen = audits_by_seq(conn, [s.open_since_seq for s in before.values()
                                if s.open_since_seq is not None])
    changes = classify(before, after, results.now,
                       lambda seq: (seen[seq].now, seen[seq].run_id), fresh_run=run_id)
    if results.scope.complete and last_full is not None:
        overall, practices = _against_audit(results, last_full)
    else:  # a partial audit: the scores history knew over its scope, not the whole estate's
        overall, practices = _against_states(results, before)
    comparison = None
    if not results.scope.complete:
        comparison = _comparison(results, last, before, after, overall)
    elif last_full is not None:
        compared = before if last_full.seq == last.seq else \
            states_at(conn, last.estate_key, last_full.seq)
        comparison = _comparison(results, last_full, compared, after, overall)
    return SinceLastAudit(previous_run=last.run_id, previous_at=last.now,
                          previous_complete=last.complete, overall=overall,
                          practices=practices, changes=changes, comparison=comparison)


def _comparison(results: Results, audit: AuditRow, before: Mapping[str, State],
                after: Mapping[str, State], overall: ScoreChange) -> Comparison:
    counts = Counter(str(found) for key in before.keys() | after.keys()
                     if (found := category(before.get(key), after.get(key))) is not None)
    return Comparison(run_id=audit.run_id, at=audit.now, partial=not results.scope.complete,
                      score_before=overall.score_before, score_after=overall.score_after,
                      counts=dict(sorted(counts.items())))


def _against_audit(results: Results, audit: AuditRow
                   ) -> tuple[ScoreChange, dict[str, ScoreChange]]:
    overall = ScoreChange(title="overall", score_before=audit.score,
                          score_after=results.overall.score, coverage_before=audit.coverage,
                          coverage_after=results.overall.coverage)
    practices = {p.id: ScoreChange(
        title=p.title, score_before=audit.practices.get(p.id, {}).get("score"),
        score_after=p.score.score,
        coverage_before=audit.practices.get(p.id, {}).get("coverage"),
        coverage_after=p.score.coverage) for p in results.by_practice}
    return overall, practices


def _against_states(results: Results, before: Mapping[str, State]
                    ) -> tuple[ScoreChange, dict[str, ScoreChange]]:
    score, coverage = state_score(before.values())
    overall = ScoreChange(title="overall", score_before=score,
                          score_after=results.overall.score, coverage_before=coverage,
                          coverage_after=results.overall.coverage)
    practices = {}
    for p in results.by_practice:
        score, coverage = state_score(s for s in before.values() if s.practice == p.id)
        practices[p.id] = ScoreChange(title=p.title, score_before=score,
                                      score_after=p.score.score, coverage_before=coverage,
                                      coverage_after=p.score.coverage)
    return overall, practices


def state_score(states: Iterable[State]) -> tuple[float | None, float | None]:
    """Score (with waivers) and coverage over finding states, as the engine scores findings
    (rules.md "Severity and score"): a partial audit's scope as history last knew it."""
    weight = credit = 0.0
    applicable = assessed = 0
    for s in states:
        status = Status(s.status)
        if status is Status.NOT_APPLICABLE:
            continue
        applicable += 1
        assessed += status is not Status.ERROR
        if status is not Status.WAIVED:
            weight += Severity(s.severity).weight
            credit += Severity(s.severity).weight * CREDIT[status]
    return (round(100.0 * credit / weight, 1) if weight else None,
            round(100.0 * assessed / applicable, 1) if applicable else None)
