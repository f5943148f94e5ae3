"""Typed helpers that write demo evidence exactly as the live collectors would have read it.

Nothing here is random: every jitter, GUID and LSN is derived from names and times, so the same
estate description always gives the same bundle, byte for byte.

SQL rows look like pyodbc's rows from msdb: naive server-local datetimes at SQL Server
`datetime` resolution (.000/.003/.007), numeric(20,0)/numeric(25,0) as Decimal,
uniqueidentifier as upper-case text, bit as bool, tinyint/int as int. PowerShell rows look like
what `ConvertTo-Json` of Windows PowerShell 3.0-5.1 gives once parsed: dates as
"/Date(<ms>)/" text, enums as numbers, an NTAccount as {"Value": ...}, and a one-item
collection built in a pipeline as a single object instead of an array.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from auditor.evidence import Observation, ObservationStatus, Source, make_observation

Row = dict[str, Any]
QUARTER_HOUR = dt.timedelta(minutes=15)
UNKNOWN_ZONE = 127
NAMESPACE = uuid.UUID("7b0c6a52-56a4-4f0e-9d6b-4c1f3e2a9d10")
MB = 1024 * 1024
GB = 1024 * MB
TB = 1024 * GB


# --- time ----------------------------------------------------------------------------------------

def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> dt.datetime:
    """An aware UTC instant."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> dt.datetime:
    """A naive wall-clock time (a server's local clock, as msdb stores it)."""
    return utc(year, month, day, hour, minute, second).replace(tzinfo=None)


def at(day: dt.date, clock: dt.time) -> dt.datetime:
    """A naive local datetime from a date and a time of day."""
    return local(day.year, day.month, day.day, clock.hour, clock.minute, clock.second)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every date from first to last, inclusive."""
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Zone:
    """A server's time zone: a base UTC offset and the changes to it (DST), as UTC instants."""

    name: str
    base: dt.timedelta
    changes: tuple[tuple[dt.datetime, dt.timedelta], ...] = ()

    def offset_at(self, instant: dt.datetime) -> dt.timedelta:
        """The UTC offset in force at an aware instant."""
        offset = self.base
        for when, new in self.changes:
            if instant >= when:
                offset = new
        return offset

    def local(self, instant: dt.datetime) -> dt.datetime:
        """The naive wall-clock time at an aware instant."""
        return (instant + self.offset_at(instant)).replace(tzinfo=None)

    def instant(self, wall: dt.datetime) -> dt.datetime:
        """The aware instant of a naive wall-clock time (the earlier one when ambiguous)."""
        offsets = sorted({self.base, *(new for _, new in self.changes)}, reverse=True)
        for offset in offsets:
            candidate = (wall - offset).replace(tzinfo=dt.UTC)
            if self.offset_at(candidate) == offset:
                return candidate
        raise ValueError(f"{wall} does not exist in {self.name} (skipped by a clock change)")

    def quarter_hours(self, wall: dt.datetime) -> int:
        """backupset.time_zone: the offset at a local time in 15-minute units."""
        return int(self.offset_at(self.instant(wall)) / QUARTER_HOUR)


def sql_datetime(value: dt.datetime) -> dt.datetime:
    """Round to SQL Server `datetime` resolution: 1/300 s, shown as .000, .003 or .007."""
    ticks = round(value.microsecond * 300 / 1_000_000)
    return value.replace(microsecond=0) + dt.timedelta(milliseconds=round(ticks * 10 / 3))


def ps_date(instant: dt.datetime) -> str:
    """A DateTime as ConvertTo-Json of PowerShell 3.0-5.1 writes it (parsed): /Date(ms)/."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return f"/Date({(instant - epoch) // dt.timedelta(milliseconds=1)})/"


def agent_date(wall: dt.datetime) -> int:
    """SQL Agent's int YYYYMMDD."""
    return wall.year * 10000 + wall.month * 100 + wall.day


def agent_time(wall: dt.datetime | dt.time) -> int:
    """SQL Agent's int HHMMSS."""
    return wall.hour * 10000 + wall.minute * 100 + wall.second


