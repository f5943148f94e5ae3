"""The topology as inventory entries: sites, pools, servers, SQL instances, file stores."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.collect.clixml import Row
from auditor.discover.reading import RawTopology
from auditor.discover.stores import (
    LOCAL_INSTANCES,
    instance_role,
    role_stores,
)
from auditor.inventory import InstanceRole

SERVER_ROLES = {"userserver": "front_end", "edgeserver": "edge", "director": "director",
                "mediationserver": "mediation", "persistentchatserver": "persistent_chat",
                "videointeropserver": "video_interop", "trustedapplicationpool": "application"}
"""A pool's service role -> the inventory's server role (the first one a pool runs)."""
UNKNOWN_ROLE = "unknown"
PRIORITY = {InstanceRole.BACK_END: 0, InstanceRole.MONITORING: 1, InstanceRole.ARCHIVING: 2,
            InstanceRole.PERSISTENT_CHAT: 3, InstanceRole.MIRROR: 4}


@dataclass(frozen=True)
class Site:
    """A Lync site."""

    id: str
    name: str | None


@dataclass(frozen=True)
class Pool:
    """A pool users are homed on (a Front End pool or Standard Edition server)."""

    fqdn: str
    site: str | None
    backup_pool: str | None


@dataclass(frozen=True)
class Server:
    """A Lync server and the pool (or, outside a user pool, the site) it belongs to."""

    fqdn: str
    role: str
    pool: str | None
    site: str | None


@dataclass
class Instance:
    """A SQL instance the topology names, with the stores its database services hold."""

    host: str
    instance: str
    role: InstanceRole
    pool: str | None
    site: str | None
    services: list[str] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    server_name: str | None = None  # SERVERPROPERTY('ServerName'), when --sql confirmed it
    notes: list[str] = field(default_factory=list)
    reached: bool | None = None  # None: not checked (no --sql)

    @property
    def key(self) -> tuple[str, str]:
        """(host, instance) in lower case; the default instance is MSSQLSERVER."""
        return self.host.lower(), (self.instance or "mssqlserver").lower()

    @property
    def derived_name(self) -> str:
        """HOST\\INSTANCE as SQL Server usually names itself (the host's first label)."""
        short = self.host.split(".", 1)[0].upper()
        return f"{short}\\{self.instance.upper()}" if self.instance else short

    @property
    def name(self) -> str:
        """The server name to write: the confirmed one, else the derived one."""
        return self.server_name or self.derived_name


@dataclass(frozen=True)
class FileStore:
    """A Lync file store (a UNC share)."""

    unc: str
    host: str | None
    used_by: tuple[str, ...]


@dataclass
class Topology:
    """Everything discovery learnt, and what it could not read."""

    sites: list[Site]
    pools: list[Pool]
    servers: list[Server]
    instances: list[Instance]
    file_stores: list[FileStore]
    problems: list[str] = field(default_factory=list)


# --- from the rows ----------------------------------------------------------------------------

def text(row: Row, name: str) -> str | None:
    """A property as text, None when absent or empty."""
    value = row.get(name)
    return str(value) if value not in (None, "") else None


def texts(row: Row, name: str) -> list[str]:
    """A collection property as a list of strings."""
    value = row.get(name)
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)] if value not in (None, "") else []


def after_colon(value: str | None) -> str | None:
    """`Site:BNE` -> `BNE`; `UserDatabase:sql01.contoso.com` -> `sql01.contoso.com`."""
    if value is None:
        return None
    return value.split(":", 1)[1] if ":" in value else value


def _roles(row: Row) -> list[str]:
    return [s.split(":", 1)[0].lower() for s in texts(row, "Services")]


def _fqdn(row: Row) -> str | None:
    value = text(row, "Fqdn") or text(row, "Identity")
    return value.lower() if value else None


def build(raw: RawTopology) -> Topology:
    """The topology of the rows read."""
    pools = raw.of("cs_pools")
    sites = _sites(raw.of("cs_sites"), pools)
    user_pools = [_pool(row, raw) for row in pools if "userserver" in _roles(row)]
    pool_sites = {fqdn: after_colon(text(row, "Site")) for row in pools
                  if (fqdn := _fqdn(row))}
    return Topology(sites=sites, pools=sorted(user_pools, key=lambda p: p.fqdn),
                    servers=_servers(pools, raw.of("cs_computers")),
                    instances=_instances(raw, pool_sites, {p.fqdn for p in user_pools}),
                    file_stores=_file_stores(raw.of("file_stores")),
                    problems=list(raw.problems))


def _sites(rows: list[Row], pools: list[Row]) -> list[Site]:
    found = {}
    for row in rows:
        site = after_colon(text(row, "Identity")) or text(row, "DisplayName")
        if site:
            found[site] = Site(site, text(row, "Description") or text(row, "DisplayName"))
    for row in pools:  # a site Get-CsSite did not list still has pools
        site = after_colon(text(row, "Site"))
        if site and site not in found:
            found[site] = Site(site, None)
    return sorted(found.values(), key=lambda s: s.id)


