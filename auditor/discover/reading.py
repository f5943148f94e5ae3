"""Reading the topology over one PowerShell-remoting session (the collector's Session)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.collect.clixml import Row
from auditor.collect.lync_plan import SWITCH, Task
from auditor.collect.lync_session import Session, parse_connect_to
from auditor.connect.credentials import Secret, SecretUnavailableError, resolve
from auditor.connect.winrm_transport import Failure, guarded_logs
from auditor.discover.commands import discovery_probes
from auditor.errors import AuditorError
from auditor.inventory import LyncAccess
from auditor.probes.catalogue import PsProbe

ESSENTIAL = ("cs_pools", "cs_computers")
"""Without these there is no topology to write: their failure stops discovery."""


class DiscoveryError(AuditorError):
    """Discovery could not read what it needs; one line saying why."""


@dataclass
class RawTopology:
    """Each command's rows, and one sentence per command that could not be read."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    backup_pools: dict[str, list[Row]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def of(self, name: str) -> list[Row]:
        """The rows of one command (none when it failed)."""
        return self.rows.get(name, [])


@dataclass(frozen=True)
class Target:
    """The server to read from and how to reach it."""

    host: str
    access: LyncAccess
    secret: Secret
    ca_bundle: str | None = None
    address: str | None = None


def target_for(access: LyncAccess, connect_to: str = "") -> Target:
    """The first management server, its secret resolved (a prompt asks here) and, in a lab,
    where AUDITOR_LYNC_CONNECT sends it (`fqdn=addr:port,*=addr:port`)."""
    host = access.management_servers[0]
    try:
        secret = resolve(access.credential, host)
    except SecretUnavailableError as exc:
        raise DiscoveryError(f"no secret for {host}: {exc}") from None
    mapping = parse_connect_to(connect_to)
    address = mapping.get(host.lower()) or mapping.get("*")
    return Target(host, access, secret, access.ca_bundle, address)


def read_topology(target: Target) -> RawTopology:
    """Every discovery command's rows; the pools' backup pools once the pools are known."""
    session = Session(target.host, target.access, target.secret, target.ca_bundle,
                      target.address, poll_seconds=1)
    with guarded_logs(target.secret):
        failure = session.open()
        if failure is not None:
            raise DiscoveryError(f"cannot read the topology: {failure.message}")
        try:
            return _read_all(session)
        finally:
            session.close()


def _read_all(session: Session) -> RawTopology:
    raw = RawTopology()
    probes = discovery_probes()
    for name, probe in probes.items():
        if name == "pool_backup_relationship":
            continue
        _run(session, raw, probe, {}, name)
    relationship = probes["pool_backup_relationship"]
    for fqdn in user_pool_fqdns(raw.of("cs_pools")):
        rows = _run(session, raw, relationship, {"pool.fqdn": fqdn}, f"backup pool of {fqdn}")
        raw.backup_pools[fqdn.lower()] = rows
    return raw


def _run(session: Session, raw: RawTopology, probe: PsProbe, values: Mapping[str, str],
         label: str) -> list[Row]:
    params = {n: True if s == SWITCH else values[s] for n, s in probe.parameters.items()}
    result = session.run(Task(probe, "deployment", params))
    if isinstance(result, Failure):
        if probe.name in ESSENTIAL:
            raise DiscoveryError(f"cannot read the topology: {result.message}")
        raw.problems.append(f"{label}: {result.message}")
        return []
    raw.rows[probe.name] = result
    return result


def user_pool_fqdns(pools: list[Row]) -> list[str]:
    """The pools users are homed on (they run UserServer): the inventory's `pools:`."""
    found = []
    for row in pools:
        services = row.get("Services") or []
        roles = {str(s).split(":", 1)[0].lower() for s in services} if isinstance(
            services, list) else set()
        fqdn = row.get("Fqdn") or row.get("Identity")
        if "userserver" in roles and isinstance(fqdn, str):
            found.append(fqdn)
    return found
