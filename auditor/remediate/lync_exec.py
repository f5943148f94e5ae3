"""The parts of running a Lync action that are not the cmdlet call: the values a statement is
sent (the run's id in file names, the bytes an earlier statement returned), how they are
recorded, and the Backup Service status read again after a sync."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from auditor.collect.lync_plan import Task
from auditor.collect.lync_session import Session
from auditor.connect.winrm_transport import Failure
from auditor.probes.catalogue import PsProbe, load_catalogue
from auditor.remediate.catalogue import default_catalogue
from auditor.remediate.lync_plan import BYTES
from auditor.remediate.model import PlannedAction, Statement

STATUS_PROBE = "backup_service_status"
SYNC = "backup_service_sync"
EXPORT_BAD = frozenset({"errorstate", "nonsteadystate"})
PATH_PARAMETERS = ("FileName", "LiteralPath")


@cache
def probe(name: str) -> PsProbe:
    """One of the audit's PowerShell probes (the catalogue is read once per process: each
    action reads its artifact back with one)."""
    return next(p for p in load_catalogue().powershell if p.name == name)


def off_catalogue(action: PlannedAction) -> str | None:
    """Why a plan's PowerShell statements are not exactly its action's catalogue steps (the
    cmdlets, parameter names and switches); None when they are. A plan is data a person
    reviewed, but only the catalogue's cmdlets ever run from it."""
    try:
        steps = default_catalogue().action(action.action).steps
    except StopIteration:
        return f"{action.action} is not an action of the catalogue"
    given = [(s.name, sorted(s.parameters), sorted(s.switches)) for s in action.statements]
    wanted = [(s.statement, sorted(s.parameters), sorted(s.switches)) for s in steps]
    if given != wanted:
        return (f"the plan's statements of {action.action} are not the catalogue's "
                f"({', '.join(s.statement for s in steps)}): not run")
    return None


def returned_bytes(outputs: Sequence[Any]) -> bytes | None:
    """The byte[] a cmdlet returned: one byte array, or its bytes one by one."""
    if len(outputs) == 1 and isinstance(outputs[0], bytes | bytearray):
        return bytes(outputs[0])
    if outputs and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255
                       for b in outputs):
        return bytes(outputs)
    return None


def values_for(stmt: Statement, run_id: str, previous: Sequence[Any]
               ) -> dict[str, str | bytes] | str:
    """The statement's values as sent; or why it cannot be sent (no bytes to write)."""
    values: dict[str, str | bytes] = {}
    for key, value in stmt.parameters.items():
        if value == BYTES:
            data = returned_bytes(previous)
            if not data:
                return "the previous cmdlet returned no bytes to write"
            values[key] = data
        else:
            values[key] = value.replace("{run}", run_id)
    return values


def shown(values: Mapping[str, str | bytes]) -> dict[str, str]:
    """The values as the record keeps them: bytes by length and sha256."""
    return {k: v if isinstance(v, str) else
            f"<{len(v)} bytes, sha256 {hashlib.sha256(v).hexdigest()}>"
            for k, v in values.items()}


def written_path(parameters: Mapping[str, str]) -> str:
    """The file on the share an export statement wrote."""
    return next((parameters[p] for p in PATH_PARAMETERS if p in parameters), "")


def sync_status(session: Session, pool: str) -> tuple[list[str], str | None]:
    """Get-CsBackupServiceStatus -PoolFqdn again (the audit's probe): each module's
    Export/Import state, and what is still out of sync (None when nothing is)."""
    rows = session.run(Task(probe(STATUS_PROBE), pool, {"PoolFqdn": pool}))
    if isinstance(rows, Failure):
        return [], f"Get-CsBackupServiceStatus -PoolFqdn {pool} failed: {rows.message}"
    states: list[str] = []
    bad: list[str] = []
    for row in rows:
        for module in _modules(row.get("BackupModules")):
            export = str(module.get("ExportStatus") or "")
            imported = str(module.get("ImportStatus") or "")
            state = f"{module.get('Identity')}: {export}/{imported}"
            states.append(state)
            if export.lower() in EXPORT_BAD or imported.lower() == "errorstate":
                bad.append(state)
    if not states:
        return [], f"Get-CsBackupServiceStatus -PoolFqdn {pool} reported no modules"
    still = f"still out of sync after the sync: {'; '.join(bad)}" if bad else None
    return states, still


def _modules(value: Any) -> list[Mapping[str, Any]]:
    items = value if isinstance(value, list | tuple) else [value]
    return [m for m in items if isinstance(m, Mapping)]
