"""Running one planned action on an open session: preconditions, statements, artifact."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.checks.storage import DISK_DEVICE, classify_device
from auditor.evidence import ObservationStatus
from auditor.facts.sql_types import BackupDevice
from auditor.findings import Status
from auditor.remediate.model import PlannedAction
from auditor.remediate.record import ActionOutcome, Artifact, ExecutedStatement, RestoreTest
from auditor.remediate.sqlexec import RemediationSession, SqlActionError

ONLINE = 0
SIMPLE = 3
POLL_SECONDS = 1.0
Clock = Callable[[], float]


class RefusedError(Exception):
    """A precondition does not hold; the action does not start."""


@dataclass
class Result:
    """How the action went."""

    outcome: ActionOutcome = ActionOutcome.SUCCEEDED
    reason: str = ""
    statements: list[ExecutedStatement] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    restore: RestoreTest | None = None


_FAILURE_OUTCOME = {ObservationStatus.DENIED: ActionOutcome.DENIED,
                    ObservationStatus.TIMEOUT: ActionOutcome.TIMED_OUT}


def check_destination(action: PlannedAction, own: set[str]) -> None:
    """An ad hoc backup writes only where BR-040 passes a backup: never to a local drive or a
    share on the SQL Server host itself, whatever the plan file says (a person may edit it)."""
    if action.method != "adhoc":
        return
    for stmt in action.statements:
        file = stmt.parameters.get("file")
        if not file:
            continue
        status, text = classify_device(BackupDevice(0, file, DISK_DEVICE, 0), own)
        if status is not Status.PASS:
            raise RefusedError(f"refused destination: {text} (BR-040: a backup must leave the "
                               "SQL Server host)")


def check_preconditions(session: RemediationSession, action: PlannedAction,
                        run_id: str, *, allow_diff_base_reset: bool = False) -> None:
    """Right before the action: the database is ONLINE; a log backup needs FULL or
    BULK_LOGGED recovery and a full backup to follow; no BACKUP of the database is already
    running; a restore test's copy name is free; an ad hoc full of a database with
    differential backups since its last full only with `allow_diff_base_reset`."""
    if action.action == "start_backup_job":
        return
    if action.action == "restore_test":
        copy = action.statements[-1].parameters.get("copy", "")
        if session.query("database_state", copy.replace("{run}", run_id)):
            raise RefusedError(f"a database named {copy} already exists on {action.instance}")
        return
    if int(session.query("backup_running", action.database)[0]["running"] or 0):
        raise RefusedError(f"a BACKUP of {action.database} is already running on "
                           f"{action.instance}: run this again when it has finished")
    rows = session.query("database_state", action.database)
    if not rows:
        raise RefusedError(f"{action.database} does not exist on {action.instance}")
    row = rows[0]
    if int(row["state"]) != ONLINE:
        raise RefusedError(f"{action.database} is {row['state_desc']}, not ONLINE")
    if action.action == "backup_database" and not allow_diff_base_reset:
        _refuse_diff_base_reset(session, action)
    if action.action == "backup_log":
        if int(row["recovery_model"]) == SIMPLE:
            raise RefusedError(f"{action.database} uses the SIMPLE recovery model: no log backup")
        if int(row["chain_fulls"] or 0) == 0:
            raise RefusedError(f"{action.database} was never fully backed up: no log backup")


def _refuse_diff_base_reset(session: RemediationSession, action: PlannedAction) -> None:
    """Asked of the server now: a differential taken since the audit counts too."""
    diffs = int(session.query("differentials_since_full", action.database)[0]["differentials"]
                or 0)
    if diffs:
        raise RefusedError(
            f"{action.database} has {diffs} differential backup(s) since its last full: this "
            "normal full would reset its differential base (the next differential is relative "
            "to it, the admin's differential chain restarts); pass --allow-diff-base-reset")


def watermark(session: RemediationSession, name: str, column: str, *params: object) -> int:
    """The highest id of a history table now, so that what follows is told apart."""
    rows = session.query(name, *params)
    value = rows[0][column] if rows else None
    return int(value) if value is not None else 0


def _artifacts(session: RemediationSession, action: PlannedAction, since: int,
               own: set[str]) -> list[Artifact]:
    out = []
    for row in session.query("new_backups", action.database, since):
        device = str(row["physical_device_name"] or "")
        status, _ = classify_device(BackupDevice(0, device, int(row["device_type"] or 0), 0), own)
        remote = status is Status.PASS
        if action.destination:
            remote = remote and device.lower().startswith(action.destination.lower() + "\\")
        good = bool(row["has_backup_checksums"]) and not bool(row["is_damaged"]) and remote
        out.append(Artifact(backup_set_id=int(row["backup_set_id"]), type=str(row["type"]),
                            physical_device_name=device,
                            has_backup_checksums=bool(row["has_backup_checksums"]),
                            is_damaged=bool(row["is_damaged"]),
                            is_copy_only=bool(row["is_copy_only"]), remote=remote,
                            verified=good))
    return out


def _send(session: RemediationSession, action: PlannedAction, run_id: str,
          result: Result) -> None:
    for stmt in action.statements:
        values = {k: v.replace("{run}", run_id) for k, v in stmt.parameters.items()}
        result.statements.append(ExecutedStatement(name=stmt.name, template=stmt.text,
                                                   parameters=values))
        outcome = session.run(stmt.text, list(values.values()))
        result.messages.extend(outcome.messages)


def run_backup(session: RemediationSession, action: PlannedAction, run_id: str,
               own: set[str], deadline: int) -> Result:
    """BACKUP then RESTORE VERIFYONLY; the artifact is read back from msdb."""
    result = Result()
    since = watermark(session, "backup_watermark", "backup_set_id")
    session.set_timeout(deadline)
    try:
        _send(session, action, run_id, result)
    except SqlActionError as exc:
        return failed(result, exc)
    wanted = "L" if action.action == "backup_log" else "D"
    result.artifacts = [a for a in _artifacts(session, action, since, own) if a.type == wanted]
    return _judge(result, f"no new {wanted} backup set of {action.database} in msdb")


def _start_or_join(session: RemediationSession, action: PlannedAction, run_id: str,
                   result: Result) -> int:
    """Start the job, or join the run already going (never started twice); returns the
    backup watermark the judged run's backups come after."""
    running = session.query("job_running", action.job_name or "")
    if not running:
        since = watermark(session, "backup_watermark", "backup_set_id")
        _send(session, action, run_id, result)
        return since
    started = running[0]["start_execution_date"]
    result.messages.append(f"the job {action.job_name!r} was already running (started "
                           f"{started}): waiting for that run and judging it; it was not "
                           "started again")
    # that run may have backed the database up before apply looked
    return watermark(session, "backup_watermark_before", "backup_set_id", started)


