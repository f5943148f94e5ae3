"""The Lync collector: every PowerShell probe on the inventory's servers, in parallel."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from functools import partial

from auditor.collect.base import CollectContext, run_bounded
from auditor.collect.clixml import Row
from auditor.collect.lync_plan import Task, plan
from auditor.collect.lync_session import Session, parse_connect_to
from auditor.connect.credentials import Secret, SecretUnavailableError, resolve
from auditor.connect.winrm_transport import Failure, Status, guarded_logs
from auditor.evidence import Observation, Source, make_observation
from auditor.inventory import LoadedInventory, LyncAccess
from auditor.probes.catalogue import Catalogue, load_catalogue

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 32
"""Servers collected at once, as Invoke-Command's default -ThrottleLimit: each is its own WinRM
session on its own server, mostly waiting on the network (benchmarks/lync.py)."""
CONNECT_ENV = "AUDITOR_LYNC_CONNECT"
"""Lab aid, like curl --connect-to: `fqdn=addr:port,*=addr:port` sends a server's WinRM
connection elsewhere (the loopback endpoint of `auditor lab lync`)."""


def now_utc() -> dt.datetime:
    """The collector's clock."""
    return dt.datetime.now(dt.UTC)


# --- the collector ----------------------------------------------------------------------------

def _observation(task: Task, started: dt.datetime, result: list[Row] | Failure) -> Observation:
    if isinstance(result, Failure):
        if result.status is not Status.OK:
            log.info("lync %s on %s ended %s: %s", task.probe.name, task.target,
                     result.status.value, result.message)
        return make_observation(source=Source.LYNC, probe=task.probe.name, target=task.target,
                                started_at=started, finished_at=now_utc(),
                                status=result.status, error=result.message,
                                parameters=task.parameters)
    return make_observation(source=Source.LYNC, probe=task.probe.name, target=task.target,
                            started_at=started, finished_at=now_utc(), status=Status.OK,
                            data=result, parameters=task.parameters)


def _fail(tasks: Sequence[Task], failure: Failure) -> list[Observation]:
    started = now_utc()
    return [_observation(t, started, failure) for t in tasks]


class LyncCollector:
    """Collects every PowerShell probe of the catalogue from the inventory's Lync servers."""

    name = "lync"

    def __init__(self, *, workers: int = DEFAULT_WORKERS, catalogue: Catalogue | None = None,
                 interactive: bool | None = None, connect_to: Mapping[str, str] | None = None,
                 poll_seconds: int = 5) -> None:
        self.workers = max(1, workers)
        self.catalogue = catalogue or load_catalogue()
        self.interactive = interactive
        self.connect_to = {k.lower(): v for k, v in (connect_to or {}).items()}
        self.poll_seconds = poll_seconds

    def collect(self, context: CollectContext) -> list[Observation]:
        """All observations; a server that fails still yields observations saying why."""
        loaded = context.inventory
        access = loaded.inventory.lync
        if access is None:
            return []
        management, servers = plan(loaded, self.catalogue)
        secret = self._secret(access)
        managers = {h.lower() for h in access.management_servers}
        others = [fqdn for fqdn in servers if fqdn.lower() not in managers]
        jobs = [partial(self._management, loaded, access, secret, management, servers)]
        jobs += [partial(self._server, loaded, access, secret, fqdn, servers[fqdn])
                 for fqdn in others]
        with guarded_logs(secret if isinstance(secret, Secret) else None):
            return run_bounded("lync", jobs, self.workers, context.progress)

    def _secret(self, access: LyncAccess) -> Secret | SecretUnavailableError:
        try:
            return resolve(access.credential, access.management_servers[0],
                           interactive=self.interactive)
        except SecretUnavailableError as exc:
            return exc

    def session(self, loaded: LoadedInventory, access: LyncAccess, secret: Secret,
                host: str) -> Session:
        """A (not yet open) session to one server."""
        connect_to = self.connect_to or parse_connect_to(os.environ.get(CONNECT_ENV, ""))
        address = connect_to.get(host.lower()) or connect_to.get("*")
        ca_bundle = str(loaded.relative(access.ca_bundle)) if access.ca_bundle else None
        return Session(host, access, secret, ca_bundle, address, self.poll_seconds)

    def _run(self, session: Session, tasks: Sequence[Task]) -> list[Observation]:
        found = []
        try:
            for task in tasks:
                started = now_utc()
                if task.problem is not None:
                    found.append(_observation(task, started, Failure(Status.ERROR,
                                                                     task.problem)))
                    continue
                found.append(_observation(task, started, session.run(task)))
        finally:
            session.close()
        return found

    def _server(self, loaded: LoadedInventory, access: LyncAccess,
                secret: Secret | SecretUnavailableError, host: str,
                tasks: Sequence[Task]) -> list[Observation]:
        if isinstance(secret, SecretUnavailableError):
            return _fail(tasks, Failure(Status.DENIED, f"no secret: {secret}"))
        session = self.session(loaded, access, secret, host)
        failure = session.open()
        if failure is not None:
            return _fail(tasks, failure)
        return self._run(session, tasks)

    def _management(self, loaded: LoadedInventory, access: LyncAccess,
                    secret: Secret | SecretUnavailableError, tasks: Sequence[Task],
                    servers: Mapping[str, Sequence[Task]]) -> list[Observation]:
        """Deployment, pool and share probes on the first reachable management server."""
        own = {fqdn.lower(): list(t) for fqdn, t in servers.items()}
        if isinstance(secret, SecretUnavailableError):
            failure = Failure(Status.DENIED, f"no secret: {secret}")
            mine = [t for h in access.management_servers for t in own.get(h.lower(), [])]
            return _fail([*tasks, *mine], failure)
        found: list[Observation] = []
        tried: list[str] = []
        attempts: list[Failure] = []
        opened = False
        for host in access.management_servers:
            tried.append(host.lower())
            session = self.session(loaded, access, secret, host)
            refused = session.open()
            if refused is None:
                found += self._run(session, [*tasks, *own.get(host.lower(), [])])
                opened = True
                break
            attempts.append(refused)
            found += _fail(own.get(host.lower(), []), refused)
            if refused.status not in (Status.UNREACHABLE, Status.TIMEOUT):
                break  # reachable but refused: another server would refuse the same account
        if not opened:
            found += _fail(tasks, Failure(attempts[-1].status, "no management server could be "
                                          "used: " + "; ".join(a.message for a in attempts)))
        for host in access.management_servers:
            if host.lower() not in tried and host.lower() in own:
                found += self._server(loaded, access, secret, host, own[host.lower()])
        return found
