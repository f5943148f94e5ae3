"""What a restore test (BR-060) needs at plan time: the restore-test instance, the newest
verified full of the source database on a share, the name of the copy, and the statements.

The copy is restored only on an instance whose inventory role is `restore_test`, never on
production. The backup it restores is this plan's own new full of that database when the plan
takes one (its file is known once that action has verified it), else the newest full in the
bundle that has checksums, is not damaged and was written to a share (BR-040's test).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.checks.storage import DISK_DEVICE, classify_device, host_names
from auditor.facts import InstanceFacts, Known
from auditor.facts.sql_types import Backup
from auditor.findings import Status
from auditor.inventory import InstanceRole, Inventory, SqlInstance
from auditor.remediate.catalogue import Dialect, statement
from auditor.remediate.model import Statement

AFTER_MARK = "{after}"  # replaced by the file of the backup action named in `after`
COPY_PREFIX = "restoretest_"
MAX_SOURCE_CHARS = 80  # sysname is 128: the prefix, the name and the run id must fit


def restore_target(inventory: Inventory, source: SqlInstance) -> SqlInstance | None:
    """A restore-test instance with a connection, of the source's site when there is one."""
    found = [i for i in inventory.sql_instances
             if i.role is InstanceRole.RESTORE_TEST and i.connection]
    site = source.site or inventory.site_of_pool(source.pool)
    same = [i for i in found if (i.site or inventory.site_of_pool(i.pool)) == site]
    candidates = same or found
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class SourceBackup:
    """The full backup a restore test reads."""

    backup: Backup
    device: str


def newest_verified_full(inst: InstanceFacts, database: str) -> SourceBackup | None:
    """The newest chain full of the database with checksums, undamaged, on a share."""
    if not isinstance(inst.backups, Known) or not isinstance(inst.devices, Known):
        return None
    own = host_names(inst)
    fulls = sorted((b for b in inst.backups.value
                    if b.database_name.lower() == database.lower() and b.type == "D"
                    and not b.is_copy_only and b.has_checksums and not b.is_damaged),
                   key=lambda b: b.finished_at, reverse=True)
    for backup in fulls:
        devices = inst.devices.value.get(backup.media_set_id, ())
        remote = [d for d in devices if d.device_type == DISK_DEVICE and d.mirror == 0
                  and classify_device(d, own)[0] is Status.PASS]
        if len(devices) == 1 and remote:  # a striped set needs every family: not done here
            return SourceBackup(backup, remote[0].physical_device_name)
    return None


def copy_name(database: str) -> str:
    """`restoretest_<db>_{run}`: a new name per run (`{run}` is the apply run's id)."""
    return f"{COPY_PREFIX}{re.sub(r'[^A-Za-z0-9_]+', '_', database)[:MAX_SOURCE_CHARS]}_{{run}}"


def restore_statements(dialect: Dialect, copy: str, file: str) -> list[Statement]:
    """The four statements as the plan shows them (the MOVE pair stands for each file)."""
    per_file = "(each logical file RESTORE FILELISTONLY lists)"
    target = (f"(the model database's data or log folder)\\{copy}_<file_id>.mdf|.ndf|.ldf")
    values = {"file": file, "copy": copy, "logical_name": per_file, "physical_name": target}
    names = {"restore_filelistonly": ["file"],
             "restore_database": ["copy", "file", "logical_name", "physical_name"],
             "checkdb": ["copy"], "drop_restored": ["copy"]}
    return [Statement(name=name, text=statement(name, dialect),
                      parameters={p: values[p] for p in params})
            for name, params in names.items()]

