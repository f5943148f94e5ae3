"""InstanceData: one instance's recorded SQL observations mapped back to the lab table rows they
project, plus the defaults and older rows the probes do not show (see loader.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.canonical import JsonValue
from auditor.evidence import Observation
from auditor.lab.cluster import LabError
from auditor.lab.columns import (
    BACKUPSET_COLUMNS,
    DATABASE_COLUMNS,
    DEVICE_COLUMNS,
    FILE_COLUMNS,
    HISTORY_COLUMNS,
    JOB_COLUMNS,
    JOB_SCHEDULE_COLUMNS,
    MIRROR_COLUMNS,
    RESTORE_COLUMNS,
    SCHEDULE_COLUMNS,
    STEP_COLUMNS,
    SUSPECT_COLUMNS,
    VOLUME_COLUMNS,
)
from auditor.lab.insert import Filler
from auditor.probes.catalogue import Catalogue, load_catalogue

Row = Mapping[str, JsonValue]
NAMESPACE = uuid.UUID("3f0c8a52-6a0e-4d51-9a55-2f6f2b1f7a10")


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
