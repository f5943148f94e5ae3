"""What the planner needs to know about a target: jobs that back a database up, where to write,
how long past backups took, which dialect and options the server takes."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from auditor.checks.storage import DISK_DEVICE, classify_device, host_names
from auditor.connect.sql import DriverKind, driver_kind, parse_connection_string
from auditor.facts import InstanceFacts, Known
from auditor.facts.sql_types import AgentJob, Backup, BackupDevice
from auditor.findings import Status
from auditor.inventory import BackupDestination, Inventory, SqlInstance
from auditor.remediate.catalogue import Dialect

SYSTEM_DATABASES = frozenset({"master", "model", "msdb"})
FLOOR_SECONDS = {"D": 300, "L": 120}
DEFAULT_SECONDS = {"D": 600, "L": 60}
DEADLINE_FACTOR = 3
_OLA_DATABASES = re.compile(r"(?i)@Databases\s*=\s*N?'([^']*)'")
_OLA_TYPE = re.compile(r"(?i)@BackupType\s*=\s*N?'([^']*)'")
_PLAIN_BACKUP = re.compile(r"(?i)BACKUP\s+(DATABASE|LOG)\s+\[?([^\]\s]+)\]?\s+TO\b")


def dialect_of(inst: SqlInstance) -> Dialect:
    """The lab's PostgreSQL driver means the lab stand-ins; anything else is T-SQL."""
    return _dialect(inst.connection or "")


@cache
def _dialect(connection: str) -> Dialect:
    try:
        kind = driver_kind(parse_connection_string(connection))
    except ValueError:
        return Dialect.TSQL
    return Dialect.LAB if kind is DriverKind.PSQLODBC else Dialect.TSQL


def _ola_covers(command: str, database: str, backup_type: str) -> bool:
    spec = _OLA_DATABASES.search(command)
    kind = _OLA_TYPE.search(command)
    wanted = {"D": "FULL", "L": "LOG"}[backup_type]
    if spec is None or (kind.group(1).upper() if kind else "FULL") != wanted:
        return False
    names = {part.strip().lower() for part in spec.group(1).split(",")}
    system = database.lower() in SYSTEM_DATABASES
    return (database.lower() in names or "all_databases" in names
            or ("user_databases" in names and not system)
            or ("system_databases" in names and system))


def job_covers(job: AgentJob, database: str, backup_type: str) -> bool:
    """The job is enabled and one of its steps visibly backs this database up (Ola's
    DatabaseBackup, or a BACKUP statement naming it); maintenance plans cannot be read."""
    if not job.enabled:
        return False
    for step in job.steps:
        if "databasebackup" in step.command.lower() and _ola_covers(step.command, database,
                                                                     backup_type):
            return True
        for kind, name in _PLAIN_BACKUP.findall(step.command):
            if name.lower() == database.lower() and (kind.upper() == "LOG") == (backup_type == "L"):
                return True
    return False


def covering_job(inst: InstanceFacts, database: str, backup_type: str) -> AgentJob | None:
    """The first enabled Agent job that backs the database up, when the server has an Agent."""
    if not isinstance(inst.jobs, Known) or is_express(inst):
        return None
    return next((j for j in inst.jobs.value if job_covers(j, database, backup_type)), None)


def is_express(inst: InstanceFacts) -> bool:
    """Express has no SQL Agent and no backup compression."""
    return isinstance(inst.clock, Known) and "express" in (inst.clock.value.edition or "").lower()


def supports_compression(inst: InstanceFacts) -> bool:
    """Backup compression: Standard and Enterprise from 2008 R2 on, never Express."""
    if not isinstance(inst.clock, Known) or is_express(inst):
        return False
    match = re.match(r"(\d+)\.(\d+)", inst.clock.value.product_version or "")
    return match is not None and (int(match.group(1)), int(match.group(2))) >= (10, 50)


@dataclass(frozen=True)
class Destination:
    """Where an ad hoc backup of an instance goes, or why there is nowhere."""

    path: str | None
    reason: str


def destination_for(inventory: Inventory, inst: InstanceFacts) -> Destination:
    """The inventory's backup destination of the instance's site, refused when BR-040 would
    fail it (a local drive, a share on the SQL host itself)."""
    site = inst.instance.site or inventory.site_of_pool(inst.instance.pool)
    found: list[BackupDestination] = [d for d in inventory.backup_destinations
                                      if d.site is not None and d.site == site]
    if not found:
        return Destination(None, f"the inventory has no backup destination for site {site}: "
                                 "add one under backup_destinations")
    path = found[0].path.rstrip("\\/")
    status, text = classify_device(BackupDevice(0, path + "\\x.bak", DISK_DEVICE, 0),
                                   host_names(inst))
    if status is not Status.PASS:
        return Destination(None, f"refused destination {found[0].path}: {text}")
    return Destination(path, f"the backup destination of site {site}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.$-]+", "_", text.replace("\\", "$")) or "_"


def backup_file(destination: str, inst: SqlInstance, database: str, backup_type: str) -> str:
    """Ola Hallengren's layout; `{run}` becomes the apply run's id: a new file per run."""
    kind, ext = ("FULL", "bak") if backup_type == "D" else ("LOG", "trn")
    server, db = _slug(inst.server_name), _slug(database)
    return f"{destination}\\{server}\\{db}\\{kind}\\{server}_{db}_{kind}_{{run}}.{ext}"


def durations(inst: InstanceFacts) -> dict[tuple[str, str], list[int]]:
    """Seconds each past chain backup took, by (database lower-cased, type), newest last."""
    out: dict[tuple[str, str], list[int]] = {}
    if isinstance(inst.backups, Known):
        for b in sorted(inst.backups.value, key=lambda b: b.finished_at):
            if not b.is_copy_only:
                seconds = max(0, int((b.finished_at - b.started_at).total_seconds()))
                out.setdefault((b.database_name.lower(), b.type), []).append(seconds)
    return out


def estimate(past: list[int], backup_type: str) -> tuple[int, int]:
    """(estimated seconds, deadline seconds): the median of past durations, and three times
    the longest with a floor; defaults when the database has no history."""
    if not past:
        guess = DEFAULT_SECONDS[backup_type]
        return guess, max(FLOOR_SECONDS[backup_type], DEADLINE_FACTOR * guess)
    return (int(statistics.median(past)),
            max(FLOOR_SECONDS[backup_type], DEADLINE_FACTOR * max(past)))


def by_database(inst: InstanceFacts) -> dict[str, list[Backup]]:
    """The instance's backups by database (lower-cased), read once per instance."""
    out: dict[str, list[Backup]] = {}
    if isinstance(inst.backups, Known):
        for b in inst.backups.value:
            out.setdefault(b.database_name.lower(), []).append(b)
    return out


def newest_size(backups: Sequence[Backup], backup_type: str) -> int:
    """Bytes of the database's newest chain backup of that type (0 when it has none)."""
    sets = [b for b in backups if b.type == backup_type and not b.is_copy_only]
    return max(sets, key=lambda b: b.finished_at).size_bytes if sets else 0


def differentials_since_full(backups: Sequence[Backup]) -> int:
    """Differential backups (type I) of a database newer than its newest normal full: the
    admin's differential chain that a new normal full would restart."""
    fulls = [b.finished_at for b in backups if b.type == "D" and not b.is_copy_only]
    base = max(fulls, default=None)
    return sum(1 for b in backups if b.type == "I" and (base is None or b.finished_at > base))
