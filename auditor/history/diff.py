"""What changed between two audits: findings new, resolved, regressed, improved, waived,
retired and still open (with the audit their open streak began in and its age), and the score
and coverage change overall and per practice.

`classify` is pure (two maps of finding states); `diff_runs` reads them from the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection

from auditor.errors import InputError
from auditor.findings import STATUS_ORDER, Status
from auditor.history.model import Category, Change, ScoreChange
from auditor.history.queries import AuditRow, age_days, audits_by_seq, list_audits
from auditor.history.states import State, states_between

_RANKS = {status.value: i for i, status in enumerate(STATUS_ORDER)}


def _rank(status: str) -> int:
    """Lower is worse (STATUS_ORDER is worst first)."""
    return _RANKS[status]


def category(before: State | None, after: State | None) -> Category | None:
    """The category of one finding's change; None when nothing worth reporting changed."""
    if after is None:
        return Category.RETIRED if before is not None else None
    was_open = before is not None and before.open
    if after.open:
        if before is None or before.status == Status.NOT_APPLICABLE:
            return Category.NEW
        if not was_open or _rank(after.status) < _rank(before.status):
            return Category.REGRESSED
        return Category.IMPROVED if _rank(after.status) > _rank(before.status) \
            else Category.STILL_OPEN
    if was_open:
        return Category.WAIVED if after.status == Status.WAIVED else Category.RESOLVED
    return None


Since = Callable[[int], tuple[dt.datetime, str]]  # audit seq -> (its time, its run id)


def classify(before: Mapping[str, State], after: Mapping[str, State], at: dt.datetime,
             since: Since, fresh_run: str | None = None) -> list[Change]:
    """Every reportable change from `before` to `after`, sorted by category, rule and subject.
    `at` is the later audit's time (for ages). Open streaks that begin in the later audit have
    their seq in its states once recorded; before that (a report being rendered) they begin at
    `at`, in run `fresh_run`."""
    out = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        found = category(old, new)
        if found is None:
            continue
        shown = new if new is not None else old
        if shown is None:
            continue
        start = _open_since(old, new)
        when, run = since(start) if start is not None else (at, fresh_run)
        out.append(Change.model_construct(  # from states history wrote: no validation
            category=found, rule_id=shown.rule_id, subject_id=shown.subject_id,
            practice=shown.practice, severity=shown.severity,
            before=old.status if old else None, after=new.status if new else None,
            message=shown.message,
            open_since=when if new is not None and new.open else None,
            open_since_run=run if new is not None and new.open else None,
            age_days=age_days(when, at) if new is not None and new.open else None))
    order = list(Category)
    return sorted(out, key=lambda c: (order.index(c.category), c.rule_id, c.subject_id.lower()))


def _open_since(old: State | None, new: State | None) -> int | None:
    if new is None or not new.open:
        return None
    if new.open_since_seq is not None:
        return new.open_since_seq
    if old is not None and old.open:  # still open (a better or worse status): as recorded
        return old.open_since_seq
    return None


class HistoryDiff(BaseModel):
    """`history diff A B`."""

    model_config = ConfigDict(frozen=True)

    before: AuditRow
    after: AuditRow
    overall: ScoreChange
    practices: dict[str, ScoreChange]
    changes: list[Change]

    def of(self, cat: Category) -> list[Change]:
        """The changes of one category."""
        return [c for c in self.changes if c.category is cat]


def score_changes(before: AuditRow, after: AuditRow) -> tuple[ScoreChange, dict[str, ScoreChange]]:
    """Overall and per practice."""
    overall = ScoreChange(title="overall", score_before=before.score, score_after=after.score,
                          coverage_before=before.coverage, coverage_after=after.coverage)
    practices = {}
    for pid in sorted(before.practices.keys() | after.practices.keys(),
                      key=lambda p: (len(p), p)):
        old, new = before.practices.get(pid, {}), after.practices.get(pid, {})
        practices[pid] = ScoreChange(
            title=str(new.get("title") or old.get("title") or pid),
            score_before=old.get("score"), score_after=new.get("score"),
            coverage_before=old.get("coverage"), coverage_after=new.get("coverage"))
    return overall, practices


def default_pair(conn: Connection, estate: str) -> tuple[AuditRow, AuditRow]:
    """The last two full audits of the estate."""
    full = list_audits(conn, estate, limit=2, full_only=True)
    if len(full) < 2:
        raise InputError("history diff", f"the history holds {len(full)} full audit(s) of this "
                         "estate: name the two runs to compare")
    return full[1], full[0]


def previous_full(conn: Connection, later: AuditRow) -> AuditRow:
    """The last full audit recorded before `later` (`history diff B`)."""
    earlier = [a for a in list_audits(conn, later.estate_key, full_only=True)
               if a.seq < later.seq]
    if not earlier:
        raise InputError("history diff", f"no full audit was recorded before {later.short}")
    return earlier[0]


def diff_runs(conn: Connection, first: AuditRow, second: AuditRow) -> HistoryDiff:
    """The diff from the earlier of two audits of one estate to the later."""
    if first.estate_key != second.estate_key:
        raise InputError("history diff", f"runs {first.short} and {second.short} are audits of "
                         "different estates")
    a, b = sorted((first, second), key=lambda r: r.seq)
    before, after = states_between(conn, a.estate_key, a.seq, b.seq)
    seqs = [s.open_since_seq for s in after.values() if s.open_since_seq is not None]
    seen = audits_by_seq(conn, seqs)
    changes = classify(before, after, b.now, lambda seq: (seen[seq].now, seen[seq].run_id))
    overall, practices = score_changes(a, b)
    return HistoryDiff(before=a, after=b, overall=overall, practices=practices, changes=changes)
