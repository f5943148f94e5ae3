"""Lync's own topology, and where it disagrees with the inventory: the database services
(Get-CsService), the pools (Get-CsPool) and the computers (Get-CsComputer), read from their
probes (derive_lync calls the parse_* functions) and compared with the inventory.

The inventory stays authoritative for which stores and servers are audited; these differences
are reported so that an auditor can see a store, pool or server the inventory may have missed,
or one Lync no longer has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from auditor.canonical import JsonValue
from auditor.evidence import Observation
from auditor.facts.base import BadValueError, as_list, as_opt_str, as_str, col
from auditor.inventory import InstanceRole, Inventory, Server, SqlInstance
from auditor.stores import STORE_KINDS

Row = Mapping[str, JsonValue]


@dataclass(frozen=True)
class DatabaseService:
    """A database service Lync's topology knows (Get-CsService -<Role>Database)."""

    role: str
    sql_host: str
    sql_instance: str
    mirror: str | None


@dataclass(frozen=True)
class TopologyPool:
    """A pool of Lync's published topology (Get-CsPool): a Front End pool, but also an Edge
    pool, a SQL Server store or a file store, each a "pool" of one or more computers."""

    fqdn: str
    site: str | None
    services: tuple[str, ...]
    computers: tuple[str, ...]

    @property
    def roles(self) -> frozenset[str]:
        """The service roles the pool runs, lower case ("userserver", "edgeserver", ...)."""
        return frozenset(s.split(":", 1)[0].strip().lower() for s in self.services)


@dataclass(frozen=True)
class TopologyComputer:
    """A computer of Lync's published topology (Get-CsComputer) and the pool it belongs to."""

    fqdn: str
    pool: str | None


# --- reading the topology probes ------------------------------------------------------------

def parse_database_services(obs: Observation) -> tuple[DatabaseService, ...]:
    services = [DatabaseService(role=as_str(r, "Role"), sql_host=as_str(r, "PoolFqdn"),
                                sql_instance=as_opt_str(r, "SqlInstanceName") or "",
                                mirror=as_opt_str(r, "MirrorSqlServer")) for r in obs.data]
    return tuple(sorted(services, key=lambda s: (s.role, s.sql_host.lower(), s.sql_instance)))


# An FQDN as the inventory accepts one: anything else in a topology column is garbage, and a
# comparison built on garbage would name servers that do not exist.
_FQDN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _fqdn(value: JsonValue, column: str) -> str:
    if not isinstance(value, str) or not _FQDN.match(value) or len(value) > 253:
        raise BadValueError(column, value, "a host name (FQDN)")
    return value


def _row_fqdn(row: Row) -> str:
    """Fqdn, or Identity when Fqdn is absent: both hold the FQDN of a pool or a computer
    (domain-reference.md 2.11: Identity is documented, Fqdn only seen in scripts)."""
    if row.get("Fqdn") is None and row.get("Identity") is not None:
        return _fqdn(row["Identity"], "Identity")
    return _fqdn(col(row, "Fqdn"), "Fqdn")


def _site(row: Row) -> str | None:
    """Get-CsPool writes the site as its identity, "Site:BNE": keep the site's name."""
    site = as_opt_str(row, "Site")
    if site is None:
        return None
    return site[5:] if site.lower().startswith("site:") else site


def parse_pools(obs: Observation) -> tuple[TopologyPool, ...]:
    pools = []
    for r in obs.data:
        # Services must be present: a pool whose services cannot be seen cannot be told a
        # Front End pool from a SQL store, and would silently drop out of the comparison.
        services = []
        for item in as_list(col(r, "Services")):
            if not isinstance(item, str) or ":" not in item:
                raise BadValueError("Services", item, "a service id (Role:fqdn)")
            services.append(item)
        computers = [_fqdn(c, "Computers") for c in as_list(col(r, "Computers"))]
        pools.append(TopologyPool(fqdn=_row_fqdn(r), site=_site(r),
                                  services=tuple(sorted(services, key=_caseless)),
                                  computers=tuple(sorted(computers, key=_caseless))))
    # Rows and lists come in whatever order the server wrote them: sort (a total order, so
    # that names differing only in case cannot swap places between runs).
    return tuple(sorted(pools, key=lambda p: (_caseless(p.fqdn), p.site or "", p.services,
                                              p.computers)))


def parse_computers(obs: Observation) -> tuple[TopologyComputer, ...]:
    computers = []
    for r in obs.data:
        pool = r.get("Pool")
        computers.append(TopologyComputer(
            fqdn=_row_fqdn(r), pool=None if pool in (None, "") else _fqdn(pool, "Pool")))
    return tuple(sorted(computers, key=lambda c: (_caseless(c.fqdn), c.pool or "")))


def _caseless(name: str) -> tuple[str, str]:
    return name.lower(), name


# --- comparing with the inventory ------------------------------------------------------------

# Which Lync stores each database service role holds (auditor.stores, docs/inventory.md).
ROLE_STORES: dict[str, frozenset[str]] = {
    k.service: frozenset(d.lower() for d in k.databases) for k in STORE_KINDS}
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


