"""SQL Server evidence -> typed facts, with every msdb time made timezone-aware."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from auditor.canonical import JsonValue
from auditor.evidence import Observation, Source, observation_id
from auditor.facts.base import (
    BadValueError,
    Fact,
    Known,
    Unknown,
    as_bool,
    as_decimal,
    as_int,
    as_naive,
    as_opt_bool,
    as_opt_int,
    as_opt_naive,
    as_opt_str,
    as_str,
    fact_from,
)
from auditor.inventory import SqlInstance

Row = Mapping[str, JsonValue]
UNKNOWN_ZONE = 127
QUARTER_HOUR = dt.timedelta(minutes=15)
Aware = Callable[[dt.datetime], dt.datetime]


@dataclass(frozen=True)
class ServerClock:
    """The server's clock at collection time and what it runs."""

    utc_offset: dt.timedelta
    local_now: dt.datetime
    machine_name: str | None
    product_version: str | None
    edition: str | None


@dataclass(frozen=True)
class DatabaseState:
    """A row of sys.databases."""

    name: str
    database_id: int
    state: int
    state_desc: str
    recovery_model: int  # 1 FULL, 2 BULK_LOGGED, 3 SIMPLE
    recovery_model_desc: str
    is_snapshot: bool

    @property
    def needs_log_backups(self) -> bool:
        """FULL and BULK_LOGGED databases keep their log until it is backed up."""
        return self.recovery_model in (1, 2)


@dataclass(frozen=True)
class Backup:
    """A backup set, with aware times and the server-local start for window checks."""

    backup_set_id: int
    database_name: str
    server_name: str
    machine_name: str | None
    type: str  # D full, I differential, L log, ...
    started_at: dt.datetime
    finished_at: dt.datetime
    start_local: dt.datetime
    is_copy_only: bool
    is_damaged: bool
    has_checksums: bool
    recovery_model: str | None
    first_lsn: Decimal | None
    last_lsn: Decimal | None
    database_backup_lsn: Decimal | None
    checkpoint_lsn: Decimal | None
    size_bytes: int
    media_set_id: int
    family_guid: str | None
    password_protected: bool | None


@dataclass(frozen=True)
class BackupDevice:
    """Where one media family of a backup set was written."""

    media_set_id: int
    physical_device_name: str
    device_type: int
    mirror: int


@dataclass(frozen=True)
class LastBackup:
    """The newest chain backup of a type ever taken for a database."""

    database_name: str
    type: str
    finished_at: dt.datetime


@dataclass(frozen=True)
class Restore:
    """A RESTORE done on this instance."""

    restore_history_id: int
    restored_at: dt.datetime
    destination_database_name: str
    restore_type: str
    recovery: bool
    replace: bool
    source_database_name: str | None
    source_server_name: str | None


@dataclass(frozen=True)
class JobStep:
    """One step of an Agent job."""

    step_id: int
    step_name: str
    subsystem: str
    command: str


@dataclass(frozen=True)
class JobSchedule:
    """A schedule attached to an Agent job."""

    name: str
    enabled: bool
    freq_type: int


@dataclass(frozen=True)
class JobRun:
    """The outcome row (step 0) of one job run."""

    run_status: int  # 0 failed, 1 succeeded, 2 retry, 3 canceled, 4 in progress
    ran_at: dt.datetime
    message: str | None


@dataclass(frozen=True)
class AgentJob:
    """A SQL Agent job with its steps, schedules, runs and notification."""

    job_id: str
    name: str
    enabled: bool
    notify_level_email: int
    notify_level_page: int
    notify_level_netsend: int
    operator_name: str | None
    operator_enabled: bool
    steps: tuple[JobStep, ...]
    schedules: tuple[JobSchedule, ...]
    runs: tuple[JobRun, ...]

    @property
    def notifies_on_failure(self) -> bool:
        """An enabled operator is told by e-mail, pager or net send when the job fails."""
        levels = (self.notify_level_email, self.notify_level_page, self.notify_level_netsend)
        return bool(self.operator_name) and self.operator_enabled and any(
            level in (2, 3) for level in levels)

    @property
    def last_run(self) -> JobRun | None:
        """The newest finished run."""
        done = [run for run in self.runs if run.run_status != 4]
        return max(done, key=lambda run: run.ran_at) if done else None


