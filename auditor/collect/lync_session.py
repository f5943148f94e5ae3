"""One Lync server's WinRM session: its connection, RunspacePool and probe pipelines."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import WinRMError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from auditor.collect.clixml import Row, _with_nested, rows_of
from auditor.collect.credentials import Secret
from auditor.collect.lync_plan import Task
from auditor.collect.lync_transport import (
    Failure,
    Status,
    _FailedError,
    record_failure,
    scrub,
    transport_failure,
)
from auditor.inventory import LyncAccess, LyncAuth, LyncTransport

log = logging.getLogger(__name__)

NESTED = {"backup_service_status": "BackupModules", "server_inventory": "Products"}
"""Properties holding objects. Remoting serialises output at depth 1, so these would arrive as
their ToString() strings; the probe's pipeline also reads them with
`... | Select-Object -ExpandProperty <name>` (a second statement of the same invocation)."""


# --- sessions -------------------------------------------------------------------------------

def parse_connect_to(text: str) -> dict[str, str]:
    """`fqdn=addr:port,*=addr:port` (see CONNECT_ENV) as {fqdn-lower: addr:port}."""
    mapping = {}
    for part in text.split(","):
        name, sep, where = part.strip().partition("=")
        if sep and name.strip() and where.strip():
            mapping[name.strip().lower()] = where.strip()
    return mapping


def _split_address(where: str) -> tuple[str, int | None]:
    host, sep, port = where.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return where, None


@dataclass
class Session:
    """One server's WSMan connection and RunspacePool; reconnected at most once if it drops."""

    host: str
    access: LyncAccess
    secret: Secret
    ca_bundle: str | None = None
    address: str | None = None
    poll_seconds: int = 5
    wsman: Any = None
    pool: Any = None
    reconnects: int = 0
    scripts: dict[str, str] = field(default_factory=dict)
    modules: dict[str, Failure | None] = field(default_factory=dict)
    """Modules imported into the open runspace (None) or whose import failed (why)."""

    @property
    def where(self) -> str:
        """How the server is named in messages."""
        https = self.access.transport is LyncTransport.HTTPS
        port = self.access.port or (5986 if https else 5985)
        via = f" via {self.address}" if self.address else ""
        return f"WinRM {self.host}:{port}{via}"

    def _connection(self) -> Any:
        https = self.access.transport is LyncTransport.HTTPS
        server, port = _split_address(self.address) if self.address else (self.host, None)
        port = port or self.access.port or (5986 if https else 5985)
        validation: Any = True
        if https:
            encryption, validation = "auto", (self.ca_bundle or True)
        else:  # message encryption unless basic was explicitly allowed over http
            basic = self.access.auth is LyncAuth.BASIC
            encryption = "never" if basic else "always"
        operation = max(1, min(20, self.access.command_timeout_seconds))
        connect = self.access.connect_timeout_seconds
        return WSMan(server, port=port, ssl=https, auth=self.access.auth.value,
                     username=self.secret.username, password=self.secret.password,
                     cert_validation=validation, encryption=encryption,
                     operation_timeout=operation, read_timeout=operation + connect,
                     connection_timeout=connect, reconnection_retries=0,
                     reconnection_backoff=0.1)

    def open(self) -> Failure | None:
        """Connect and open the RunspacePool; the Failure when it cannot."""
        self.modules = {}
        try:
            self.wsman = self._connection()
            self.pool = RunspacePool(self.wsman)
            self.pool.open()
        except Exception as exc:  # noqa: BLE001 - every failure becomes an observation
            self.close()
            failure = transport_failure(exc, self.where, opening=True)
            return Failure(failure.status, scrub(failure.message, self.secret))
        log.debug("%s: runspace pool open", self.where)
        return None

    def close(self) -> None:
        """Close quietly: a lost connection cannot be closed cleanly."""
        pool, wsman, self.pool, self.wsman = self.pool, self.wsman, None, None
        try:
            if pool is not None:
                pool.close()
            if wsman is not None:
                wsman.close()
        except Exception as exc:  # noqa: BLE001
            log.debug("%s: close failed: %s", self.where, type(exc).__name__)

    def run(self, task: Task) -> list[Row] | Failure:
        """The probe's rows, or the Failure; after a lost connection one reconnect."""
        if self.pool is None:
            if self.reconnects >= 1:
                return Failure(Status.ERROR, "not run: the connection was lost and a reconnect "
                               "failed")
            self.reconnects += 1
            failure = self.open()
            if failure is not None:
                return Failure(failure.status, f"reconnect failed: {failure.message}")
        probe = task.probe
        if probe.module:
            refused = self.ensure_module(probe.module)
            if refused is not None:
                return refused
        nested = NESTED.get(probe.name)
        nested = nested if nested in probe.select else None
        label = probe.command or probe.script or probe.name
        try:
            outputs = self.call(self._builder(task, nested), label)
            if nested is None:
                return rows_of(outputs, probe.select)
            return _with_nested(outputs, probe.select, nested)
        except _FailedError as err:
            failure = err.failure
        except Exception as exc:  # noqa: BLE001
            failure = transport_failure(exc, self.where, opening=False)
            if failure.connection_lost:
                self.close()
        return Failure(failure.status, scrub(failure.message, self.secret),
                       failure.connection_lost)

    def ensure_module(self, name: str) -> Failure | None:
        """Import a module once into this runspace, explicitly: module autoloading is not
        something a remoting session can rely on. The Failure (kept for the later probes of
        the same session) when the import fails."""
        if name in self.modules:
            return self.modules[name]

        def build(ps: Any) -> None:
            ps.add_cmdlet("Import-Module").add_parameter("Name", name)
            ps.add_parameter("ErrorAction", "Stop")

        try:
            self.call(build, f"Import-Module {name}")
            failure = None
        except _FailedError as err:
            failure = Failure(err.failure.status, f"{err.failure.message} (is the {name} "
                              "module, the Lync Server Management Shell, installed on this "
                              "server?)")
        except Exception as exc:  # noqa: BLE001
            found = transport_failure(exc, self.where, opening=False)
            failure = Failure(found.status, scrub(found.message, self.secret),
                              found.connection_lost)
            if found.connection_lost:
                self.close()
                return failure
        self.modules[name] = failure
        return failure

    def _builder(self, task: Task, nested: str | None) -> Callable[[Any], None]:
        """The probe's pipeline. With a nested property, two statements in one invocation:
        the command, then the command again with `| Select-Object -ExpandProperty <name>`."""
        probe = task.probe

        def add(ps: Any) -> None:
            if probe.command:
                ps.add_cmdlet(probe.command)
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)
                ps.add_parameter("ErrorAction", "Stop")
            else:
                if probe.name not in self.scripts:
                    self.scripts[probe.name] = probe.script_text() or ""
                ps.add_script(self.scripts[probe.name])
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)

        def build(ps: Any) -> None:
            add(ps)
            if nested:
                ps.add_statement()
                add(ps)
                ps.add_cmdlet("Select-Object").add_parameter("ExpandProperty", nested)

        return build

    def call(self, build: Callable[[Any], None], label: str,
             deadline: float | None = None) -> list[Any]:
        """Run one pipeline to its end or its deadline; its output objects as pypsrp gives
        them. Error records raise _FailedError; transport failures raise as they are."""
        if deadline is None:
            deadline = time.monotonic() + self.access.command_timeout_seconds
        ps = PowerShell(self.pool)
        build(ps)
        ps.begin_invoke()
        while ps.state == PSInvocationState.RUNNING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ps.stop()
                self._terminate(ps)
                raise _FailedError(Failure(Status.TIMEOUT, f"{label} did not finish within "
                                           f"{self.access.command_timeout_seconds} s; the "
                                           "pipeline was stopped"))
            ps.poll_invoke(timeout=max(1, min(self.poll_seconds, math.ceil(remaining))))
        errors, had_errors, output = list(ps.streams.error), bool(ps.had_errors), list(ps.output)
        self._terminate(ps)
        if had_errors or errors:
            raise _FailedError(record_failure(label, errors, had_errors))
        return output

    def _terminate(self, ps: Any) -> None:
        try:
            ps.close()
        except (WinRMError, requests.exceptions.RequestException) as exc:
            log.debug("%s: closing a pipeline failed: %s", self.where, type(exc).__name__)
            self.close()
