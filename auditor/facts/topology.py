"""Where Lync's own topology (Get-CsService) and the inventory disagree about the databases.

The inventory stays authoritative for which stores are audited; these differences are reported
so that an auditor can see a store the inventory may have missed, or one Lync no longer uses.
"""

from __future__ import annotations

from auditor.facts.lync import DatabaseService
from auditor.inventory import InstanceRole, Inventory, SqlInstance

# Which Lync stores each database service role holds (domain-reference.md section 1.1).
ROLE_STORES: dict[str, frozenset[str]] = {
    "CentralManagementDatabase": frozenset({"xds", "lis"}),
    "UserDatabase": frozenset({"rtcxds", "rtcshared", "rtcab", "rtcdyn"}),
    "ApplicationDatabase": frozenset({"rgsconfig", "rgsdyn", "cpsdyn"}),
    "MonitoringDatabase": frozenset({"lcscdr", "qoemetrics"}),
    "ArchivingDatabase": frozenset({"lcslog"}),
    "PersistentChatDatabase": frozenset({"mgc"}),
    "PersistentChatComplianceDatabase": frozenset({"mgccomp"}),
}
_PRIMARY_ROLES = (InstanceRole.BACK_END, InstanceRole.MONITORING, InstanceRole.ARCHIVING,
                  InstanceRole.PERSISTENT_CHAT)


def _key(host: str, instance: str) -> tuple[str, str]:
    return host.lower(), (instance or "mssqlserver").lower()


def _instance_key(inst: SqlInstance) -> tuple[str, str]:
    name = inst.server_name.split("\\", 1)
    return _key(inst.host, name[1] if len(name) == 2 else "")


def topology_differences(inventory: Inventory,
                         services: tuple[DatabaseService, ...]) -> tuple[str, ...]:
    """Plain sentences, one per disagreement; empty when the two agree."""
    by_key = {_instance_key(i): i for i in inventory.sql_instances}
    reported: dict[tuple[str, str], set[str]] = {}
    out: list[str] = []
    for service in services:
        key = _key(service.sql_host, service.sql_instance)
        reported.setdefault(key, set()).add(service.role)
        where = f"{service.sql_host}\\{service.sql_instance}"
        inst = by_key.get(key)
        stores = ROLE_STORES.get(service.role, frozenset())
        if inst is None:
            out.append(f"Lync reports the {service.role} on {where}, an instance the inventory "
                       "does not list: its stores are not audited.")
        elif stores and not stores & {s.lower() for s in inst.stores}:
            out.append(f"Lync reports the {service.role} on {inst.server_name}, but the inventory "
                       f"assigns it none of that role's stores ({', '.join(sorted(stores))}).")
    for key, inst in sorted(by_key.items()):
        if inst.role not in _PRIMARY_ROLES:
            continue
        held = {s.lower() for s in inst.stores}
        for role, stores in sorted(ROLE_STORES.items()):
            if held & stores and role not in reported.get(key, set()):
                listed = ", ".join(s for s in inst.stores if s.lower() in stores)
                out.append(f"The inventory lists {listed} on {inst.server_name}, but Lync "
                           f"reports no {role} there.")
    return tuple(out)
