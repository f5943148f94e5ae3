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

import pyodbc
import pytest

from auditor.collect.base import CollectContext
from auditor.collect.sql import SqlCollector
from auditor.collect.sql_collector import fetch
from auditor.connect.credentials import Secret
from auditor.connect.sql import (
    build_connection_string,
    format_value,
    parse_connection_string,
)
from auditor.evidence import Observation
from auditor.facts.base import Known
from auditor.facts.sql import derive_instance
from auditor.inventory import Inventory, LoadedInventory, SqlInstance
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
