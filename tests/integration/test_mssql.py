"""The same probe suite against a real SQL Server (marker `mssql`).

Set AUDITOR_TEST_MSSQL to an ODBC connection string to msdb, for example
`DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql01,1433;DATABASE=msdb;UID=audit;PWD=...;`.
A UID/PWD in it is moved into an environment credential (inventories never hold passwords).
TLS is required unless AUDITOR_TEST_MSSQL_ENCRYPT=false. Skipped, visibly, when unset.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyodbc
import pytest

from auditor.collect.base import CollectContext
from auditor.collect.sql import SqlCollector
from auditor.collect.sql_collector import fetch
from auditor.collect.sql_plan import build_of
from auditor.collect.sql_preflight import MASTER_FILES_SQL
from auditor.connect.credentials import Secret
from auditor.connect.sql import (
    DriverKind,
    build_connection_string,
    connect_failure,
    driver_kind,
    format_value,
    parse_connection_string,
    query_failure,
)
from auditor.evidence import Observation
from auditor.facts.base import Known
from auditor.facts.sql import derive_instance
from auditor.inventory import Inventory, LoadedInventory, SqlInstance, TlsTrust
from auditor.probes.catalogue import load_catalogue

CONNECTION = os.environ.get("AUDITOR_TEST_MSSQL", "")
pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif(not CONNECTION, reason="AUDITOR_TEST_MSSQL is not set: the real SQL "
                       "Server suite needs an ODBC connection string to msdb"),
]
CREDENTIAL_ENV = "AUDITOR_TEST_MSSQL_PASSWORD"


@pytest.fixture(scope="module")
def instance() -> Iterator[SqlInstance]:
    """The server as an inventory instance; the password goes to an environment variable."""
    pairs = parse_connection_string(CONNECTION)
    password = next((v for k, v in pairs if k.upper() == "PWD"), None)
    username = next((v for k, v in pairs if k.upper() == "UID"), None)
    kept = ";".join(f"{k}={format_value(v)}" for k, v in pairs if k.upper() not in ("PWD", "UID"))
    credential = ({"kind": "env", "name": CREDENTIAL_ENV, "username": username}
                  if password is not None else {"kind": "integrated", "username": username})
    with pytest.MonkeyPatch.context() as patch:
        if password is not None:
            patch.setenv(CREDENTIAL_ENV, password)
        yield SqlInstance.model_validate({
            "server_name": "MSSQL\\TEST", "host": "mssql.test", "role": "back_end",
            "connection": kept + ";", "credential": credential,
            "encrypt": os.environ.get("AUDITOR_TEST_MSSQL_ENCRYPT", "true").lower() != "false"})


@pytest.fixture(scope="module")
def observations(instance: SqlInstance) -> list[Observation]:
    inventory = Inventory.model_validate({"estate": {"name": "mssql"},
                                          "sql_instances": [instance.model_dump()]})
    loaded = LoadedInventory(inventory=inventory, path=Path("mssql.yaml"), sha256="0")
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    return SqlCollector().collect(context)


def test_every_probe_runs_and_returns_its_row_shape(observations: list[Observation]) -> None:
    catalogue = {p.name: p for p in load_catalogue().sql}
    assert {o.probe for o in observations} >= {"server_time", "databases", "backup_history",
                                               "database_files", "agent_jobs"}
    for obs in observations:
        assert obs.ok, (obs.probe, obs.status.value, obs.error)
        for row in obs.data:
            assert set(row) == set(catalogue[obs.probe].columns), obs.probe


def test_the_facts_stage_reads_every_probe(instance: SqlInstance,
                                           observations: list[Observation]) -> None:
    facts = derive_instance({o.id: o for o in observations}, instance)
    for name in ("clock", "databases", "backups", "devices", "last_backups", "restores",
                 "jobs", "suspect_pages", "files", "mirroring"):
        assert isinstance(getattr(facts, name), Known), (name, getattr(facts, name))


def test_scalar_subquery_volume_pattern_runs(instance: SqlInstance) -> None:
    """lab-schema.md section 4: the scalar-subquery form, verified here before relying on it."""
    secret = Secret(instance.credential.username if instance.credential else None,
                    os.environ.get(CREDENTIAL_ENV))
    conn = pyodbc.connect(build_connection_string(instance, secret), autocommit=True,
                          timeout=instance.login_timeout_seconds)
    try:
        rows = fetch(conn, "SELECT f.database_id AS database_id, (SELECT v.volume_id "
                     "FROM sys.dm_os_volume_stats(f.database_id, f.file_id) v) AS "
                     "volume_id FROM sys.master_files f", []).dicts()
    finally:
        conn.close()
    assert rows
    assert all(r["volume_id"] for r in rows)


# --- issue 17: what the stand-ins cannot show (each says which item it holds) -----------------

def _connect(instance: SqlInstance, **changes: object) -> Any:
    secret = Secret(instance.credential.username if instance.credential else None,
                    os.environ.get(CREDENTIAL_ENV))
    changed = instance.model_copy(update=changes)
    return pyodbc.connect(build_connection_string(changed, secret), autocommit=True,
                          timeout=instance.login_timeout_seconds)


def _scalar(conn: Any, sql: str) -> Any:
    return fetch(conn, sql, []).rows[0][0]


def test_item2_tls_trust_any_certificate_connects_encrypted(instance: SqlInstance) -> None:
    """Item 2: Encrypt=yes validates the certificate on Driver 17 and 18; tls_trust:
    {any_certificate: true} (TrustServerCertificate=yes) still encrypts."""
    if not instance.encrypt or driver_kind(parse_connection_string(
            instance.connection or "")) is not DriverKind.MICROSOFT:
        pytest.skip("needs a Microsoft driver and encrypt: true")
    trusted = TlsTrust(any_certificate=True)
    conn = _connect(instance, tls_trust=trusted)
    try:
        assert _scalar(conn, "SELECT encrypt_option FROM sys.dm_exec_connections "
                       "WHERE session_id = @@SPID") == "TRUE"
    finally:
        conn.close()


def test_item3_a_refused_connection_is_never_a_firewall_problem(instance: SqlInstance) -> None:
    """Item 3 / issue 16.5: a TLS failure is classified `tls` (with the way out); a connection
    that opens with encrypt: true is encrypted."""
    try:
        conn = _connect(instance)
    except pyodbc.Error as exc:
        failure = connect_failure(exc, [os.environ.get(CREDENTIAL_ENV)])
        said = failure.message.lower()
        assert not any(w in said for w in ("ssl", "tls", "handshake")) or said.startswith("tls: ")
        pytest.fail(f"cannot connect: {failure.status.value}: {failure.message}")
    try:
        encrypted = _scalar(conn, "SELECT encrypt_option FROM sys.dm_exec_connections "
                            "WHERE session_id = @@SPID")
    finally:
        conn.close()
    assert encrypted == "TRUE" or not instance.encrypt


def test_item4_freetds_reads_the_clock_as_datetime(instance: SqlInstance) -> None:
    """Item 4: with the collector's TDS 7.3 SYSDATETIME() is a datetime; at 7.2 it is text."""
    if driver_kind(parse_connection_string(instance.connection or "")) is not DriverKind.FREETDS:
        pytest.skip("FreeTDS only")
    conn = _connect(instance)
    try:
        assert isinstance(_scalar(conn, "SELECT SYSDATETIME()"), dt.datetime)
    finally:
        conn.close()


