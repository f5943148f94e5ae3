"""SQL Server evidence -> typed facts, with every msdb time made timezone-aware.

The fact types live in auditor.facts.sql_types and the agent-job parsers in
auditor.facts.sql_jobs; they are re-exported here because the checks import them from this module.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping

from auditor.canonical import JsonValue
from auditor.evidence import Observation, Source
from auditor.facts.base import (
    BadValueError,
    Fact,
    Known,
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
from auditor.facts.sql_jobs import agent_datetime, derive_jobs
from auditor.facts.sql_types import (
    AgentJob,
    Aware,
    Backup,
    BackupDevice,
    DatabaseFile,
    DatabaseState,
    HourlyUsage,
    InstanceFacts,
    JobRun,
    JobSchedule,
    JobStep,
    LastBackup,
    Mirroring,
    Restore,
    ServerClock,
    SuspectPage,
)
from auditor.inventory import SqlInstance

__all__ = ["QUARTER_HOUR", "UNKNOWN_ZONE", "AgentJob", "Aware", "Backup", "BackupDevice",
           "DatabaseFile", "DatabaseState", "HourlyUsage", "InstanceFacts", "JobRun",
           "JobSchedule", "JobStep", "LastBackup", "Mirroring", "Restore", "Row", "ServerClock",
           "SuspectPage", "agent_datetime", "derive_instance", "server_offset"]

Row = Mapping[str, JsonValue]
UNKNOWN_ZONE = 127
QUARTER_HOUR = dt.timedelta(minutes=15)


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
        jobs=derive_jobs(index, target, aware),
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


@functools.cache
def _zone(offset: dt.timedelta) -> dt.timezone:
    """One tzinfo per offset, not one per backup row (thousands share a handful)."""
    return dt.timezone(offset)


def _backup(row: Row, offset: dt.timedelta | None) -> Backup:
    zone = as_int(row, "time_zone")
    if zone != UNKNOWN_ZONE and not -48 <= zone <= 48:
        raise BadValueError("time_zone", zone, "-48..48 or 127")
    row_offset = QUARTER_HOUR * zone if zone != UNKNOWN_ZONE else offset
    if row_offset is None:
        raise BadValueError("time_zone", zone, "usable (127 and the server offset is unknown)")
    tz = _zone(row_offset)
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
