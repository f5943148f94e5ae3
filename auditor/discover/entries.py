"""The discovered topology as inventory entries (plain dicts), each with its comments."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from auditor.discover.model import UNKNOWN_ROLE, Instance, Topology
from auditor.discover.sqlcheck import SqlAccess, entry
from auditor.inventory import InstanceRole, LyncAccess

Entry = dict[str, Any]


@dataclass
class Item:
    """One inventory entry and the comment lines written above it."""

    data: Entry
    notes: list[str] = field(default_factory=list)
    todo: dict[str, str] = field(default_factory=dict)  # commented-out field -> why
    eol: dict[str, str] = field(default_factory=dict)  # field -> comment after its value


@dataclass
class Entries:
    """Every section discovery fills, and the instances it leaves commented out."""

    estate: Entry
    sites: list[Item]
    pools: list[Item]
    servers: list[Item]
    sql_instances: list[Item]
    left_out: list[Item]
    lync: Entry
    file_stores: list[str]
    problems: list[str]
    checked_sql: bool


def domain_of(topology: Topology) -> str:
    """The DNS domain most pools and servers share (the estate's name until a person
    writes one)."""
    names = [p.fqdn for p in topology.pools] + [s.fqdn for s in topology.servers]
    domains = Counter(n.split(".", 1)[1] for n in names if "." in n)
    return domains.most_common(1)[0][0] if domains else "lync"


def entries(topology: Topology, access: LyncAccess, sql: SqlAccess | None,
            local: list[Instance]) -> Entries:
    """The inventory entries of a topology (and of the local instances `--sql` reached)."""
    domain = domain_of(topology)
    reached_local = [i for i in local if i.reached]
    return Entries(
        estate={"id": domain.lower(), "name": domain},
        sites=[Item({"id": s.id, **({"name": s.name} if s.name else {})})
               for s in topology.sites],
        pools=[_pool(p.fqdn, p.site, p.backup_pool) for p in topology.pools],
        servers=[_server(s.fqdn, s.role, s.pool, s.site) for s in topology.servers],
        sql_instances=[_instance(i, sql) for i in [*topology.instances, *reached_local]],
        left_out=[_instance(i, sql) for i in local if not i.reached],
        lync=lync_section(access),
        file_stores=[f"{f.unc}" + (f" (used by {', '.join(f.used_by)})" if f.used_by else "")
                     for f in topology.file_stores],
        problems=list(topology.problems), checked_sql=sql is not None)


def _pool(fqdn: str, site: str | None, backup: str | None) -> Item:
    data: Entry = {"fqdn": fqdn, "site": site or "TODO"}
    if backup:
        data["backup_pool"] = backup
    data["business_critical"] = False
    return Item(data, eol={"business_critical": "TODO not in the topology: true for a pool "
                           "that is business-critical"})


def _server(fqdn: str, role: str, pool: str | None, site: str | None) -> Item:
    data: Entry = {"fqdn": fqdn, "role": role}
    if pool:
        data["pool"] = pool
    elif site:
        data["site"] = site
    eol = {"role": "TODO its pool is not in Get-CsPool: what is it?"} if role == UNKNOWN_ROLE \
        else {}
    return Item(data, eol=eol, todo={"model": "the hardware model is not in the topology "
                                     "(DR-020 compares the records with it)"})


def _instance(inst: Instance, sql: SqlAccess | None) -> Item:
    data: Entry = {"server_name": inst.name, "host": inst.host, "role": inst.role.value}
    if inst.pool:
        data["pool"] = inst.pool
    elif inst.site:
        data["site"] = inst.site
    data["stores"] = list(inst.stores)
    if sql is not None:
        written = entry(inst, sql)
        data["connection"] = written.connection
        if written.credential is not None:
            data["credential"] = written.credential.model_dump(exclude_none=True,
                                                               mode="json")
        if not sql.encrypt:
            data["encrypt"] = False
    return Item(data, notes=_instance_notes(inst, sql is not None))


def _instance_notes(inst: Instance, checked: bool) -> list[str]:
    kinds = ", ".join(dict.fromkeys(inst.services)) or "local SQL Express of a Front End"
    what = f"mirror of {kinds}" if inst.role is InstanceRole.MIRROR else kinds
    notes = [f"{inst.derived_name}: {what}"]
    if inst.server_name:
        notes.append("server_name confirmed over ODBC (SERVERPROPERTY('ServerName'))")
    else:
        notes.append("TODO: server_name is made from the host and instance names; check it "
                     "with SELECT @@SERVERNAME (or run discover with --sql)")
    if not checked:
        notes.append("stores: every database of these store kinds; not confirmed (run "
                     "discover with --sql to keep only the databases the instance has)")
    return notes + inst.notes


def lync_section(access: LyncAccess) -> Entry:
    """The `lync:` section: how discovery reached the management server."""
    data = access.model_dump(mode="json", exclude_defaults=True)
    data["management_servers"] = list(access.management_servers)
    order = ["management_servers", "transport", "port", "auth", "ca_bundle",
             "allow_basic_over_http", "credential", "command_timeout_seconds",
             "connect_timeout_seconds"]
    return {k: data[k] for k in order if k in data}
