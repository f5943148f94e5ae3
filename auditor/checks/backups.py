"""P1 backup checks: full backups, cadence, log backups, system databases, log chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pydantic import Field

from auditor.checks.subjects import DbClass, LyncDatabase, lync_databases
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts, Unknown
from auditor.facts.sql import Backup
from auditor.findings import Status, Verdict


def hours(delta: dt.timedelta) -> float:
    """A duration in hours, one decimal."""
    return round(delta.total_seconds() / 3600, 1)


def describe_age(delta: dt.timedelta) -> str:
    """'25 h 59 min' style, for messages."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 0:
        return f"{-minutes} min in the future"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class FullBackupWithin(Params):
    """BR-001: the newest full backup must have finished within max_age_hours."""

    max_age_hours: float = Field(default=26, gt=0, le=24 * 30)


def _full_backups(backups: tuple[Backup, ...], name: str) -> list[Backup]:
    return [b for b in backups if b.type == "D" and b.database_name.lower() == name.lower()]


@check_kind("full_backup_within", FullBackupWithin)
def full_backup_within(facts: Facts, params: ParamsFor[FullBackupWithin]) -> Iterator[Verdict]:
    """Each required Lync store has a full, chain, undamaged backup newer than the limit."""
    for db in lync_databases(facts):
        yield _full_backup_verdict(db, facts.now, params(db.scope))


def _full_backup_verdict(db: LyncDatabase, now: dt.datetime,
                         params: FullBackupWithin) -> Verdict:
    if db.kind is DbClass.OFFLINE:
        return db.verdict(Status.WARN, f"{db.reason}: required and unprotected while offline")
    if db.kind in (DbClass.MISSING, DbClass.UNKNOWN):
        return db.verdict(Status.ERROR, db.reason)
    if db.kind is not DbClass.REQUIRED:
        return db.verdict(Status.NOT_APPLICABLE, db.reason)
    expected = f"a full backup finished within {params.max_age_hours:g} h"
    history, last = db.facts.backups, db.facts.last_backups
    if isinstance(history, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {history.reason}",
                          expected=expected, evidence_ids=history.evidence_ids)
    if isinstance(last, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {last.reason}",
                          expected=expected, evidence_ids=last.evidence_ids)
    ids = history.evidence_ids + last.evidence_ids
    fulls = _full_backups(history.value, db.name)
    good = [b for b in fulls if not b.is_copy_only and not b.is_damaged and b.finished_at <= now]
    if good:
        newest = max(good, key=lambda b: b.finished_at)
        age = now - newest.finished_at
        observed = {"last_full_finished": newest.finished_at.isoformat(), "age_hours": hours(age)}
        if age <= dt.timedelta(hours=params.max_age_hours):
            return db.verdict(Status.PASS, f"last full backup finished {describe_age(age)} ago",
                              observed, expected, ids)
        return db.verdict(Status.FAIL, f"last full backup finished {describe_age(age)} ago, "
                          f"over the {params.max_age_hours:g} h limit", observed, expected, ids)
    ever = last.value.get((db.name.lower(), "D"))
    copy_only = [b for b in fulls if b.is_copy_only]
    note = " (only copy-only fulls, which are outside the backup chain)" if copy_only else ""
    if any(b.is_damaged for b in fulls):
        note = " (the recent fulls are marked damaged)"
    if ever is None:
        return db.verdict(Status.FAIL, f"never backed up (no full backup in msdb){note}",
                          {"last_full_finished": None}, expected, ids)
    age = now - ever.finished_at
    return db.verdict(Status.FAIL, f"last full backup finished {describe_age(age)} ago{note}",
                      {"last_full_finished": ever.finished_at.isoformat(), "age_hours": hours(age)},
                      expected, ids)


KINDS: tuple[CheckKind[Params], ...] = (full_backup_within,)  # type: ignore[assignment]
