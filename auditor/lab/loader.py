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

from collections.abc import Iterable
from typing import Any

from auditor.evidence import Observation, Source
from auditor.lab.insert import insert_rows
from auditor.lab.tables import InstanceData, pg_time_zone
from auditor.probes.catalogue import Catalogue, Dialect, load_catalogue

__all__ = ["PROBE_TABLES", "InstanceData", "lab_probes", "load_instance", "pg_time_zone",
           "sql_observations"]

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
