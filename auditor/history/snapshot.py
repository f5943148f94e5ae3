"""The history snapshot a report is rendered with: the trend of past full audits and what
changed since the last audit, for an audit whose results exist but are not yet recorded."""

from __future__ import annotations

from sqlalchemy import Connection

from auditor.history.diff import classify
from auditor.history.model import HistorySnapshot, ScoreChange, SinceLastAudit, TrendPoint
from auditor.history.queries import AuditRow, audits_by_seq, list_audits
from auditor.history.states import covers, results_estate_key, results_states, states_at
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
    seen = audits_by_seq(conn, [s.open_since_seq for s in before.values()
                                if s.open_since_seq is not None])
    changes = classify(before, results_states(results), results.now,
                       lambda seq: (seen[seq].now, seen[seq].run_id), fresh_run=run_id)
    compared = last_full if results.scope.complete and last_full is not None else last
    overall = ScoreChange(title="overall", score_before=compared.score,
                          score_after=results.overall.score,
                          coverage_before=compared.coverage,
                          coverage_after=results.overall.coverage)
    practices = {p.id: ScoreChange(
        title=p.title, score_before=compared.practices.get(p.id, {}).get("score"),
        score_after=p.score.score,
        coverage_before=compared.practices.get(p.id, {}).get("coverage"),
        coverage_after=p.score.coverage) for p in results.by_practice}
    return SinceLastAudit(previous_run=last.run_id, previous_at=last.now,
                          previous_complete=last.complete, overall=overall,
                          practices=practices, changes=changes)
