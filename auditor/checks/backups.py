"""P1 backup checks: full backups, cadence, log backups, system databases; the helpers the P1
checks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Self

from pydantic import Field, model_validator

from auditor.checks.subjects import (
    SYSTEM_DATABASES,
    LyncDatabase,
    audited_instances,
    backup_gate,
    database_future,
    database_subject,
    history_gate,
    lync_databases,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import AuditClock, Facts, InstanceFacts, Known, Unknown
from auditor.facts.sql import Backup, LastBackup
from auditor.findings import Status, Verdict
from auditor.inventory import InstanceRole, SqlInstance


def hours(delta: dt.timedelta) -> float:
    """A duration in hours, one decimal."""
    return round(delta.total_seconds() / 3600, 1)


def describe_age(delta: dt.timedelta) -> str:
    """'25 h 59 min', '3 d 4 h' or '7.7 years': the largest sensible unit, for messages; never
    negative (a future time is reported by future_gate before any age is described)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes >= 365 * 24 * 60:
        return f"{minutes / (365.25 * 24 * 60):.1f} years"
    if minutes >= 48 * 60:
        return f"{minutes // (24 * 60)} d {minutes // 60 % 24} h"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# --- shared helpers of the P1 checks ------------------------------------------------------

DAY = dt.timedelta(days=1)