def agent_duration(seconds: int) -> int:
    """sysjobhistory.run_duration: HHMMSS as an int."""
    hours, rest = divmod(seconds, 3600)
    return hours * 10000 + (rest // 60) * 100 + rest % 60


# --- determinism ---------------------------------------------------------------------------------

def jitter(key: str, span: int) -> int:
    """A stable pseudo-random integer in [0, span) derived from a key."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % span if span > 0 else 0


def guid(*parts: str) -> str:
    """A stable uniqueidentifier, upper case as pyodbc returns it."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts))).upper()


# --- SQL Server ----------------------------------------------------------------------------------

RECOVERY = {"FULL": 1, "BULK_LOGGED": 2, "SIMPLE": 3}
STATES = {0: "ONLINE", 1: "RESTORING", 6: "OFFLINE"}
MIRROR_STATES = {0: "SUSPENDED", 1: "DISCONNECTED", 2: "SYNCHRONIZING", 4: "SYNCHRONIZED"}
TYPE_FOLDER = {"D": "FULL", "I": "DIFF", "L": "LOG"}


@dataclass(frozen=True)
class Volume:
    """A volume as sys.dm_os_volume_stats reports it (a mount point is its own volume)."""

    mount_point: str
    volume_id: str
    total_bytes: int
    available_bytes: int


@dataclass(frozen=True)
class DbFile:
    """A row of sys.master_files with the volume it lives on."""

    file_id: int
    type: int  # 0 data, 1 log
    name: str
    physical_name: str
    volume: Volume


@dataclass
class Database:
    """A row of sys.databases and its files."""

    name: str
    database_id: int
    recovery: str = "SIMPLE"
    state: int = 0
    files: list[DbFile] = field(default_factory=list)


@dataclass
class BackupSet:
    """A row of msdb.dbo.backupset with its media family rows; LSNs are set by finish()."""

    backup_set_id: int
    media_set_id: int
    database: str
    type: str
    start: dt.datetime  # naive local, SQL datetime resolution
    finish: dt.datetime
    time_zone: int
    server_name: str
    machine_name: str
    recovery_model: str
    size: int
    compressed: int | None
    family_guid: str
    devices: tuple[tuple[str, int], ...]  # (physical_device_name, device_type)
    is_copy_only: bool = False
    is_damaged: bool = False
    checksums: bool = True
    key_algorithm: str | None = None
    encryptor_type: str | None = None
    breaks_chain: bool = False
    first_lsn: Decimal = Decimal(0)
    last_lsn: Decimal = Decimal(0)
    checkpoint_lsn: Decimal = Decimal(0)
    database_backup_lsn: Decimal = Decimal(0)

    def row(self, backup_set_id: int | None = None) -> Row:
        """The backup_history probe's row (optionally under another instance's set id)."""
        return {
            "backup_set_id": backup_set_id or self.backup_set_id,
            "database_name": self.database, "server_name": self.server_name,
            "machine_name": self.machine_name, "type": self.type,
            "backup_start_date": self.start, "backup_finish_date": self.finish,
            "time_zone": self.time_zone, "is_copy_only": self.is_copy_only,
            "is_damaged": self.is_damaged, "has_backup_checksums": self.checksums,
            "recovery_model": self.recovery_model.replace("_", "-"),
            "first_lsn": self.first_lsn, "last_lsn": self.last_lsn,
            "checkpoint_lsn": self.checkpoint_lsn, "database_backup_lsn": self.database_backup_lsn,
            "backup_size": Decimal(self.size),
            "compressed_backup_size": None if self.compressed is None else Decimal(self.compressed),
            "media_set_id": self.media_set_id, "family_guid": self.family_guid,
            "media_password_protected": False,
        }


@dataclass(frozen=True)
class CopiedSet:
    """A backupset row that RESTORE copied into another instance's msdb (the source's names)."""

    backup_set_id: int
    media_set_id: int
    source: BackupSet


@dataclass(frozen=True)
class Restore:
    """A row of msdb.dbo.restorehistory."""

    restore_history_id: int
    restore_date: dt.datetime  # naive local
    destination: str
    restore_type: str
    recovery: bool
    replace: bool
    copied: CopiedSet


@dataclass(frozen=True)
class Operator:
    """A row of msdb.dbo.sysoperators."""

    id: int
    name: str
    email: str
    enabled: bool = True


@dataclass(frozen=True)
class Step:
    """A row of msdb.dbo.sysjobsteps."""

    step_id: int
    name: str
    subsystem: str
    command: str


@dataclass(frozen=True)
class Schedule:
    """A row of msdb.dbo.sysschedules (freq_type 4 daily, 8 weekly; subday 1 once, 8 hours)."""

    schedule_id: int
    name: str
    freq_type: int
    freq_interval: int
    start: dt.time
    every_hours: int = 0
    enabled: bool = True

    def next_run(self, now: dt.datetime) -> dt.datetime:
        """The next time the schedule fires after `now` (daily, hourly or weekly schedules)."""
        for day in range(0, 8):
            date = now.date() + dt.timedelta(days=day)
            if self.freq_type == 8 and not self.freq_interval & (1 << ((date.weekday() + 1) % 7)):
                continue
            times = [self.start]
            if self.every_hours:
                times = [dt.time(h, self.start.minute) for h in
                         range(self.start.hour, 24, self.every_hours)]
            for clock in times:
                candidate = at(date, clock)
                if candidate > now:
                    return candidate
        raise ValueError(f"schedule {self.name} never fires")


@dataclass(frozen=True)
class JobRun:
    """One run of a job: the outcome row (step 0) of msdb.dbo.sysjobhistory."""

    start: dt.datetime  # naive local, whole seconds
    seconds: int
    succeeded: bool
    message: str | None = None


@dataclass
class Job:
    """A SQL Agent job with its steps, schedules, operator and run history."""

    name: str
    steps: list[Step]
    schedules: list[Schedule]
    enabled: bool = True
    operator: Operator | None = None
    notify_level_email: int = 2
    runs: list[JobRun] = field(default_factory=list)

    @property
    def job_id(self) -> str:
        """A stable job_id."""
        return guid("job", self.name)

    def ran(self, start: dt.datetime, seconds: int, succeeded: bool = True,
            message: str | None = None) -> None:
        """Record one run (Agent keeps the newest 50 runs of a job: 100 history rows)."""
        self.runs.append(JobRun(start.replace(microsecond=0), seconds, succeeded, message))


@dataclass(frozen=True)
class SuspectPage:
    """A row of msdb.dbo.suspect_pages."""

    database_id: int
    file_id: int
    page_id: int
    event_type: int
    error_count: int
    last_update: dt.datetime


@dataclass(frozen=True)
class Mirror:
    """A row of sys.database_mirroring for a mirrored database."""

    role: int  # 1 principal, 2 mirror
    state: int
    partner: str


class SqlServer:
    """One SQL Server instance: its catalog, msdb history and Agent, rendered as probe rows."""

    def __init__(self, server_name: str, zone: Zone, *, collected_at: dt.datetime,
                 product_version: str, product_level: str, edition: str,
                 first_set_id: int = 1000, history_kept_days: int | None = None,
                 role: str = "") -> None:
        self.server_name = server_name
        self.collected_at = collected_at
        self.machine_name = server_name.split("\\")[0]
        self.zone = zone
        self.product_version = product_version
        self.product_level = product_level
        self.edition = edition
        self.role = role
        self.history_kept_days = history_kept_days
        self.databases: dict[str, Database] = {}
        self.backups: list[BackupSet] = []
        self.copies: list[CopiedSet] = []
        self.restores: list[Restore] = []
        self.jobs: list[Job] = []
        self.suspect_pages: list[SuspectPage] = []
        self.mirroring: dict[str, Mirror] = {}
        self.old_history: list[tuple[str, str, dt.datetime, int]] = []
        self.cdr_sessions: list[int] | None = None
        self.failures: dict[str, tuple[ObservationStatus, str]] = {}
        self._next_set = first_set_id
        self._next_media = first_set_id
        self._next_restore = 1

    @property
    def local_now(self) -> dt.datetime:
        """The server's wall clock when the evidence is collected."""
        return self.zone.local(self.collected_at)

    @property
    def major_version(self) -> int:
        """12 for SQL Server 2014, 11 for 2012."""
        return int(self.product_version.split(".")[0])

    # --- catalog ---

    def database(self, name: str, database_id: int, recovery: str = "SIMPLE", state: int = 0,
                 files: Sequence[DbFile] = ()) -> Database:
        """Add a row of sys.databases."""
        db = Database(name, database_id, recovery, state, list(files))
        self.databases[name.lower()] = db
        return db

    def mirror(self, name: str, role: int, state: int, partner: str) -> None:
        """Mirror a database (sys.database_mirroring)."""
        self.mirroring[name.lower()] = Mirror(role, state, partner)

    # --- msdb backup history ---

    def backup(self, database: str, type_: str, start: dt.datetime, *, seconds: float,
               size: int, destination: str | None = None, compression: float | None = 0.25,
               device_path: str | None = None, device_type: int = 2, copy_only: bool = False,
               damaged: bool = False, checksums: bool = True, encrypted: bool = False,
               unknown_zone: bool = False, breaks_chain: bool = False,
               recovery_model: str | None = None) -> BackupSet:
        """Add a backup set; the path follows Ola Hallengren's layout under `destination`."""
        db = self.databases[database.lower()]
        key = f"{self.server_name}/{db.name}/{type_}/{start}"
        begin = sql_datetime(start + dt.timedelta(microseconds=jitter(key, 1_000_000)))
        end = sql_datetime(begin + dt.timedelta(seconds=seconds,
                                                microseconds=jitter(key + "/end", 1_000_000)))
        if device_path is None:
            if destination is None:
                raise ValueError("a backup needs a destination or a device path")
            device_path = self.ola_path(destination, db.name, type_, begin, copy_only)
        encryption = (self.major_version >= 12, "aes_256" if encrypted else "NO_Encryption")
        backup = BackupSet(
            backup_set_id=self._next_set, media_set_id=self._next_media, database=db.name,
            type=type_, start=begin, finish=end,
            time_zone=UNKNOWN_ZONE if unknown_zone else self.zone.quarter_hours(begin),
            server_name=self.server_name, machine_name=self.machine_name,
            recovery_model=recovery_model or db.recovery, size=size,
            compressed=None if compression is None else round(size * compression),
            family_guid=guid("family", self.server_name, db.name), devices=((device_path,
                                                                            device_type),),
            is_copy_only=copy_only, is_damaged=damaged, checksums=checksums,
            key_algorithm=encryption[1] if encryption[0] else None,
            encryptor_type="CERTIFICATE" if encrypted and encryption[0] else None,
            breaks_chain=breaks_chain)
        self._next_set += 1
        self._next_media += 1
        self.backups.append(backup)
        return backup

    def ola_path(self, root: str, database: str, type_: str, start: dt.datetime,
                 copy_only: bool = False) -> str:
        """<root>\\<SERVER$INSTANCE>\\<db>\\FULL\\<SERVER$INSTANCE>_<db>_FULL_<yyyymmdd_hhmmss>.bak"""
        server = self.server_name.replace("\\", "$")
        folder = TYPE_FOLDER[type_] + ("_COPY_ONLY" if copy_only else "")
        ext = "trn" if type_ == "L" else "bak"
        return (f"{root}\\{server}\\{database}\\{folder}\\{server}_{database}_{folder}_"
                f"{start:%Y%m%d_%H%M%S}.{ext}")

    def history_before(self, database: str, type_: str, last_finish: dt.datetime,
                       count: int) -> None:
        """msdb rows older than the generated history (they only show in last_backups)."""
        self.old_history.append((database, type_, sql_datetime(last_finish), count))

    def restore(self, when: dt.datetime, destination: str, source: BackupSet, *,
                restore_type: str = "D", recovery: bool = True, replace: bool = False) -> None:
        """A RESTORE done here: msdb copies the source set's backupset row in, with its names."""
        copied = CopiedSet(self._next_set, self._next_media, source)
        self._next_set += 1
        self._next_media += 1
        self.copies.append(copied)
        self.restores.append(Restore(self._next_restore, sql_datetime(when), destination,
                                     restore_type, recovery, replace, copied))
        self._next_restore += 1

    def finish(self) -> None:
        """Give every backup set LSNs consistent with SQL Server's log chain rules.

        The log of each database advances with time. A log backup starts where the previous
        one ended (first_lsn = previous last_lsn); a full or differential covers the log from
        just before its checkpoint to its end; a differential marked `breaks_chain` follows a
        switch to SIMPLE and back, so the next log backup starts at that differential.
        """
        for db in self.databases.values():
            own = sorted((b for b in self.backups if b.database == db.name),
                         key=lambda b: (b.start, b.backup_set_id))
            chain: Decimal | None = None
            last_full: BackupSet | None = None
            for b in own:
                seed = f"{self.server_name}/{db.name}"
                if b.type == "L":
                    b.first_lsn = chain if chain is not None else _lsn(seed, b.start
                                                                       - dt.timedelta(hours=1))
                    b.last_lsn = _lsn(seed, b.start)
                    b.checkpoint_lsn = _lsn(seed, b.start - dt.timedelta(minutes=3))
                    chain = b.last_lsn
                else:
                    b.first_lsn = _lsn(seed, b.start - dt.timedelta(seconds=45))
                    b.checkpoint_lsn = _lsn(seed, b.start)
                    b.last_lsn = _lsn(seed, b.finish)
                    if b.breaks_chain:
                        chain = b.first_lsn
                if b.type == "D":
                    base = last_full.checkpoint_lsn if last_full is not None else _lsn(
                        seed, b.start - dt.timedelta(days=1))
                    b.database_backup_lsn = base
                    if not b.is_copy_only:
                        last_full = b
                else:
                    b.database_backup_lsn = (last_full.checkpoint_lsn if last_full is not None
                                             else _lsn(seed, b.start - dt.timedelta(days=1)))

    # --- Agent ---

    def job(self, name: str, steps: Sequence[Step], schedules: Sequence[Schedule], *,
            enabled: bool = True, operator: Operator | None = None,
            notify_level_email: int = 2) -> Job:
        """Add a SQL Agent job."""
        job = Job(name, list(steps), list(schedules), enabled, operator, notify_level_email)
        self.jobs.append(job)
        return job

    def suspect_page(self, database: str, page_id: int, event_type: int,
                     last_update: dt.datetime, error_count: int = 1) -> None:
        """Add a row of suspect_pages."""
        db = self.databases[database.lower()]
        self.suspect_pages.append(SuspectPage(db.database_id, 1, page_id, event_type,
                                              error_count, sql_datetime(last_update)))

    def fail(self, probe: str, status: ObservationStatus, error: str) -> None:
        """Make one probe end with an error instead of rows."""
        self.failures[probe] = (status, error)

    # --- rendering ---

    def observations(self, clock: ProbeClock) -> list[Observation]:
        """Every probe the SQL collector runs on this instance, in catalogue order."""
        probes: list[tuple[str, Callable[[dt.datetime], tuple[list[Row], dict[str, Any]]]]] = [
            ("server_time", self._server_time), ("databases", self._databases),
            ("backup_history", self._backup_history), ("last_backups", self._last_backups),
            ("backup_devices", self._backup_devices), ("restore_history", self._restores),
            ("agent_jobs", self._agent_jobs), ("agent_job_steps", self._agent_steps),
            ("agent_schedules", self._agent_schedules),
            ("agent_job_history", self._agent_history),
            ("suspect_pages", self._suspect_pages), ("database_files", self._files),
            ("mirroring", self._mirroring)]
        if self.major_version >= 12:
            probes.append(("backup_encryption", self._encryption))
        if self.role == "monitoring":
            probes.append(("cdr_hourly_usage", self._cdr))
        out = []
        for probe, render in probes:
            started, finished = clock.next(f"{self.server_name}/{probe}")
            local_now = self.zone.local(started)
            rows, params = render(local_now)
            status, error = self.failures.get(probe, (ObservationStatus.OK, None))
            if status is not ObservationStatus.OK:
                rows = []
            out.append(make_observation(
                source=Source.SQL, probe=probe, target=self.server_name, started_at=started,
                finished_at=finished, status=status, error=error, data=rows,
                parameters=params))
        return out

    def _retained(self, local_now: dt.datetime) -> list[BackupSet]:
        if self.history_kept_days is None:
            return list(self.backups)
        oldest = local_now - dt.timedelta(days=self.history_kept_days)
        return [b for b in self.backups if b.finish >= oldest]

    def _server_time(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        utc_now = local_now - self.zone.offset_at(self.zone.instant(local_now.replace(
            microsecond=0)))
        return [{"local_now": local_now, "utc_now": utc_now, "machine_name": self.machine_name,
                 "server_name": self.server_name, "product_version": self.product_version,
                 "product_level": self.product_level, "edition": self.edition}], {}

    def _databases(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows = []
        for db in sorted(self.databases.values(), key=lambda d: d.database_id):
            rows.append({"name": db.name, "database_id": db.database_id, "state": db.state,
                         "state_desc": STATES[db.state], "recovery_model": RECOVERY[db.recovery],
                         "recovery_model_desc": db.recovery, "source_database_id": None,
                         "is_read_only": False})
        return rows, {}

    def _since(self, local_now: dt.datetime, days_back: int) -> dt.datetime:
        return local_now.replace(microsecond=0) - dt.timedelta(days=days_back)

    def _window(self, local_now: dt.datetime) -> tuple[list[BackupSet], list[CopiedSet]]:
        since = self._since(local_now, HISTORY_DAYS)
        own = [b for b in self._retained(local_now) if b.finish >= since]
        copies = [c for c in self.copies if c.source.finish >= since]
        return own, copies

    def _backup_history(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        own, copies = self._window(local_now)
        rows = [b.row() for b in own]
        for copy in copies:
            row = copy.source.row(copy.backup_set_id)
            row["media_set_id"] = copy.media_set_id
            rows.append(row)
        rows.sort(key=lambda r: r["backup_set_id"])
        return rows, {"since_local": self._since(local_now, HISTORY_DAYS)}

    def _last_backups(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        groups: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
        sets = [b for b in self._retained(local_now) if not b.is_copy_only]
        sets += [c.source for c in self.copies if not c.source.is_copy_only]
        for b in sets:
            last, count = groups.get((b.database, b.type), (b.finish, 0))
            groups[(b.database, b.type)] = (max(last, b.finish), count + 1)
        for name, type_, last_finish, count in self.old_history:
            last, seen = groups.get((name, type_), (last_finish, 0))
            groups[(name, type_)] = (max(last, last_finish), seen + count)
        rows: list[Row] = [{"database_name": name, "type": type_, "last_finish": last,
                            "backup_count": count}
                           for (name, type_), (last, count) in sorted(groups.items())]
        return rows, {}

    def _backup_devices(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        own, copies = self._window(local_now)
        sets = [(b.media_set_id, b) for b in own] + [(c.media_set_id, c.source) for c in copies]
        rows: list[Row] = []
        for media_set_id, b in sorted(sets, key=lambda pair: pair[0]):
            for i, (path, device_type) in enumerate(b.devices, start=1):
                rows.append({"media_set_id": media_set_id, "family_sequence_number": i,
                             "mirror": 0, "physical_device_name": path,
                             "logical_device_name": None, "device_type": device_type})
        return rows, {"since_local": self._since(local_now, HISTORY_DAYS)}

    def _restores(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        since = self._since(local_now, RESTORE_HISTORY_DAYS)
        rows: list[Row] = []
        for r in self.restores:
            if r.restore_date < since:
                continue
            src = r.copied.source
            rows.append({"restore_history_id": r.restore_history_id,
                         "restore_date": r.restore_date,
                         "destination_database_name": r.destination,
                         "restore_type": r.restore_type, "recovery": r.recovery,
                         "replace": r.replace, "backup_set_id": r.copied.backup_set_id,
                         "source_database_name": src.database,
                         "source_server_name": src.server_name,
                         "source_family_guid": src.family_guid})
        return rows, {"restore_since_local": since}

    def _agent_jobs(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows: list[Row] = []
        for job in self.jobs:
            op = job.operator
            rows.append({"job_id": job.job_id, "name": job.name, "enabled": int(job.enabled),
                         "notify_level_email": job.notify_level_email if op else 0,
                         "notify_level_page": 0, "notify_level_netsend": 0,
                         "notify_email_operator_id": op.id if op else 0,
                         "operator_name": op.name if op else None,
                         "operator_enabled": int(op.enabled) if op else None,
                         "operator_email": op.email if op else None})
        return rows, {}

    def _agent_steps(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows: list[Row] = []
        for job in self.jobs:
            last = max(job.runs, key=lambda r: r.start) if job.runs else None
            for step in job.steps:
                rows.append({"job_id": job.job_id, "step_id": step.step_id,
                             "step_name": step.name, "subsystem": step.subsystem,
                             "command": step.command,
                             "last_run_outcome": (1 if last.succeeded else 0) if last else 5,
                             "last_run_date": agent_date(last.start) if last else 0,
                             "last_run_time": agent_time(last.start) if last else 0})
        return rows, {}

    def _agent_schedules(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows: list[Row] = []
        for job in self.jobs:
            for s in job.schedules:
                live = job.enabled and s.enabled
                upcoming = s.next_run(local_now) if live else None
                rows.append({"job_id": job.job_id, "schedule_id": s.schedule_id, "name": s.name,
                             "enabled": int(s.enabled), "freq_type": s.freq_type,
                             "freq_interval": s.freq_interval,
                             "freq_subday_type": 8 if s.every_hours else 1,
                             "freq_subday_interval": s.every_hours,
                             "active_start_time": agent_time(s.start),
                             "next_run_date": agent_date(upcoming) if upcoming else 0,
                             "next_run_time": agent_time(upcoming) if upcoming else 0})
        return rows, {}

    def _agent_history(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        since = agent_date(local_now - dt.timedelta(days=HISTORY_DAYS))
        history: list[tuple[dt.datetime, Job, JobRun]] = []
        for job in self.jobs:
            kept = sorted((r for r in job.runs if r.start <= local_now),
                          key=lambda r: r.start)[-JOB_HISTORY_RUNS:]
            history += [(r.start, job, r) for r in kept]
        rows: list[Row] = []
        instance_id = 20000
        for start, job, run in sorted(history, key=lambda h: (h[0], h[1].name)):
            instance_id += 2  # the step row comes first, then the outcome row
            if agent_date(start) < since:
                continue
            rows.append({"instance_id": instance_id, "job_id": job.job_id,
                         "run_status": 1 if run.succeeded else 0,
                         "run_date": agent_date(start), "run_time": agent_time(start),
                         "run_duration": agent_duration(run.seconds),
                         "message": run.message or _job_message(job, run)})
        return rows, {"since_yyyymmdd": since}

    def _suspect_pages(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        return [{"database_id": p.database_id, "file_id": p.file_id, "page_id": p.page_id,
                 "event_type": p.event_type, "error_count": p.error_count,
                 "last_update_date": p.last_update} for p in self.suspect_pages], {}

    def _files(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows: list[Row] = []
        for db in sorted(self.databases.values(), key=lambda d: d.database_id):
            for f in db.files:
                rows.append({"database_id": db.database_id, "file_id": f.file_id,
                             "type": f.type, "name": f.name, "physical_name": f.physical_name,
                             "volume_mount_point": f.volume.mount_point,
                             "volume_id": f.volume.volume_id,
                             "total_bytes": f.volume.total_bytes,
                             "available_bytes": f.volume.available_bytes})
        return rows, {}

    def _mirroring(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        rows: list[Row] = []
        for name, m in sorted(self.mirroring.items(),
                              key=lambda item: self.databases[item[0]].database_id):
            rows.append({"database_id": self.databases[name].database_id,
                         "mirroring_state": m.state,
                         "mirroring_state_desc": MIRROR_STATES[m.state],
                         "mirroring_role": m.role,
                         "mirroring_role_desc": "PRINCIPAL" if m.role == 1 else "MIRROR",
                         "mirroring_partner_instance": m.partner})
        return rows, {}

    def _encryption(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        own, copies = self._window(local_now)
        rows: list[Row] = [{"backup_set_id": b.backup_set_id, "key_algorithm": b.key_algorithm,
                            "encryptor_type": b.encryptor_type} for b in own]
        rows += [{"backup_set_id": c.backup_set_id, "key_algorithm": c.source.key_algorithm,
                  "encryptor_type": c.source.encryptor_type} for c in copies]
        rows.sort(key=lambda r: r["backup_set_id"])
        return rows, {"since_local": self._since(local_now, HISTORY_DAYS)}

    def _cdr(self, local_now: dt.datetime) -> tuple[list[Row], dict[str, Any]]:
        utc_now = self.zone.instant(local_now.replace(microsecond=0)).replace(tzinfo=None)
        since = utc_now - dt.timedelta(days=28)
        sessions = self.cdr_sessions or []
        return ([{"hour_utc": hour, "sessions": count} for hour, count in enumerate(sessions)],
                {"usage_since_utc": since})


HISTORY_DAYS = 35  # auditor/probes/catalogue.yaml history_days
RESTORE_HISTORY_DAYS = 120
JOB_HISTORY_RUNS = 50  # Agent's default: at most 100 history rows per job (step + outcome)


def _lsn(seed: str, wall: dt.datetime) -> Decimal:
    """A log sequence number as numeric(25,0): VLF * 10^15 + log block * 10^5 + slot.

    It grows with time (one log block every 4 seconds), from a per-database starting VLF.
    """
    blocks = int((wall - local(2026, 1, 1)).total_seconds()) // 4
    vlf = 100 + jitter(seed, 900) + blocks // 200_000
    block = (blocks % 200_000) * 8 + 16
    return Decimal(vlf * 10**15 + block * 10**5 + 1 + jitter(f"{seed}{wall}", 9))


def _job_message(job: Job, run: JobRun) -> str:
    outcome = "succeeded" if run.succeeded else "failed"
    schedule = job.schedules[0] if job.schedules else None
    invoked = (f"The Job was invoked by Schedule {schedule.schedule_id} ({schedule.name})."
               if schedule else "The Job was invoked by User sa.")
    step = job.steps[-1]
    return (f"The job {outcome}.  {invoked}  The last step to run was step {step.step_id} "
            f"({step.name}).")


# --- observation clock ---------------------------------------------------------------------------

class ProbeClock:
    """Hands out started_at/finished_at for the probe runs of one lane (one target, as the
    collectors run targets in parallel): each probe takes a stable 20-250 ms."""

    def __init__(self, collected_at: dt.datetime, lane: int = 0) -> None:
        self.now = collected_at + dt.timedelta(milliseconds=150 + 37 * lane,
                                               microseconds=jitter(f"lane {lane}", 1000))

    def next(self, key: str) -> tuple[dt.datetime, dt.datetime]:
        """The start and end of the next probe run."""
        started = self.now
        finished = started + dt.timedelta(milliseconds=20 + jitter(key, 230),
                                          microseconds=jitter(key + "us", 1000))
        self.now = finished + dt.timedelta(milliseconds=2 + jitter(key + "gap", 10))
        return started, finished


# --- Lync and Windows (PowerShell ConvertTo-Json rows) -------------------------------------------

@dataclass(frozen=True)
class LyncProbe:
    """One PowerShell probe run: its rows, or an error."""

    probe: str
    target: str
    rows: list[Row]
    parameters: dict[str, Any] = field(default_factory=dict)
    status: ObservationStatus = ObservationStatus.OK
    error: str | None = None


def lync_observations(probes: Iterable[LyncProbe], collected_at: dt.datetime,
                      first_lane: int) -> list[Observation]:
    """The Lync collector's observations: one lane per target, probes in the order given."""
    out = []
    clocks: dict[str, ProbeClock] = {}
    for p in probes:
        clock = clocks.setdefault(p.target, ProbeClock(collected_at, first_lane + len(clocks)))
        started, finished = clock.next(f"{p.probe}/{p.target}")
        out.append(make_observation(
            source=Source.LYNC, probe=p.probe, target=p.target, started_at=started,
            finished_at=finished, status=p.status, error=p.error,
            data=[] if p.status is not ObservationStatus.OK else p.rows,
            parameters=p.parameters))
    return out


def one_or_many(items: list[Row]) -> Row | list[Row]:
    """A collection built in a pipeline: a single item comes back as the object itself."""
    return items[0] if len(items) == 1 else items


def replica(fqdn: str, up_to_date: bool, last_report: dt.datetime,
            last_change: dt.datetime, version: str = "5.0.8308.0") -> Row:
    """A Get-CsManagementStoreReplicationStatus row."""
    return {"ReplicaFqdn": fqdn, "UpToDate": up_to_date, "LastStatusReport": ps_date(last_report),
            "LastUpdateCreation": ps_date(last_change), "ProductVersion": version}


def cs_pool(fqdn: str, site: str, roles: Sequence[str], computers: Sequence[str]) -> Row:
    """A Get-CsPool row: the pool's services as service ids (Role:pool) and its computers, both
    string collections (remoting flattens the objects to their ToString at depth 1), and the
    site as its identity (Site:BNE)."""
    return {"Identity": fqdn, "Fqdn": fqdn, "Site": f"Site:{site}",
            "Services": [f"{role}:{fqdn}" for role in roles], "Computers": list(computers)}


def cs_computer(fqdn: str, pool: str) -> Row:
    """A Get-CsComputer row: a computer of the topology and the pool it belongs to."""
    return {"Identity": fqdn, "Pool": pool, "Fqdn": fqdn}


def export_file(share: str, name: str, written: dt.datetime, length: int,
                entries: Sequence[str] | None, is_zip: bool = True) -> Row:
    """A list_exports.ps1 row: a file on the export share (a ZIP was opened and listed)."""
    listed: str | list[str] | None = None
    if entries is not None:
        listed = entries[0] if len(entries) == 1 else list(entries)
    return {"Name": name, "FullName": f"{share}\\{name}", "Length": length,
            "LastWriteTimeUtc": ps_date(written), "IsZip": is_zip, "Entries": listed}


def backup_service(pool: str, modules: Sequence[tuple[str, str, str]]) -> Row:
    """A Get-CsBackupServiceStatus row with its BackupModules."""
    exports = {m[1] for m in modules}
    imports = {m[2] for m in modules}
    overall_export = "ErrorState" if "ErrorState" in exports else (
        "NonSteadyState" if "NonSteadyState" in exports else "SteadyState")
    return {"PoolFqdn": pool, "OverallExportStatus": overall_export,
            "OverallImportStatus": "ErrorState" if "ErrorState" in imports else "NormalState",
            "BackupModules": [{"Identity": i, "ExportStatus": e, "ImportStatus": m}
                              for i, e, m in modules]}


FULL_CONTROL, MODIFY, READ_EXECUTE, GENERIC_ALL = 2032127, 1245631, 1179817, 268435456


def ace(identity: str, rights: int, allow: bool = True, inherited: bool = False) -> Row:
    """A share_acl.ps1 row: FileSystemRights and AccessControlType are enums, so numbers."""
    return {"IdentityReference": {"Value": identity}, "FileSystemRights": rights,
            "AccessControlType": 0 if allow else 1, "IsInherited": inherited}


def share_file(path: str, length: int, written: dt.datetime) -> Row:
    """A share_files.ps1 row."""
    return {"FullName": path, "Length": length, "LastWriteTimeUtc": ps_date(written)}


def backup_files(servers: Iterable[SqlServer], root: str, now: dt.datetime,
                 keep: Callable[[BackupSet], dt.timedelta]) -> list[Row]:
    """The files still on a destination: every backup written under `root` that the cleanup
    (keep: how long a set's file is kept) has not deleted yet, newest first per folder."""
    rows: list[tuple[str, Row]] = []
    prefix = root.lower().rstrip("\\") + "\\"
    for server in servers:
        for b in server.backups:
            for path, _ in b.devices:
                finished = server.zone.instant(b.finish.replace(microsecond=0))
                if path.lower().startswith(prefix) and now - finished <= keep(b):
                    rows.append((path.lower(), share_file(path, b.compressed or b.size,
                                                          finished + dt.timedelta(seconds=1))))
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def server_inventory(fqdn: str, manufacturer: str, model: str, os_caption: str,
                     os_version: str, products: Sequence[tuple[str, str]]) -> Row:
    """A server_inventory.ps1 row; one product comes back as a single object."""
    listed = [{"Name": name, "Version": version} for name, version in products]
    return {"ComputerName": fqdn.split(".")[0].upper(), "Manufacturer": manufacturer,
            "Model": model, "OsCaption": os_caption, "OsVersion": os_version,
            "Products": one_or_many(listed)}


# --- estate-building helpers: volumes, files, Ola jobs, backup schedules -------------------------

def volume(letter_or_mount: str, key: str, total: int, free: int) -> Volume:
    """A volume with a stable \\\\?\\Volume{GUID}\\ id."""
    return Volume(letter_or_mount, f"\\\\?\\Volume{{{guid('volume', key).lower()}}}\\", total, free)


def files(db_name: str, data: tuple[Volume, str], log: tuple[Volume, str]) -> list[DbFile]:
    """One .mdf and one .ldf, in the given folders of the given volumes."""
    (data_vol, data_dir), (log_vol, log_dir) = data, log
    return [DbFile(1, 0, db_name, f"{data_dir}\\{db_name}.mdf", data_vol),
            DbFile(2, 1, f"{db_name}_log", f"{log_dir}\\{db_name}_log.ldf", log_vol)]


def system_databases(server: SqlServer, data: tuple[Volume, str],
                     log: tuple[Volume, str]) -> None:
    """master (1), tempdb (2), model (3), msdb (4)."""
    for name, database_id, recovery in (("master", 1, "SIMPLE"), ("tempdb", 2, "SIMPLE"),
                                        ("model", 3, "FULL"), ("msdb", 4, "SIMPLE")):
        server.database(name, database_id, recovery, files=files(name, data, log))


def seconds_for(size: int, key: str) -> int:
    """How long a backup of `size` bytes takes: ~150 MB/s plus a few seconds."""
    return 3 + size // (150 * MB) + jitter(key, 5)


def ola_step(database_spec: str, directory: str, backup_type: str, *, cleanup_hours: int,
             verify: bool = True, checksum: bool = True, encrypt: bool = False,
             compress: bool = True) -> Step:
    """The T-SQL step of one of Ola Hallengren's DatabaseBackup jobs."""
    options = [f"@Databases = '{database_spec}'", f"@Directory = N'{directory}'",
               f"@BackupType = '{backup_type}'", f"@Verify = '{'Y' if verify else 'N'}'",
               f"@CleanupTime = {cleanup_hours}", f"@CheckSum = '{'Y' if checksum else 'N'}'",
               f"@Compress = '{'Y' if compress else 'N'}'"]
    if encrypt:
        options += ["@Encrypt = 'Y'", "@EncryptionAlgorithm = 'AES_256'",
                    "@ServerCertificate = 'BackupCert'"]
    options.append("@LogToTable = 'Y'")
    command = "EXECUTE [dbo].[DatabaseBackup]\n" + ",\n".join(options)
    return Step(1, f"DatabaseBackup - {database_spec} - {backup_type}", "TSQL", command)


def daily(schedule_id: int, name: str, clock: dt.time, every_hours: int = 0) -> Schedule:
    """A daily schedule (freq_type 4), once at `clock` or every N hours from it."""
    return Schedule(schedule_id, name, 4, 1, clock, every_hours)


def weekly(schedule_id: int, name: str, weekdays: int, clock: dt.time) -> Schedule:
    """A weekly schedule (freq_type 8); weekdays is the bitmask 1 Sun, 2 Mon ... 64 Sat."""
    return Schedule(schedule_id, name, 8, weekdays, clock)


def housekeeping_job(server: SqlServer, operator: Operator | None) -> None:
    """The syspolicy_purge_history job every instance has (not a backup job)."""
    job = server.job("syspolicy_purge_history",
                     [Step(1, "Verify that automation is enabled.", "TSQL",
                           "IF (msdb.dbo.fn_syspolicy_is_automation_enabled() != 1) "
                           "BEGIN RAISERROR(34022, 16, 1) END"),
                      Step(2, "Purge history.", "TSQL", "EXEC msdb.dbo.sp_syspolicy_purge_history"),
                      Step(3, "Erase Phantom System Health Records.", "PowerShell",
                           "if ('$(ESCAPE_SQUOTE(INST))' -eq 'MSSQLSERVER') {$a = '\\DEFAULT'} "
                           "ELSE {$a = ''}; (Get-Item SQLSERVER:\\SQLPolicy\\$(ESCAPE_NONE(SRVR))"
                           "$a).EraseSystemHealthPhantomRecords()")],
                     [daily(1, "syspolicy_purge_history_schedule", dt.time(2, 0))],
                     operator=operator, notify_level_email=0)
    now = server.local_now
    for day in days(now.date() - dt.timedelta(days=40), now.date()):
        start = at(day, dt.time(2, 0))
        if start < now:
            job.ran(start, 4)


def run_nightly(server: SqlServer, job: Job | None, databases: Sequence[tuple[str, int]],
                first: dt.date, clock: dt.time, backup_type: str, *, destination: str | None,
                growth_per_day: dict[str, int] | None = None,
                skip: Callable[[dt.date, str], bool] = lambda day, name: False,
                failed: Callable[[dt.date], str | None] = lambda day: None,
                weekdays: set[int] | None = None, encrypted: bool = False,
                unknown_zone: bool = False, compression: float | None = 0.25) -> None:
    """Back up `databases` one after another, every night from `first` until now.

    `skip(day, name)` leaves one database out of one night (the job carries on and reports
    failure when `failed(day)` gives a message); `weekdays` (Monday 0) limits the nights.
    """
    now = server.local_now
    growth = growth_per_day or {}
    for day in days(first, now.date()):
        start = at(day, clock)
        if start >= now or (weekdays is not None and day.weekday() not in weekdays):
            continue
        cursor = start + dt.timedelta(seconds=2)
        for name, size in databases:
            if skip(day, name):
                cursor += dt.timedelta(seconds=6)
                continue
            grown = size + growth.get(name, 0) * (day - first).days
            took = seconds_for(grown, f"{server.server_name}/{name}/{day}")
            server.backup(name, backup_type, cursor, seconds=took, size=grown,
                          destination=destination, encrypted=encrypted,
                          unknown_zone=unknown_zone, compression=compression)
            cursor += dt.timedelta(seconds=took + 3)
        if job is not None:
            message = failed(day)
            job.ran(start, int((cursor - start).total_seconds()) + 1, message is None, message)


def run_hourly_logs(server: SqlServer, job: Job | None, databases: Sequence[str],
                    first: dt.datetime, minute: int, *, destination: str | None,
                    until: dt.datetime | None = None, encrypted: bool = False
                    ) -> list[BackupSet]:
    """Log backups of `databases` every hour at `minute` past, from `first` until now."""
    now = until or server.local_now
    made = []
    start = first.replace(minute=minute, second=0, microsecond=0)
    while start < now:
        cursor = start + dt.timedelta(seconds=1)
        for name in databases:
            size = 24 * MB + jitter(f"{server.server_name}/{name}/{start}", 40) * MB
            took = 2 + jitter(f"{name}{start}", 3)
            made.append(server.backup(name, "L", cursor, seconds=took, size=size,
                                      destination=destination, encrypted=encrypted))
            cursor += dt.timedelta(seconds=took + 3)
        if job is not None:
            job.ran(start, int((cursor - start).total_seconds()) + 1)
        start += dt.timedelta(hours=1)
    return made


def last_full(server: SqlServer, database: str, before: dt.datetime) -> BackupSet:
    """The newest chain full backup of a database that started before a local time."""
    fulls = [b for b in server.backups if b.database == database and b.type == "D"
             and not b.is_copy_only and b.start < before]
    return max(fulls, key=lambda b: b.start)


def probe(name: str, target: str, rows: list[dict[str, object]],
          **parameters: object) -> LyncProbe:
    """A PowerShell probe that returned rows."""
    return LyncProbe(name, target, rows, dict(parameters))
