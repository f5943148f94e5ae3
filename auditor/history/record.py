"""Record an audit into history: its row, its blobs, and its findings as status intervals.

A finding's interval runs while its status and severity stay the same (the message kept is the
latest one); a change ends it and opens the next. A finding missing from an audit that looked
at its rule and subject is "retired" (its rule left the pack or its subject the inventory),
never "resolved". A partial audit touches only the findings inside its scope.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, Connection, bindparam, insert, select, update

from auditor.canonical import sha256_of
from auditor.engine.rules import RulePack
from auditor.history.blobs import Packed, pack, put_packed
from auditor.history.schema import audits, estates, findings, intervals
from auditor.history.states import State, covers, open_intervals, results_estate_key, results_states
from auditor.history.store import HistoryError, HistoryStore
from auditor.killhook import checkpoint
from auditor.results import Results


@dataclass(frozen=True)
class AuditRecord:
    """What an audit leaves in history besides its results: the files it was made from and how
    its report was rendered (so the report can be rendered again, byte for byte)."""

    results: Results
    results_bytes: bytes
    bundle_bytes: bytes
    inventory_bytes: bytes
    rulepack_sha256: str
    ran_at: dt.datetime
    generated_at: dt.datetime | None = None
    report: Mapping[str, object] = field(default_factory=dict)
    extra_blobs: Mapping[str, bytes] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def rulepack_sha256(pack: RulePack) -> str:
    """The SHA-256 of the whole rule pack's canonical JSON (every rule's text and params)."""
    return sha256_of(pack.model_dump(mode="json"))


def iso(moment: dt.datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC with microseconds."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def practices_json(results: Results) -> str:
    """Per-practice score, coverage and status, as canonical JSON."""
    return _json({p.id: {"title": p.title, "status": p.status.value, "score": p.score.score,
                         "coverage": p.score.coverage} for p in results.by_practice})


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def record_audit(store: HistoryStore, record: AuditRecord) -> int:
    """Write the audit in one transaction; its sequence number in the store."""
    # The pure work first (hashing, compressing, the findings' states), then the one
    # transaction, so the writer lock is held only for the reads and writes themselves.
    blobs = _Blobs.of(record)
    new = results_states(record.results)
    with store.writing() as conn:
        estate = results_estate_key(record.results)
        _ensure_estate(conn, estate, record.results.estate)
        seq = _insert_audit(conn, estate, record, blobs)
        checkpoint("history-audit-row")  # the kill tests' fixed points (KILL_AT)
        _apply_findings(conn, estate, seq, record.results, new)
        checkpoint("history-intervals")
        conn.execute(update(estates).where(estates.c.key == estate).values(last_seq=seq))
        return seq


def record_deliveries(store: HistoryStore, run_id: str,
                      deliveries: Sequence[Mapping[str, object]]) -> None:
    """Add what became of an audit's deliveries (metrics file, mail) to its record: they
    happen after the audit is recorded, and a failed one must be on record too."""
    with store.writing() as conn:
        conn.execute(update(audits).where(audits.c.run_id == run_id)
                     .values(deliveries=_json([dict(d) for d in deliveries])))


def _ensure_estate(conn: Connection, key: str, name: str) -> None:
    if conn.execute(select(estates.c.key).where(estates.c.key == key)).first() is None:
        conn.execute(insert(estates).values(key=key, name=name, last_seq=None))
    else:
        conn.execute(update(estates).where(estates.c.key == key).values(name=name))


@dataclass(frozen=True)
class _Blobs:
    """An audit's blobs, packed before its transaction."""

    results: Packed
    bundle: Packed
    inventory: Packed
    extra: dict[str, Packed]

    @classmethod
    def of(cls, record: AuditRecord) -> _Blobs:
        return cls(pack(record.results_bytes), pack(record.bundle_bytes),
                   pack(record.inventory_bytes),
                   {name: pack(data) for name, data in record.extra_blobs.items()})


