"""Retention: remove old audits' evidence bundles and report files from the store.

An audit pruned keeps its row, its results and inventory, and its place in the findings'
status intervals, so `history list`, `show`, `diff`, `open` and the trends still work; only
what its report is rendered from goes (`history report` then says so). Never pruned: the
newest audits (--keep-last), the recent ones (--keep-days), and an audit where an open
finding's open streak began (its "open since" must stay provable). A blob still used by an
audit that stays (content-addressed blobs are shared) or by a remediation run stays too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Connection, delete, func, select, update

from auditor.history.queries import AuditRow, estate_keys, list_audits, only_estate
from auditor.history.record import iso
from auditor.history.schema import audits, blobs, intervals, remediations
from auditor.history.states import OPEN_STATUSES
from auditor.history.store import HistoryStore

_CHUNK = 500  # bind parameters per DELETE


@dataclass(frozen=True)
class Retention:
    """What to keep: the last `keep_last` audits of each estate and those that ran within
    `keep_days` of `now`."""

    keep_days: int
    keep_last: int
    now: dt.datetime


class PrunedAudit(BaseModel):
    """An audit whose bundle and report files are (or would be) removed."""

    run_id: str
    estate: str
    ran_at: dt.datetime
    blobs: list[str]
    size: int  # bytes of these blobs uncompressed
    stored: int  # bytes they take in the store (compressed)


class KeptAudit(BaseModel):
    """An audit a prune keeps whole, and why."""

    run_id: str
    estate: str
    reason: str


class PrunePlan(BaseModel):
    """`history prune --json`: what was (with --apply) or would be removed."""

    applied: bool
    keep_days: int
    keep_last: int
    pruned: list[PrunedAudit]
    kept: list[KeptAudit]
    blobs: int
    size: int
    stored: int


def _report_blobs(row: AuditRow) -> set[str]:
    """What an audit's report is rendered from beyond its results and inventory."""
    return {row.bundle_sha256, *(str(d) for d in row.report.get("blobs", {}).values())}


def _always_kept(row: AuditRow) -> set[str]:
    return {row.results_sha256, str(row.report.get("inventory_sha256", ""))}


def _open_starts(conn: Connection, estate: str) -> set[int]:
    query = (select(intervals.c.open_since_seq).distinct()
             .where(intervals.c.estate_key == estate, intervals.c.ended_seq.is_(None),
                    intervals.c.status.in_(sorted(OPEN_STATUSES)),
                    intervals.c.open_since_seq.is_not(None)))
    return {int(seq) for seq in conn.execute(query).scalars()}


def _keep_reason(row: AuditRow, index: int, starts: set[int], policy: Retention) -> str | None:
    if index == 0:
        return "newest"
    if index < policy.keep_last:
        return f"among the last {policy.keep_last}"
    if row.ran_at >= policy.now - dt.timedelta(days=policy.keep_days):
        return f"within {policy.keep_days} days"
    if row.seq in starts:
        return "an open finding's first sighting"
    return None


def _split(conn: Connection, estate: str, policy: Retention
           ) -> tuple[list[AuditRow], list[AuditRow], list[KeptAudit]]:
    """(audits to prune, audits that stay unpruned, why each stays) for one estate."""
    starts = _open_starts(conn, estate)
    doomed: list[AuditRow] = []
    staying: list[AuditRow] = []
    kept: list[KeptAudit] = []
    for index, row in enumerate(list_audits(conn, estate)):
        if row.pruned_at is not None:
            continue
        reason = _keep_reason(row, index, starts, policy)
        if reason is None:
            doomed.append(row)
        else:
            staying.append(row)
            kept.append(KeptAudit(run_id=row.run_id, estate=row.estate, reason=reason))
    return doomed, staying, kept


def _still_used(conn: Connection, staying: Iterable[AuditRow]) -> set[str]:
    """Every blob something that stays still needs."""
    used = {str(d) for d in conn.execute(select(remediations.c.record_sha256)).scalars()}
    for row in list_audits(conn):
        used |= _always_kept(row)
    for row in staying:
        used |= _report_blobs(row)
    return used


def _sizes(conn: Connection, digests: set[str]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    ordered = sorted(digests)
    for start in range(0, len(ordered), _CHUNK):
        query = select(blobs.c.sha256, blobs.c.size, func.length(blobs.c.data)) \
            .where(blobs.c.sha256.in_(ordered[start:start + _CHUNK]))
        found |= {str(d): (int(s), int(n)) for d, s, n in conn.execute(query)}
    return found


def plan_prune(conn: Connection, estate: str | None, policy: Retention) -> PrunePlan:
    """What a prune would remove (nothing is written)."""
    keys = [only_estate(conn, estate)] if estate else [k for k, _ in estate_keys(conn)]
    doomed: list[AuditRow] = []
    staying: list[AuditRow] = []
    kept: list[KeptAudit] = []
    for key in keys:
        d, s, k = _split(conn, key, policy)
        doomed += d
        staying += s
        kept += k
    used = _still_used(conn, staying)
    candidates: set[str] = set()
    for row in doomed:
        candidates |= _report_blobs(row)
    sizes = _sizes(conn, candidates - used)
    pruned = [PrunedAudit(run_id=r.run_id, estate=r.estate, ran_at=r.ran_at,
                          blobs=sorted(b for b in _report_blobs(r) if b in sizes),
                          size=sum(sizes[b][0] for b in _report_blobs(r) if b in sizes),
                          stored=sum(sizes[b][1] for b in _report_blobs(r) if b in sizes))
              for r in doomed]
    return PrunePlan(applied=False, keep_days=policy.keep_days, keep_last=policy.keep_last,
                     pruned=pruned, kept=kept, blobs=len(sizes),
                     size=sum(s for s, _ in sizes.values()),
                     stored=sum(n for _, n in sizes.values()))


def dry_run(store: HistoryStore, estate: str | None, policy: Retention) -> PrunePlan:
    """The plan, read in one transaction."""
    with store.reading() as conn:
        return plan_prune(conn, estate, policy)


def apply_prune(store: HistoryStore, estate: str | None, policy: Retention) -> PrunePlan:
    """Plan and remove in one writing transaction: all of it happens or none."""
    with store.writing() as conn:
        plan = plan_prune(conn, estate, policy)
        gone = sorted({b for p in plan.pruned for b in p.blobs})
        for start in range(0, len(gone), _CHUNK):
            conn.execute(delete(blobs).where(blobs.c.sha256.in_(gone[start:start + _CHUNK])))
        runs = [p.run_id for p in plan.pruned]
        for start in range(0, len(runs), _CHUNK):
            conn.execute(update(audits).where(audits.c.run_id.in_(runs[start:start + _CHUNK]))
                         .values(pruned_at=iso(policy.now)))
    return plan.model_copy(update={"applied": True})
