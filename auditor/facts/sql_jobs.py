"""SQL Agent evidence (jobs, steps, schedules, history) -> AgentJob facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from auditor.evidence import Observation, Source, observation_id
from auditor.facts.base import (
    BadValueError,
    Fact,
    Known,
    Unknown,
    as_int,
    as_opt_int,
    as_opt_str,
    as_str,
)
from auditor.facts.sql_types import AgentJob, Aware, JobRun, JobSchedule, JobStep

__all__ = ["agent_datetime", "derive_jobs"]


def agent_datetime(run_date: int, run_time: int) -> dt.datetime:
    """SQL Agent's int YYYYMMDD and HHMMSS as a naive local datetime."""
    try:
        return dt.datetime(run_date // 10000, run_date // 100 % 100, run_date % 100,  # noqa: DTZ001
                           run_time // 10000, run_time // 100 % 100, run_time % 100)
    except ValueError:
        raise BadValueError("run_date", run_date, "a YYYYMMDD date") from None


def derive_jobs(index: Mapping[str, Observation], target: str,
                aware: Aware) -> Fact[tuple[AgentJob, ...]]:
    """Agent jobs of one instance, Unknown unless all four agent probes succeeded.

    The probes only make sense together: a job missing its history would look never run.
    """
    found = {probe: index.get(observation_id(Source.SQL, probe, target)) for probe in
             ("agent_jobs", "agent_job_steps", "agent_schedules", "agent_job_history")}
    ids = tuple(obs.id for obs in found.values() if obs is not None)
    parts: dict[str, Observation] = {}
    for probe, obs in found.items():
        if obs is None:
            return Unknown(f"no {probe} evidence for {target} (not collected)", ids)
        if not obs.ok:
            return Unknown(f"{probe} on {target} ended {obs.status.value}: {obs.error}", ids)
        parts[probe] = obs
    try:
        return Known(_build_jobs(parts, aware), ids)
    except BadValueError as exc:
        return Unknown(f"agent jobs on {target}: {exc}", ids)


def _build_jobs(parts: dict[str, Observation], aware: Aware) -> tuple[AgentJob, ...]:
    steps: dict[str, list[JobStep]] = {}
    for row in parts["agent_job_steps"].data:
        steps.setdefault(as_str(row, "job_id").upper(), []).append(JobStep(
            step_id=as_int(row, "step_id"), step_name=as_opt_str(row, "step_name") or "",
            subsystem=as_opt_str(row, "subsystem") or "", command=as_opt_str(row, "command") or ""))
    schedules: dict[str, list[JobSchedule]] = {}
    for row in parts["agent_schedules"].data:
        schedules.setdefault(as_str(row, "job_id").upper(), []).append(JobSchedule(
            name=as_opt_str(row, "name") or "", enabled=as_int(row, "enabled") == 1,
            freq_type=as_int(row, "freq_type")))
    runs: dict[str, list[JobRun]] = {}
    for row in parts["agent_job_history"].data:
        ran = agent_datetime(as_int(row, "run_date"), as_int(row, "run_time"))
        runs.setdefault(as_str(row, "job_id").upper(), []).append(JobRun(
            run_status=as_int(row, "run_status"), ran_at=aware(ran),
            message=as_opt_str(row, "message")))
    jobs = []
    for row in parts["agent_jobs"].data:
        job_id = as_str(row, "job_id").upper()
        jobs.append(AgentJob(
            job_id=job_id, name=as_str(row, "name"), enabled=as_int(row, "enabled") == 1,
            notify_level_email=as_opt_int(row, "notify_level_email") or 0,
            notify_level_page=as_opt_int(row, "notify_level_page") or 0,
            notify_level_netsend=as_opt_int(row, "notify_level_netsend") or 0,
            operator_name=as_opt_str(row, "operator_name"),
            operator_enabled=(as_opt_int(row, "operator_enabled") or 0) == 1,
            steps=tuple(sorted(steps.get(job_id, []), key=lambda s: s.step_id)),
            schedules=tuple(schedules.get(job_id, [])),
            runs=tuple(sorted(runs.get(job_id, []), key=lambda r: r.ran_at))))
    return tuple(sorted(jobs, key=lambda j: j.name.lower()))
