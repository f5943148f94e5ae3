"""`auditor preflight --remediation`: the permissions `remediate apply` needs, per SQL instance,
checked with the instance's remediation credential (its audit credential when absent)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyodbc

from auditor.collect.base import PreflightCheck
from auditor.collect.share_write_preflight import share_write_check
from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.connect.sql import (
    ConnectionStringError,
    Failure,
    build_connection_string,
    connect_failure,
    query_failure,
)
from auditor.inventory import InstanceRole, LoadedInventory, SqlInstance
from auditor.stores import store_kind

Connect = Callable[..., Any]

# Fixed texts; every name is a bound parameter. The lab answers the same text through the
# stand-ins HAS_PERMS_BY_NAME / IS_ROLEMEMBER / IS_SRVROLEMEMBER in auditor/lab/standins.sql.
SERVER_ROLE = "SELECT IS_SRVROLEMEMBER(?) AS member"
DATABASE_ROLE = "SELECT IS_ROLEMEMBER(?) AS member"
DATABASE_PERMISSION = "SELECT HAS_PERMS_BY_NAME(?, 'DATABASE', ?) AS granted"
SERVER_PERMISSION = "SELECT HAS_PERMS_BY_NAME(NULL, NULL, ?) AS granted"

CHECK_BACKUP = "remediation: BACKUP"
CHECK_AGENT = "remediation: sp_start_job"
CHECK_VERIFY = "remediation: RESTORE VERIFYONLY"
CHECK_RESTORE = "remediation: restore test"
CHECK_LYNC = "remediation: Export-Cs* (advisory)"

FIX_BACKUP = "USE [{db}]; CREATE USER [{login}] FOR LOGIN [{login}]; " \
             "EXEC sp_addrolemember N'db_backupoperator', N'{login}';"
FIX_AGENT = "USE msdb; CREATE USER [{login}] FOR LOGIN [{login}]; " \
            "EXEC sp_addrolemember N'SQLAgentOperatorRole', N'{login}'; " \
            "(or make it the job's owner)"
FIX_VERIFY = "USE master; CREATE USER [{login}] FOR LOGIN [{login}]; " \
             "GRANT CREATE DATABASE TO [{login}];"
FIX_RESTORE = "EXEC sp_addsrvrolemember N'{login}', N'dbcreator';"
LYNC_ADVICE = (
    "the Export-CsConfiguration/-CsLisConfiguration/-CsRgsConfiguration/-CsUserData and "
    "Invoke-CsBackupServiceSync cmdlets run in a remote PowerShell session, where Lync RBAC "
    "roles (CsAdministrator ...) do not apply: the remediation account must be in "
    "RTCUniversalServerAdmins (and may write to the export share)")
LYNC_FIX = "Add-ADGroupMember -Identity RTCUniversalServerAdmins -Members <remediation account>"


def preflight_remediation(loaded: LoadedInventory, *, interactive: bool | None = None,
                          connect: Connect = pyodbc.connect) -> list[PreflightCheck]:
    """Per instance, each permission remediation needs (pass/fail with the fix); then the
    Lync side as an advisory line (not checkable from here)."""
    inv = loaded.inventory
    checks: list[PreflightCheck] = []
    for inst in inv.sql_instances:
        checks.extend(_instance_checks(inst, interactive, connect))
    if inv.servers or inv.pools or inv.lync is not None:
        checks.append(PreflightCheck("Lync", CHECK_LYNC, True, LYNC_ADVICE, fix=LYNC_FIX,
                                     advisory=True))
    written = share_write_check(loaded, interactive=interactive)
    return checks if written is None else [*checks, written]


def lync_databases(inst: SqlInstance) -> list[str]:
    """The instance's Lync databases, a store kind expanded to its databases."""
    names: list[str] = []
    for store in inst.stores:
        kind = store_kind(store)
        names.extend(kind.databases if kind is not None else (store,))
    return list(dict.fromkeys(names))


def _instance_checks(inst: SqlInstance, interactive: bool | None,
                     connect: Connect) -> list[PreflightCheck]:
    where = inst.server_name
    if not inst.connection:
        return [PreflightCheck(where, "remediation: login", False, "no connection string",
                               fix="add connection: to the instance")]
    credential = inst.remediation_credential or inst.credential
    which = "remediation_credential" if inst.remediation_credential else "credential"
    try:
        secret = resolve(credential, where, interactive=interactive)
        conn_str = build_connection_string(inst, secret)
    except (SecretUnavailableError, ConnectionStringError) as exc:
        return [PreflightCheck(where, "remediation: login", False, f"{which}: {exc}",
                               fix="set remediation_credential: on the instance")]
    try:
        conn = connect(conn_str, timeout=inst.login_timeout_seconds, autocommit=True)
    except Exception as exc:  # noqa: BLE001 - the driver's errors become a failed check
        failure = connect_failure(exc, [secret.password])
        return [PreflightCheck(where, "remediation: login", False,
                               f"{which}: {failure.status.value}: {failure.message}",
                               fix="check the remediation login and its password source")]
    login = secret.username or "<login>"
    try:
        return _permission_checks(_Asker(conn, [secret.password]), inst, login, which)
    finally:
        conn.close()