def test_item5_the_volume_probe_follows_the_build(observations: list[Observation]) -> None:
    """Item 5: before 10.50.2500 (2008 R2 SP1) the volume probe is not run and says why."""
    by = {o.probe: o for o in observations}
    build = build_of(by["server_time"].data[0]["product_version"])
    assert build is not None
    files = by["database_files"]
    if build < (10, 50, 2500):
        assert files.error is not None
        assert "2008 R2 SP1" in files.error
    else:
        assert files.ok, files.error


def test_item6_master_files_rows_follow_the_permission(instance: SqlInstance) -> None:
    """Item 6: without VIEW ANY DEFINITION / CREATE or ALTER ANY DATABASE, sys.master_files
    is silently empty; preflight's HAS_PERMS_BY_NAME query tells the two apart."""
    conn = _connect(instance)
    try:
        held = any(v == 1 for v in fetch(conn, MASTER_FILES_SQL, []).rows[0])
        rows = _scalar(conn, "SELECT COUNT(*) FROM sys.master_files")
    finally:
        conn.close()
    assert (rows > 0) is held


def test_item7_the_collector_opens_msdb_without_database_in_the_string(
        instance: SqlInstance) -> None:
    """Item 7: a string without DATABASE= still lands in msdb (the collector adds it)."""
    pairs = [(k, v) for k, v in parse_connection_string(instance.connection or "")
             if k.upper() != "DATABASE"]
    if any(k.upper() == "DSN" for k, _ in pairs):
        pytest.skip("a DSN names its database in odbc.ini")
    conn = _connect(instance, connection=";".join(f"{k}={format_value(v)}" for k, v in pairs))
    try:
        assert _scalar(conn, "SELECT DB_NAME()") == "msdb"
    finally:
        conn.close()


def test_item8_a_database_without_a_user_is_denied_with_the_fix(instance: SqlInstance) -> None:
    """Item 8: error 916 (no user in the database) is `denied`, naming the user to create."""
    conn = _connect(instance)
    try:
        names = [r[0] for r in fetch(conn, "SELECT name FROM sys.databases WHERE state = 0 "
                                     "AND HAS_DBACCESS(name) = 0", []).rows]
        if not names:
            pytest.skip("the login has a user in every online database")
        with pytest.raises(pyodbc.Error) as refused:
            fetch(conn, f"SELECT COUNT(*) FROM [{names[0]}].sys.objects", [])  # noqa: S608
    finally:
        conn.close()
    failure = query_failure(refused.value, [])
    assert failure.status.value == "denied"
    assert "CREATE USER [login] FOR LOGIN [login]" in failure.message
