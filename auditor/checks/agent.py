"""SQL Agent backup jobs, as BR-061 and DR-030 judge them: which jobs take backups, what keeps
one from running, and the Express edition, which has no SQL Agent at all."""

from __future__ import annotations

import re

from auditor.checks.backups import when
from auditor.facts import AuditClock, InstanceFacts, Known
from auditor.facts.clock import Future
from auditor.facts.sql import AgentJob

BACKUP_STATEMENT = re.compile(r"BACKUP\s+(DATABASE|LOG)\b", re.IGNORECASE)
MAINTENANCE_PLAN = re.compile(r"maintenance\s*plans?|sp_maintplan|xp_sqlmaint", re.IGNORECASE)
RECURRING = {4: "daily", 8: "weekly", 16: "monthly", 32: "monthly relative"}
RUN_STATUS = {0: "failed", 1: "succeeded", 2: "is retrying", 3: "was canceled",
              4: "in progress"}
KNOWN_PROCEDURES = ("DatabaseBackup", "sp_BackupDatabases", "Backup-SqlDatabase",
                    "Backup-DbaDatabase")
JOBS_NAMED = 5
# Microsoft: "Editions and supported features of SQL Server" (Management tools: SQL Server
# Agent, Express: No); KB 2019698 schedules Express backups with Task Scheduler and sqlcmd.
EXPRESS_SCHEDULING = ("SQL Server Express has no SQL Agent: its backups are scheduled outside "
                      "SQL Server, by Windows Task Scheduler running sqlcmd (as on a Lync "
                      "Standard Edition server)")


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


def no_backup_job(jobs: tuple[AgentJob, ...], procedures: tuple[str, ...]) -> str:
    """BR-061's message when no job takes backups: the jobs it saw, and the setting that
    declares a site's own procedure."""
    names = sorted((job.name for job in jobs), key=str.lower)
    seen = ", ".join(repr(n) for n in names[:JOBS_NAMED])
    if len(names) > JOBS_NAMED:
        seen += f" and {len(names) - JOBS_NAMED} more"
    jobs_text = f"jobs seen: {seen}" if names else "no SQL Agent job at all"
    return (f"no SQL Agent job runs BACKUP, a maintenance plan or a known backup procedure "
            f"({jobs_text}); a site's own backup procedure is declared with backup_procedures "
            f"in the policy (policy.rules.BR-061.backup_procedures, now "
            f"{', '.join(procedures)})")


def edition(inst: InstanceFacts) -> str | None:
    """The edition the server_time probe read, if it could."""
    return inst.clock.value.edition if isinstance(inst.clock, Known) else None


def is_express(inst: InstanceFacts) -> bool:
    """SQL Server Express (any version): no SQL Agent, so no jobs, schedules or operators."""
    return "express" in (edition(inst) or "").lower()


def agent_future(inst: InstanceFacts, clock: AuditClock) -> Future | None:
    """The server's clock, or a job run, beyond the evidence's collection."""
    if isinstance(inst.clock, Known):
        ahead = clock.future("the server's clock read", [inst.clock.value.utc_now],
                             inst.clock.evidence_ids)
        if ahead is not None:
            return ahead
    if is_express(inst) or not isinstance(inst.jobs, Known):
        return None
    return clock.future("a SQL Agent job ran", [r.ran_at for j in inst.jobs.value for r in j.runs],
                        inst.jobs.evidence_ids)
