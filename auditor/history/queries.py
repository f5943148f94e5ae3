"""Reading audits back: list, find a run by an abbreviated id, open findings, export rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Row, select

from auditor.errors import InputError
from auditor.history.schema import audits, estates, findings, intervals
from auditor.history.states import OPEN_STATUSES

MIN_PREFIX = 4


class AuditRow(BaseModel):
    """One recorded audit, as `history list` and `show` give it."""

    model_config = ConfigDict(frozen=True)

    seq: int
    run_id: str
    estate_key: str
    estate: str
    ran_at: dt.datetime
    collected_at: dt.datetime
    now: dt.datetime
    recorded_at: dt.datetime
    generated_at: dt.datetime | None
    tool_version: str
    rulepack_version: str
    rulepack_sha256: str
    inventory_sha256: str
    bundle_sha256: str
    results_sha256: str
    score: float | None
    score_without_waivers: float | None
    coverage: float | None
    applicable: int
    assessed: int
    findings: int
    counts: dict[str, int]
    complete: bool
    scope: dict[str, Any]
    practices: dict[str, dict[str, Any]]
    report: dict[str, Any]
    pruned_at: dt.datetime | None = None
    deliveries: list[dict[str, Any]] | None = None

    @property
    def short(self) -> str:
        """The run id cut to 8 characters, as `history list` prints it."""
        return self.run_id[:8]


_TIMES = ("ran_at", "collected_at", "now", "recorded_at", "generated_at", "pruned_at")
_JSON = ("counts", "scope", "practices", "report")


def _row(row: Row[Any]) -> AuditRow:
    """A row as written by record.py (built without validation: listing 1,000 audits must
    stay well under half a second)."""
    data = dict(row._mapping)
    for name in _TIMES:
        data[name] = dt.datetime.fromisoformat(data[name]) if data.get(name) else None
    data["deliveries"] = json.loads(data["deliveries"]) if data.get("deliveries") else None
    for name in _JSON:
        data[name] = json.loads(data[name]) if name in data else {}
    data["complete"] = bool(data["complete"])
    return AuditRow.model_construct(**data)


def list_audits(conn: Connection, estate: str | None = None, limit: int | None = None,
                full_only: bool = False, full: bool = True) -> list[AuditRow]:
    """Recorded audits, newest first (`full=False`: without their per-practice scores and
    report settings, as `history list` shows them)."""
    columns = [c for c in audits.c if full or c.name not in ("practices", "report")]
    query = select(*columns).order_by(audits.c.seq.desc())
    if estate is not None:
        query = query.where(audits.c.estate_key == estate)
    if full_only:
        query = query.where(audits.c.complete.is_(True))
    if limit is not None:
        query = query.limit(limit)
    return [_row(r) for r in conn.execute(query)]


def audits_by_seq(conn: Connection, seqs: Sequence[int]) -> dict[int, AuditRow]:
    """Audits by sequence number (without per-practice scores and report settings)."""
    if not seqs:
        return {}
    columns = [c for c in audits.c if c.name not in ("practices", "report")]
    return {a.seq: a for a in map(_row, conn.execute(
        select(*columns).where(audits.c.seq.in_(sorted(set(seqs))))))}


def estate_keys(conn: Connection) -> list[tuple[str, str]]:
    """(key, name) of every estate with history."""
    return [(r.key, r.name) for r in conn.execute(select(estates).order_by(estates.c.key))]


def only_estate(conn: Connection, wanted: str | None) -> str:
    """The estate a command is about: the one given (by key or name), or the only one."""
    known = estate_keys(conn)
    if wanted is not None:
        for key, name in known:
            if wanted in (key, name, key.removeprefix("name:")):
                return key
        raise InputError("--estate", f"no history of estate {wanted!r}")
    if not known:
        raise InputError("history", "no audit has been recorded yet")
    if len(known) > 1:
        raise InputError("--estate", "the history holds several estates ("
                         + ", ".join(name for _, name in known) + "): name one with --estate")
    return known[0][0]


def find_run(conn: Connection, run: str) -> AuditRow:
    """The audit whose run id is `run` or starts with it (at least 4 characters, unique)."""
    wanted = run.strip().lower()
    if len(wanted) < MIN_PREFIX:
        raise InputError("RUN", f"run id {run!r} is too short: give at least {MIN_PREFIX} "
                         "characters")
    rows = [_row(r) for r in conn.execute(
        select(audits).where(audits.c.run_id.like(_escape(wanted) + "%", escape="\\")).limit(10))]
    if not rows:
        raise InputError("RUN", f"no recorded audit has a run id starting {run!r}")
    if len(rows) > 1:
        raise InputError("RUN", f"run id {run!r} is ambiguous: "
                         + ", ".join(r.run_id for r in rows))
    return rows[0]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class OpenFinding(BaseModel):
    """A finding open now, with the audit its open streak began in."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    subject_id: str
    practice: str
    status: str
    severity: str
    message: str
    open_since: dt.datetime
    open_since_run: str
    last_seen: dt.datetime
    age_days: float