@dataclass(frozen=True)
class SuspectPage:
    """A row of msdb.dbo.suspect_pages."""

    database_id: int
    file_id: int
    page_id: int
    event_type: int

    @property
    def unresolved(self) -> bool:
        """Event types 1-3 are damage not yet restored, repaired or deallocated."""
        return self.event_type in (1, 2, 3)


@dataclass(frozen=True)
class DatabaseFile:
    """A database file and the volume it lives on."""

    database_id: int
    file_id: int
    type: int  # 0 data, 1 log, 2 filestream
    physical_name: str
    volume_id: str
    volume_mount_point: str


@dataclass(frozen=True)
class Mirroring:
    """Mirroring role and state of one mirrored database."""

    database_id: int
    role: int  # 1 principal, 2 mirror
    state: int  # 4 synchronized
    state_desc: str
    partner_instance: str | None


@dataclass(frozen=True)
class HourlyUsage:
    """Lync sessions that started in one hour of the day (UTC), from LcsCDR."""

    hour_utc: int
    sessions: int


@dataclass(frozen=True)
class InstanceFacts:
    """Everything the SQL probes established about one instance."""

    instance: SqlInstance
    clock: Fact[ServerClock]
    databases: Fact[dict[str, DatabaseState]]
    backups: Fact[tuple[Backup, ...]]
    devices: Fact[dict[int, tuple[BackupDevice, ...]]]
    last_backups: Fact[dict[tuple[str, str], LastBackup]]
    restores: Fact[tuple[Restore, ...]]
    jobs: Fact[tuple[AgentJob, ...]]
    suspect_pages: Fact[tuple[SuspectPage, ...]]
    files: Fact[tuple[DatabaseFile, ...]]
    mirroring: Fact[dict[int, Mirroring]]
    encryption: Fact[dict[int, str | None]]
    cdr_usage: Fact[tuple[HourlyUsage, ...]]


def derive_instance(index: Mapping[str, Observation], inst: SqlInstance) -> InstanceFacts:
    """Parse every SQL probe of one instance."""
    target = inst.server_name

    clock: Fact[ServerClock] = fact_from(index, Source.SQL, "server_time", target, _clock)
    offset = clock.value.utc_offset if isinstance(clock, Known) else None

    def aware(value: dt.datetime) -> dt.datetime:
        if offset is None:
            raise BadValueError("server_time", "unknown", "known (the server's UTC offset)")
        return value.replace(tzinfo=dt.timezone(offset))

    return InstanceFacts(
        instance=inst,
        clock=clock,
        databases=fact_from(index, Source.SQL, "databases", target, _databases),
        backups=fact_from(index, Source.SQL, "backup_history", target,
                          lambda o: tuple(_backup(r, offset) for r in o.data)),
        devices=fact_from(index, Source.SQL, "backup_devices", target, _devices),
        last_backups=fact_from(index, Source.SQL, "last_backups", target,
                               lambda o: _last_backups(o, aware)),
        restores=fact_from(index, Source.SQL, "restore_history", target,
                           lambda o: tuple(_restore(r, aware) for r in o.data)),
        jobs=_jobs(index, target, aware),
        suspect_pages=fact_from(index, Source.SQL, "suspect_pages", target, _suspect_pages),
        files=fact_from(index, Source.SQL, "database_files", target, _files),
        mirroring=fact_from(index, Source.SQL, "mirroring", target, _mirroring),
        encryption=fact_from(index, Source.SQL, "backup_encryption", target, _encryption),
        cdr_usage=fact_from(index, Source.SQL, "cdr_hourly_usage", target, _cdr_usage),
    )


