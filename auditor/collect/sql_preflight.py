"""The SQL preflight: per instance, reachable, login and each permission the probes need."""

from __future__ import annotations

import re
import socket
import time
from enum import StrEnum
from pathlib import Path

import pyodbc

from auditor.collect.base import PreflightCheck
from auditor.collect.sql_collector import Connect, SqlCollector, _Recorder, _Session, fetch
from auditor.connect.credentials import Secret
from auditor.connect.sql import (
    DriverKind,
    Failure,
    driver_kind,
    driver_missing,
    driver_package,
    get_key,
    parse_connection_string,
    query_failure,
)
from auditor.connect.sql_tls import is_tls_error
from auditor.evidence import Observation, ObservationStatus
from auditor.inventory import LoadedInventory, SqlInstance

Status = ObservationStatus


class Permission(StrEnum):
    """What a login needs on SQL Server for a probe to read its rows."""

    MSDB_READ = "msdb read"
    AGENT_READER = "SQLAgentReaderRole"
    VIEW_SERVER_STATE = "VIEW SERVER STATE"
    VIEW_ANY_DATABASE = "VIEW ANY DATABASE"
    LCSCDR_READ = "LcsCDR read"
    VIEW_ANY_DEFINITION = "VIEW ANY DEFINITION"  # or CREATE/ALTER ANY DATABASE: sys.master_files


PROBE_PERMISSIONS: dict[str, Permission | None] = {
    "server_time": None,
    "databases": Permission.VIEW_ANY_DATABASE,
    "mirroring": Permission.VIEW_ANY_DATABASE,
    "backup_history": Permission.MSDB_READ,
    "last_backups": Permission.MSDB_READ,
    "backup_devices": Permission.MSDB_READ,
    "restore_history": Permission.MSDB_READ,
    "suspect_pages": Permission.MSDB_READ,
    "backup_encryption": Permission.MSDB_READ,
    "agent_jobs": Permission.AGENT_READER,
    "agent_job_steps": Permission.AGENT_READER,
    "agent_schedules": Permission.AGENT_READER,
    "agent_job_history": Permission.AGENT_READER,
    "database_files": Permission.VIEW_SERVER_STATE,
    "cdr_hourly_usage": Permission.LCSCDR_READ,
}
"""Per probe, the permission it needs (None: any login). `auditor preflight` reports by these."""

PERMISSION_FIX: dict[Permission, str] = {
    Permission.MSDB_READ: "USE msdb; CREATE USER [{login}] FOR LOGIN [{login}]; "
                          "EXEC sp_addrolemember N'db_datareader', N'{login}';",
    Permission.AGENT_READER: "USE msdb; EXEC sp_addrolemember N'SQLAgentReaderRole', N'{login}'; "
                             "(and db_datareader in msdb, for dbo.sysjobs*, dbo.sysschedules, "
                             "dbo.sysjobhistory, dbo.sysoperators)",
    Permission.VIEW_SERVER_STATE: "USE master; GRANT VIEW SERVER STATE TO [{login}]; "
                                  "GRANT VIEW ANY DEFINITION TO [{login}];",
    Permission.VIEW_ANY_DATABASE: "USE master; GRANT VIEW ANY DATABASE TO [{login}];",
    Permission.LCSCDR_READ: "USE LcsCDR; CREATE USER [{login}] FOR LOGIN [{login}]; "
                            "EXEC sp_addrolemember N'db_datareader', N'{login}';",
    Permission.VIEW_ANY_DEFINITION: "USE master; GRANT VIEW ANY DEFINITION TO [{login}];",
}

# sys.master_files returns no rows, and no error, to a login without one of these (its
# "Permissions" section): preflight asks HAS_PERMS_BY_NAME, since the probe cannot tell.
MASTER_FILES_SQL = (
    "SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW ANY DEFINITION') AS view_any_definition, "
    "HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY DATABASE') AS alter_any_database, "
    "HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE ANY DATABASE') AS create_any_database")


