"""Lync and Windows evidence (PowerShell output rows, converted from CLIXML) -> typed facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from auditor.canonical import JsonValue
from auditor.evidence import Observation, Source
from auditor.facts.base import (
    BadValueError,
    Fact,
    Unknown,
    as_bool,
    as_decimal,
    as_list,
    as_opt_str,
    as_ps_datetime,
    as_str,
    fact_from,
)
from auditor.facts.lync_dates import NaiveDates
from auditor.facts.topology import (
    DatabaseService,
    TopologyComputer,
    TopologyPool,
    parse_computers,
    parse_database_services,
    parse_pools,
)
from auditor.inventory import Inventory

DEPLOYMENT = "deployment"
Row = Mapping[str, JsonValue]


@dataclass(frozen=True)
class Replica:
    """One CMS replica as Get-CsManagementStoreReplicationStatus reports it."""

    fqdn: str
    up_to_date: bool
    last_status_report: dt.datetime | None
    last_update_creation: dt.datetime | None
    product_version: str | None


@dataclass(frozen=True)
class ExportFile:
    """A file on the export share; ZIPs were opened and their entries listed."""

    name: str
    full_name: str
    size: int
    modified_at: dt.datetime
    is_zip: bool
    entries: tuple[str, ...]


@dataclass(frozen=True)
class BackupModule:
    """One Lync Backup Service module's export and import state."""

    identity: str
    export_status: str
    import_status: str


@dataclass(frozen=True)
class BackupServiceStatus:
    """Get-CsBackupServiceStatus for one pool."""

    pool: str
    modules: tuple[BackupModule, ...]


@dataclass(frozen=True)
class AccessRule:
    """One access control entry of a share's folder."""

    identity: str
    rights: str
    allow: bool
    inherited: bool


@dataclass(frozen=True)
class ShareSpace:
    """Free and total bytes behind a share."""

    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class ShareFile:
    """A file found on a backup destination."""

    full_name: str
    size: int
    modified_at: dt.datetime | None


@dataclass(frozen=True)
class Product:
    """An installed product and its version."""

    name: str
    version: str


@dataclass(frozen=True)
class ServerInventory:
    """What a server reports about its hardware and software."""

    manufacturer: str | None
    model: str | None
    os_caption: str | None
    os_version: str | None
    products: tuple[Product, ...]


@dataclass(frozen=True)
class LyncFacts:
    """Everything the PowerShell probes established."""

    cms_replicas: Fact[tuple[Replica, ...]]
    exports: Fact[tuple[ExportFile, ...]]
    backup_pools: Mapping[str, Fact[str | None]]
    backup_service: Mapping[str, Fact[BackupServiceStatus]]
    share_acls: Mapping[str, Fact[tuple[AccessRule, ...]]]
    share_space: Mapping[str, Fact[ShareSpace]]
    share_files: Mapping[str, Fact[tuple[ShareFile, ...]]]
    servers: Mapping[str, Fact[ServerInventory]]
    database_services: Fact[tuple[DatabaseService, ...]]
    topology_pools: Fact[tuple[TopologyPool, ...]]
    topology_computers: Fact[tuple[TopologyComputer, ...]]


def share_paths(inventory: Inventory) -> list[str]:
    """UNC paths of the backup destinations and the export share, as the inventory spells them."""
    paths = [d.path for d in inventory.backup_destinations if d.path.startswith("\\\\")]
    if inventory.export_share:
        paths.append(inventory.export_share.unc)
    return list(dict.fromkeys(paths))


def derive_lync(index: Mapping[str, Observation], inventory: Inventory,
                naive_offset: Fact[dt.timedelta] | None = None) -> LyncFacts:
    """Parse the PowerShell observations of the deployment, each pool, share and server.
    `naive_offset`: the offset assumed for a replica date without one (lync_dates)."""
    pools = [p.fqdn for p in inventory.pools]
    shares = share_paths(inventory)
    dates = NaiveDates(naive_offset or Unknown("no offset was given for dates without one"))
    replicas = fact_from(index, Source.LYNC, "cms_replication", DEPLOYMENT,
                         lambda obs: _replicas(obs, dates))
    return LyncFacts(
        cms_replicas=dates.joined(replicas),
        exports=fact_from(index, Source.LYNC, "config_exports", DEPLOYMENT, _exports),
        backup_pools={p.lower(): fact_from(index, Source.LYNC, "pool_backup_relationship", p,
                                           _backup_pool) for p in pools},
        backup_service={p.lower(): fact_from(index, Source.LYNC, "backup_service_status", p,
                                             _backup_service) for p in pools},
        share_acls={s.lower(): fact_from(index, Source.LYNC, "share_acl", s, _acl)
                    for s in shares},
        share_space={s.lower(): fact_from(index, Source.LYNC, "share_space", s, _space)
                     for s in shares},
        share_files={s.lower(): fact_from(index, Source.LYNC, "share_files", s, _files)
                     for s in shares},
        servers={s.fqdn.lower(): fact_from(index, Source.LYNC, "server_inventory", s.fqdn,
                                           _server) for s in inventory.servers},
        database_services=fact_from(index, Source.LYNC, "database_services", DEPLOYMENT,
                                    parse_database_services),
        topology_pools=fact_from(index, Source.LYNC, "cs_pools", DEPLOYMENT, parse_pools),
        topology_computers=fact_from(index, Source.LYNC, "cs_computers", DEPLOYMENT,
                                     parse_computers),
    )


