"""P8 and P12 checks: backups written WITH CHECKSUM, healthy backup jobs, integrity monitoring."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from auditor.checks.backups import taken_here, when
from auditor.checks.subjects import (
    DbClass,
    audited_instances,
    instance_databases,
    instance_future,
    instance_subject,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, Scope, check_kind
from auditor.facts import AuditClock, Facts, InstanceFacts, Unknown
from auditor.facts.sql import AgentJob, Backup
from auditor.findings import Status, Subject, Verdict
from auditor.inventory import InstanceRole

BACKUP_STATEMENT = re.compile(r"BACKUP\s+(DATABASE|LOG)\b", re.IGNORECASE)
MAINTENANCE_PLAN = re.compile(r"maintenance\s*plans?|sp_maintplan|xp_sqlmaint", re.IGNORECASE)
RECURRING = {4: "daily", 8: "weekly", 16: "monthly", 32: "monthly relative"}
RUN_STATUS = {0: "failed", 1: "succeeded", 2: "is retrying", 3: "was canceled",
              4: "in progress"}
KNOWN_PROCEDURES = ("DatabaseBackup", "sp_BackupDatabases", "Backup-SqlDatabase",
                    "Backup-DbaDatabase")
SHOWN = 3


def backup_job_reason(job: AgentJob, procedures: tuple[str, ...]) -> str | None:
    """Why a job counts as a backup job, or None: a step runs BACKUP, is a maintenance plan,
    or calls a known backup procedure."""
    for step in job.steps:
        if BACKUP_STATEMENT.search(step.command):
            return f"step {step.step_id} runs BACKUP"
        if step.subsystem.upper() == "SSIS" or MAINTENANCE_PLAN.search(step.command):
            return f"step {step.step_id} runs a maintenance plan"
        for name in procedures:
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", step.command, re.IGNORECASE):
                return f"step {step.step_id} calls {name}"
    return None


def backup_jobs(jobs: tuple[AgentJob, ...], procedures: tuple[str, ...]) -> list[AgentJob]:
    """The Agent jobs that take backups."""
    return [job for job in jobs if backup_job_reason(job, procedures) is not None]


@dataclass(frozen=True)
class _Instance:
    """An audited instance, its subject, and the Lync stores that are backed up on it."""

    inst: InstanceFacts
    subject: Subject
    scope: Scope
    stores: tuple[str, ...]

    @classmethod
    def of(cls, facts: Facts, inst: InstanceFacts) -> _Instance:
        """The instance as a subject; stores are the required (or unclassifiable) ones."""
        subject, scope = instance_subject(facts.inventory, inst.instance)
        # This instance's databases only: all of the estate's, per instance, is quadratic.
        stores = tuple(db.name for db in instance_databases(facts.inventory, inst, facts.clock)
                       if db.kind in (DbClass.REQUIRED, DbClass.UNKNOWN))
        return cls(inst, subject, scope, stores)

    def unknown(self, fact: Unknown, what: str, expected: str) -> Verdict:
        """The error verdict for evidence that could not be read."""
        return self.verdict(Status.ERROR, f"{what} unavailable: {fact.reason}",
                            expected=expected, evidence_ids=fact.evidence_ids)

    def verdict(self, status: Status, message: str, observed: Any = None, expected: Any = None,
                evidence_ids: tuple[str, ...] = ()) -> Verdict:
        """A verdict about this instance."""
        return Verdict(subject=self.subject, status=status, message=message, observed=observed,
                       expected=expected, evidence_ids=evidence_ids)

    def future(self, clock: AuditClock) -> Verdict | None:
        """fail when the instance's backup, restore or job history holds a future time."""
        found = instance_future(self.inst, clock)
        if found is None:
            return None
        return self.verdict(Status.FAIL, found.text, {"future_time": found.moment.isoformat()},
                            evidence_ids=self.inst.backups.evidence_ids
                            + self.inst.jobs.evidence_ids)

    def gate(self) -> Verdict | None:
        """not_applicable or error before any check: Front End local, no store, no list."""
        if self.inst.instance.role is InstanceRole.FRONT_END_LOCAL:
            return self.verdict(Status.NOT_APPLICABLE, "Front End local instance (its stores "
                                "are rebuilt, not backed up)")
        dbs = self.inst.databases
        if isinstance(dbs, Unknown):
            return self.verdict(Status.ERROR, f"database list unavailable: {dbs.reason}",
                                evidence_ids=dbs.evidence_ids)
        if not self.stores:
            return self.verdict(Status.NOT_APPLICABLE, "no Lync store is backed up on this "
                                "instance (only mirror copies, transient, offline or missing "
                                "stores)", evidence_ids=dbs.evidence_ids)
        return None