def server_offset(local_now: dt.datetime, utc_now: dt.datetime) -> dt.timedelta:
    """round((local - utc) / 15 min) * 15 min (lab-schema.md section 4)."""
    quarters = round((local_now - utc_now) / QUARTER_HOUR)
    return quarters * QUARTER_HOUR


def _clock(obs: Observation) -> ServerClock:
    if len(obs.data) != 1:
        raise BadValueError("local_now", f"{len(obs.data)} rows", "exactly one row")
    row = obs.data[0]
    local_now, utc_now = as_naive(row, "local_now"), as_naive(row, "utc_now")
    offset = server_offset(local_now, utc_now)
    if abs(offset) > dt.timedelta(hours=14):
        raise BadValueError("local_now", row["local_now"], "within 14 h of utc_now")
    return ServerClock(utc_offset=offset, local_now=local_now,
                       machine_name=as_opt_str(row, "machine_name"),
                       product_version=as_opt_str(row, "product_version"),
                       edition=as_opt_str(row, "edition"))


def _databases(obs: Observation) -> dict[str, DatabaseState]:
    result: dict[str, DatabaseState] = {}
    for row in obs.data:
        state = DatabaseState(
            name=as_str(row, "name"), database_id=as_int(row, "database_id"),
            state=as_int(row, "state"), state_desc=as_opt_str(row, "state_desc") or "",
            recovery_model=as_int(row, "recovery_model"),
            recovery_model_desc=as_opt_str(row, "recovery_model_desc") or "",
            is_snapshot=row.get("source_database_id") is not None)
        if state.recovery_model not in (1, 2, 3):
            raise BadValueError("recovery_model", state.recovery_model, "1, 2 or 3")
        result[state.name.lower()] = state
    return result


def _backup(row: Row, offset: dt.timedelta | None) -> Backup:
    zone = as_int(row, "time_zone")
    if zone != UNKNOWN_ZONE and not -48 <= zone <= 48:
        raise BadValueError("time_zone", zone, "-48..48 or 127")
    row_offset = QUARTER_HOUR * zone if zone != UNKNOWN_ZONE else offset
    if row_offset is None:
        raise BadValueError("time_zone", zone, "usable (127 and the server offset is unknown)")
    tz = dt.timezone(row_offset)
    start, finish = as_naive(row, "backup_start_date"), as_naive(row, "backup_finish_date")
    backup_type = as_str(row, "type").strip().upper()
    if backup_type not in ("D", "I", "L", "F", "G", "P", "Q"):
        raise BadValueError("type", backup_type, "a backup type (D, I, L, F, G, P, Q)")
    size = as_decimal(row, "compressed_backup_size") or as_decimal(row, "backup_size")
    return Backup(
        backup_set_id=as_int(row, "backup_set_id"), database_name=as_str(row, "database_name"),
        server_name=as_opt_str(row, "server_name") or "",
        machine_name=as_opt_str(row, "machine_name"), type=backup_type,
        started_at=start.replace(tzinfo=tz), finished_at=finish.replace(tzinfo=tz),
        start_local=start, is_copy_only=as_bool(row, "is_copy_only"),
        is_damaged=as_bool(row, "is_damaged"), has_checksums=as_bool(row, "has_backup_checksums"),
        recovery_model=as_opt_str(row, "recovery_model"),
        first_lsn=as_decimal(row, "first_lsn"), last_lsn=as_decimal(row, "last_lsn"),
        database_backup_lsn=as_decimal(row, "database_backup_lsn"),
        checkpoint_lsn=as_decimal(row, "checkpoint_lsn"),
        size_bytes=int(size or 0), media_set_id=as_int(row, "media_set_id"),
        family_guid=as_opt_str(row, "family_guid"),
        password_protected=as_opt_bool(row, "media_password_protected"))


