"""ODBC connection strings (parsed, built with TLS and login) and driver errors as statuses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.connect.credentials import Secret
from auditor.connect.odbc import (
    ConnectionStringError,
    Pairs,
    format_pairs,
    format_value,
    get_key,
    normal_key,
    parse_connection_string,
)
from auditor.connect.secrets import mask_connection_string, refusal, scrub_text
from auditor.connect.sql_tls import TLS_REASON, tls_hint, trust_pairs
from auditor.evidence import ObservationStatus
from auditor.inventory import SqlInstance

Status = ObservationStatus
__all__ = [  # the connection-string helpers of auditor.connect are re-exported for collect/
    "TLS_KEYWORDS", "ConnectionStringError", "DriverKind", "Failure", "build_connection_string",
    "connect_failure", "describe", "driver_kind", "format_value", "get_key",
    "mask_connection_string", "parse_connection_string", "query_failure", "scrub"]


# --- connection strings -------------------------------------------------------------------

class DriverKind(StrEnum):
    """ODBC driver families, which name the TLS keyword differently."""

    MICROSOFT = "microsoft"
    FREETDS = "freetds"
    PSQLODBC = "psqlodbc"
    UNKNOWN = "unknown"


# keyword, value when TLS is required, value for the explicit opt-out, values that turn it off
TLS_KEYWORDS: dict[DriverKind, tuple[str, str, str, frozenset[str]]] = {
    DriverKind.MICROSOFT: ("Encrypt", "yes", "no",
                           frozenset({"no", "false", "optional", "0"})),
    DriverKind.FREETDS: ("Encryption", "require", "request", frozenset({"off", "request"})),
    DriverKind.PSQLODBC: ("SSLmode", "require", "prefer",
                          frozenset({"disable", "allow", "prefer"})),
}


def driver_kind(pairs: Pairs) -> DriverKind:
    """Which family the DRIVER= keyword names."""
    driver = (get_key(pairs, "DRIVER") or "").lower()
    if "freetds" in driver or "tdsodbc" in driver:
        return DriverKind.FREETDS
    if "postgres" in driver or "psqlodbc" in driver:
        return DriverKind.PSQLODBC
    if "sql server" in driver or "native client" in driver or "msodbcsql" in driver:
        return DriverKind.MICROSOFT
    return DriverKind.UNKNOWN


def build_connection_string(inst: SqlInstance, secret: Secret | None) -> str:
    """The instance's string plus TLS, trust, msdb, user and (last, at connect time only) the
    password."""
    if not inst.connection:
        raise ConnectionStringError("the inventory gives no connection string")
    refused = refusal(inst.connection)  # the inventory refuses these already; never send one
    if refused:
        raise ConnectionStringError(refused)
    pairs = parse_connection_string(inst.connection)
    kind = driver_kind(pairs)
    _add_tls(pairs, kind, inst)
    for key, value in trust_pairs(kind, inst, pairs):
        _set_key(pairs, key, value)
    if kind in (DriverKind.MICROSOFT, DriverKind.FREETDS):
        _add_msdb(pairs)
    if kind is DriverKind.FREETDS:
        _check_tds_version(pairs)
    if kind is DriverKind.PSQLODBC and get_key(pairs, "BoolsAsChar") is None:
        pairs.append(("BoolsAsChar", "0"))  # bit columns as bool, as SQL Server's drivers give
    if secret is not None and secret.password is not None:  # integrated logins send neither
        if secret.username and get_key(pairs, "UID") is None:
            pairs.append(("UID", secret.username))
        pairs.append(("PWD", secret.password))
    return format_pairs(pairs)


def _add_tls(pairs: Pairs, kind: DriverKind, inst: SqlInstance) -> None:
    if kind is DriverKind.UNKNOWN:
        if inst.encrypt:
            raise ConnectionStringError(
                "cannot tell which TLS keyword the driver takes: name it with DRIVER={...} "
                "(Microsoft ODBC Driver, FreeTDS or PostgreSQL), or set encrypt: false")
        return
    keyword, on, off, weak = TLS_KEYWORDS[kind]
    present = get_key(pairs, keyword)
    if present is None:
        pairs.append((keyword, on if inst.encrypt else off))
    elif inst.encrypt and present.lower() in weak:
        raise ConnectionStringError(
            f"{keyword}={present} does not require TLS but the inventory says encrypt: "
            "true; remove the keyword, or set encrypt: false to opt out")


def _set_key(pairs: Pairs, key: str, value: str) -> None:
    """Replace a keyword's value (case-insensitively), or append it."""
    for i, (k, _) in enumerate(pairs):
        if normal_key(k) == normal_key(key):
            pairs[i] = (k, value)
            return
    pairs.append((key, value))