# --- preflight -------------------------------------------------------------------------------

def _endpoint(inst: SqlInstance) -> tuple[str, int] | None:
    """(host, port) from the connection string, when it names a TCP port."""
    pairs = parse_connection_string(inst.connection or "")
    if driver_kind(pairs) is DriverKind.FREETDS and get_key(pairs, "Servername"):
        return None  # a freetds.conf section holds the host and port
    server = get_key(pairs, "SERVER") or get_key(pairs, "Servername") or inst.host
    server = re.sub(r"(?i)^tcp:", "", server)
    port_text = get_key(pairs, "PORT")
    if "," in server:
        server, port_text = server.split(",", 1)
    if port_text is None:
        if "\\" in server:
            return None  # a named instance: SQL Browser gives the port
        port_text = "5432" if driver_kind(pairs) is DriverKind.PSQLODBC else "1433"
    try:
        return server.strip(), int(port_text)
    except ValueError:
        return None


def _tcp_check(inst: SqlInstance) -> PreflightCheck:
    where = inst.server_name
    endpoint = _endpoint(inst)
    if endpoint is None:
        return PreflightCheck(where, "reachable", True, "the port comes from SQL Browser or "
                              "freetds.conf (checked by the login below)")
    host, port = endpoint
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=inst.login_timeout_seconds):
            pass
    except OSError as exc:
        return PreflightCheck(where, "reachable", False, f"TCP {host}:{port}: {exc}",
                              fix="check the host name, the port, the firewall and that the "
                              "SQL Server service listens on TCP")
    return PreflightCheck(where, "reachable", True, f"TCP {host}:{port} accepted in "
                          f"{(time.monotonic() - started) * 1000:.0f} ms")


def preflight_sql(loaded: LoadedInventory, *, interactive: bool | None = None,
                  connect: Connect | None = None) -> list[PreflightCheck]:
    """Per instance: reachable, login, and each permission the probes need, with the fixes."""
    collector = SqlCollector(connect=connect, interactive=interactive)
    checks: list[PreflightCheck] = []
    for inst in loaded.inventory.sql_instances:
        if not inst.connection:
            checks.append(PreflightCheck(inst.server_name, "connection string", False,
                                         "the inventory gives no connection string",
                                         fix="add connection: to the instance"))
            continue
        driver = _driver_check(inst)
        checks.extend(c for c in (driver, _certificate_check(inst)) if c is not None)
        checks.append(_tcp_check(inst))
        if driver is None or driver.ok:  # without its driver no login can be tried
            checks.extend(_login_and_permissions(collector, inst))
    return checks


def _driver_check(inst: SqlInstance) -> PreflightCheck | None:
    """Is the DRIVER= of the string registered with the driver manager (or a file on disk)?"""
    driver = get_key(parse_connection_string(inst.connection or ""), "DRIVER")
    if not driver:
        return None  # a DSN= names its driver in odbc.ini; the login below tells
    registered = {name.lower() for name in pyodbc.drivers()}
    if driver.lower() in registered or (driver.startswith("/") and Path(driver).is_file()):
        return PreflightCheck(inst.server_name, "driver", True, f"ODBC driver {driver!r} found")
    return PreflightCheck(inst.server_name, "driver", False, driver_missing(driver),
                          fix=driver_package(driver))


def _certificate_check(inst: SqlInstance) -> PreflightCheck | None:
    """FreeTDS 1.3 (Debian 12) reads freetds.conf, and so its `ca file`, only for Servername=."""
    pairs = parse_connection_string(inst.connection or "")
    if not inst.encrypt or driver_kind(pairs) is not DriverKind.FREETDS:
        return None
    if get_key(pairs, "Servername") or get_key(pairs, "DSN"):
        return None  # freetds.conf applies: its `ca file` (the set-up writes `system`) decides
    return PreflightCheck(
        inst.server_name, "certificate", False, "FreeTDS encrypts but accepts any server "
        "certificate with SERVER=: it reads freetds.conf (and its `ca file`) only for Servername=",
        fix="name the server in /etc/freetds/freetds.conf ([NAME] with host, port, tds version) "
        "and connect with DRIVER={FreeTDS};Servername=NAME;DATABASE=msdb; "
        "(docs/sql-collection.md)")


