"""Lync transport failures as statuses, with the secret kept out of messages and logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError

from auditor.connect.credentials import Secret
from auditor.connect.secrets import scrub_text, secret_forms
from auditor.evidence import ObservationStatus

Status = ObservationStatus


@dataclass(frozen=True)
class Failure:
    """What went wrong, already scrubbed of secrets."""

    status: ObservationStatus
    message: str
    connection_lost: bool = False


class _FailedError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


# --- errors -> statuses ---------------------------------------------------------------------

WIRE_LOGGERS = ("pypsrp", "spnego", "requests_credssp", "urllib3")


class _ScrubFilter(logging.Filter):
    """Masks the secret in records of the transport libraries (a server may echo it)."""

    def __init__(self, secret: Secret | None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secret)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextmanager
def guarded_logs(secret: Secret | None) -> Iterator[None]:
    """While collecting: pypsrp at WARNING at most (at DEBUG it logs every SOAP message, with
    every parameter and every reply), and the secret masked in any record of the transports."""
    names = [n for n in list(logging.root.manager.loggerDict)
             if n.split(".", 1)[0] in WIRE_LOGGERS]
    loggers = [logging.getLogger(n) for n in dict.fromkeys([*WIRE_LOGGERS, *names])]
    quiet = logging.getLogger("pypsrp")
    level = quiet.level
    if quiet.getEffectiveLevel() < logging.WARNING:
        quiet.setLevel(logging.WARNING)
    guard = _ScrubFilter(secret)
    for logger in loggers:
        logger.addFilter(guard)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(guard)
        quiet.setLevel(level)


def scrub(text: str, secret: Secret | None) -> str:
    """The text without the password, in any form the transports could have echoed (as is,
    escaped, or in a Basic-auth token), and without any secret-bearing keyword's value."""
    if secret is None:
        return scrub_text(text)
    return scrub_text(text, secret_forms(secret.password, secret.username))


def transport_failure(exc: BaseException, where: str, *, opening: bool) -> Failure:
    """A pypsrp/requests exception as a status (see auditor.collect.lync's docstring)."""
    lost = not opening
    if isinstance(exc, AuthenticationError):
        return Failure(Status.DENIED, f"{where}: the login was refused (HTTP 401)")
    if isinstance(exc, WSManFaultError):
        status = Status.DENIED if exc.code in (5, 2147942405) else Status.ERROR
        return Failure(status, f"{where}: WSMan fault {exc.code}: {exc.reason}")
    if isinstance(exc, WinRMTransportError):
        status = Status.DENIED if exc.code in (401, 403) else Status.ERROR
        return Failure(status, f"{where}: HTTP {exc.code} from the WinRM service")
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(Status.ERROR, f"{where}: TLS failed (is the certificate trusted? set "
                       f"lync.ca_bundle): {_first_line(exc)}", lost)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(Status.UNREACHABLE, f"{where}: no TCP connection within the connect "
                       "timeout", lost)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        if opening:  # as the SQL collector's login timeout: no answer is unreachable
            return Failure(Status.UNREACHABLE, f"{where}: no answer within the read timeout")
        return Failure(Status.TIMEOUT, f"{where}: no answer within the read timeout", True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if opening:
            return Failure(Status.UNREACHABLE, f"{where}: {_first_line(exc)}")
        return Failure(Status.ERROR, f"{where}: connection lost: {_first_line(exc)}", True)
    if isinstance(exc, ImportError):
        return Failure(Status.ERROR, f"{where}: {exc} (install the pypsrp extra for this auth)")
    return Failure(Status.ERROR, f"{where}: {type(exc).__name__}: {_first_line(exc)}", lost)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


_DENIED_IDS = re.compile(r"(?i)unauthorizedaccess|accessdenied|pssecurityexception|"
                         r"notauthorized|permissiondenied")


def record_failure(command: str, records: Sequence[Any], had_errors: bool) -> Failure:
    """Error records as a status: denied when a record says access was refused."""
    if not records:
        return Failure(Status.ERROR, f"{command} failed without an error record")
    first = records[0]
    category = getattr(first, "category", None)
    ids = " ".join(str(getattr(first, a, "") or "") for a in ("fq_error", "reason"))
    denied = category == 18 or bool(_DENIED_IDS.search(ids))
    kind = "terminating error" if had_errors else "error record"
    fq = getattr(first, "fq_error", None)
    more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
    message = f"{command}: {kind}: {_first_line(Exception(str(first)))}"
    return Failure(Status.DENIED if denied else Status.ERROR,
                   message + (f" [{fq}]" if fq else "") + more)
