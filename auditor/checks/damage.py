"""P12 check DR-030: each Lync store's recent backups are undamaged; each instance holding
stores has no suspect page, no damaged backup of another database, and alerting jobs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from auditor.checks.agent import (
    EXPRESS_SCHEDULING,
    KNOWN_PROCEDURES,
    agent_future,
    backup_jobs,
    edition,
    is_express,
)
from auditor.checks.backups import when
from auditor.checks.integrity import InstanceTarget, database_gate, own, recent, rule_subjects
from auditor.checks.subjects import DbClass, LyncDatabase, database_future
from auditor.engine.registry import CheckKind, Params, ParamsFor, check_kind
from auditor.facts import AuditClock, Facts, Known, Unknown
from auditor.facts.clock import Future
from auditor.facts.sql import Backup
from auditor.findings import Status, Verdict


class IntegrityMonitored(Params):
    """DR-030: no damaged backup lately, no unresolved suspect page, jobs notify on failure."""

    lookback_days: int = Field(default=7, ge=1, le=31)
    backup_procedures: tuple[str, ...] = Field(default=KNOWN_PROCEDURES, min_length=1,
                                               strict=False)  # a YAML list


@check_kind("integrity_monitored", IntegrityMonitored)
def integrity_monitored(facts: Facts, params: ParamsFor[IntegrityMonitored]) -> Iterator[Verdict]:
    """Each store's recent backups are undamaged; each instance holding stores has no suspect
    page, no damaged backup of another database, and alerts on backup job failure."""
    for target, db in rule_subjects(facts):
        if db is None:
            yield target.gate() or target.future(_instance_future(target, facts.clock)) or (
                _instance_verdict(target, facts.clock, params(target.scope)))
            continue
        history = database_gate(db)
        yield history if isinstance(history, Verdict) else _damage_verdict(
            db, history, params(db.scope))


def _damage_verdict(db: LyncDatabase, history: Known[tuple[Backup, ...]],
                    params: IntegrityMonitored) -> Verdict:
    days = params.lookback_days
    expected = f"no backup of the last {days} days marked damaged"
    mine = own(recent(history.value, db.clock, days), db.name)
    if not mine:
        return db.verdict(Status.NOT_APPLICABLE, f"no backup in the last {days} days to inspect "
                          "for damage (BR-001 and BR-002 report it)",
                          evidence_ids=history.evidence_ids)
    damaged = [b for b in mine if b.is_damaged]
    observed = {"backups": len(mine), "damaged_backups": len(damaged)}
    if damaged:
        newest = max(damaged, key=lambda b: b.finished_at)
        return db.verdict(Status.FAIL, f"{len(damaged)} of {len(mine)} backups of the last "
                          f"{days} days are marked damaged (newest finished "
                          f"{when(newest.finished_at)})", observed, expected,
                          history.evidence_ids)
    return db.verdict(Status.PASS, f"none of the {len(mine)} backups of the last {days} days "
                      "is marked damaged", observed, expected, history.evidence_ids)


def _others(target: InstanceTarget) -> list[str]:
    """The databases whose damage the instance finding reports: all but the judged stores
    (a transient store's damage is reported here, never on its own finding)."""
    judged = {db.name.lower() for db in target.databases if db.kind is DbClass.REQUIRED}
    history = target.inst.backups
    names = {b.database_name for b in history.value} if isinstance(history, Known) else set()
    return sorted((n for n in names if n.lower() not in judged), key=str.lower)


def _instance_future(target: InstanceTarget, clock: AuditClock) -> Future | None:
    found = [agent_future(target.inst, clock)]
    found += [database_future(target.inst, name, clock) for name in _others(target)]
    known = [f for f in found if f is not None]
    return max(known, key=lambda f: f.moment - f.collected) if known else None


@dataclass
class _Part:
    """What the parts of the instance finding found: problems, observations, evidence."""

    problems: list[str] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)
    ids: tuple[str, ...] = ()