def _pool(row: Row, raw: RawTopology) -> Pool:
    fqdn = _fqdn(row) or ""
    backup = [text(r, "BackupPoolFqdn") for r in raw.backup_pools.get(fqdn, [])]
    partner = next((b.lower() for b in backup if b), None)
    return Pool(fqdn, after_colon(text(row, "Site")), partner)


def _servers(pools: list[Row], computers: list[Row]) -> list[Server]:
    by_pool = {fqdn: row for row in pools if (fqdn := _fqdn(row))}
    members = {c.lower(): fqdn for fqdn, row in by_pool.items()
               for c in texts(row, "Computers")}
    for row in computers:
        fqdn, pool = _fqdn(row), text(row, "Pool")
        if fqdn:
            members.setdefault(fqdn, (pool or fqdn).lower())
    servers = [s for fqdn, pool in members.items()
               if (s := _server(fqdn, by_pool.get(pool))) is not None]
    return sorted(servers, key=lambda s: s.fqdn)


def _server(fqdn: str, pool: Row | None) -> Server | None:
    if pool is None:  # a computer in a pool Get-CsPool did not list: kept, never dropped
        return Server(fqdn, UNKNOWN_ROLE, None, None)
    roles = _roles(pool)
    known = [SERVER_ROLES[r] for r in roles if r in SERVER_ROLES]
    if not known:
        return None  # a SQL store, a file store, a gateway: not a Lync server
    site = after_colon(text(pool, "Site"))
    if known[0] == "front_end":
        return Server(fqdn, "front_end", _fqdn(pool), None)
    return Server(fqdn, known[0], None, site)


def _file_stores(rows: list[Row]) -> list[FileStore]:
    stores = []
    for row in rows:
        unc = text(row, "UncPath")
        if unc:
            host = unc.lstrip("\\").split("\\", 1)[0].lower() or None
            stores.append(FileStore(unc, host, tuple(texts(row, "DependentServiceList"))))
    return sorted(stores, key=lambda f: f.unc.lower())


# --- SQL instances ------------------------------------------------------------------------

def _instances(raw: RawTopology, pool_sites: dict[str, str | None],
               user_pools: set[str]) -> list[Instance]:
    found: dict[tuple[str, str], Instance] = {}
    for row in [r for name, rows in raw.rows.items() if name.endswith("Database")
                for r in rows]:
        _add_service(found, row, pool_sites, user_pools)
    return sorted(found.values(), key=lambda i: (i.role != InstanceRole.BACK_END, i.key))


def _add_service(found: dict[tuple[str, str], Instance], row: Row,
                 pool_sites: dict[str, str | None], user_pools: set[str]) -> None:
    role, host = text(row, "Role"), text(row, "PoolFqdn")
    if not role or not host:
        return
    name = (text(row, "SqlInstanceName") or "").lower()
    pool = _serving_pool(row, user_pools)
    site = after_colon(text(row, "SiteId")) or pool_sites.get(host.lower())
    principal = _instance(found, host, name, instance_role(role), pool, site)
    principal.services.append(role)
    mirror_host = after_colon(text(row, "MirrorSqlServer"))
    if mirror_host:
        mirror_name = (text(row, "MirrorSqlInstanceName") or name).lower()
        mirror = _instance(found, mirror_host, mirror_name, InstanceRole.MIRROR, pool, site)
        mirror.services.append(role)
    for inst in (principal, *([mirror] if mirror_host else [])):
        inst.stores = role_stores(inst.services)


def _instance(found: dict[tuple[str, str], Instance], host: str, name: str,
              role: InstanceRole, pool: str | None, site: str | None) -> Instance:
    key = (host.lower(), name or "mssqlserver")
    inst = found.get(key)
    if inst is None:
        inst = Instance(host.lower(), name, role, None, None)
        found[key] = inst
    elif PRIORITY[role] < PRIORITY[inst.role]:  # a back end that also holds monitoring
        inst.role = role
    inst.pool = inst.pool or pool
    inst.site = inst.site or site
    return inst


def _serving_pool(row: Row, user_pools: set[str]) -> str | None:
    """The user pool a database service serves (its DependentServiceList names it)."""
    for service in texts(row, "DependentServiceList"):
        pool = (after_colon(service) or "").lower()
        if pool in user_pools:
            return pool
    return None


def local_candidates(topology: Topology) -> list[Instance]:
    """The SQL Express instances every Front End Server has (RTCLOCAL, LYSS): the topology
    does not list them; they are written only when `--sql` reaches them."""
    return [Instance(s.fqdn, name, InstanceRole.FRONT_END_LOCAL, s.pool, None,
                     stores=list(stores))
            for s in topology.servers if s.role == "front_end"
            for name, stores in LOCAL_INSTANCES.items()]
