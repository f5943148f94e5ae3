"""A finding's state in history: its stable key, status, severity and message.

The key is estate key + rule id + canonical subject id (subject ids compare case-blind), so the
same finding keeps its key across audits, tool versions and rule-pack versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, and_, or_, select, union_all

from auditor.findings import Finding, Status
from auditor.history.schema import findings, intervals
from auditor.results import Results

OPEN_STATUSES = frozenset({Status.FAIL.value, Status.WARN.value, Status.ERROR.value})


def estate_key(estate_id: str | None, estate: str) -> str:
    """The estate's id, else (an inventory without one) its name."""
    return estate_id if estate_id else f"name:{estate}"


def results_estate_key(results: Results) -> str:
    """The estate key of a results document."""
    return estate_key(results.estate_id, results.estate)


def finding_key(estate: str, rule_id: str, subject_id: str) -> str:
    """The stable finding id."""
    return f"{estate}|{rule_id}|{subject_id.lower()}"


class State(NamedTuple):
    """One finding as one audit saw it (open_since_seq: the audit its open streak began in).
    A named tuple: a store of 5,000 findings builds 10,000 of them per audit recorded."""

    key: str
    rule_id: str
    subject_id: str
    subject_type: str
    practice: str
    status: str
    severity: str
    message: str
    open_since_seq: int | None = None

    @property
    def open(self) -> bool:
        """fail, warn or error: something to act on."""
        return self.status in OPEN_STATUSES


def state_of(estate: str, finding: Finding) -> State:
    """A finding of a results document as a State."""
    subject = finding.subject
    return State(f"{estate}|{finding.rule_id}|{subject.id.lower()}", finding.rule_id,
                 subject.id, subject.type.value, finding.practice, finding.status.value,
                 finding.severity.value, finding.message)


def results_states(results: Results) -> dict[str, State]:
    """Every finding of a results document, by key."""
    estate = results_estate_key(results)
    return {s.key: s for s in (state_of(estate, f) for f in results.findings)}


def covers(results: Results, state: State) -> bool:
    """Whether the audit looked at this finding (its rule and subject were in scope)."""
    if results.scope.complete:
        return True
    rules = {r.id for r in results.rules}
    return state.rule_id in rules and results.scope.selects_subject(state.subject_id)


_COLUMNS = (findings.c.key, findings.c.rule_id, findings.c.subject_id, findings.c.subject_type,
            findings.c.practice, intervals.c.status, intervals.c.severity, intervals.c.message,
            intervals.c.open_since_seq)


def _state(row: Any) -> State:
    return State._make(row)  # the row's columns are _COLUMNS, in order


def states_at(conn: Connection, estate: str, seq: int) -> dict[str, State]:
    """What history knew of every finding of the estate as of audit `seq` (the latest audit,
    full or partial, that looked at each one, up to and including `seq`)."""
    query = (select(*_COLUMNS).join(findings, findings.c.id == intervals.c.finding_id)
             .where(intervals.c.estate_key == estate, intervals.c.first_seq <= seq,
                    or_(intervals.c.ended_seq.is_(None), intervals.c.ended_seq > seq)))
    return {s.key: s for s in map(_state, conn.execute(query))}


def states_between(conn: Connection, estate: str, a: int, b: int
                   ) -> tuple[dict[str, State], dict[str, State]]:
    """The states as of audit `a` and as of audit `b` (a < b), read in one query."""
    def part(still: ColumnElement[bool]) -> Select[Any]:
        return (select(*_COLUMNS, intervals.c.first_seq, intervals.c.ended_seq)
                .join(findings, findings.c.id == intervals.c.finding_id)
                .where(intervals.c.estate_key == estate, still))
    # Two ranges of one index (current intervals; intervals ended after `a`), not an OR, and
    # first_seq <= b checked here: with it in SQL, SQLite may scan the first_seq index.
    query = union_all(part(intervals.c.ended_seq.is_(None)), part(intervals.c.ended_seq > a))
    before: dict[str, State] = {}
    after: dict[str, State] = {}
    for row in conn.execute(query):
        state, first, ended = _state(row[:-2]), row[-2], row[-1]
        if first > b:
            continue
        if first <= a and (ended is None or ended > a):
            before[state.key] = state
        if ended is None or ended > b:
            after[state.key] = state
    return before, after


def open_intervals(conn: Connection, estate: str) -> Iterable[tuple[int, int, State]]:
    """(interval id, finding id, state) of every current interval of the estate."""
    query = (select(intervals.c.id, intervals.c.finding_id, *_COLUMNS)
             .join(findings, findings.c.id == intervals.c.finding_id)
             .where(and_(intervals.c.estate_key == estate, intervals.c.ended_seq.is_(None))))
    for row in conn.execute(query).all():  # one fetch, not one round of the driver per row
        yield row[0], row[1], _state(row[2:])
