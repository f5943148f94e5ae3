"""The remediation statements against a real SQL Server (marker `mssql`): a scratch database is
created, backed up with the catalogue's T-SQL (BACKUP ... WITH CHECKSUM, RESTORE VERIFYONLY) to
AUDITOR_TEST_MSSQL_BACKUP_DIR (a folder on the SQL host the service account may write), read
back from msdb, and dropped; then restored under a new name (the restore test), CHECKDB'd and
dropped. Needs AUDITOR_TEST_MSSQL (see test_mssql.py) with a login that may
CREATE DATABASE and back it up. Skipped, visibly, when either variable is unset."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from auditor.inventory import SqlInstance
from auditor.remediate.catalogue import Dialect, statement
from auditor.remediate.execute import run_backup
from auditor.remediate.model import PlannedAction, Statement
from auditor.remediate.record import ActionOutcome
from auditor.remediate.restore_exec import run_restore
from auditor.remediate.restore_plan import copy_name, restore_statements
from auditor.remediate.sqlexec import RemediationSession, open_session
from tests.integration.test_mssql import CONNECTION, instance

BACKUP_DIR = os.environ.get("AUDITOR_TEST_MSSQL_BACKUP_DIR", "")
pytestmark = [
    pytest.mark.mssql,
    pytest.mark.skipif(not (CONNECTION and BACKUP_DIR), reason="AUDITOR_TEST_MSSQL and "
                       "AUDITOR_TEST_MSSQL_BACKUP_DIR are needed for the real BACKUP run"),
]
__all__ = ["instance"]  # the fixture, shared


def _action(database: str, file: str) -> PlannedAction:
    values = {"database": database, "file": file}
    return PlannedAction(
        id="mssql", action="backup_database", method="adhoc", instance="MSSQL\\TEST",
        database=database, subject=f"database:MSSQL\\TEST/{database}", dialect=Dialect.TSQL,
        fixes=[], statements=[
            Statement(name="backup_database", text=statement("backup_database", Dialect.TSQL),
                      parameters=values),
            Statement(name="verify_backup", text=statement("verify_backup", Dialect.TSQL),
                      parameters={"file": file})],
        destination=None, full_backup=True, estimated_seconds=10, deadline_seconds=300,
        impact="test", risk="test")


def test_backup_and_verifyonly_run_with_every_value_bound(instance: SqlInstance) -> None:
    session = open_session(instance, Dialect.TSQL)
    assert isinstance(session, RemediationSession), session
    name = f"auditor_rem_{uuid.uuid4().hex[:8]}"
    try:
        session.run("DECLARE @n sysname = ?; DECLARE @sql nvarchar(400) = N'CREATE DATABASE ' + "
                    "QUOTENAME(@n); EXEC (@sql);", [name])
        file = BACKUP_DIR.rstrip("\\/") + f"\\{name}_{{run}}.bak"
        result = run_backup(session, _action(name, file), "1", set(), 300)
        assert result.artifacts, result.reason
        artifact = result.artifacts[0]
        assert artifact.has_backup_checksums
        assert not artifact.is_damaged
        assert not artifact.is_copy_only
        assert any("is valid" in m for m in result.messages), result.messages
        # a folder on the SQL host is not remote: then the action says so rather than succeed
        assert (result.outcome is ActionOutcome.SUCCEEDED) is artifact.remote
        # apply's read-only guards, in T-SQL: a new full has no differential after it, no
        # such job runs, and the watermark before a time is taken from msdb
        assert int(session.query("differentials_since_full", name)[0]["differentials"]) == 0
        assert session.query("job_running", f"auditor no such job {name}") == []
        assert int(session.query("backup_watermark_before", dt.datetime(2100, 1, 1))[0][
            "backup_set_id"]) >= artifact.backup_set_id
    finally:
        session.run("DECLARE @n sysname = ?; DECLARE @sql nvarchar(400) = N'DROP DATABASE ' + "
                    "QUOTENAME(@n); IF DB_ID(@n) IS NOT NULL EXEC (@sql);", [name])
        session.close()


def test_restore_test_statements_restore_checkdb_and_drop_a_copy(instance: SqlInstance) -> None:
    """The restore test's T-SQL on a real server: a scratch database backed up, restored under
    a new name WITH MOVE per file into model's folders, CHECKDB, dropped; restorehistory read."""
    session = open_session(instance, Dialect.TSQL)
    assert isinstance(session, RemediationSession), session
    name = f"auditor_rt_{uuid.uuid4().hex[:8]}"
    file = BACKUP_DIR.rstrip("\\/") + f"\\{name}_1.bak"
    try:
        session.run("DECLARE @n sysname = ?; DECLARE @sql nvarchar(400) = N'CREATE DATABASE ' + "
                    "QUOTENAME(@n); EXEC (@sql);", [name])
        run_backup(session, _action(name, file), "1", set(), 300)
        statements = restore_statements(Dialect.TSQL, copy_name(name), file)
        action = _action(name, file).model_copy(update={
            "action": "restore_test", "method": "restore_test", "statements": statements,
            "source_instance": instance.server_name})
        result = run_restore(session, action, "1", file, 300)
        assert result.restore is not None, result.reason
        assert result.restore.restore_history_id is not None, result.reason
        assert result.restore.checkdb_passed, result.reason
        assert result.restore.dropped, result.reason
    finally:
        session.run("DECLARE @n sysname = ?; DECLARE @sql nvarchar(400) = N'DROP DATABASE ' + "
                    "QUOTENAME(@n); IF DB_ID(@n) IS NOT NULL EXEC (@sql);", [name])
        session.close()