MSDB = "msdb"


def _add_msdb(pairs: Pairs) -> None:
    """The probes name msdb's tables in two parts (dbo.backupset): the connection must open
    msdb, not the login's default database (master, where every msdb probe fails with 208)."""
    database = get_key(pairs, "DATABASE")
    if database is None:
        if get_key(pairs, "DSN") is None:  # a DSN may name it in odbc.ini: DB_NAME() checks
            pairs.append(("DATABASE", MSDB))
        return
    if database.strip().strip("[]").lower() != MSDB:
        raise ConnectionStringError(
            f"DATABASE={database} but the probes read msdb's tables: use DATABASE=msdb "
            "(sys.databases and sys.master_files are server-wide and are read from there too)")


# FreeTDS below TDS 7.3 returns datetime2 (SYSDATETIME(), the server clock) as text
# (FreeTDS issue #519), so the clock and every probe bound to it could not be used.
MIN_TDS_VERSION = (7, 3)


def _check_tds_version(pairs: Pairs) -> None:
    version = get_key(pairs, "TDS_Version")
    if version is None:
        if get_key(pairs, "Servername") is None and get_key(pairs, "DSN") is None:
            pairs.append(("TDS_Version", "7.3"))  # else freetds.conf's `tds version` decides
        return
    if version.strip().lower() == "auto":
        return
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", version)
    old_name = match is not None and match.group(0).strip() == "8.0"  # FreeTDS's alias of 7.1
    if match is None or old_name or (int(match.group(1)), int(match.group(2))) < MIN_TDS_VERSION:
        raise ConnectionStringError(
            f"TDS_Version={version}: FreeTDS below TDS 7.3 returns SQL Server's datetime2 "
            "values (the server clock) as text, so the probes cannot run; use TDS_Version=7.3 "
            "(SQL Server 2008 and later) or 7.4 (2012 and later)")


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    """The text with every secret (in any form) masked, and the value of every connection-string
    keyword in it that is not on the allow-list (auditor.connect.secrets)."""
    return scrub_text(text, secrets)


# --- errors -> statuses -------------------------------------------------------------------

_DENIED = re.compile(
    r"(?i)password authentication failed|login failed|authentication failed|no pg_hba\.conf|"
    r"permission denied|permission was denied|cannot open database|"
    r"(database|role) \"[^\"]*\" does not exist|"  # not FreeTDS's "server ... does not exist"
    r"not able to access the database|role .* is not permitted to log in|\((18456|4060|916)\)")
_UNREACHABLE = re.compile(
    r"(?i)could not translate host|name or service not known|connection refused|timeout expired|"
    r"timed out|could not connect|server is not found|unable to connect|tcp provider|"
    r"network-related|no route to host|server was not found|adaptive server is unavailable")
_PERMISSION = re.compile(r"(?i)permission denied|permission was denied|not able to access the "
                         r"database|\((229|230|262|297|300|916)\)")
_TIMEOUT = re.compile(r"(?i)statement timeout|query timeout|timeout expired|canceling statement")
_LOST_STATES = frozenset({"08S01", "08003", "08007", "57P01", "57P02", "57P03", "HYT01"})