def open_findings(conn: Connection, estate: str) -> list[OpenFinding]:
    """Every currently open finding of the estate, oldest first."""
    query = (select(findings.c.rule_id, findings.c.subject_id, findings.c.practice,
                    intervals.c.status, intervals.c.severity, intervals.c.message,
                    intervals.c.open_since_seq, intervals.c.last_seq)
             .join(findings, findings.c.id == intervals.c.finding_id)
             .where(intervals.c.estate_key == estate, intervals.c.ended_seq.is_(None),
                    intervals.c.status.in_(sorted(OPEN_STATUSES))))
    rows = conn.execute(query).all()
    latest = list_audits(conn, estate, limit=1)
    seen = audits_by_seq(conn, [r.open_since_seq for r in rows] + [r.last_seq for r in rows])
    out = []
    for r in rows:
        since = seen[r.open_since_seq]
        out.append(OpenFinding(
            rule_id=r.rule_id, subject_id=r.subject_id, practice=r.practice, status=r.status,
            severity=r.severity, message=r.message, open_since=since.now,
            open_since_run=since.run_id, last_seen=seen[r.last_seq].now,
            age_days=age_days(since.now, latest[0].now)))
    return sorted(out, key=lambda f: (f.open_since, f.rule_id, f.subject_id.lower()))


def age_days(since: dt.datetime, at: dt.datetime) -> float:
    """Days from `since` to `at`, one decimal."""
    return round((at - since).total_seconds() / 86400, 1)


EXPORT_FIELDS = ("rule_id", "subject_id", "subject_type", "practice", "status", "severity",
                 "message", "first_seen", "first_seen_run", "last_seen", "last_seen_run",
                 "ended", "ended_run", "end_reason")


def export_rows(conn: Connection, estate: str) -> Iterator[dict[str, Any]]:
    """Every status interval of the estate, oldest first, with its audits' times and run ids."""
    runs = {a.seq: a for a in list_audits(conn, estate)}
    query = (select(findings.c.rule_id, findings.c.subject_id, findings.c.subject_type,
                    findings.c.practice, intervals.c.status, intervals.c.severity,
                    intervals.c.message, intervals.c.first_seq, intervals.c.last_seq,
                    intervals.c.ended_seq, intervals.c.end_reason)
             .join(findings, findings.c.id == intervals.c.finding_id)
             .where(intervals.c.estate_key == estate)
             .order_by(intervals.c.first_seq, findings.c.rule_id, findings.c.subject_id))
    for r in conn.execute(query):
        ended = runs.get(r.ended_seq) if r.ended_seq is not None else None
        yield {"rule_id": r.rule_id, "subject_id": r.subject_id,
               "subject_type": r.subject_type, "practice": r.practice, "status": r.status,
               "severity": r.severity, "message": r.message,
               "first_seen": runs[r.first_seq].now.isoformat(),
               "first_seen_run": runs[r.first_seq].run_id,
               "last_seen": runs[r.last_seq].now.isoformat(),
               "last_seen_run": runs[r.last_seq].run_id,
               "ended": ended.now.isoformat() if ended else None,
               "ended_run": ended.run_id if ended else None, "end_reason": r.end_reason}