class _Asker:
    """One scalar per bound query; a driver error is the reason, never an exception."""

    def __init__(self, conn: Any, secrets: Sequence[str | None]) -> None:
        self.conn = conn
        self.secrets = secrets

    def ask(self, text: str, *params: str) -> int | Failure | None:
        try:
            row = self.conn.cursor().execute(text, *params).fetchone()
        except pyodbc.Error as exc:
            return query_failure(exc, self.secrets)
        return None if row is None or row[0] is None else int(row[0])


def _verdict(where: str, check: str, answer: int | Failure | None, granted: str,
             missing: str, fix: str) -> PreflightCheck:
    if isinstance(answer, Failure):
        return PreflightCheck(where, check, False, f"could not check: {answer.status.value}: "
                              f"{answer.message}", fix=fix)
    if answer == 1:
        return PreflightCheck(where, check, True, granted)
    if answer is None:  # SQL Server's answer for an unknown database, role or permission
        missing = "the server answered NULL: no such database or role on this instance"
    return PreflightCheck(where, check, False, missing, fix=fix)


def _either(*answers: int | Failure | None) -> int | Failure | None:
    """1 when any answer grants it; else the first failure; else 0 when one said no; else
    None (every answer NULL)."""
    if any(a == 1 for a in answers):
        return 1
    failure = next((a for a in answers if isinstance(a, Failure)), None)
    if failure is not None:
        return failure
    return 0 if any(a == 0 for a in answers) else None


def _permission_checks(asker: _Asker, inst: SqlInstance, login: str,
                       which: str) -> list[PreflightCheck]:
    where = inst.server_name
    sysadmin = asker.ask(SERVER_ROLE, "sysadmin")
    checks = [PreflightCheck(where, "remediation: login", True, f"logged in with the {which} "
                             f"({login})")]
    checks.extend(_backup_checks(asker, inst, login, sysadmin))
    agent = _either(sysadmin, asker.ask(DATABASE_ROLE, "SQLAgentOperatorRole"))
    checks.append(_verdict(where, CHECK_AGENT, agent, "SQLAgentOperatorRole (or sysadmin) in "
                           "msdb", "not in SQLAgentOperatorRole in msdb (nor sysadmin): it may "
                           "start only jobs it owns", FIX_AGENT.format(login=login)))
    verify = _either(sysadmin, asker.ask(SERVER_PERMISSION, "CREATE ANY DATABASE"),
                     asker.ask(DATABASE_PERMISSION, "master", "CREATE DATABASE"))
    checks.append(_verdict(where, CHECK_VERIFY, verify, "CREATE DATABASE granted",
                           "no CREATE DATABASE: RESTORE VERIFYONLY is refused",
                           FIX_VERIFY.format(login=login)))
    if inst.role is InstanceRole.RESTORE_TEST:
        restore = _either(sysadmin, asker.ask(SERVER_ROLE, "dbcreator"))
        checks.append(_verdict(where, CHECK_RESTORE, restore, "dbcreator (or sysadmin)",
                               "not in dbcreator: RESTORE of a new database, DBCC CHECKDB and "
                               "DROP of the copy are refused", FIX_RESTORE.format(login=login)))
    return checks


def _backup_checks(asker: _Asker, inst: SqlInstance, login: str,
                   sysadmin: int | Failure | None) -> list[PreflightCheck]:
    where = inst.server_name
    databases = lync_databases(inst)
    if not databases:
        return [PreflightCheck(where, CHECK_BACKUP, False, "the inventory names no Lync "
                               "databases on this instance, so none could be checked",
                               fix="list the instance's databases under stores:")]
    checks = []
    for db in databases:
        on_db = _both(asker.ask(DATABASE_PERMISSION, db, "BACKUP DATABASE"),
                      asker.ask(DATABASE_PERMISSION, db, "BACKUP LOG"))
        # no such database: say so, even to a sysadmin
        answer = on_db if on_db is None else _either(sysadmin, on_db)
        checks.append(_verdict(where, f"{CHECK_BACKUP} {db}", answer,
                               "db_backupoperator (BACKUP DATABASE and BACKUP LOG) or sysadmin",
                               "no BACKUP DATABASE / BACKUP LOG (db_backupoperator) on it",
                               FIX_BACKUP.format(db=db, login=login)))
    return checks


def _both(first: int | Failure | None, second: int | Failure | None) -> int | Failure | None:
    """1 only when both grant; a failure wins over a plain no."""
    for answer in (first, second):
        if isinstance(answer, Failure):
            return answer
    if first is None or second is None:
        return None
    return 1 if first == 1 and second == 1 else 0

