"""Fill one lab instance database from recorded SQL observations.

Each probe row maps back to the table rows it projects (server_time -> lab.instance, databases ->
sys.databases, backup_history -> dbo.backupset + dbo.backupmediaset, ...), so running the probes
against the loaded database gives back the recorded rows. What a probe does not show is filled
with plausible defaults, plus the rows that only an aggregate shows: `last_backups` counts and
dates reach back before the history window, so older chain backups are added there; a restore
whose source backup set is older than the window gets that set (copy-only, so no count moves).

The instance's clock can be stopped at the recorded `utc_now` (lab.instance.clock_utc): the
probes then see the estate exactly as it was recorded, and evaluating at the bundle's
collection time gives the recorded verdicts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.canonical import JsonValue
from auditor.evidence import Observation, Source
from auditor.lab.cluster import LabError, quote_ident
from auditor.probes.catalogue import Catalogue, Dialect, load_catalogue

Row = Mapping[str, JsonValue]
NAMESPACE = uuid.UUID("3f0c8a52-6a0e-4d51-9a55-2f6f2b1f7a10")
BATCH_ROWS = 200

# The tables each probe reads: a recorded `denied` is reproduced by revoking SELECT on them.
PROBE_TABLES: dict[str, tuple[str, ...]] = {
    "databases": ("sys.databases",),
    "mirroring": ("sys.database_mirroring",),
    "backup_history": ("dbo.backupset", "dbo.backupmediaset"),
    "last_backups": ("dbo.backupset",),
    "backup_devices": ("dbo.backupmediafamily",),
    "restore_history": ("dbo.restorehistory",),
    "suspect_pages": ("dbo.suspect_pages",),
    "agent_jobs": ("dbo.sysjobs", "dbo.sysoperators"),
    "agent_job_steps": ("dbo.sysjobsteps",),
    "agent_schedules": ("dbo.sysjobschedules", "dbo.sysschedules"),
    "agent_job_history": ("dbo.sysjobhistory",),
    "database_files": ("sys.master_files", "lab.volume"),
}


def lab_probes(catalogue: Catalogue | None = None) -> frozenset[str]:
    """The probes a lab can answer (those with a portable or a lab text)."""
    cat = catalogue or load_catalogue()
    return frozenset(p.name for p in cat.sql if p.text(Dialect.LAB) is not None)


def pg_time_zone(offset: dt.timedelta) -> str:
    """A fixed-offset POSIX zone PostgreSQL accepts: +10:00 -> '<+10>-10', -05:45 -> ..."""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    label = f"{hours:02d}{mins:02d}" if mins else f"{hours:02d}"
    posix = "-" if minutes > 0 else "+"
    return f"<{sign}{label}>{posix}{hours:02d}:{mins:02d}"


def parse_naive(value: JsonValue, what: str) -> dt.datetime:
    """An ISO time from a bundle row."""
    if not isinstance(value, str):
        raise LabError(f"{what}: {value!r} is not a time")
    return dt.datetime.fromisoformat(value)


@dataclass(frozen=True)
class Filler:
    """`count` chain backups of one database and type, one an hour back from `newest`."""

    database_name: str
    type: str
    count: int
    first_id: int
    newest: dt.datetime
    server_name: str
    machine_name: JsonValue
    time_zone: int

    def insert(self, conn: Any) -> None:
        """One INSERT ... SELECT over generate_series, every value bound."""
        cursor = conn.cursor()
        cursor.execute(
            "INSERT INTO dbo.backupset (backup_set_id, media_set_id, database_name, "
            "server_name, machine_name, type, backup_start_date, backup_finish_date, time_zone, "
            "is_copy_only, recovery_model, backup_size) "
            "SELECT CAST(? AS integer) + 2 * g, CAST(? AS integer) + 2 * g + 1, "
            "CAST(? AS varchar(128)), CAST(? AS varchar(128)), CAST(? AS varchar(128)), "
            "CAST(? AS char(1)), CAST(? AS timestamp(3)) - g * interval '1 hour' - "
            "interval '1 minute', CAST(? AS timestamp(3)) - g * interval '1 hour', "
            "CAST(? AS smallint), false, 'FULL', 0 "
            "FROM generate_series(0, CAST(? AS integer) - 1) AS g",
            self.first_id, self.first_id, self.database_name, self.server_name,
            _param(self.machine_name), self.type, self.newest.isoformat(sep=" "),
            self.newest.isoformat(sep=" "), self.time_zone, self.count)
        cursor.close()


@dataclass(frozen=True)
class Table:
    """Rows for one table."""

    name: str
    rows: list[dict[str, Any]]


class InstanceData:
    """The table rows that reproduce one instance's recorded SQL observations."""

    def __init__(self, server_name: str, observations: Mapping[str, Observation],
                 catalogue: Catalogue | None = None) -> None:
        self.server_name = server_name
        self.obs = observations
        self.catalogue = catalogue or load_catalogue()
        clock = self.rows("server_time")
        if len(clock) != 1:
            raise LabError(f"{server_name}: server_time needs exactly one row")
        self.clock = clock[0]
        self.local_now = parse_naive(self.clock["local_now"], "local_now")
        self.utc_now = parse_naive(self.clock["utc_now"], "utc_now")
        quarters = round((self.local_now - self.utc_now) / dt.timedelta(minutes=15))
        self.offset = dt.timedelta(minutes=15 * quarters)
        self.window_start = self._window_start()
        self._next_id = 1_000_000
        self.fillers: list[Filler] = []

    def rows(self, probe: str) -> list[Row]:
        """The recorded rows of a probe; none when it was not recorded or did not end ok."""
        found = self.obs.get(probe)
        return list(found.data) if found is not None and found.ok else []

    def denied(self) -> list[str]:
        """Probes recorded as denied: the loader revokes their tables."""
        return [name for name, o in self.obs.items() if o.status.value == "denied"]

    def unreproducible(self, runnable: Iterable[str]) -> list[str]:
        """Lab-runnable probes that ended neither ok nor denied: a lab cannot replay those."""
        return sorted(name for name in runnable if name in self.obs
                      and self.obs[name].status.value not in ("ok", "denied"))

    def _window_start(self) -> dt.datetime:
        since = self.local_now.replace(microsecond=0) - dt.timedelta(
            days=self.catalogue.history_days)
        recorded = self.obs.get("backup_history")
        value = recorded.parameters.get("since_local") if recorded else None
        if isinstance(value, str):
            since = min(since, dt.datetime.fromisoformat(value))
        return since - dt.timedelta(minutes=1)

    def new_id(self) -> int:
        """An id no recorded row uses."""
        self._next_id += 1
        return self._next_id

    # --- tables ---------------------------------------------------------------------------

    def tables(self, clock_stopped: bool = True) -> list[Table]:
        """Every table's rows, in an order that keeps ids unique."""
        history = self.rows("backup_history")
        used = [int(str(r["backup_set_id"])) for r in history]
        used += [int(str(r["backup_set_id"])) for r in self.rows("restore_history")]
        self._next_id = max([*used, 1_000_000])
        backupsets = [self._backupset(r) for r in history]
        backupsets += self._restore_sources({int(str(r["backup_set_id"])) for r in history})
        self.fillers = self._older_chain(history)
        return [
            Table("lab.instance", [self._instance(clock_stopped)]),
            Table("lab.volume", self._volumes()),
            Table("sys.databases", [_pick(r, DATABASE_COLUMNS) for r in self.rows("databases")]),
            Table("sys.master_files", [self._file(r) for r in self.rows("database_files")]),
            Table("sys.database_mirroring", self._mirroring()),
            Table("dbo.backupset", backupsets),
            Table("dbo.backupmediaset", self._mediasets(history)),
            Table("dbo.backupmediafamily", [_pick(r, DEVICE_COLUMNS)
                                            for r in self.rows("backup_devices")]),
            Table("dbo.restorehistory", [_pick(r, RESTORE_COLUMNS)
                                         for r in self.rows("restore_history")]),
            Table("dbo.suspect_pages", [_pick(r, SUSPECT_COLUMNS)
                                        for r in self.rows("suspect_pages")]),
            Table("dbo.sysjobs", [_pick(r, JOB_COLUMNS) for r in self.rows("agent_jobs")]),
            Table("dbo.sysoperators", self._operators()),
            Table("dbo.sysjobsteps", [_pick(r, STEP_COLUMNS)
                                      for r in self.rows("agent_job_steps")]),
            Table("dbo.sysschedules", self._schedules()),
            Table("dbo.sysjobschedules", [_pick(r, JOB_SCHEDULE_COLUMNS)
                                          for r in self.rows("agent_schedules")]),
            Table("dbo.sysjobhistory", [{**_pick(r, HISTORY_COLUMNS), "step_id": 0,
                                         "step_name": "(Job outcome)",
                                         "server": self.server_name}
                                        for r in self.rows("agent_job_history")]),
        ]

    def _instance(self, clock_stopped: bool) -> dict[str, Any]:
        c = self.clock
        machine = str(c.get("machine_name") or self.server_name.split("\\")[0])
        edition = str(c.get("edition") or "Enterprise Edition (64-bit)")
        engine = 4 if "express" in edition.lower() else 2 if "standard" in edition.lower() else 3
        return {"server_name": c.get("server_name") or self.server_name,
                "machine_name": machine, "computer_name_physical_netbios": machine,
                "instance_name": self.server_name.split("\\")[1] if "\\" in self.server_name
                else None,
                "product_version": c.get("product_version") or "11.0.6020.0",
                "product_level": c.get("product_level") or "RTM", "edition": edition,
                "engine_edition": engine, "time_zone": pg_time_zone(self.offset),
                "clock_utc": c["utc_now"] if clock_stopped else None}

    def _volumes(self) -> list[dict[str, Any]]:
        volumes: dict[str, dict[str, Any]] = {}
        for r in self.rows("database_files"):
            volume = _pick(r, VOLUME_COLUMNS)
            key = str(volume["volume_mount_point"]).lower()
            if volumes.setdefault(key, volume) != volume:
                raise LabError(f"{self.server_name}: volume {key} is recorded with two "
                               "different ids or sizes")
        return list(volumes.values())

    def _file(self, r: Row) -> dict[str, Any]:
        row = _pick(r, FILE_COLUMNS)
        kind = int(str(row["type"]))
        row["type_desc"] = {0: "ROWS", 1: "LOG", 2: "FILESTREAM"}.get(kind, "ROWS")
        row["data_space_id"] = 0 if kind == 1 else 1
        return row

    def _mirroring(self) -> list[dict[str, Any]]:
        mirrored = {int(str(r["database_id"])): r for r in self.rows("mirroring")}
        ids = {int(str(r["database_id"])) for r in self.rows("databases")} | set(mirrored)
        out: list[dict[str, Any]] = []
        for database_id in sorted(ids):
            r = mirrored.get(database_id)
            row: dict[str, Any] = {"database_id": database_id, "mirroring_guid": None,
                                   **dict.fromkeys(MIRROR_COLUMNS)}
            if r is not None:
                row.update(_pick(r, MIRROR_COLUMNS))
                row["mirroring_guid"] = str(uuid.uuid5(NAMESPACE,
                                                       f"{self.server_name}/{database_id}"))
            out.append(row)
        return out

    def _backupset(self, r: Row) -> dict[str, Any]:
        return _pick(r, BACKUPSET_COLUMNS)

    def _mediasets(self, history: Sequence[Row]) -> list[dict[str, Any]]:
        sets: dict[int, dict[str, Any]] = {}
        for r in history:
            if r.get("media_password_protected") is None:
                continue
            row = {"media_set_id": r["media_set_id"],
                   "is_password_protected": r["media_password_protected"]}
            if sets.setdefault(int(str(r["media_set_id"])), row) != row:
                raise LabError(f"{self.server_name}: media set {r['media_set_id']} is recorded "
                               "both with and without a password")
        return list(sets.values())

    def _restore_sources(self, in_window: set[int]) -> list[dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for r in self.rows("restore_history"):
            set_id = int(str(r["backup_set_id"]))
            if set_id in in_window or set_id in out or r.get("source_database_name") is None:
                continue
            restored = parse_naive(r["restore_date"], "restore_date")
            finish = min(restored, self.window_start) - dt.timedelta(hours=1)
            kind = str(r.get("restore_type") or "D")
            out[set_id] = self._synthetic_set(
                set_id, str(r["source_database_name"]), kind if kind in "DIL" else "D", finish,
                copy_only=True, server_name=r.get("source_server_name"),
                family_guid=r.get("source_family_guid"))
        return list(out.values())

    def _older_chain(self, history: Sequence[Row]) -> list[Filler]:
        """Chain backups before the window, so last_backups gives the recorded max and count."""
        seen: dict[tuple[str, str], list[dt.datetime]] = {}
        for r in history:
            if not r.get("is_copy_only"):
                key = (str(r["database_name"]), str(r["type"]))
                seen.setdefault(key, []).append(parse_naive(r["backup_finish_date"], "finish"))
        out: list[Filler] = []
        for r in self.rows("last_backups"):
            key = (str(r["database_name"]), str(r["type"]))
            last = parse_naive(r["last_finish"], "last_finish")
            count, shown = int(str(r["backup_count"])), seen.get(key, [])
            missing = count - len(shown)
            if missing < 0 or (shown and max(shown) != last) or (not shown and missing == 0):
                raise LabError(f"{self.server_name}: last_backups {key} does not agree with "
                               "backup_history")
            if missing:
                first = self._next_id + 1
                self._next_id += 2 * missing
                out.append(Filler(
                    database_name=key[0], type=key[1], count=missing, first_id=first,
                    newest=last if not shown else self.window_start - dt.timedelta(hours=1),
                    server_name=self.server_name, machine_name=self.clock.get("machine_name"),
                    time_zone=round(self.offset / dt.timedelta(minutes=15))))
        return out

    def _synthetic_set(self, set_id: int, database: str, kind: str, finish: dt.datetime, *,
                       copy_only: bool, server_name: JsonValue = None,
                       family_guid: JsonValue = None) -> dict[str, Any]:
        return {"backup_set_id": set_id, "media_set_id": self.new_id(), "database_name": database,
                "server_name": server_name or self.server_name,
                "machine_name": self.clock.get("machine_name"), "type": kind,
                "backup_start_date": finish - dt.timedelta(minutes=1),
                "backup_finish_date": finish,
                "time_zone": round(self.offset / dt.timedelta(minutes=15)),
                "is_copy_only": copy_only, "recovery_model": "FULL", "backup_size": 0,
                "family_guid": family_guid}

    def _operators(self) -> list[dict[str, Any]]:
        ops: dict[int, dict[str, Any]] = {}
        for r in self.rows("agent_jobs"):
            if r.get("operator_name") is None:
                continue
            row = {"id": r["notify_email_operator_id"], "name": r["operator_name"],
                   "enabled": r.get("operator_enabled") or 0,
                   "email_address": r.get("operator_email")}
            if ops.setdefault(int(str(row["id"])), row) != row:
                raise LabError(f"{self.server_name}: operator {row['id']} recorded twice, "
                               "differently")
        return list(ops.values())

    def _schedules(self) -> list[dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for r in self.rows("agent_schedules"):
            row = _pick(r, SCHEDULE_COLUMNS)
            if found.setdefault(int(str(row["schedule_id"])), row) != row:
                raise LabError(f"{self.server_name}: schedule {row['schedule_id']} recorded "
                               "twice, differently")
        return list(found.values())


def _pick(row: Row, columns: Iterable[str]) -> dict[str, Any]:
    return {c: row.get(c) for c in columns}


DATABASE_COLUMNS = ("name", "database_id", "state", "state_desc", "recovery_model",
                    "recovery_model_desc", "source_database_id", "is_read_only")
FILE_COLUMNS = ("database_id", "file_id", "type", "name", "physical_name")
VOLUME_COLUMNS = ("volume_mount_point", "volume_id", "total_bytes", "available_bytes")
MIRROR_COLUMNS = ("mirroring_state", "mirroring_state_desc", "mirroring_role",
                  "mirroring_role_desc", "mirroring_partner_instance")
BACKUPSET_COLUMNS = ("backup_set_id", "database_name", "server_name", "machine_name", "type",
                     "backup_start_date", "backup_finish_date", "time_zone", "is_copy_only",
                     "is_damaged", "has_backup_checksums", "recovery_model", "first_lsn",
                     "last_lsn", "checkpoint_lsn", "database_backup_lsn", "backup_size",
                     "compressed_backup_size", "media_set_id", "family_guid")
DEVICE_COLUMNS = ("media_set_id", "family_sequence_number", "mirror", "physical_device_name",
                  "logical_device_name", "device_type")
RESTORE_COLUMNS = ("restore_history_id", "restore_date", "destination_database_name",
                   "restore_type", "recovery", "replace", "backup_set_id")
SUSPECT_COLUMNS = ("database_id", "file_id", "page_id", "event_type", "error_count",
                   "last_update_date")
JOB_COLUMNS = ("job_id", "name", "enabled", "notify_level_email", "notify_level_page",
               "notify_level_netsend", "notify_email_operator_id")
STEP_COLUMNS = ("job_id", "step_id", "step_name", "subsystem", "command", "last_run_outcome",
                "last_run_date", "last_run_time")
SCHEDULE_COLUMNS = ("schedule_id", "name", "enabled", "freq_type", "freq_interval",
                    "freq_subday_type", "freq_subday_interval", "active_start_time")
JOB_SCHEDULE_COLUMNS = ("schedule_id", "job_id", "next_run_date", "next_run_time")
HISTORY_COLUMNS = ("instance_id", "job_id", "run_status", "run_date", "run_time",
                   "run_duration", "message")


def insert_rows(conn: Any, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Batched INSERTs with every value bound and cast to its column's type."""
    if not rows:
        return
    schema, name = table.split(".", 1)
    cursor = conn.cursor()
    cursor.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                   "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
                   "n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ? AND "
                   "a.attnum > 0 AND NOT a.attisdropped", schema, name)
    types = {str(col): str(kind) for col, kind in cursor.fetchall()}
    columns = list(dict.fromkeys(c for row in rows for c in row))
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise LabError(f"{table} has no column {unknown[0]}")
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    names = ", ".join(quote_ident(c) for c in columns)
    one = "(" + ", ".join(f"CAST(? AS {types[c]})" for c in columns) + ")"
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start:start + BATCH_ROWS]
        values = ", ".join([one] * len(batch))
        params = [_param(row.get(c)) for row in batch for c in columns]
        cursor.execute(f"INSERT INTO {target} ({names}) VALUES {values}", *params)  # noqa: S608
    cursor.close()


def _param(value: Any) -> Any:
    """Bundle values go in as text where pyodbc would guess a type PostgreSQL then rejects."""
    if isinstance(value, bool) or value is None:
        return None if value is None else int(value)
    if isinstance(value, int | str):
        return value
    return str(value)


def load_instance(conn: Any, data: InstanceData, *, clock_stopped: bool = True) -> int:
    """Insert every table of one instance; returns the number of rows written."""
    total = 0
    for table in data.tables(clock_stopped):
        insert_rows(conn, table.name, table.rows)
        total += len(table.rows)
    for filler in data.fillers:
        filler.insert(conn)
        total += filler.count
    return total


def sql_observations(observations: Iterable[Observation], target: str
                     ) -> dict[str, Observation]:
    """One instance's SQL observations by probe name."""
    return {o.probe: o for o in observations if o.source is Source.SQL and o.target == target}