# The pools the inventory's `pools:` is meant to list are those users are homed on: Front End
# pools and Standard Edition servers, which run the User Services (UserServer). Their pairing,
# Backup Service and Back End are what the pool rules audit. Directors, Edge, Mediation and
# other pools are not expected there; their computers are compared with `servers:` instead.
_USER_POOL_ROLE = "userserver"
# Service roles of topology pools that are not Lync servers: SQL Server stores (every
# "...Database" role), file stores, PSTN and video gateways, Office Web Apps. Get-CsPool lists
# them as pools, and Get-CsComputer may list their hosts; the inventory lists them as SQL
# instances and shares, or not at all, so they are left out of the comparison with `servers:`.
_NOT_LYNC_SERVER_ROLES = frozenset({"filestore", "pstngateway", "videogateway", "wacserver",
                                    "witnessstore"})


def _lower(name: str | None) -> str:
    return (name or "").lower()


def _runs_lync_server(pool: TopologyPool | None) -> bool:
    """Whether a pool's computers are Lync servers. A pool Lync does not describe, or one with
    no services, counts as one: missing evidence must not hide a server."""
    if pool is None or not pool.roles:
        return True
    return any(not (r.endswith("database") or r in _NOT_LYNC_SERVER_ROLES) for r in pool.roles)


def _where(fqdn: str, pool: str | None) -> str:
    if not pool:
        return "in no pool"
    return "in a pool of its own" if pool.lower() == fqdn.lower() else f"in pool {pool}"


def lync_computers(pools: Iterable[TopologyPool],
                   computers: Iterable[TopologyComputer]) -> dict[str, TopologyComputer]:
    """Every computer Lync's topology names, by lower-case FQDN: Get-CsComputer's, and those
    only a pool's Computers list (Get-CsPool) names, with that pool."""
    known = {c.fqdn.lower(): c for c in computers}
    for pool in pools:
        for fqdn in pool.computers:
            known.setdefault(fqdn.lower(), TopologyComputer(fqdn=fqdn, pool=pool.fqdn))
    return known


def pool_differences(inventory: Inventory, pools: tuple[TopologyPool, ...]) -> list[str]:
    """Front End pools Lync has that the inventory does not list, then inventory pools Lync
    does not have."""
    listed = {p.fqdn.lower() for p in inventory.pools}
    in_lync = {p.fqdn.lower() for p in pools}
    out = []
    for pool in sorted(pools, key=lambda p: (p.fqdn.lower(), p.fqdn)):
        if pool.fqdn.lower() not in listed and _USER_POOL_ROLE in pool.roles:
            site = f" in site {pool.site}" if pool.site else ""
            out.append(f"Lync reports the Front End pool {pool.fqdn}{site}, which the inventory "
                       "does not list: its pairing and Backup Service are not audited.")
    for listed_pool in sorted(inventory.pools, key=lambda p: p.fqdn.lower()):
        if listed_pool.fqdn.lower() not in in_lync:
            out.append(f"The inventory lists the pool {listed_pool.fqdn}, but Lync reports no "
                       "such pool.")
    return out


def computer_differences(inventory: Inventory, pools: tuple[TopologyPool, ...],
                         computers: tuple[TopologyComputer, ...]) -> list[str]:
    """Lync servers the inventory's `servers:` misses, inventory servers (with a pool) Lync
    does not have, then servers the two place in different pools."""
    servers = {s.fqdn.lower(): s for s in inventory.servers}
    listed_pools = {p.fqdn.lower() for p in inventory.pools}
    by_pool = {p.fqdn.lower(): p for p in pools}
    known = lync_computers(pools, computers)
    unlisted = [
        f"Lync reports the computer {c.fqdn} {_where(c.fqdn, c.pool)}, which the inventory does "
        "not list among its servers: it is not audited."
        for key, c in sorted(known.items())
        if key not in servers and _runs_lync_server(by_pool.get(_lower(c.pool)))]
    missing, moved = [], []
    for server in sorted(inventory.servers, key=lambda s: s.fqdn.lower()):
        computer = known.get(server.fqdn.lower())
        if computer is None:
            # Servers without a pool may be anything (a reverse proxy, a SQL host): only those
            # the inventory places in a Lync pool must be Lync computers.
            if server.pool:
                missing.append(f"The inventory lists the server {server.fqdn} in pool "
                               f"{server.pool}, but Lync reports no such computer.")
        elif _moved(server, computer, listed_pools):
            where = _where(computer.fqdn, computer.pool)
            moved.append(f"The inventory puts the server {server.fqdn} "
                         f"{_where(server.fqdn, server.pool)}, but Lync reports it {where}.")
    return unlisted + missing + moved


def _moved(server: Server, computer: TopologyComputer, listed_pools: set[str]) -> bool:
    """Whether the two place a server in different pools. A server the inventory puts in no
    pool (an Edge, say) is compared only when Lync puts it in a pool the inventory lists:
    an Edge pool of Lync's is not an inventory pool."""
    if server.pool:
        return server.pool.lower() != _lower(computer.pool)
    return _lower(computer.pool) in listed_pools


def pool_and_computer_differences(inventory: Inventory, pools: tuple[TopologyPool, ...],
                                  computers: tuple[TopologyComputer, ...]) -> tuple[str, ...]:
    """Plain sentences, one per disagreement about pools and computers; empty when the two
    agree. FQDNs are compared without regard to letter case, as DNS does."""
    return tuple(pool_differences(inventory, pools)
                 + computer_differences(inventory, pools, computers))
