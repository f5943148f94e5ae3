"""The SQL preflight: per instance, reachable, login and each permission the probes need."""

from __future__ import annotations

import re
import socket
import time
from enum import StrEnum
from pathlib import Path

import pyodbc

from auditor.collect.base import PreflightCheck
from auditor.collect.sql_collector import Connect, SqlCollector, _Recorder
from auditor.connect.credentials import Secret
from auditor.connect.sql import (
    DriverKind,
    Failure,
    driver_kind,
    driver_missing,
    driver_package,
    get_key,
    parse_connection_string,
)
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
}


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
                                   f"{opened.message}", fix=_login_fix(opened.status))]
        tls = "TLS required" if inst.encrypt else "TLS not required (encrypt: false opt-out)"
        checks = [PreflightCheck(where, "login", True, f"connected to {opened.info.get('dbms')} "
                                 f"{opened.info.get('version')}; {tls}")]
        recorder = _Recorder(inst)
        collector._run_probes(opened, recorder)
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


def _login_fix(status: ObservationStatus) -> str:
    if status is Status.DENIED:
        return ("check the login and its password source (env/keyring/prompt), and that the "
                "login may open msdb: USE msdb; CREATE USER [login] FOR LOGIN [login];")
    if status is Status.UNREACHABLE:
        return "check the host, the port, the firewall and the SQL Server service"
    return "check the connection string (DRIVER=, SERVER=, DATABASE=msdb) and the TLS setting"
