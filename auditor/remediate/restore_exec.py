"""Running a restore test on the restore-test instance: RESTORE FILELISTONLY, RESTORE DATABASE
under a new name WITH MOVE per file into the model database's folders (2008 R2 has no
default-path property), DBCC CHECKDB, then DROP unless --keep. The outcome is judged by the
restorehistory row the restore wrote, not by the statements' silence."""

from __future__ import annotations

from typing import Any

from auditor.remediate.catalogue import with_moves
from auditor.remediate.execute import Result, failed, watermark
from auditor.remediate.model import PlannedAction, Statement
from auditor.remediate.record import ActionOutcome, ExecutedStatement, RestoreTest
from auditor.remediate.sqlexec import RemediationSession, SqlActionError

DATA, LOG = 0, 1


def _statement(action: PlannedAction, name: str) -> Statement:
    return next(s for s in action.statements if s.name == name)


def _send(session: RemediationSession, result: Result, stmt: Statement, text: str,
          values: dict[str, str], params: list[str]) -> list[dict[str, Any]]:
    result.statements.append(ExecutedStatement(name=stmt.name, template=text,
                                               parameters=values))
    outcome = session.run(text, params)
    result.messages.extend(outcome.messages)
    return outcome.rows


def _folder(path: str) -> str:
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path[:cut] if cut > 0 else path


class NoRoomError(Exception):
    """The restore-test instance's volumes cannot hold the copy."""


def check_room(files: list[dict[str, Any]], model: list[dict[str, Any]]) -> None:
    """Each volume of the model database's folders has room for the files that go there
    (RESTORE FILELISTONLY's Size), before anything is written."""
    volume = {int(r["type"]): (str(r["volume_mount_point"]), int(r["available_bytes"] or 0))
              for r in sorted(model, key=lambda r: int(r["type"]), reverse=True)}
    if DATA not in volume:
        raise ValueError("the model database lists no data file")
    volume.setdefault(LOG, volume[DATA])
    need: dict[tuple[str, int], int] = {}
    for row in files:
        low = {str(k).lower(): v for k, v in row.items()}
        where = volume[LOG if str(low["type"]).upper() == "L" else DATA]
        need[where] = need.get(where, 0) + int(low.get("size") or 0)
    for (mount, free), size in need.items():
        if size > free:
            raise NoRoomError(f"the copy needs {size:,} bytes on {mount} of the restore-test "
                              f"instance, which has {free:,} free")


def folders(rows: list[dict[str, Any]]) -> dict[int, str]:
    """{0: data folder, 1: log folder} from the model database's files."""
    out: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: int(r["type"])):
        out.setdefault(int(row["type"]), _folder(str(row["physical_name"])))
    if DATA not in out:
        raise ValueError("the model database lists no data file")
    out.setdefault(LOG, out[DATA])
    return out


def moves(files: list[dict[str, Any]], where: dict[int, str], copy: str) -> list[str]:
    """[logical, physical, ...]: each file of the backup into the model database's folder of
    its kind, named after the copy (so nothing of the source's is overwritten)."""
    out: list[str] = []
    for row in files:
        low = {str(k).lower(): v for k, v in row.items()}
        kind, file_id = str(low["type"]).upper(), int(low["fileid"])
        ext = ".ldf" if kind == "L" else ".mdf" if file_id == 1 else ".ndf"
        sep = "/" if "/" in where[DATA] and "\\" not in where[DATA] else "\\"
        folder = where[LOG] if kind == "L" else where[DATA]
        out += [str(low["logicalname"]), f"{folder}{sep}{copy}_{file_id}{ext}"]
    return out


def run_restore(session: RemediationSession, action: PlannedAction, run_id: str, file: str,
                deadline: int, *, keep: bool = False) -> Result:
    """The restore test; the copy is dropped unless `keep` (or CHECKDB failed: kept to look
    at)."""
    result = Result()
    copy = _statement(action, "checkdb").parameters["copy"].replace("{run}", run_id)
    session.set_timeout(deadline)
    since = watermark(session, "restore_watermark", "restore_history_id")
    restored, checked = False, False
    try:
        listed = _statement(action, "restore_filelistonly")
        files = _send(session, result, listed, listed.text, {"file": file}, [file])
        model = session.query("model_files", "model")
        check_room(files, model)
        pairs = moves(files, folders(model), copy)
        restore = _statement(action, "restore_database")
        text = with_moves(restore.text, session.dialect, len(pairs) // 2)
        values = {"copy": copy, "file": file} | {f"move_{i // 2 + 1}_{'to' if i % 2 else 'from'}":
                                                 v for i, v in enumerate(pairs)}
        _send(session, result, restore, text, values, [copy, file, *pairs])
        restored = True
        check = _statement(action, "checkdb")
        _send(session, result, check, check.text, {"copy": copy}, [copy])
        checked = True
    except SqlActionError as exc:
        failed(result, exc)
    except NoRoomError as exc:
        result.outcome, result.reason = ActionOutcome.REFUSED, str(exc)
    except ValueError as exc:
        result.outcome, result.reason = ActionOutcome.FAILED, str(exc)
    dropped = restored and checked and not keep and _drop(session, action, result, copy)
    row = _history(session, copy, since)
    result.restore = RestoreTest(
        copy_name=copy, backup_file=file,
        restore_history_id=int(row["restore_history_id"]) if row else None,
        source_server_name=str(row["source_server_name"]) if row else None,
        source_database_name=str(row["source_database_name"]) if row else None,
        checkdb_passed=checked, dropped=dropped)
    return _judge(result, action, restored and not checked)


def _drop(session: RemediationSession, action: PlannedAction, result: Result,
          copy: str) -> bool:
    drop = _statement(action, "drop_restored")
    try:
        _send(session, result, drop, drop.text, {"copy": copy}, [copy])
    except SqlActionError as exc:
        result.messages.append(f"the copy {copy} could not be dropped: {exc.failure.message}")
        return False
    return True


def _history(session: RemediationSession, copy: str, since: int) -> dict[str, Any] | None:
    try:
        rows = session.query("restore_check", copy, since)
    except SqlActionError:
        return None
    good = [r for r in rows if str(r["restore_type"]) == "D" and bool(r["recovery"])]
    return max(good, key=lambda r: int(r["restore_history_id"])) if good else None


def _judge(result: Result, action: PlannedAction, kept_damaged: bool) -> Result:
    test = result.restore
    if result.outcome is not ActionOutcome.SUCCEEDED or test is None:
        if kept_damaged and test is not None:
            result.reason += f" (the copy {test.copy_name} is kept to look at)"
        return result
    source_ok = (test.source_database_name or "").lower() == action.database.lower() and \
        (test.source_server_name or "").lower() == (action.source_instance or "").lower()
    if test.restore_history_id is None or not source_ok:
        result.outcome = ActionOutcome.FAILED
        result.reason = (f"no restorehistory row (type D, WITH RECOVERY) of {action.database} "
                         f"from {action.source_instance} for {test.copy_name}")
    return result