def _login_and_permissions(collector: SqlCollector, inst: SqlInstance) -> list[PreflightCheck]:
    where = inst.server_name
    secret = collector._secret(inst)
    login = secret.username if isinstance(secret, Secret) and secret.username else "<login>"
    with collector.session(inst, secret) as opened:
        if isinstance(opened, Failure):
            return [PreflightCheck(where, "login", False, f"{opened.status.value}: "
                                   f"{opened.message}", fix=_login_fix(opened))]
        tls = "TLS required" if inst.encrypt else "TLS not required (encrypt: false opt-out)"
        if inst.tls_trust is not None:
            tls += f"; {inst.tls_trust.describe()}"
        checks = [PreflightCheck(where, "login", True, f"connected to {opened.info.get('dbms')} "
                                 f"{opened.info.get('version')}; {tls}")]
        recorder = _Recorder(inst)
        collector._run_probes(opened, recorder)
        checks.append(_master_files_check(opened, login))
    by_permission: dict[Permission, list[Observation]] = {}
    for obs in recorder.found:
        permission = PROBE_PERMISSIONS.get(obs.probe)
        if permission is not None:
            by_permission.setdefault(permission, []).append(obs)
    for permission, observations in by_permission.items():
        bad = [o for o in observations if not o.ok]
        probes = ", ".join(sorted(o.probe for o in observations))
        if not bad:
            checks.append(PreflightCheck(where, permission.value, True, f"read by {probes}"))
            continue
        detail = "; ".join(f"{o.probe} {o.status.value}: {o.error}" for o in bad[:2])
        fix = (PERMISSION_FIX[permission].format(login=login)
               if any(o.status is Status.DENIED for o in bad) else None)
        checks.append(PreflightCheck(where, permission.value, False, detail, fix=fix))
    return checks


def _master_files_check(session: _Session, login: str) -> PreflightCheck:
    """Can the login see every database's row in sys.master_files (DR-060's file list)?"""
    where, name = session.inst.server_name, Permission.VIEW_ANY_DEFINITION.value
    try:
        row = fetch(session.conn, MASTER_FILES_SQL, []).dicts()[0]
    except Exception as exc:  # noqa: BLE001 - the answer is the check's detail
        failure = query_failure(exc, session.secrets)
        return PreflightCheck(where, name, False, f"HAS_PERMS_BY_NAME {failure.status.value}: "
                              f"{failure.message}")
    held = [k.replace("_", " ").upper() for k, v in row.items() if v == 1]
    if held:
        return PreflightCheck(where, name, True, f"sys.master_files lists every database's "
                              f"files ({held[0]} held)")
    return PreflightCheck(
        where, name, False, "the login holds none of VIEW ANY DEFINITION, ALTER ANY DATABASE "
        "or CREATE ANY DATABASE: sys.master_files returns no rows to it, without an error, so "
        "DR-060 cannot judge log and data file placement",
        fix=PERMISSION_FIX[Permission.VIEW_ANY_DEFINITION].format(login=login))


def _login_fix(failure: Failure) -> str:
    status = failure.status
    if is_tls_error(failure.message):
        return ("TLS, not the network: see the detail (the server's TLS update, encrypt: false "
                "or tls_trust; docs/sql-collection.md \"TLS\")")
    if status is Status.DENIED:
        return ("check the login and its password source (env/keyring/prompt), and that the "
                "login may open msdb: USE msdb; CREATE USER [login] FOR LOGIN [login];")
    if status is Status.UNREACHABLE:
        return "check the host, the port, the firewall and the SQL Server service"
    return "check the connection string (DRIVER=, SERVER=, DATABASE=msdb) and the TLS setting"
