"""A WinRM session to one server: its WSMan connection, RunspacePool and pipelines, each with a
deadline; error records and transport failures become Failures scrubbed of the secret.
Collection (probes) and remediation (exports) both run their pipelines through it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import WinRMError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from auditor.connect.credentials import Secret
from auditor.connect.winrm_transport import (
    Failure,
    Status,
    _FailedError,
    record_failure,
    scrub,
    transport_failure,
)
from auditor.inventory import LyncAccess, LyncAuth, LyncTransport

log = logging.getLogger(__name__)


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

    def reopen_once(self) -> Failure | None:
        """After a lost connection: one reconnect per session, never more."""
        if self.pool is not None:
            return None
        if self.reconnects >= 1:
            return Failure(Status.ERROR, "not run: the connection was lost and a reconnect "
                           "failed")
        self.reconnects += 1
        failure = self.open()
        return None if failure is None else Failure(failure.status,
                                                    f"reconnect failed: {failure.message}")

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