def _instance_verdict(target: InstanceTarget, now: AuditClock,
                      params: IntegrityMonitored) -> Verdict:
    inst, express = target.inst, is_express(target.inst)
    notify = "" if express else ", every enabled backup job e-mails/pages an operator on failure"
    expected = (f"no damaged backup of a database other than the Lync stores in the last "
                f"{params.lookback_days} days, no unresolved suspect page{notify}")
    history, pages, dbs = inst.backups, inst.suspect_pages, inst.databases
    if isinstance(history, Unknown):
        return target.unknown(history, "backup history", expected)
    if isinstance(pages, Unknown):
        return target.unknown(pages, "suspect_pages", expected)
    if isinstance(dbs, Unknown):
        return target.unknown(dbs, "database list", expected)
    part = _Part()
    part.ids = history.evidence_ids + pages.evidence_ids + dbs.evidence_ids
    _damage_elsewhere(target, history.value, now, params.lookback_days, part)
    by_id = {state.database_id: state.name for state in dbs.value.values()}
    suspect = [p for p in pages.value if p.unresolved]
    part.observed["unresolved_suspect_pages"] = len(suspect)
    if suspect:
        names = sorted({by_id.get(p.database_id, f"database_id {p.database_id}")
                        for p in suspect}, key=str.lower)
        part.problems.append(f"{len(suspect)} unresolved suspect page(s) (823/824 errors, bad "
                             f"checksums or torn pages) in {', '.join(names)}")
    jobs_text = _notification(target, params, part)
    if isinstance(jobs_text, Verdict):
        return jobs_text
    if part.problems:
        return target.verdict(Status.FAIL, "; ".join(part.problems), part.observed, expected,
                              part.ids)
    return target.verdict(Status.PASS, "no damaged backup of a database other than the Lync "
                          f"stores in the last {params.lookback_days} days (the stores have "
                          f"their own findings), no unresolved suspect page; {jobs_text}",
                          part.observed, expected, part.ids)


def _damage_elsewhere(target: InstanceTarget, history: tuple[Backup, ...], now: AuditClock,
                      days: int, part: _Part) -> None:
    others = {n.lower() for n in _others(target)}
    damaged = [b for b in recent(history, now, days)
               if b.is_damaged and b.database_name.lower() in others]
    part.observed["damaged_backups_of_other_databases"] = len(damaged)
    if damaged:
        names = sorted({b.database_name for b in damaged}, key=str.lower)
        part.problems.append(f"{len(damaged)} backup(s) of the last {days} days of databases "
                             f"other than the Lync stores are marked damaged "
                             f"({', '.join(names)})")


def _notification(target: InstanceTarget, params: IntegrityMonitored,
                  part: _Part) -> str | Verdict:
    """The notification part's text (its problems go to `part`), or the error verdict."""
    if is_express(target.inst):
        part.observed["edition"] = edition(target.inst)
        return f"operator notification not applicable: {EXPRESS_SCHEDULING}"
    jobs = target.inst.jobs
    if isinstance(jobs, Unknown):
        return target.unknown(jobs, "SQL Agent jobs", "backup jobs notify an operator")
    part.ids += jobs.evidence_ids
    enabled = [j for j in backup_jobs(jobs.value, params.backup_procedures) if j.enabled]
    silent = [j.name for j in enabled if not j.notifies_on_failure]
    if silent:
        part.problems.append(f"backup job(s) {', '.join(repr(n) for n in silent)} notify no "
                             "enabled operator on failure")
    part.observed |= {"backup_jobs": [j.name for j in enabled],
                      "jobs_without_notification": silent}
    return (f"all {len(enabled)} enabled backup job(s) notify an operator on failure"
            if enabled else "no enabled backup job to notify (BR-061 reports it)")


KINDS: tuple[CheckKind[Any], ...] = (integrity_monitored,)
