"""The typed SQL Server facts: frozen values the checks read, built by auditor.facts.sql."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from auditor.facts.base import Fact
from auditor.inventory import SqlInstance

__all__ = ["AgentJob", "Aware", "Backup", "BackupDevice", "DatabaseFile", "DatabaseState",
           "HourlyUsage", "InstanceFacts", "JobRun", "JobSchedule", "JobStep", "LastBackup",
           "Mirroring", "Restore", "ServerClock", "SuspectPage"]

# derive_instance builds one of these from the server's offset and hands it to both the backup
# and the agent-job parsers, so every msdb time is made aware (or refused) in one place.
Aware = Callable[[dt.datetime], dt.datetime]


@dataclass(frozen=True)
class ServerClock:
    """The server's clock at collection time and what it runs."""

    utc_offset: dt.timedelta
    local_now: dt.datetime
    machine_name: str | None
    product_version: str | None
    edition: str | None

    @property
    def utc_now(self) -> dt.datetime:
        """The server's clock when it was read, made aware."""
        return self.local_now.replace(tzinfo=dt.timezone(self.utc_offset))


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


class Backup(NamedTuple):
    """A backup set, with aware times and the server-local start for window checks.

    A NamedTuple, not a frozen dataclass like its neighbours: an estate has thousands per
    instance, and a frozen dataclass's __init__ (one object.__setattr__ per field) costs three
    times as much, most of the remediation planner's 1-second budget at 500 instances."""

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
