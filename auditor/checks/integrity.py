"""P8 and P12 checks: backups written WITH CHECKSUM and undamaged, judged per Lync store;
healthy, alerting backup jobs and no suspect page, judged per instance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from auditor.checks.agent import (
    EXPRESS_SCHEDULING,
    KNOWN_PROCEDURES,
    agent_future,
    backup_jobs,
    edition,
    is_express,
    job_problems,
    no_backup_job,
)
from auditor.checks.backups import taken_here, when
from auditor.checks.subjects import (
    DbClass,
    LyncDatabase,
    audited_instances,
    backup_gate,
    future_gate,
    instance_databases,
    instance_subject,
)
from auditor.engine.registry import CheckKind, Params, ParamsFor, Scope, check_kind
from auditor.facts import AuditClock, Facts, InstanceFacts, Known, Unknown
from auditor.facts.clock import Future
from auditor.facts.sql import Backup
from auditor.findings import Status, Subject, Verdict
from auditor.inventory import InstanceRole

SHOWN = 3  # problems named in a message


@dataclass(frozen=True)
class InstanceTarget:
    """An audited instance, its subject, and its databases as rules.md classifies them."""

    inst: InstanceFacts
    subject: Subject
    scope: Scope
    databases: tuple[LyncDatabase, ...]

    @classmethod
    def of(cls, facts: Facts, inst: InstanceFacts) -> InstanceTarget:
        subject, scope = instance_subject(facts.inventory, inst.instance)
        # This instance's databases only: all of the estate's, per instance, is quadratic.
        dbs = tuple(instance_databases(facts.inventory, inst, facts.clock))
        return cls(inst, subject, scope, dbs)

    @property
    def stores(self) -> tuple[str, ...]:
        """The required (or unclassifiable) stores: the databases judged on their own."""
        return tuple(db.name for db in self.databases
                     if db.kind in (DbClass.REQUIRED, DbClass.UNKNOWN))

    def unknown(self, fact: Unknown, what: str, expected: str) -> Verdict:
        """The error verdict for evidence that could not be read."""
        return self.verdict(Status.ERROR, f"{what} unavailable: {fact.reason}",
                            expected=expected, evidence_ids=fact.evidence_ids)

    def verdict(self, status: Status, message: str, observed: Any = None, expected: Any = None,
                evidence_ids: tuple[str, ...] = ()) -> Verdict:
        """A verdict about this instance."""
        return Verdict(subject=self.subject, status=status, message=message, observed=observed,
                       expected=expected, evidence_ids=evidence_ids)

    def future(self, found: Future | None) -> Verdict | None:
        """fail when the instance's evidence holds a time from the future."""
        if found is None:
            return None
        return self.verdict(Status.FAIL, found.text, {"future_time": found.moment.isoformat()},
                            evidence_ids=self.inst.clock.evidence_ids
                            + self.inst.jobs.evidence_ids + self.inst.backups.evidence_ids)

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

    def express(self, rest: str) -> Verdict:
        """not_applicable: the Agent parts on an instance without SQL Agent."""
        return self.verdict(Status.NOT_APPLICABLE, f"{EXPRESS_SCHEDULING}; {rest}",
                            {"edition": edition(self.inst)},
                            evidence_ids=self.inst.clock.evidence_ids)


def recent(backups: tuple[Backup, ...], clock: AuditClock, days: int) -> list[Backup]:
    """The backups that finished in the last `days` days."""
    span = dt.timedelta(days=days)
    return [b for b in backups if clock.age(b.finished_at) < span]


def own(backups: list[Backup], name: str) -> list[Backup]:
    """One database's backups (names compared case-insensitively)."""
    return [b for b in backups if b.database_name.lower() == name.lower()]


def database_gate(db: LyncDatabase) -> Verdict | Known[tuple[Backup, ...]]:
    """rules.md "Subjects": only required stores are judged, on a history to inspect; the
    verdict that ends there, or the history."""
    gate = backup_gate(db)
    if gate is not None:
        return gate
    history = db.facts.backups
    if isinstance(history, Unknown):
        return db.verdict(Status.ERROR, f"backup history unavailable: {history.reason}",
                          evidence_ids=history.evidence_ids)
    # No backup to inspect is not_applicable below; last_backups is not needed for that.
    return future_gate(db) or history