def _insert_audit(conn: Connection, estate: str, record: AuditRecord, packed: _Blobs) -> int:
    results = record.results
    blobs = {name: put_packed(conn, blob) for name, blob in packed.extra.items()}
    report = {**record.report, "blobs": blobs,
              "inventory_sha256": put_packed(conn, packed.inventory)}
    overall = results.overall
    row = conn.execute(insert(audits).values(
        run_id=record.run_id, estate_key=estate, estate=results.estate, ran_at=iso(record.ran_at),
        collected_at=iso(results.collected_at), now=iso(results.now),
        recorded_at=iso(dt.datetime.now(dt.UTC)),
        generated_at=iso(record.generated_at) if record.generated_at else None,
        tool_version=results.tool_version, rulepack_version=results.rulepack_version,
        rulepack_sha256=record.rulepack_sha256, inventory_sha256=results.inventory_sha256,
        bundle_sha256=put_packed(conn, packed.bundle),
        results_sha256=put_packed(conn, packed.results), score=overall.score,
        score_without_waivers=overall.score_without_waivers, coverage=overall.coverage,
        applicable=overall.applicable, assessed=overall.assessed, findings=len(results.findings),
        counts=_json(overall.counts), complete=results.scope.complete,
        scope=_json(results.scope.model_dump(mode="json")), report=_json(report),
        practices=practices_json(results)))
    key = row.inserted_primary_key
    if key is None:
        raise HistoryError("history store: the new audit got no sequence number")
    return int(key[0])


@dataclass
class _Changes:
    """The writes one audit makes to the intervals."""

    seen: list[int] = field(default_factory=list)  # intervals that go on
    messages: list[dict[str, object]] = field(default_factory=list)
    ended: list[dict[str, object]] = field(default_factory=list)
    opened: list[tuple[State, int | None]] = field(default_factory=list)  # (state, open since)
    ids: dict[str, int] = field(default_factory=dict)  # finding ids history already has


def _apply_findings(conn: Connection, estate: str, seq: int, results: Results,
                    new: dict[str, State]) -> None:
    changes = _Changes()
    current: dict[str, tuple[int, State]] = {}
    for interval_id, finding_id, state in open_intervals(conn, estate):
        current[state.key] = (interval_id, state)
        changes.ids[state.key] = finding_id
        if not covers(results, state):
            continue
        _compare(changes, interval_id, state, new.get(state.key), seq)
    for key, state in new.items():
        if key not in current:
            changes.opened.append((state, seq if state.open else None))
    _write(conn, estate, seq, changes, results.scope.complete)


def _compare(changes: _Changes, interval_id: int, old: State, new: State | None,
             seq: int) -> None:
    if new is None:
        changes.ended.append({"i": interval_id, "reason": "retired"})
    elif (new.status, new.severity) != (old.status, old.severity):
        changes.ended.append({"i": interval_id, "reason": "changed"})
        since = (old.open_since_seq or seq) if old.open and new.open else seq
        changes.opened.append((new, since if new.open else None))
    else:
        changes.seen.append(interval_id)
        if new.message != old.message:
            changes.messages.append({"i": interval_id, "m": new.message})


def _write(conn: Connection, estate: str, seq: int, changes: _Changes, complete: bool) -> None:
    by_id: BindParameter[int] = bindparam("i")
    if changes.ended:
        conn.execute(update(intervals).where(intervals.c.id == by_id)
                     .values(ended_seq=seq, end_reason=bindparam("reason")), changes.ended)
    if complete:  # one statement for every interval that goes on (the new ones start here)
        conn.execute(update(intervals).where(intervals.c.estate_key == estate,
                                             intervals.c.ended_seq.is_(None))
                     .values(last_seq=seq))
    elif changes.seen:
        conn.execute(update(intervals).where(intervals.c.id == by_id).values(last_seq=seq),
                     [{"i": i} for i in changes.seen])
    if changes.messages:
        conn.execute(update(intervals).where(intervals.c.id == by_id)
                     .values(message=bindparam("m")), changes.messages)
    if changes.opened:
        ids = changes.ids
        if any(s.key not in ids for s, _ in changes.opened):
            ids = _finding_ids(conn, estate, [s for s, _ in changes.opened])
        conn.execute(insert(intervals), [
            {"finding_id": ids[s.key], "estate_key": estate, "status": s.status,
             "severity": s.severity, "message": s.message, "first_seq": seq, "last_seq": seq,
             "ended_seq": None, "end_reason": None, "open_since_seq": since}
            for s, since in changes.opened])


def _finding_ids(conn: Connection, estate: str, wanted: list[State]) -> dict[str, int]:
    """The finding ids of these states, adding the findings history has never seen."""
    known = _known(conn, estate)
    missing = [s for s in wanted if s.key not in known]
    if missing:
        conn.execute(insert(findings), [
            {"key": s.key, "estate_key": estate, "rule_id": s.rule_id, "subject_id": s.subject_id,
             "subject_type": s.subject_type, "practice": s.practice} for s in missing])
        known = _known(conn, estate)
    return known


def _known(conn: Connection, estate: str) -> dict[str, int]:
    query = select(findings.c.key, findings.c.id).where(findings.c.estate_key == estate)
    return {key: int(fid) for key, fid in conn.execute(query)}