def _devices(obs: Observation) -> dict[int, tuple[BackupDevice, ...]]:
    grouped: dict[int, list[BackupDevice]] = {}
    for row in obs.data:
        device = BackupDevice(media_set_id=as_int(row, "media_set_id"),
                              physical_device_name=as_opt_str(row, "physical_device_name") or "",
                              device_type=as_int(row, "device_type"),
                              mirror=as_opt_int(row, "mirror") or 0)
        grouped.setdefault(device.media_set_id, []).append(device)
    return {key: tuple(value) for key, value in grouped.items()}


def _last_backups(obs: Observation, aware: Aware) -> dict[tuple[str, str], LastBackup]:
    result: dict[tuple[str, str], LastBackup] = {}
    for row in obs.data:
        finish = as_opt_naive(row, "last_finish")
        if finish is None:
            continue
        last = LastBackup(database_name=as_str(row, "database_name"),
                          type=as_str(row, "type").strip().upper(),
                          finished_at=aware(finish))
        result[(last.database_name.lower(), last.type)] = last
    return result


def _restore(row: Row, aware: Aware) -> Restore:
    return Restore(
        restore_history_id=as_int(row, "restore_history_id"),
        restored_at=aware(as_naive(row, "restore_date")),
        destination_database_name=as_str(row, "destination_database_name"),
        restore_type=as_str(row, "restore_type").strip().upper(),
        recovery=as_bool(row, "recovery"), replace=as_bool(row, "replace"),
        source_database_name=as_opt_str(row, "source_database_name"),
        source_server_name=as_opt_str(row, "source_server_name"))


def agent_datetime(run_date: int, run_time: int) -> dt.datetime:
    """SQL Agent's int YYYYMMDD and HHMMSS as a naive local datetime."""
    try:
        return dt.datetime(run_date // 10000, run_date // 100 % 100, run_date % 100,  # noqa: DTZ001
                           run_time // 10000, run_time // 100 % 100, run_time % 100)
    except ValueError:
        raise BadValueError("run_date", run_date, "a YYYYMMDD date") from None


def _jobs(index: Mapping[str, Observation], target: str,
          aware: Aware) -> Fact[tuple[AgentJob, ...]]:
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


def _suspect_pages(obs: Observation) -> tuple[SuspectPage, ...]:
    return tuple(SuspectPage(database_id=as_int(r, "database_id"), file_id=as_int(r, "file_id"),
                             page_id=as_int(r, "page_id"), event_type=as_int(r, "event_type"))
                 for r in obs.data)


def _files(obs: Observation) -> tuple[DatabaseFile, ...]:
    return tuple(DatabaseFile(
        database_id=as_int(r, "database_id"), file_id=as_int(r, "file_id"), type=as_int(r, "type"),
        physical_name=as_str(r, "physical_name"), volume_id=as_str(r, "volume_id"),
        volume_mount_point=as_opt_str(r, "volume_mount_point") or "") for r in obs.data)


def _mirroring(obs: Observation) -> dict[int, Mirroring]:
    result = {}
    for r in obs.data:
        mirror = Mirroring(database_id=as_int(r, "database_id"), role=as_int(r, "mirroring_role"),
                           state=as_int(r, "mirroring_state"),
                           state_desc=as_opt_str(r, "mirroring_state_desc") or "",
                           partner_instance=as_opt_str(r, "mirroring_partner_instance"))
        result[mirror.database_id] = mirror
    return result


def _encryption(obs: Observation) -> dict[int, str | None]:
    return {as_int(r, "backup_set_id"): as_opt_str(r, "key_algorithm") for r in obs.data}


def _cdr_usage(obs: Observation) -> tuple[HourlyUsage, ...]:
    rows = []
    for r in obs.data:
        hour, sessions = as_int(r, "hour_utc"), as_int(r, "sessions")
        if not 0 <= hour <= 23:
            raise BadValueError("hour_utc", hour, "an hour 0-23")
        if sessions < 0:
            raise BadValueError("sessions", sessions, "a count >= 0")
        rows.append(HourlyUsage(hour_utc=hour, sessions=sessions))
    return tuple(sorted(rows, key=lambda u: u.hour_utc))