def describe_span(delta: dt.timedelta) -> str:
    """'59 min', '1 h 01 min', '55 d 3 h': an age for messages, never negative."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d {minutes // 60 % 24} h"


def when(moment: dt.datetime) -> str:
    """A time for messages, with its offset: '2026-11-24 10:01+00:00'."""
    return moment.isoformat(sep=" ", timespec="minutes")


def db_backups(backups: tuple[Backup, ...], name: str) -> list[Backup]:
    """The backup sets of one database (msdb compares names case-insensitively)."""
    low = name.lower()
    return [b for b in backups if b.database_name.lower() == low]


def history_error(db: LyncDatabase, fact: Unknown, expected: str | None = None) -> Verdict:
    """The verdict when the backup history could not be read."""
    return db.verdict(Status.ERROR, f"backup history unavailable: {fact.reason}",
                      expected=expected, evidence_ids=fact.evidence_ids)


History = tuple[Known[tuple[Backup, ...]], Known[dict[tuple[str, str], LastBackup]]]


def known_history(db: LyncDatabase, expected: str) -> History | Verdict:
    """The windowed backup history and the all-time newest backups, or the error verdict."""
    history, last = db.facts.backups, db.facts.last_backups
    if isinstance(history, Unknown):
        return history_error(db, history, expected)
    if isinstance(last, Unknown):
        return history_error(db, last, expected)
    return history, last


def simple_gate(db: LyncDatabase) -> Verdict | None:
    """SIMPLE recovery databases take no log backups: not_applicable for the log rules."""
    if db.state is not None and not db.state.needs_log_backups:
        return db.verdict(Status.NOT_APPLICABLE,
                          f"{db.name} is in SIMPLE recovery: it takes no log backups")
    return None


def _chain_full(backup: Backup) -> bool:
    return backup.type == "D" and not backup.is_copy_only and not backup.is_damaged


def _short_name(name: str) -> str:
    """'sql01.contoso.com\\RTC' and 'SQL01\\rtc' compare equal."""
    host, _, instance = name.partition("\\")
    host = host.split(".")[0]
    return f"{host}\\{instance}".lower() if instance else host.lower()


def taken_here(backup: Backup, inst: InstanceFacts) -> bool:
    """The backup set was written by this instance (server_name and machine_name agree)."""
    cfg: SqlInstance = inst.instance
    machines = {_short_name(cfg.server_name.partition("\\")[0]), _short_name(cfg.host)}
    instance = cfg.server_name.partition("\\")[2]
    if isinstance(inst.clock, Known) and inst.clock.value.machine_name:
        machines.add(_short_name(inst.clock.value.machine_name))
    servers = {f"{m}\\{instance}".lower() if instance else m for m in machines}
    servers.add(_short_name(cfg.server_name))
    if backup.server_name and _short_name(backup.server_name) not in servers:
        return False
    return not (backup.machine_name and _short_name(backup.machine_name) not in machines)


# --- BR-002: cadence ------------------------------------------------------------------------

class FullBackupCadence(Params):
    """BR-002: a chain full backup in at least min_days of the last period_days 24 h periods."""

    min_days: int = Field(default=6, ge=1, le=31)
    period_days: int = Field(default=7, ge=1, le=31)

    @model_validator(mode="after")
    def _min_within_period(self) -> Self:
        if self.min_days > self.period_days:
            raise ValueError("min_days must not exceed period_days")
        return self


@check_kind("full_backup_on_most_days", FullBackupCadence)
def full_backup_on_most_days(facts: Facts,
                             params: ParamsFor[FullBackupCadence]) -> Iterator[Verdict]:
    """Each required Lync store had a full backup on enough of the recent days."""
    for db in lync_databases(facts):
        yield _cadence_verdict(db, params(db.scope))


def _cadence_verdict(db: LyncDatabase, params: FullBackupCadence) -> Verdict:
    now = db.clock.now
    gate = backup_gate(db) or history_gate(db)
    if gate is not None:
        return gate
    expected = f"a full backup on at least {params.min_days} of the last {params.period_days} days"
    history = db.facts.backups
    if isinstance(history, Unknown):
        return history_error(db, history, expected)
    # Day k (0-based) is the 24 h period (now - (k+1) d, now - k d]: k = age // 1 day; a full
    # finishing while the collection ran (after now, not in the future) is day 0.
    days = {db.clock.age(b.finished_at) // DAY for b in db_backups(history.value, db.name)
            if _chain_full(b)}
    covered = sorted(k for k in days if k < params.period_days)
    missing = [k for k in range(params.period_days) if k not in days]
    observed = {"days_with_full": len(covered), "period_days": params.period_days,
                "days_without_full_ending": [(now - k * DAY).isoformat() for k in missing]}
    text = f"a full backup on {len(covered)} of the last {params.period_days} days"
    if len(covered) >= params.min_days:
        return db.verdict(Status.PASS, text, observed, expected, history.evidence_ids)
    gaps = ", ".join(when(now - k * DAY) for k in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return db.verdict(Status.FAIL, f"{text}, under {params.min_days}: none in the 24 h ending "
                      f"{gaps}{more}", observed, expected, history.evidence_ids)


# --- BR-003: log backups ----------------------------------------------------------------------

class LogBackupWithin(Params):
    """BR-003: the newest log backup finished within max_age_minutes and not in the future."""

    max_age_minutes: float = Field(default=60, gt=0, le=24 * 60)
    clock_skew_minutes: float = Field(default=5, ge=0, le=60)


@check_kind("log_backup_within", LogBackupWithin)
def log_backup_within(facts: Facts, params: ParamsFor[LogBackupWithin]) -> Iterator[Verdict]:
    """Each FULL/BULK_LOGGED required Lync store has a recent log backup."""
    for db in lync_databases(facts):
        yield _log_backup_verdict(db, params(db.scope))


def _log_backup_verdict(db: LyncDatabase, params: LogBackupWithin) -> Verdict:
    # BR-003 keeps its own clock tolerance (clock_skew_minutes), documented in its rule.
    db = replace(db, clock=db.clock.with_tolerance(dt.timedelta(minutes=params.clock_skew_minutes)))
    gate = backup_gate(db) or simple_gate(db) or history_gate(db)
    if gate is not None:
        return gate
    limit = params.max_age_minutes
    expected = f"a log backup finished within the last {limit:g} min, not in the future"
    known = known_history(db, expected)
    if isinstance(known, Verdict):
        return known
    history, last = known
    ids = history.evidence_ids + last.evidence_ids
    logs = [b for b in db_backups(history.value, db.name)
            if b.type == "L" and not b.is_copy_only and not b.is_damaged]
    if logs:
        newest = max(logs, key=lambda b: b.finished_at)
        age = db.clock.age(newest.finished_at)
        observed = {"last_log_finished": newest.finished_at.isoformat(),
                    "age_minutes": round(age.total_seconds() / 60, 1)}
        if newest.finished_at > db.clock.now:
            return db.verdict(Status.PASS, f"last log backup finished "
                              f"{describe_span(newest.finished_at - db.clock.now)} after the "
                              "audit time, while the evidence was collected", observed, expected,
                              ids)
        if age <= dt.timedelta(minutes=limit):
            return db.verdict(Status.PASS, f"last log backup finished {describe_span(age)} ago",
                              observed, expected, ids)
        return db.verdict(Status.FAIL, f"last log backup finished {describe_span(age)} ago, over "
                          f"the {limit:g} min limit", observed, expected, ids)
    model = db.state.recovery_model_desc if db.state else "FULL"
    ever = last.value.get((db.name.lower(), "L"))
    if ever is None:
        return db.verdict(Status.FAIL, f"no log backup was ever taken, although the database is "
                          f"in {model or 'FULL'} recovery (its log grows until backed up)",
                          {"last_log_finished": None}, expected, ids)
    age = db.clock.age(ever.finished_at)
    return db.verdict(Status.FAIL, f"last log backup finished {describe_span(age)} ago, over the "
                      f"{limit:g} min limit", {"last_log_finished": ever.finished_at.isoformat(),
                                               "age_minutes": round(age.total_seconds() / 60, 1)},
                      expected, ids)


# --- BR-004: system databases -----------------------------------------------------------------

class SystemBackupWithin(Params):
    """BR-004: master, msdb and model have a full backup no older than max_age_days."""

    max_age_days: float = Field(default=7, gt=0, le=366)


@check_kind("system_database_backup_within", SystemBackupWithin)
def system_database_backup_within(facts: Facts,
                                  params: ParamsFor[SystemBackupWithin]) -> Iterator[Verdict]:
    """master, msdb and model of every audited instance have a recent full backup."""
    for inst in audited_instances(facts):
        for name in SYSTEM_DATABASES:
            subject, scope = database_subject(facts.inventory, inst.instance, name)
            found = _system_verdict(inst, name, facts.clock, params(scope))
            yield Verdict(subject=subject, status=found[0], message=found[1], observed=found[2],
                          expected=found[3], evidence_ids=found[4])


_Found = tuple[Status, str, Any, Any, tuple[str, ...]]


def _system_verdict(inst: InstanceFacts, name: str, clock: AuditClock,
                    params: SystemBackupWithin) -> _Found:
    if inst.instance.role is InstanceRole.FRONT_END_LOCAL:
        return (Status.NOT_APPLICABLE, "system database of a Front End local instance (rebuilt by "
                "Lync Setup, not restored)", None, None, ())
    limit = params.max_age_days
    expected = f"a full backup finished within {limit:g} days"
    dbs, history, last = inst.databases, inst.backups, inst.last_backups
    if isinstance(dbs, Unknown):
        return (Status.ERROR, f"database list unavailable: {dbs.reason}", None, expected,
                dbs.evidence_ids)
    if isinstance(history, Unknown):
        return (Status.ERROR, f"backup history unavailable: {history.reason}", None, expected,
                history.evidence_ids)
    if isinstance(last, Unknown):
        return (Status.ERROR, f"backup history unavailable: {last.reason}", None, expected,
                last.evidence_ids)
    ids = dbs.evidence_ids + history.evidence_ids + last.evidence_ids
    if name not in dbs.value:
        return (Status.ERROR, f"{name} is not in sys.databases (the database list is incomplete)",
                None, expected, ids)
    future = database_future(inst, name, clock)
    if future is not None:
        return (Status.FAIL, future.text, {"future_time": future.moment.isoformat()}, expected,
                ids)
    fulls = [b for b in db_backups(history.value, name) if b.type == "D" and not b.is_damaged]
    if fulls:
        newest = max(fulls, key=lambda b: b.finished_at).finished_at
    elif (ever := last.value.get((name, "D"))) is not None:
        newest = ever.finished_at
    else:
        return (Status.FAIL, f"{name} was never backed up (no full backup in msdb)",
                {"last_full_finished": None}, expected, ids)
    age = clock.age(newest)
    observed = {"last_full_finished": newest.isoformat(), "age_days": round(age / DAY, 1)}
    shown = describe_span(age)
    if age <= dt.timedelta(days=limit):
        return (Status.PASS, f"last full backup of {name} finished {shown} ago", observed,
                expected, ids)
    return (Status.FAIL, f"last full backup of {name} finished {shown} ago, over the {limit:g} "
            "day limit", observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (full_backup_on_most_days,
                                     log_backup_within, system_database_backup_within)