def _recent(backups: tuple[Backup, ...], clock: AuditClock, days: int) -> list[Backup]:
    span = dt.timedelta(days=days)
    return [b for b in backups if clock.age(b.finished_at) < span]


# --- BR-061 -----------------------------------------------------------------------------------

class BackupProcessValidated(Params):
    """BR-061: recent fulls have checksums; backup jobs are enabled, scheduled, succeeding."""

    lookback_days: int = Field(default=7, ge=1, le=31)
    backup_procedures: tuple[str, ...] = Field(default=KNOWN_PROCEDURES, min_length=1,
                                               strict=False)  # a YAML list


@check_kind("backup_process_validated", BackupProcessValidated)
def backup_process_validated(facts: Facts,
                             params: ParamsFor[BackupProcessValidated]) -> Iterator[Verdict]:
    """Each instance holding Lync stores runs healthy backup jobs that write checksums."""
    for inst in audited_instances(facts):
        target = _Instance.of(facts, inst)
        yield target.gate() or target.future(facts.clock) or _process_verdict(
            target, facts.clock, params(target.scope))


def job_problems(job: AgentJob) -> list[str]:
    """What keeps one backup job from running and succeeding on its own."""
    found = []
    if not job.enabled:
        found.append("disabled")
    if not any(s.enabled and s.freq_type in RECURRING for s in job.schedules):
        found.append("no enabled recurring schedule")
    last = job.last_run
    if last is None:
        found.append("no run in the job history")
    elif last.run_status != 1:
        found.append(f"last run ({when(last.ran_at)}) "
                     f"{RUN_STATUS.get(last.run_status, f'ended with status {last.run_status}')}")
    return found


def _process_verdict(target: _Instance, now: AuditClock,
                     params: BackupProcessValidated) -> Verdict:
    jobs, history = target.inst.jobs, target.inst.backups
    expected = ("backup jobs enabled, on an enabled recurring schedule, last run succeeded; "
                f"full backups of the last {params.lookback_days} days WITH CHECKSUM")
    if isinstance(jobs, Unknown):
        return target.unknown(jobs, "SQL Agent jobs", expected)
    if isinstance(history, Unknown):
        return target.unknown(history, "backup history", expected)
    ids = jobs.evidence_ids + history.evidence_ids
    problems: list[str] = []
    found = backup_jobs(jobs.value, params.backup_procedures)
    if not found:
        problems.append("no SQL Agent job runs BACKUP, a maintenance plan or a known backup "
                        "procedure")
    for job in found:
        issues = job_problems(job)
        if issues:
            problems.append(f"job '{job.name}': {', '.join(issues)}")
    stores = {name.lower() for name in target.stores}
    fulls = [b for b in _recent(history.value, now, params.lookback_days)
             if b.type == "D" and b.database_name.lower() in stores
             and taken_here(b, target.inst)]
    bare = [b for b in fulls if not b.has_checksums]
    if bare:
        names = sorted({b.database_name for b in bare}, key=str.lower)
        problems.append(f"{len(bare)} of {len(fulls)} full backups of the last "
                        f"{params.lookback_days} days were written without CHECKSUM "
                        f"({', '.join(names)})")
    observed = {"backup_jobs": [j.name for j in found], "fulls": len(fulls),
                "fulls_without_checksum": len(bare), "problems": problems}
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        return target.verdict(Status.FAIL, "; ".join(problems[:SHOWN]) + more, observed,
                              expected, ids)
    checks = (f"all {len(fulls)} full backups of the last {params.lookback_days} days have "
              "checksums" if fulls else f"no full backup in the last {params.lookback_days} days "
              "to inspect for checksums (BR-001 reports it)")
    return target.verdict(Status.PASS, f"{len(found)} backup job(s) enabled, scheduled and "
                          f"last run succeeded; {checks}", observed, expected, ids)


