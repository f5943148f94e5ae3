"""The Lync topology an inventory describes, as the rows of the topology cmdlets.

`auditor discover` reads Get-CsSite and Get-CsService -<store>Database, which demo bundles do
not record: the lab answers them from the estate's inventory. With `topology_from_inventory`,
the lab answers Get-CsPool, Get-CsComputer, Get-CsPoolBackupRelationship and the
database_services script from the inventory too, instead of the recording (the neglected
estate's recording deliberately disagrees with its inventory).
"""

from __future__ import annotations

from typing import Any

from auditor.discover.commands import DATABASE_ROLES
from auditor.facts.topology import ROLE_STORES
from auditor.inventory import InstanceRole, Inventory, SqlInstance

Rows = list[dict[str, Any]]
INVENTORY_PROBES = frozenset({"cs_pools", "cs_computers", "pool_backup_relationship",
                              "database_services"})
PRIMARY = (InstanceRole.BACK_END, InstanceRole.MONITORING, InstanceRole.ARCHIVING,
           InstanceRole.PERSISTENT_CHAT)
SERVER_SERVICES = {"edge": "EdgeServer", "director": "Director", "mediation": "MediationServer"}


def topology_rows(inv: Inventory, probe: str, target: str) -> Rows | None:
    """The rows of one topology command, or None when the inventory does not answer it."""
    if probe == "cs_sites":
        return [{"Identity": f"Site:{s.id}", "DisplayName": s.id, "Description": s.name,
                 "SiteType": "CentralSite"} for s in inv.sites]
    if probe.startswith("cs_") and probe[3:] in DATABASE_ROLES:
        return services(inv, probe[3:])
    if probe == "database_services":
        return [row for role in DATABASE_ROLES for row in services(inv, role)]
    if probe == "cs_pools":
        return pools(inv)
    if probe == "cs_computers":
        return computers(inv)
    if probe == "pool_backup_relationship":
        return [{"PoolFqdn": p.fqdn, "BackupPoolFqdn": p.backup_pool} for p in inv.pools
                if p.fqdn.lower() == target.lower() and p.backup_pool]
    return None


def _instance_name(inst: SqlInstance) -> str:
    return inst.server_name.split("\\", 1)[1].lower() if "\\" in inst.server_name else ""


def _holds(inst: SqlInstance, role: str) -> bool:
    return bool({s.lower() for s in inst.stores} & ROLE_STORES[role])


def _site(inv: Inventory, inst: SqlInstance) -> str | None:
    return inst.site or inv.site_of_pool(inst.pool)


def services(inv: Inventory, role: str) -> Rows:
    """Get-CsService -<role>: one row per primary instance holding that store kind."""
    rows = []
    for inst in inv.sql_instances:
        if inst.role not in PRIMARY or not _holds(inst, role):
            continue
        mirror = next((m for m in inv.sql_instances if m.role is InstanceRole.MIRROR
                       and _holds(m, role) and (m.pool or m.site) == (inst.pool or inst.site)),
                      None)
        site = _site(inv, inst)
        rows.append({
            "Identity": f"{role}:{inst.host}", "Role": role, "PoolFqdn": inst.host,
            "SqlInstanceName": _instance_name(inst),
            "MirrorSqlServer": f"{role}:{mirror.host}" if mirror else None,
            "MirrorSqlInstanceName": _instance_name(mirror) if mirror else None,
            "DependentServiceList": [f"UserServer:{inst.pool}", f"Registrar:{inst.pool}"]
            if inst.pool and inst.role is InstanceRole.BACK_END else [],
            "SiteId": f"Site:{site}" if site else None})
    return rows


def pools(inv: Inventory) -> Rows:
    """Get-CsPool: the user pools, the pools of other servers, and the SQL stores."""
    rows: Rows = [{"Identity": p.fqdn, "Fqdn": p.fqdn, "Site": f"Site:{p.site}",
                   "Services": [f"{s}:{p.fqdn}" for s in ("UserServer", "Registrar",
                                                          "WebServer")],
                   "Computers": [s.fqdn for s in inv.servers if s.pool == p.fqdn]}
                  for p in inv.pools]
    rows += [{"Identity": s.fqdn, "Fqdn": s.fqdn, "Site": f"Site:{s.site}",
              "Services": [f"{SERVER_SERVICES[s.role]}:{s.fqdn}"], "Computers": [s.fqdn]}
             for s in inv.servers if not s.pool and s.site and s.role in SERVER_SERVICES]
    return rows + _store_pools(inv)


def _store_pools(inv: Inventory) -> Rows:
    hosts: dict[str, dict[str, Any]] = {}
    for inst in inv.sql_instances:
        if inst.role not in (*PRIMARY, InstanceRole.MIRROR):
            continue
        row = hosts.setdefault(inst.host.lower(), {
            "Identity": inst.host, "Fqdn": inst.host, "Site": f"Site:{_site(inv, inst)}",
            "Services": [], "Computers": [inst.host]})
        row["Services"] += [f"{r}:{inst.host}" for r in DATABASE_ROLES if _holds(inst, r)]
    return list(hosts.values())


def computers(inv: Inventory) -> Rows:
    """Get-CsComputer: every server (in its pool, or its own) and every SQL store host."""
    rows = [{"Identity": s.fqdn, "Fqdn": s.fqdn, "Pool": s.pool or s.fqdn} for s in inv.servers]
    hosts = {r["Identity"] for r in _store_pools(inv)}
    return rows + [{"Identity": h, "Fqdn": h, "Pool": h} for h in sorted(hosts)]
