"""One simulated SQL Server instance in the lab: its database, its login and its grants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from auditor.collect.sql_preflight import Permission
from auditor.lab.cluster import LabCluster
from auditor.lab.loader import PROBE_TABLES, InstanceData, load_instance

# What stands in for each SQL Server permission: SELECT on these lab objects.
PERMISSION_OBJECTS: dict[Permission, tuple[str, ...]] = {
    Permission.MSDB_READ: ("dbo.backupset", "dbo.backupmediaset", "dbo.backupmediafamily",
                           "dbo.restorehistory", "dbo.suspect_pages"),
    Permission.AGENT_READER: ("dbo.sysjobs", "dbo.sysjobsteps", "dbo.sysschedules",
                              "dbo.sysjobschedules", "dbo.sysjobhistory", "dbo.sysoperators",
                              "dbo.sysjobactivity"),
    Permission.VIEW_SERVER_STATE: ("sys.master_files", "lab.volume"),
    Permission.VIEW_ANY_DATABASE: ("sys.databases", "sys.database_mirroring"),
    Permission.LCSCDR_READ: (),
    Permission.VIEW_ANY_DEFINITION: (),  # a lab.server_permission row (HAS_PERMS_BY_NAME)
}
ALL_PERMISSIONS = frozenset(Permission)


@dataclass(frozen=True)
class LabLogin:
    """A login role and its password (never shown)."""

    name: str
    password: str = field(repr=False)


def grant_permissions(cluster: LabCluster, database: str, login: str,
                      permissions: Iterable[Permission]) -> None:
    """GRANT what stands in for each SQL Server permission."""
    wanted = set(permissions)
    objects = [obj for p in wanted for obj in PERMISSION_OBJECTS[p]]
    cluster.grant(database, login, objects)
    if Permission.VIEW_ANY_DEFINITION in wanted:
        cluster.execute("INSERT INTO lab.server_permission (grantee, permission_name) "
                        "VALUES (?, 'VIEW ANY DEFINITION') ON CONFLICT DO NOTHING", database,
                        (login,))


def create_instance(cluster: LabCluster, database: str, data: InstanceData, login: LabLogin, *,
                    permissions: Iterable[Permission] = ALL_PERMISSIONS,
                    clock_stopped: bool = True,
                    login_settings: Mapping[str, str] | None = None) -> int:
    """Database per lab-schema.md, loaded from `data`; the login may read what it is granted.

    Returns the number of rows loaded. Probes recorded as `denied` have their tables revoked.
    """
    from auditor.lab.loader import pg_time_zone

    cluster.create_instance_database(database, pg_time_zone(data.offset))
    conn = cluster.admin(database)
    try:
        rows = load_instance(conn, data, clock_stopped=clock_stopped)
        conn.execute("SELECT lab.materialise_backups()")  # the newest full is on its share
    finally:
        conn.close()
    cluster.create_login(login.name, login.password, settings=login_settings)
    grant_permissions(cluster, database, login.name, permissions)
    for probe in data.denied():
        cluster.revoke(database, login.name, PROBE_TABLES.get(probe, ()))
    return rows