# unixODBC's driver manager, for a DRIVER= name not in odbcinst.ini or a library not on disk
_NO_DRIVER = re.compile(r"(?i)can't open lib '([^']*)'")


def driver_missing(driver: str) -> str:
    """What to say when the driver manager cannot load a driver: its name and its package."""
    return f"ODBC driver {driver!r} is not installed; {driver_package(driver)}"


def driver_package(driver: str) -> str:
    """Where the named driver comes from (FreeTDS is Debian's; Microsoft's are not)."""
    name = driver.lower()
    microsoft = re.search(r"odbc driver (\d+) for sql server", name)
    if "freetds" in name or "tdsodbc" in name:
        return "on Debian: apt-get install tdsodbc"
    if microsoft:
        return (f"install Microsoft's msodbcsql{microsoft.group(1)} (from Microsoft's package "
                "repository; Debian has none), or use FreeTDS (apt-get install tdsodbc; "
                "docs/sql-collection.md)")
    if "postgres" in name or "psqlodbc" in name:
        return "on Debian: apt-get install odbc-postgresql"
    return "install it and register it with odbcinst (`odbcinst -q -d` lists the installed ones)"


@dataclass(frozen=True)
class Failure:
    """What went wrong, already scrubbed of secrets."""

    status: ObservationStatus
    message: str
    connection_lost: bool = False


def describe(exc: BaseException, secrets: Sequence[str | None]) -> tuple[str, str]:
    """(SQLSTATE, one-line scrubbed message) of a pyodbc error or any other exception."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        state, message = args[0], args[1]
    else:
        state, message = "", f"{type(exc).__name__}: {exc}"
    message = re.sub(r"^\[[0-9A-Z]{5}\]\s*", "", message.strip())
    message = re.sub(r"\s*\(SQL\w+\)$", "", message)
    message = " ".join(message.split())
    return state, scrub(f"{state} {message}".strip(), secrets)


def connect_failure(exc: BaseException, secrets: Sequence[str | None]) -> Failure:
    """Login failed -> denied; no answer, no host, refused -> unreachable; else error."""
    state, message = describe(exc, secrets)
    missing = _NO_DRIVER.search(message)
    if missing:
        return Failure(Status.ERROR, driver_missing(missing.group(1)))
    hint = tls_hint(message)
    if hint is not None:  # before "unreachable": a TLS refusal is no firewall problem
        return Failure(Status.UNREACHABLE, f"{TLS_REASON}: {message}. {hint}")
    if state.startswith("28") or _DENIED.search(message):
        return Failure(Status.DENIED, message)
    if state in ("HYT00", "HYT01", "08001", "08S01", "08004") or _UNREACHABLE.search(message):
        return Failure(Status.UNREACHABLE, message)
    return Failure(Status.ERROR, message)


_NO_USER = re.compile(r"(?i)not able to access the database \"([^\"]+)\"")


def _no_user_fix(message: str) -> str:
    """Error 916: the login has no user in that database; the fix names it."""
    found = _NO_USER.search(message)
    if found is None:
        return ""
    db = found.group(1).replace("]", "]]")
    return (f" (the login has no user in {found.group(1)}: USE [{db}]; CREATE USER [login] FOR "
            "LOGIN [login]; EXEC sp_addrolemember N'db_datareader', N'login';)")


def query_failure(exc: BaseException, secrets: Sequence[str | None]) -> Failure:
    """Permission -> denied; statement timeout -> timeout; lost connection -> error."""
    state, message = describe(exc, secrets)
    if state in _LOST_STATES or "connection has been lost" in message.lower():
        return Failure(Status.ERROR, f"connection lost: {message}", connection_lost=True)
    if state == "42501" or _PERMISSION.search(message):
        return Failure(Status.DENIED, message + _no_user_fix(message))
    if state in ("57014", "HYT00") or _TIMEOUT.search(message):
        return Failure(Status.TIMEOUT, message)
    return Failure(Status.ERROR, message)
