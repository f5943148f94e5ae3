"""P4 check: full and differential backups start in the low-usage window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from auditor.checks.backups import db_backups, history_error
from auditor.checks.subjects import LyncDatabase, backup_gate, history_gate, lync_databases
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import Fact, Facts, Known, Unknown
from auditor.facts.sql import Backup
from auditor.findings import Status, Verdict
from auditor.inventory import InstanceRole

HOURS = 24
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
NO_EVIDENCE = "no backup window in the policy and no CDR usage evidence"


class Window(Params):
    """A time-of-day window; start > end wraps midnight (23:00-05:00)."""

    start: str = Field(pattern=TIME_OF_DAY)
    end: str = Field(pattern=TIME_OF_DAY)


class BackupsInWindow(Params):
    """BR-030. `backup_window` is filled by the engine from the inventory's policy."""

    backup_window: Window | None = None
    lookback_days: int = Field(default=7, ge=1, le=31)
    quiet_hours: int = Field(default=6, ge=1, le=23)


def _time(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


def in_window(moment: dt.time, start: dt.time, end: dt.time) -> bool:
    """start inclusive, end exclusive; a window whose start is after its end wraps midnight."""
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def cdr_hourly_sessions(facts: Facts) -> Fact[tuple[int, ...]]:
    """Sessions per UTC hour of the day, summed over every monitoring instance's CDR.

    Fails closed: one monitoring instance without usable CDR evidence makes the whole profile
    unknown, since a partial profile could point at the busy hours of the missing one.
    """
    totals = [0] * HOURS
    ids: list[str] = []
    monitoring = [i for i in facts.instances if i.instance.role is InstanceRole.MONITORING]
    if not monitoring:
        return Unknown("no monitoring instance in the inventory")
    for inst in monitoring:
        usage = inst.cdr_usage
        if isinstance(usage, Unknown):
            return Unknown(usage.reason, tuple(ids) + usage.evidence_ids)
        ids.extend(usage.evidence_ids)
        for row in usage.value:
            totals[row.hour_utc] += row.sessions
    if not any(totals):
        return Unknown("the CDR database records no sessions (CDR disabled or purged)", tuple(ids))
    return Known(tuple(totals), tuple(ids))


def quietest_start(totals: tuple[int, ...], hours: int) -> int:
    """The UTC hour starting the contiguous block (wrapping midnight) with the fewest sessions;
    ties go to the earliest hour."""
    def load(start: int) -> int:
        return sum(totals[(start + i) % HOURS] for i in range(hours))
    return min(range(HOURS), key=lambda start: (load(start), start))


@check_kind("backups_start_in_window", BackupsInWindow)
def backups_start_in_window(facts: Facts, params: ParamsFor[BackupsInWindow]) -> Iterator[Verdict]:
    """Full and differential backups of each required store start in the low-usage window."""
    usage = cdr_hourly_sessions(facts)
    for db in lync_databases(facts):
        yield _window_verdict(db, params(db.scope), usage)


def _window_verdict(db: LyncDatabase, params: BackupsInWindow,
                    usage: Fact[tuple[int, ...]]) -> Verdict:
    gate = backup_gate(db) or history_gate(db)
    if gate is not None:
        return gate
    history = db.facts.backups
    if isinstance(history, Unknown):
        return history_error(db, history)
    span = dt.timedelta(days=params.lookback_days)
    recent = sorted((b for b in db_backups(history.value, db.name) if b.type in ("D", "I")
                     and db.clock.age(b.started_at) < span),
                    key=lambda b: b.started_at)
    if not recent:
        return db.verdict(Status.NOT_APPLICABLE, f"no full or differential backup started in the "
                          f"last {params.lookback_days} days (BR-001/BR-002 report it)",
                          evidence_ids=history.evidence_ids)
    window = params.backup_window
    if window is not None:
        return _judge(db, recent, _time(window.start), _time(window.end), local=True,
                      label=f"the policy window {window.start}-{window.end} server local time",
                      days=params.lookback_days, ids=history.evidence_ids)
    if isinstance(usage, Unknown):
        return db.verdict(Status.ERROR, f"{NO_EVIDENCE} ({usage.reason})",
                          evidence_ids=history.evidence_ids + usage.evidence_ids)
    first = quietest_start(usage.value, params.quiet_hours)
    start, end = dt.time(first), dt.time((first + params.quiet_hours) % HOURS)
    label = (f"{start:%H:%M}-{end:%H:%M} UTC (the quietest {params.quiet_hours} h in the "
             "Monitoring CDR; no policy window)")
    return _judge(db, recent, start, end, local=False, label=label, days=params.lookback_days,
                  ids=history.evidence_ids + usage.evidence_ids)


def _judge(db: LyncDatabase, recent: list[Backup], start: dt.time, end: dt.time, *, local: bool,
           label: str, days: int, ids: tuple[str, ...]) -> Verdict:
    if start == end:
        return db.verdict(Status.ERROR, f"{label} is empty (start equals end)", evidence_ids=ids)

    def started(backup: Backup) -> dt.datetime:
        return backup.start_local if local else backup.started_at.astimezone(dt.UTC)

    suffix = "local" if local else "UTC"
    outside = [b for b in recent if not in_window(started(b).time(), start, end)]
    shown = [f"{started(b):%Y-%m-%d %H:%M} {suffix} ({'full' if b.type == 'D' else 'diff'})"
             for b in outside[:5]]
    observed = {"window": label, "backups": len(recent), "outside": len(outside),
                "outside_starts": shown}
    expected = f"every full and differential backup starts inside {label}"
    if not outside:
        return db.verdict(Status.PASS, f"all {len(recent)} full/differential backup(s) of the "
                          f"last {days} days started inside {label}", observed, expected, ids)
    more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
    return db.verdict(Status.FAIL, f"{len(outside)} of {len(recent)} full/differential backup(s) "
                      f"of the last {days} days started outside {label}: {', '.join(shown)}"
                      f"{more}", observed, expected, ids)


KINDS: tuple[CheckKind[Any], ...] = (backups_start_in_window,)
