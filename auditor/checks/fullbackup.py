"""BR-001: every required Lync store has a recent full backup that counts (in the backup chain,
not damaged); the message names a newer full that did not count, and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.backups import describe_age, hours, known_history
from auditor.checks.subjects import DbClass, LyncDatabase, future_gate, lync_databases
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Facts
from auditor.facts.sql import Backup, LastBackup
from auditor.findings import Status, Verdict


class FullBackupWithin(Params):
    """BR-001: the newest full backup must have finished within max_age_hours."""

    max_age_hours: float = Field(default=26, gt=0, le=24 * 30)


def _full_backups(backups: tuple[Backup, ...], name: str) -> list[Backup]:
    return [b for b in backups if b.type == "D" and b.database_name.lower() == name.lower()]


@check_kind("full_backup_within", FullBackupWithin)
def full_backup_within(facts: Facts, params: ParamsFor[FullBackupWithin]) -> Iterator[Verdict]:
    """Each required Lync store has a full, chain, undamaged backup newer than the limit."""
    for db in lync_databases(facts):
        yield _full_backup_verdict(db, params(db.scope))


def _full_backup_verdict(db: LyncDatabase, params: FullBackupWithin) -> Verdict:
    if db.kind is DbClass.OFFLINE:
        return db.verdict(Status.WARN, f"{db.reason}: required and unprotected while offline")
    if db.kind in (DbClass.MISSING, DbClass.UNKNOWN):
        return db.verdict(Status.ERROR, db.reason)
    if db.kind is not DbClass.REQUIRED:
        return db.verdict(Status.NOT_APPLICABLE, db.reason)
    expected = f"a full backup finished within {params.max_age_hours:g} h"
    known = known_history(db, expected)
    if isinstance(known, Verdict):
        return known
    future = future_gate(db)
    if future is not None:
        return future
    history, last = known
    ids = history.evidence_ids + last.evidence_ids
    fulls = _full_backups(history.value, db.name)
    good = [b for b in fulls if not b.is_copy_only and not b.is_damaged]
    newest = max(good, key=lambda b: b.finished_at) if good else None
    if newest is None:
        return _no_counted_full(db, fulls, last.value.get((db.name.lower(), "D")), expected,
                                ids)
    age = db.clock.age(newest.finished_at)
    observed = {"last_full_finished": newest.finished_at.isoformat(), "age_hours": hours(age)}
    note = _uncounted_note(db, fulls, newest.finished_at)
    if age <= dt.timedelta(hours=params.max_age_hours):
        return db.verdict(Status.PASS, f"last full backup finished {describe_age(age)} ago{note}",
                          observed, expected, ids)
    return db.verdict(Status.FAIL, f"last full backup finished {describe_age(age)} ago, over "
                      f"the {params.max_age_hours:g} h limit{note}", observed, expected, ids)


def _why_uncounted(backup: Backup) -> str:
    if backup.is_copy_only and backup.is_damaged:
        return "it is copy-only (outside the backup chain) and marked damaged in msdb"
    if backup.is_copy_only:
        return "it is copy-only (outside the backup chain)"
    return "it is marked damaged in msdb (is_damaged)"


def _uncounted_note(db: LyncDatabase, fulls: list[Backup], counted: dt.datetime | None) -> str:
    """'; a newer full backup, finished 2 h 05 min ago, did not count: it is copy-only ...'
    when the newest full of the history is one that BR-001 may not count."""
    newer = [b for b in fulls if (b.is_copy_only or b.is_damaged)
             and (counted is None or b.finished_at > counted)]
    if not newer:
        return ""
    last = max(newer, key=lambda b: b.finished_at)
    which = "a newer full backup" if counted is not None else "the newest full backup"
    return (f"; {which}, finished {describe_age(db.clock.age(last.finished_at))} ago, did not "
            f"count: {_why_uncounted(last)}")


def _no_counted_full(db: LyncDatabase, fulls: list[Backup], ever: LastBackup | None,
                     expected: str, ids: tuple[str, ...]) -> Verdict:
    """No chain, undamaged full in the collected history: the newest chain full msdb ever
    recorded (last_backups) counts unless it is one of the damaged fulls of the history."""
    damaged = {b.finished_at for b in fulls if b.is_damaged and not b.is_copy_only}
    if ever is not None and ever.finished_at not in damaged:
        age = db.clock.age(ever.finished_at)
        return db.verdict(Status.FAIL, f"last full backup finished {describe_age(age)} ago"
                          f"{_uncounted_note(db, fulls, ever.finished_at)}",
                          {"last_full_finished": ever.finished_at.isoformat(),
                           "age_hours": hours(age)}, expected, ids)
    if ever is None and not fulls:
        return db.verdict(Status.FAIL, "never backed up (no full backup in msdb)",
                          {"last_full_finished": None}, expected, ids)
    first = "no full backup that counts in msdb" if ever is None else (
        "no undamaged full backup in the collected history")
    return db.verdict(Status.FAIL, f"{first}{_uncounted_note(db, fulls, None)}",
                      {"last_full_finished": None}, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (full_backup_within,)