def run_job(session: RemediationSession, action: PlannedAction, run_id: str,
            own: set[str], deadline: int, clock: Clock = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> Result:
    """sp_start_job, then poll the job's outcome and msdb for the new backup until the
    deadline: the outcome is judged, not "the job went idle". A job already running (its
    sysjobactivity row in the Agent's newest session has started and not stopped) is not
    started again: that run's outcome is waited for, and its backups since it started count."""
    result = Result()
    history = watermark(session, "job_watermark", "instance_id")
    session.set_timeout(min(deadline, 60))
    try:
        since = _start_or_join(session, action, run_id, result)
    except SqlActionError as exc:
        return failed(result, exc)
    end = clock() + deadline
    while True:
        rows = session.query("job_outcome", action.job_name or "", history)
        runs = [r for r in rows if int(r["step_id"]) == 0]
        if runs:
            break
        if clock() >= end:
            result.outcome = ActionOutcome.TIMED_OUT
            result.reason = (f"the job {action.job_name!r} did not finish within {deadline} s "
                             "(it may still be running)")
            return result
        sleep(POLL_SECONDS)
    outcome = max(runs, key=lambda r: int(r["instance_id"]))
    steps = sorted((r for r in rows if int(r["step_id"]) != 0), key=lambda r: r["instance_id"])
    result.messages.extend(str(r["message"] or "") for r in [*steps, outcome])
    if int(outcome["run_status"]) != 1:
        step_errors = [str(r["message"]) for r in steps if int(r["run_status"]) == 0]
        result.outcome = ActionOutcome.FAILED
        result.reason = f"the job {action.job_name!r} failed: " + " ".join(
            step_errors or [str(outcome["message"])])
        return result
    result.artifacts = [a for a in _artifacts(session, action, since, own) if a.type == "D"]
    return _judge(result, f"the job succeeded but wrote no new full backup of "
                          f"{action.database}")


def failed(result: Result, exc: SqlActionError) -> Result:
    """The result of a statement that failed, with the server's messages."""
    result.outcome = _FAILURE_OUTCOME.get(exc.failure.status, ActionOutcome.FAILED)
    result.reason = exc.failure.message
    result.messages.extend(exc.messages)
    return result


def _judge(result: Result, missing: str) -> Result:
    if not result.artifacts:
        result.outcome, result.reason = ActionOutcome.FAILED, missing
    elif not any(a.verified for a in result.artifacts):
        result.outcome = ActionOutcome.FAILED
        result.reason = "the new backup set lacks checksums, is damaged, or is not on the " \
                        "remote destination"
    return result


def now_utc() -> dt.datetime:
    """The wall clock, for start and end times of actions."""
    return dt.datetime.now(dt.UTC)