# --- DR-030 -----------------------------------------------------------------------------------

class IntegrityMonitored(Params):
    """DR-030: no damaged backup lately, no unresolved suspect page, jobs notify on failure."""

    lookback_days: int = Field(default=7, ge=1, le=31)
    backup_procedures: tuple[str, ...] = Field(default=KNOWN_PROCEDURES, min_length=1,
                                               strict=False)  # a YAML list


@check_kind("integrity_monitored", IntegrityMonitored)
def integrity_monitored(facts: Facts, params: ParamsFor[IntegrityMonitored]) -> Iterator[Verdict]:
    """Each instance holding Lync stores shows no damage and alerts on backup job failure."""
    for inst in audited_instances(facts):
        target = _Instance.of(facts, inst)
        yield target.gate() or target.future(facts.clock) or _integrity_verdict(
            target, facts.clock, params(target.scope))


def _integrity_verdict(target: _Instance, now: AuditClock, params: IntegrityMonitored) -> Verdict:
    inst = target.inst
    expected = (f"no damaged backup in the last {params.lookback_days} days, no unresolved "
                "suspect page, every enabled backup job e-mails/pages an operator on failure")
    history, pages, jobs, dbs = inst.backups, inst.suspect_pages, inst.jobs, inst.databases
    if isinstance(history, Unknown):
        return target.unknown(history, "backup history", expected)
    if isinstance(pages, Unknown):
        return target.unknown(pages, "suspect_pages", expected)
    if isinstance(jobs, Unknown):
        return target.unknown(jobs, "SQL Agent jobs", expected)
    if isinstance(dbs, Unknown):
        return target.unknown(dbs, "database list", expected)
    ids = history.evidence_ids + pages.evidence_ids + jobs.evidence_ids + dbs.evidence_ids
    problems: list[str] = []
    damaged = [b for b in _recent(history.value, now, params.lookback_days) if b.is_damaged]
    if damaged:
        names = sorted({b.database_name for b in damaged}, key=str.lower)
        problems.append(f"{len(damaged)} backup(s) of the last {params.lookback_days} days are "
                        f"marked damaged ({', '.join(names)})")
    by_id = {state.database_id: state.name for state in dbs.value.values()}
    suspect = [p for p in pages.value if p.unresolved]
    if suspect:
        names = sorted({by_id.get(p.database_id, f"database_id {p.database_id}")
                        for p in suspect}, key=str.lower)
        problems.append(f"{len(suspect)} unresolved suspect page(s) (823/824 errors, bad "
                        f"checksums or torn pages) in {', '.join(names)}")
    enabled = [j for j in backup_jobs(jobs.value, params.backup_procedures) if j.enabled]
    silent = [j.name for j in enabled if not j.notifies_on_failure]
    if silent:
        problems.append(f"backup job(s) {', '.join(repr(n) for n in silent)} notify no enabled "
                        "operator on failure")
    observed = {"damaged_backups": len(damaged), "unresolved_suspect_pages": len(suspect),
                "backup_jobs": [j.name for j in enabled], "jobs_without_notification": silent}
    if problems:
        return target.verdict(Status.FAIL, "; ".join(problems), observed, expected, ids)
    jobs_text = (f"all {len(enabled)} enabled backup job(s) notify an operator on failure"
                 if enabled else "no enabled backup job to notify (BR-061 reports it)")
    return target.verdict(Status.PASS, f"no damaged backup in the last {params.lookback_days} "
                          f"days, no unresolved suspect page; {jobs_text}", observed, expected,
                          ids)


KINDS: tuple[CheckKind[Any], ...] = (backup_process_validated, integrity_monitored)
