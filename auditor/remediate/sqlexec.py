"""A remediation session on one SQL instance: autocommit, a long statement timeout of its own,
every result set and message drained, errors scrubbed of the password.

The connection string, TLS and error classification are auditor.connect.sql's, the same code
the collectors use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyodbc

from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.connect.sql import (
    ConnectionStringError,
    Failure,
    build_connection_string,
    connect_failure,
    query_failure,
    scrub,
)
from auditor.evidence import ObservationStatus
from auditor.inventory import SqlInstance
from auditor.remediate.catalogue import Dialect, statement

log = logging.getLogger(__name__)
Connect = Callable[..., Any]


@dataclass(frozen=True)
class Outcome:
    """What one statement gave: its rows as dicts and the server's messages."""

    rows: list[dict[str, Any]]
    messages: list[str]


class SqlActionError(Exception):
    """A statement failed; `failure` says how (denied, timeout, error), scrubbed."""

    def __init__(self, failure: Failure, messages: Sequence[str] = ()) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.messages = list(messages)


def _text(message: Any) -> str:
    """pyodbc gives (state, text) pairs; keep the text."""
    if isinstance(message, tuple) and len(message) == 2:
        return str(message[1])
    return str(message)


@dataclass
class RemediationSession:
    """One open connection with the remediation credential."""

    inst: SqlInstance
    conn: Any
    dialect: Dialect
    secrets: tuple[str | None, ...] = field(repr=False)

    def set_timeout(self, seconds: int) -> None:
        """The statement timeout for what follows (psqlODBC refuses the ODBC attribute)."""
        if self.dialect is Dialect.LAB:
            cursor = self.conn.cursor()
            cursor.execute(f"SET statement_timeout = {max(1, int(seconds)) * 1000}")
            cursor.close()
        else:
            self.conn.timeout = max(1, int(seconds))

    def run(self, text: str, params: Sequence[Any]) -> Outcome:
        """Execute with bound parameters and drain every result set; errors raise."""
        cursor = self.conn.cursor()
        messages: list[str] = []
        rows: list[dict[str, Any]] = []
        try:
            cursor.execute(text, *params)
            while True:
                messages.extend(_text(m) for m in (cursor.messages or []))
                if cursor.description:
                    names = [c[0] for c in cursor.description]
                    rows.extend(dict(zip(names, r, strict=True)) for r in cursor.fetchall())
                if not cursor.nextset():
                    break
        except Exception as exc:  # noqa: BLE001 - every driver failure becomes a Failure
            raise SqlActionError(query_failure(exc, self.secrets),
                                 [scrub(m, self.secrets) for m in messages]) from None
        finally:
            cursor.close()
        return Outcome(rows, [scrub(m, self.secrets) for m in messages])

    def query(self, name: str, *params: Any) -> list[dict[str, Any]]:
        """A read-only catalogue statement by name (server_clock, database_state, ...)."""
        return self.run(statement(name, self.dialect), params).rows

    def close(self) -> None:
        """Close quietly."""
        try:
            self.conn.close()
        except pyodbc.Error:
            log.debug("remediate %s: close failed", self.inst.server_name)


def open_session(inst: SqlInstance, dialect: Dialect, *, interactive: bool | None = None,
                 connect: Connect = pyodbc.connect) -> RemediationSession | Failure:
    """A session with the instance's remediation credential (else its audit credential)."""
    credential = inst.remediation_credential or inst.credential
    try:
        secret = resolve(credential, inst.server_name, interactive=interactive)
    except SecretUnavailableError as exc:
        return Failure(ObservationStatus.DENIED, f"no secret: {exc}")
    try:
        conn_str = build_connection_string(inst, secret)
    except ConnectionStringError as exc:
        return Failure(ObservationStatus.ERROR, scrub(f"connection string: {exc}",
                                                      [secret.password]))
    try:
        conn = connect(conn_str, timeout=inst.login_timeout_seconds, autocommit=True)
    except Exception as exc:  # noqa: BLE001
        return connect_failure(exc, [secret.password])
    dbms = str(conn.getinfo(pyodbc.SQL_DBMS_NAME)).lower()
    actual = Dialect.LAB if "postgres" in dbms else Dialect.TSQL
    session = RemediationSession(inst, conn, actual, (secret.password,))
    if actual is not dialect:
        session.close()
        return Failure(ObservationStatus.ERROR, f"the plan was made for {dialect.value} but "
                       f"the server is {actual.value}: plan again")
    return session