def _int(row: Row, name: str) -> int:
    value = as_decimal(row, name)
    if value is None or value != value.to_integral_value():
        raise BadValueError(name, row.get(name), "a whole number")
    return int(value)


def _replicas(obs: Observation, dates: NaiveDates) -> tuple[Replica, ...]:
    return tuple(Replica(
        fqdn=as_str(r, "ReplicaFqdn"), up_to_date=as_bool(r, "UpToDate"),
        last_status_report=dates.read(r, "LastStatusReport"),
        last_update_creation=dates.read(r, "LastUpdateCreation"),
        product_version=as_opt_str(r, "ProductVersion")) for r in obs.data)


def _exports(obs: Observation) -> tuple[ExportFile, ...]:
    files = []
    for r in obs.data:
        modified = as_ps_datetime(r, "LastWriteTimeUtc")
        if modified is None:
            raise BadValueError("LastWriteTimeUtc", None, "a date")
        entries = tuple(str(e) for e in as_list(r.get("Entries")))
        files.append(ExportFile(name=as_str(r, "Name"), full_name=as_str(r, "FullName"),
                                size=_int(r, "Length"), modified_at=modified,
                                is_zip=as_bool(r, "IsZip"), entries=entries))
    return tuple(files)


def _backup_pool(obs: Observation) -> str | None:
    for r in obs.data:
        value = as_opt_str(r, "BackupPoolFqdn")
        if value:
            return value
    return None


def _backup_service(obs: Observation) -> BackupServiceStatus:
    if not obs.data:
        raise BadValueError("BackupModules", None, "present (no status returned)")
    row = obs.data[0]
    modules = []
    for item in as_list(row.get("BackupModules")):
        if not isinstance(item, dict):
            raise BadValueError("BackupModules", item, "an object")
        modules.append(BackupModule(identity=as_str(item, "Identity"),
                                    export_status=as_opt_str(item, "ExportStatus") or "",
                                    import_status=as_opt_str(item, "ImportStatus") or ""))
    return BackupServiceStatus(pool=as_opt_str(row, "PoolFqdn") or "", modules=tuple(modules))


def _identity(row: Row) -> str:
    value = row.get("IdentityReference")
    if isinstance(value, dict):
        value = value.get("Value")
    if not isinstance(value, str):
        raise BadValueError("IdentityReference", value, "an account name")
    return value


_RIGHTS = {1179817: "ReadAndExecute", 1180063: "Read, Write", 1245631: "Modify",
           2032127: "FullControl", 1179785: "Read", 278: "Write"}


def _rights(row: Row) -> str:
    value = row.get("FileSystemRights")
    if isinstance(value, int) and not isinstance(value, bool):
        return _RIGHTS.get(value, f"0x{value:x}")
    if not isinstance(value, str):
        raise BadValueError("FileSystemRights", value, "a rights name or number")
    return value


def _acl(obs: Observation) -> tuple[AccessRule, ...]:
    rules = []
    for r in obs.data:
        kind = r.get("AccessControlType")
        if kind not in ("Allow", "Deny", 0, 1):
            raise BadValueError("AccessControlType", kind, "Allow or Deny")
        rules.append(AccessRule(identity=_identity(r), rights=_rights(r),
                                allow=kind in ("Allow", 0), inherited=as_bool(r, "IsInherited")))
    # Rows come in whatever order the server listed them: sort, so evaluation is order-free.
    return tuple(sorted(rules, key=lambda a: (a.identity.lower(), a.rights, a.allow,
                                              a.inherited)))


def _space(obs: Observation) -> ShareSpace:
    if len(obs.data) != 1:
        raise BadValueError("FreeBytes", f"{len(obs.data)} rows", "exactly one row")
    row = obs.data[0]
    return ShareSpace(free_bytes=_int(row, "FreeBytes"), total_bytes=_int(row, "TotalBytes"))


def _files(obs: Observation) -> tuple[ShareFile, ...]:
    return tuple(ShareFile(full_name=as_str(r, "FullName"), size=_int(r, "Length"),
                           modified_at=as_ps_datetime(r, "LastWriteTimeUtc")) for r in obs.data)


def _server(obs: Observation) -> ServerInventory:
    if len(obs.data) != 1:
        raise BadValueError("ComputerName", f"{len(obs.data)} rows", "exactly one row")
    row = obs.data[0]
    products = []
    for item in as_list(row.get("Products")):
        if not isinstance(item, dict):
            raise BadValueError("Products", item, "an object with Name and Version")
        products.append(Product(name=as_str(item, "Name"), version=as_str(item, "Version")))
    return ServerInventory(manufacturer=as_opt_str(row, "Manufacturer"),
                           model=as_opt_str(row, "Model"), os_caption=as_opt_str(row, "OsCaption"),
                           os_version=as_opt_str(row, "OsVersion"), products=tuple(products))