def rule_subjects(facts: Facts) -> Iterator[tuple[InstanceTarget, LyncDatabase | None]]:
    """Each audited instance (None), then each of its databases."""
    for inst in audited_instances(facts):
        target = InstanceTarget.of(facts, inst)
        yield target, None
        for db in target.databases:
            yield target, db


# --- BR-061 -----------------------------------------------------------------------------------

class BackupProcessValidated(Params):
    """BR-061: recent fulls have checksums; backup jobs are enabled, scheduled, succeeding."""

    lookback_days: int = Field(default=7, ge=1, le=31)
    backup_procedures: tuple[str, ...] = Field(default=KNOWN_PROCEDURES, min_length=1,
                                               strict=False)  # a YAML list


@check_kind("backup_process_validated", BackupProcessValidated)
def backup_process_validated(facts: Facts,
                             params: ParamsFor[BackupProcessValidated]) -> Iterator[Verdict]:
    """Each instance holding Lync stores runs healthy backup jobs; each store's recent fulls
    have checksums."""
    for target, db in rule_subjects(facts):
        if db is None:
            yield target.gate() or target.future(agent_future(target.inst, facts.clock)) or (
                _jobs_verdict(target, params(target.scope)))
        else:
            history = database_gate(db)
            yield history if isinstance(history, Verdict) else _checksum_verdict(
                db, history, params(db.scope))


def _jobs_verdict(target: InstanceTarget, params: BackupProcessValidated) -> Verdict:
    if is_express(target.inst):
        return target.express("backup jobs, schedules and last runs are not applicable "
                              "(checksums are judged per database)")
    jobs = target.inst.jobs
    expected = "backup jobs enabled, on an enabled recurring schedule, last run succeeded"
    if isinstance(jobs, Unknown):
        return target.unknown(jobs, "SQL Agent jobs", expected)
    found = backup_jobs(jobs.value, params.backup_procedures)
    problems = [] if found else [no_backup_job(jobs.value, params.backup_procedures)]
    for job in found:
        issues = job_problems(job)
        if issues:
            problems.append(f"job '{job.name}': {', '.join(issues)}")
    observed = {"backup_jobs": [j.name for j in found],
                "jobs_seen": sorted((j.name for j in jobs.value), key=str.lower),
                "problems": problems}
    clock = target.inst.clock
    if not found and isinstance(clock, Unknown):
        return target.verdict(Status.ERROR, f"edition unavailable ({clock.reason}), so SQL "
                              "Server Express, which has no SQL Agent, cannot be ruled out; "
                              + problems[0], observed, expected,
                              jobs.evidence_ids + clock.evidence_ids)
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        return target.verdict(Status.FAIL, "; ".join(problems[:SHOWN]) + more, observed,
                              expected, jobs.evidence_ids)
    return target.verdict(Status.PASS, f"{len(found)} backup job(s) enabled, scheduled and "
                          "last run succeeded", observed, expected, jobs.evidence_ids)


def _checksum_verdict(db: LyncDatabase, history: Known[tuple[Backup, ...]],
                      params: BackupProcessValidated) -> Verdict:
    days = params.lookback_days
    expected = f"full backups of the last {days} days written WITH CHECKSUM"
    fulls = [b for b in own(recent(history.value, db.clock, days), db.name)
             if b.type == "D" and taken_here(b, db.facts)]
    if not fulls:
        return db.verdict(Status.NOT_APPLICABLE, f"no full backup in the last {days} days to "
                          "inspect for checksums (BR-001 reports it)",
                          evidence_ids=history.evidence_ids)
    bare = [b for b in fulls if not b.has_checksums]
    observed = {"fulls": len(fulls), "fulls_without_checksum": len(bare)}
    if bare:
        newest = max(bare, key=lambda b: b.finished_at)
        return db.verdict(Status.FAIL, f"{len(bare)} of {len(fulls)} full backups of the last "
                          f"{days} days were written without CHECKSUM (newest finished "
                          f"{when(newest.finished_at)})", observed, expected,
                          history.evidence_ids)
    return db.verdict(Status.PASS, f"all {len(fulls)} full backups of the last {days} days "
                      "have checksums", observed, expected, history.evidence_ids)


KINDS: tuple[CheckKind[Any], ...] = (backup_process_validated,)
