"""The lab's Lync Backup Service sync state: a pool set out of sync answers
Get-CsBackupServiceStatus with its modules in ErrorState (over the recorded answer) until
Invoke-CsBackupServiceSync -PoolFqdn runs for it; with faults (denied, error record)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.lab.winrm.wsman import ErrorSpec, Reply

PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
OBJECT_NOT_FOUND = 13
CMDLET = "invoke-csbackupservicesync"
STATUS_PROBE = "backup_service_status"
IN_SYNC = frozenset({"steadystate", "finalstate"})


@dataclass
class SyncFaults:
    """Settable while the endpoint runs."""

    denied: bool = False
    error: str | None = None


class BackupSync:
    """Which pools are out of sync, and the sync cmdlet that brings them back."""

    def __init__(self, pools: Iterable[str]) -> None:
        self.pools = {p.lower() for p in pools}
        self.out_of_sync: set[str] = set()  # lower-case pool FQDNs
        self.faults = SyncFaults()

    def handles(self, name: str) -> bool:
        """Whether this is Invoke-CsBackupServiceSync."""
        return name.lower() == CMDLET

    def sync(self, params: Mapping[str, Any]) -> Reply:
        """Invoke-CsBackupServiceSync -PoolFqdn: the pool back in sync, or an error record."""
        pool = str(next((v for k, v in params.items() if k.lower() == "poolfqdn"), ""))
        if self.faults.denied:
            return Reply(failure=ErrorSpec("Access is denied.", PERMISSION_DENIED,
                                           "UnauthorizedAccessException",
                                           "System.UnauthorizedAccessException"))
        if self.faults.error:
            return Reply(failure=ErrorSpec(self.faults.error, 0, "LabInjectedError"))
        if pool.lower() not in self.pools:
            return Reply(failure=ErrorSpec(f'Cannot find pool "{pool}" in the topology.',
                                           OBJECT_NOT_FOUND, "PoolNotFound"))
        self.out_of_sync.discard(pool.lower())
        return Reply()

    def answer(self, probe: str, target: str, rows: list[Any]) -> list[Any]:
        """A Get-CsBackupServiceStatus answer as the pool's sync state makes it."""
        if probe != STATUS_PROBE or target.lower() not in self.out_of_sync:
            return rows
        out = copy.deepcopy(rows)
        for row in out:
            row["OverallExportStatus"] = "ErrorState"
            modules = row.get("BackupModules")
            for module in modules if isinstance(modules, list) else []:
                if str(module.get("ExportStatus", "")).lower() in IN_SYNC:
                    module["ExportStatus"] = "ErrorState"
        return out
