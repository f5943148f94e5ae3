"""The SQL collector without a server: connection strings, TLS keywords, scrubbing, error
mapping, probe selection and parameter binding (a fake pyodbc connection stands in)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyodbc
import pytest

from auditor.collect.base import CollectContext
from auditor.collect.sql import SqlCollector
from auditor.connect.credentials import Secret
from auditor.connect.sql import (
    ConnectionStringError,
    build_connection_string,
    connect_failure,
    parse_connection_string,
    query_failure,
    scrub,
)
from auditor.evidence import ObservationStatus
from auditor.inventory import Credential, Inventory, LoadedInventory, SqlInstance

MS18 = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:sql01.contoso.com,1433;DATABASE=msdb;"
MS17 = "DRIVER={ODBC Driver 17 for SQL Server};SERVER=sql01;DATABASE=msdb;"
TDS = "DRIVER={FreeTDS};SERVER=sql01;PORT=1433;DATABASE=msdb;TDS_Version=7.4;"
PG = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=lab1;"


def inst(connection: str | None = MS18, *, encrypt: bool = True, role: str = "back_end",
         name: str = "SQL01\\RTC") -> SqlInstance:
    return SqlInstance.model_validate({
        "server_name": name, "host": "sql01.contoso.com", "role": role,
        "connection": connection, "encrypt": encrypt,
        "credential": {"kind": "env", "name": "X", "username": "CONTOSO\\svc"}})


def test_parse_connection_string_handles_braces() -> None:
    pairs = parse_connection_string("DRIVER={ODBC Driver 18 for SQL Server};PWD={a;b}}c};X=1")
    assert pairs == [("DRIVER", "ODBC Driver 18 for SQL Server"), ("PWD", "a;b}c"), ("X", "1")]
    with pytest.raises(ConnectionStringError):
        parse_connection_string("DRIVER={open")


@pytest.mark.parametrize(("connection", "on", "off"), [
    (MS18, "Encrypt=yes", "Encrypt=no"), (MS17, "Encrypt=yes", "Encrypt=no"),
    (TDS, "Encryption=require", "Encryption=request"),
    (PG, "SSLmode=require", "SSLmode=prefer")])
def test_tls_keyword_per_driver(connection: str, on: str, off: str) -> None:
    assert f";{on};" in build_connection_string(inst(connection), None)
    assert f";{off};" in build_connection_string(inst(connection, encrypt=False), None)


def test_tls_cannot_be_turned_off_behind_the_inventorys_back() -> None:
    with pytest.raises(ConnectionStringError, match="encrypt: false"):
        build_connection_string(inst(MS18 + "Encrypt=no;"), None)
    with pytest.raises(ConnectionStringError, match="DRIVER"):
        build_connection_string(inst("DSN=msdb;"), None)
    assert build_connection_string(inst("DSN=msdb;", encrypt=False), None) == "DSN=msdb;"
    assert "Encrypt=strict;" in build_connection_string(inst(MS18 + "Encrypt=strict;"), None)


def test_password_is_added_last_and_escaped() -> None:
    built = build_connection_string(inst(PG), Secret("aud", "p;w}d"))
    assert built.endswith(";UID=aud;PWD={p;w}}d};")
    assert "BoolsAsChar=0" in built
    assert parse_connection_string(built)[-1] == ("PWD", "p;w}d")


def test_scrub_removes_secrets_and_pwd_fragments() -> None:
    text = "failed: PWD={p;w}}d}; then p;w}d and password = hunter2;Server=x"
    cleaned = scrub(text, ["p;w}d"])
    assert "p;w" not in cleaned
    assert "hunter2" not in cleaned
    assert "Server=x" in cleaned


@pytest.mark.parametrize(("state", "message", "status"), [
    ("08001", 'connection to server at "127.0.0.1", port 5 failed: FATAL:  password '
     'authentication failed for user "a"', "denied"),
    ("28000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user "
     "'CONTOSO\\svc'. (18456)", "denied"),
    ("42000", "[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Cannot open database "
     "\"msdb\" requested by the login. The login failed. (4060)", "denied"),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x2749 "
     "(10057)", "unreachable"),
    ("HYT00", "[Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired (0)",
     "unreachable"),
    ("08001", 'could not translate host name "x" to address', "unreachable"),
    ("08S01", "[FreeTDS][SQL Server]Unable to connect: Adaptive Server is unavailable",
     "unreachable"),
    ("IM002", "[unixODBC][Driver Manager]Data source name not found", "error"),
])
def test_connect_errors_map_to_statuses(state: str, message: str, status: str) -> None:
    assert connect_failure(pyodbc.Error(state, message), []).status.value == status


@pytest.mark.parametrize(("state", "message", "status", "lost"), [
    ("42501", "ERROR: permission denied for table sysjobs", "denied", False),
    ("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The SELECT permission was "
     "denied on the object 'sysjobs', database 'msdb', schema 'dbo'. (229)", "denied", False),
    ("42000", "[SQL Server]VIEW SERVER STATE permission was denied on object 'server', "
     "database 'master'. (300)", "denied", False),
    ("57014", "ERROR: canceling statement due to statement timeout", "timeout", False),
    ("HYT00", "[Microsoft][ODBC Driver 18 for SQL Server]Query timeout expired (0)", "timeout",
     False),
    ("57P01", "FATAL: terminating connection due to administrator command", "error", True),
    ("08S01", "[Microsoft][ODBC Driver 18 for SQL Server]Communication link failure", "error",
     True),
    ("42000", "[SQL Server]Database 'LcsCDR' cannot be opened because it is offline. (942)",
     "error", False),
])
def test_query_errors_map_to_statuses(state: str, message: str, status: str,
                                      lost: bool) -> None:
    failure = query_failure(pyodbc.Error(state, message), [])
    assert (failure.status.value, failure.connection_lost) == (status, lost)


# --- a fake T-SQL server ------------------------------------------------------------------

LOCAL_NOW = dt.datetime(2026, 11, 24, 6, 0, 0, 250000)
UTC_NOW = dt.datetime(2026, 11, 23, 20, 0, 0, 250000)


class FakeCursor:
    def __init__(self, conn: FakeConn) -> None:
        self.conn = conn
        self.description: list[tuple[str]] | None = None
        self.rows: list[tuple[Any, ...]] = []

    def execute(self, sql: str, *params: Any) -> FakeCursor:
        self.conn.executed.append((sql, params))
        if "DB_NAME()" in sql:
            self.description = [("database_name",)]
            self.rows = [(self.conn.database,)]
        elif "SYSDATETIME()" in sql:
            names = ["local_now", "utc_now", "machine_name", "server_name", "product_version",
                     "product_level", "edition"]
            self.description = [(n,) for n in names]
            local, utc = ((LOCAL_NOW, UTC_NOW) if not self.conn.clock_as_text else
                          (str(LOCAL_NOW), str(UTC_NOW)))  # FreeTDS below TDS 7.3
            self.rows = [(local, utc, "SQL01", "SQL01\\RTC", self.conn.version,
                          self.conn.level, "Enterprise Edition (64-bit)")]
        elif self.conn.fail_on and self.conn.fail_on in sql:
            raise pyodbc.Error("42000", "[SQL Server]The SELECT permission was denied on the "
                               "object 'sysjobs'. (229)")
        else:
            self.description = [("n",)]
            self.rows = []
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        pass


class FakeConn:
    def __init__(self, version: str, fail_on: str | None = None, *, level: str = "SP1",
                 database: str = "msdb", clock_as_text: bool = False) -> None:
        self.version = version
        self.level = level
        self.database = database
        self.clock_as_text = clock_as_text
        self.fail_on = fail_on
        self.executed: list[tuple[str, tuple[Any, ...]]] = []
        self.timeout = 0
        self.connected_with: tuple[str, dict[str, Any]] | None = None

    def getinfo(self, what: int) -> str:
        return "Microsoft SQL Server" if what == pyodbc.SQL_DBMS_NAME else "12.00.5000"

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        pass


def _context(*instances: SqlInstance) -> CollectContext:
    inventory = Inventory.model_validate({"estate": {"name": "t"},
                                          "sql_instances": [i.model_dump() for i in instances]})
    loaded = LoadedInventory(inventory=inventory, path=Path("inventory.yaml"), sha256="0")
    return CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))


def test_tsql_server_gets_the_tsql_probes_with_bound_server_clock_parameters(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X", "s3cret")
    conns: list[FakeConn] = []

    def connect(conn_str: str, **kwargs: Any) -> FakeConn:
        conn = FakeConn("12.0.5000.0", fail_on="dbo.sysjobhistory")
        conn.connected_with = (conn_str, kwargs)
        conns.append(conn)
        return conn

    mon = inst(role="monitoring", name="MON01\\LYNCMON")
    found = SqlCollector(connect=connect).collect(_context(inst(), mon))
    by = {o.id: o for o in found}
    conn = conns[0]
    assert conn.connected_with is not None
    assert conn.connected_with[1] == {"timeout": 15, "autocommit": True}
    assert conn.timeout == 120  # the query timeout, on the connection before any cursor
    texts = [sql for sql, _ in conn.executed]
    assert any("CROSS APPLY" in t for t in texts)  # the T-SQL variant of database_files
    assert "sql:backup_encryption:SQL01\\RTC" in by  # version 12: the 2014+ probe runs
    assert "sql:cdr_hourly_usage:SQL01\\RTC" not in by  # monitoring role only
    assert "sql:cdr_hourly_usage:MON01\\LYNCMON" in by
    history = by["sql:backup_history:SQL01\\RTC"]
    assert history.parameters == {"since_local": "2026-10-20T06:00:00.000000"}
    bound = [params for sql, params in conn.executed if "dbo.backupset b" in sql
             and "backup_finish_date >= ?" in sql]
    assert bound[0] == (dt.datetime(2026, 10, 20, 6, 0),)
    assert by["sql:agent_job_history:SQL01\\RTC"].parameters == {"since_yyyymmdd": 20261020}
    denied = by["sql:agent_job_history:SQL01\\RTC"]
    assert denied.status is ObservationStatus.DENIED
    assert by["sql:agent_jobs:SQL01\\RTC"].ok


def test_older_server_skips_version_gated_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X", "s3cret")
    found = SqlCollector(connect=lambda *a, **k: FakeConn("10.50.6000.34")).collect(
        _context(inst()))
    assert "sql:backup_encryption:SQL01\\RTC" not in {o.id for o in found}
    assert all(o.ok for o in found)


def _probes_of(monkeypatch: pytest.MonkeyPatch, conn: FakeConn) -> dict[str, Any]:
    monkeypatch.setenv("X", "s3cret")
    found = SqlCollector(connect=lambda *a, **k: conn).collect(_context(inst()))
    return {o.probe: o for o in found}


def test_volume_probe_needs_2008_r2_sp1_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """sys.dm_os_volume_stats exists from 10.50.2500 (SP1): an RTM server gets a could-not-assess
    naming the service pack, not the raw error 208 of a missing object."""
    conn = FakeConn("10.50.1600.1", level="RTM")
    rtm = _probes_of(monkeypatch, conn)
    files = rtm["database_files"]
    assert files.status is ObservationStatus.ERROR
    assert files.error == (
        "not run: sys.dm_os_volume_stats exists only from SQL Server 2008 R2 SP1 (build "
        "10.50.2500); this server is 10.50.1600.1 (RTM): install that service pack or a later "
        "one")
    assert all(o.ok for p, o in rtm.items() if p != "database_files")
    assert conn.executed
    assert not any("dm_os_volume_stats" in sql for sql, _ in conn.executed)
    for version in ("10.50.2500.0", "10.50.6000.34", "11.0.2100.60"):
        assert _probes_of(monkeypatch, FakeConn(version))["database_files"].ok, version


def test_a_clock_read_as_text_names_the_tds_version(monkeypatch: pytest.MonkeyPatch) -> None:
    probes = _probes_of(monkeypatch, FakeConn("10.50.6000.34", clock_as_text=True))
    assert probes["server_time"].ok  # the row itself is kept, as the driver gave it
    assert probes["backup_history"].status is ObservationStatus.ERROR
    assert probes["backup_history"].error == (
        "not run: its parameters come from the server clock, which the driver returned as "
        "text: FreeTDS below TDS 7.3 returns datetime2 (SYSDATETIME()) that way; set `tds "
        "version = 7.3` in the freetds.conf section or TDS_Version=7.3 in the connection string")


def test_a_connection_that_opened_master_runs_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = FakeConn("11.0.6020.0", database="master")
    probes = _probes_of(monkeypatch, conn)
    assert probes
    assert {o.status for o in probes.values()} == {ObservationStatus.ERROR}
    assert {o.error for o in probes.values()} == {
        "the connection opened database 'master', not msdb, where the probes read backup "
        "history and SQL Agent tables: add DATABASE=msdb to the connection string (or to the "
        "DSN)"}
    assert [sql for sql, _ in conn.executed] == ["SELECT DB_NAME() AS database_name"]


def test_no_secret_means_denied_for_every_portable_probe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X", raising=False)
    found = SqlCollector(connect=lambda *a, **k: pytest.fail("must not connect")).collect(
        _context(inst()))
    assert found
    assert {o.status for o in found} == {ObservationStatus.DENIED}
    assert "backup_encryption" not in {o.probe for o in found}
    assert all("environment variable X is not set" in (o.error or "") for o in found)


def test_driver_errors_are_scrubbed_of_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X", "Hunter2-canary")

    def connect(conn_str: str, **kwargs: Any) -> FakeConn:
        raise pyodbc.Error("08001", f"bad string {conn_str} (Hunter2-canary)")

    found = SqlCollector(connect=connect).collect(_context(inst()))
    assert found
    for obs in found:
        assert obs.status is ObservationStatus.UNREACHABLE
        assert "Hunter2" not in (obs.error or "")
        assert "PWD=***" in (obs.error or "")


def test_instances_without_a_connection_string_are_left_to_other_collectors() -> None:
    assert SqlCollector(connect=lambda *a, **k: pytest.fail("no")).collect(
        _context(inst(None))) == []


def test_the_inventory_refuses_passwords_in_connection_strings() -> None:
    with pytest.raises(ValueError, match="password"):
        inst(MS18 + "PWD=x;")


@pytest.mark.parametrize("credential", [{"kind": "prompt", "username": "svc"},
                                        {"kind": "keyring", "name": "auditor-test-nothing",
                                         "username": "svc"}])
def test_headless_without_a_secret_is_denied_at_once(credential: dict[str, str]) -> None:
    headless = inst().model_copy(update={"credential": Credential.model_validate(credential)})
    found = SqlCollector(connect=lambda *a, **k: pytest.fail("must not connect"),
                         interactive=False).collect(_context(headless))
    assert found
    assert {o.status for o in found} == {ObservationStatus.DENIED}
    assert all((o.error or "").startswith("no secret: ") for o in found)
