"""What a real Lync server's plain WinRM session allows, for the lab: groups, module, shares.

A WinRM session that imports the Lync module is a local session: Lync RBAC roles do not apply,
the RTCUniversal* groups do, per cmdlet, as each cmdlet's "Who can run this cmdlet ... locally"
says (docs/lync-collection.md cites the pages). With `enforce_groups`, a cmdlet whose groups
the session's identity lacks is refused with a PermissionDenied error record. The record's text
is the lab's own: what a real server writes is not documented (tests/integration/
test_lync_real.py shows it on the first run against one).

`Import-Module -Name Lync` is answered (and counted per shell, i.e. per runspace pool);
`missing_module` makes it fail with PowerShell's message for a module that is not installed.
`Get-Item -LiteralPath <share>` answers for the inventory's shares; a share in `second_hop`
(or `*`) is refused as a second hop is: access denied, also for the share probes' scripts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditor.facts.topology import ROLE_STORES
from auditor.inventory import InstanceRole, Inventory
from auditor.lab.winrm.objects import Complex, to_psobject
from auditor.lab.winrm.wsman import ErrorSpec, Reply

PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
OBJECT_NOT_FOUND = 13
RESOURCE_UNAVAILABLE = 2
_RO, _UA, _SA = ("rtcuniversalreadonlyadmins", "rtcuniversaluseradmins",
                 "rtcuniversalserveradmins")
LOCAL_GROUPS: dict[str, frozenset[str]] = {
    "get-csmanagementstorereplicationstatus": frozenset({_UA, _SA}),   # gg399052
    "get-cspool": frozenset({_RO, _UA, _SA}),                          # gg398992
    "get-cscomputer": frozenset({_RO, _UA, _SA}),                      # gg425959
    "get-csservice": frozenset({_UA, _SA}),                            # Get-CsService (2010)
    "get-csbackupservicestatus": frozenset({_SA}),                     # Get-CsBackupServiceStatus
    "get-cspoolbackuprelationship": frozenset({_UA, _SA}),             # undocumented
}
"""Per cmdlet, the groups any one of which lets a local session run it (lower case)."""
SCRIPT_CMDLETS = {"database_services": "get-csservice"}
"""Catalogue scripts that run a Lync cmdlet, and which one."""


@dataclass
class LyncAccess:
    """The lab's switches for groups, the Lync module and second hops, and what it saw."""

    enforce_groups: bool = False
    missing_module: bool = False
    second_hop: set[str] = field(default_factory=set)
    imports: Counter[str] = field(default_factory=Counter)

    def refusal(self, cmdlet: str, groups: Iterable[str]) -> ErrorSpec | None:
        """The error a local session gives a cmdlet whose groups the identity lacks."""
        needed = LOCAL_GROUPS.get(cmdlet.lower())
        if not self.enforce_groups or needed is None:
            return None
        held = {g.lower().rsplit("\\", 1)[-1] for g in groups}
        if held & needed:
            return None
        return ErrorSpec(f"{cmdlet}: access denied (lab: the session's identity is in none of "
                         f"{', '.join(sorted(needed))})", PERMISSION_DENIED,
                         "UnauthorizedAccessException", "System.UnauthorizedAccessException")

    def hop_refused(self, path: str) -> bool:
        """Whether a share on another host is out of this session's reach."""
        wanted = {path.lower(), "*"}
        return any(s.lower() in wanted for s in self.second_hop)

    def import_module(self, shell_id: str, params: Mapping[str, Any]) -> Reply:
        """Import-Module -Name <name>: counted per shell; fails with `missing_module`."""
        name = str(next((v for k, v in params.items() if k.lower() == "name"), ""))
        self.imports[shell_id] += 1
        if self.missing_module:
            return Reply(failure=ErrorSpec(
                f"The specified module '{name}' was not loaded because no valid module file "
                "was found in any module directory.", RESOURCE_UNAVAILABLE,
                "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
                "System.IO.FileNotFoundException"))
        return Reply()

    def get_item(self, params: Mapping[str, Any], shares: Iterable[str]) -> Reply:
        """Get-Item -LiteralPath <share>: the folder, not found, or a second hop refused."""
        path = str(next((v for k, v in params.items()
                         if k.lower() in ("literalpath", "path")), ""))
        if self.hop_refused(path):
            return Reply(failure=ErrorSpec(f"Access to the path '{path}' is denied.",
                                           PERMISSION_DENIED, "ItemExistsUnauthorizedAccessError",
                                           "System.UnauthorizedAccessException"))
        if path.lower() not in {s.lower() for s in shares}:
            return Reply(failure=ErrorSpec(f"Cannot find path '{path}' because it does not "
                                           "exist.", OBJECT_NOT_FOUND, "PathNotFound",
                                           "System.Management.Automation.ItemNotFoundException"))
        folder = Complex(("System.IO.DirectoryInfo", "System.IO.FileSystemInfo",
                          "System.Object"), {"FullName": path, "Name": path}, path)
        return Reply(outputs=[to_psobject(folder)])


_SERVICE_ROLES = (InstanceRole.BACK_END, InstanceRole.MONITORING, InstanceRole.ARCHIVING,
                  InstanceRole.PERSISTENT_CHAT)


def database_services(inventory: Inventory) -> list[dict[str, Any]]:
    """database_services.ps1's rows for an estate whose bundle has none: one per database
    role (Get-CsService -<Role>Database, -PersistentChatComplianceDatabase included) whose
    stores an instance holds."""
    rows = []
    for inst in inventory.sql_instances:
        if inst.role not in _SERVICE_ROLES:
            continue
        held = {s.lower() for s in inst.stores}
        name = inst.server_name.split("\\", 1)
        for role, stores in sorted(ROLE_STORES.items()):
            if held & stores:
                rows.append({"Identity": f"{role}:{inst.host}", "Role": role,
                             "PoolFqdn": inst.host,
                             "SqlInstanceName": name[1] if len(name) == 2 else "",
                             "MirrorSqlServer": None})
    return rows
