"""Running the planned Lync actions (export_plan.py, lync_plan.py) in a PowerShell remoting
session on the management server, one after the other.

Each cmdlet is sent with add_cmdlet and every value with add_parameter, plus -ErrorAction Stop:
an error record is a failure, never "OK". The artifact is then read back through the audit's
own config_exports probe (list_exports.ps1 opens each ZIP on the share): the file must be
there, non-empty, and a ZIP holding DocItemSet.xml at its root (a configuration export) or at
least one entry (the others). A sync's artifact is Get-CsBackupServiceStatus read again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditor.collect.lync_plan import Task
from auditor.collect.lync_session import Session
from auditor.collect.share_write_preflight import open_lync
from auditor.connect.winrm_transport import Failure, _FailedError, scrub, transport_failure
from auditor.evidence import ObservationStatus
from auditor.inventory import LoadedInventory
from auditor.killhook import checkpoint
from auditor.remediate.execute import Result, now_utc
from auditor.remediate.journal import Journal, kill_point
from auditor.remediate.lync_exec import (
    SYNC,
    off_catalogue,
    probe,
    shown,
    sync_status,
    values_for,
    written_path,
)
from auditor.remediate.model import PlannedAction
from auditor.remediate.record import ActionOutcome, ActionRun, ExecutedStatement, ExportFile

LISTING_PROBE = "config_exports"
DOC_ITEM_SET = "docitemset.xml"
CONFIG_EXPORT = "export_configuration"
_OUTCOME = {ObservationStatus.DENIED: ActionOutcome.DENIED,
            ObservationStatus.TIMEOUT: ActionOutcome.TIMED_OUT}


def _cmdlet(name: str, values: Mapping[str, str | bytes],
            switches: Sequence[str]) -> Callable[[Any], None]:
    def build(ps: Any) -> None:
        ps.add_cmdlet(name)
        for switch in switches:
            ps.add_parameter(switch, True)
        for key, value in values.items():
            ps.add_parameter(key, value)
        ps.add_parameter("ErrorAction", "Stop")
    return build


def run_export(session: Session, action: PlannedAction, run_id: str,
               deadline: int) -> tuple[Result, ExportFile | None]:
    """The cmdlet(s) in order (a later one may write the bytes an earlier one returned),
    then the artifact: the file read back from the share listing, or for a sync the Backup
    Service status read again."""
    result = Result()
    refused = off_catalogue(action)
    if refused is not None:
        return Result(ActionOutcome.REFUSED, refused), None
    previous: list[Any] = []
    for stmt in action.statements:
        values = values_for(stmt, run_id, previous)
        if isinstance(values, str):
            return _failed(result, Failure(ObservationStatus.ERROR, f"{stmt.name}: {values}")), None
        result.statements.append(ExecutedStatement(name=stmt.name, template=stmt.text,
                                                   parameters=shown(values)))
        answer = _call(session, stmt.name, values, stmt.switches, deadline)
        if isinstance(answer, Failure):
            return _failed(result, answer), None
        previous = answer
    if action.action == SYNC:
        return _synced(session, action, result), None
    path = written_path(result.statements[-1].parameters)
    config = action.action == CONFIG_EXPORT
    found = read_back(session, action.destination or "", path, config=config)
    if not found.verified:
        result.outcome = ActionOutcome.FAILED
        what = "holding DocItemSet.xml" if config else "holding entries"
        result.reason = (f"{path} is not on the share as a non-empty ZIP {what}"
                         if found.found else f"{path} is not on the share")
    return result, found


def _failed(result: Result, failure: Failure) -> Result:
    result.outcome = _OUTCOME.get(failure.status, ActionOutcome.FAILED)
    result.reason = failure.message
    result.messages.append(failure.message)
    return result


def _synced(session: Session, action: PlannedAction, result: Result) -> Result:
    pool = action.statements[0].parameters.get("PoolFqdn", "")
    states, still = sync_status(session, pool)
    result.messages.append(f"Get-CsBackupServiceStatus -PoolFqdn {pool}: "
                           + ("; ".join(states) or "no modules"))
    if still is not None:
        result.outcome, result.reason = ActionOutcome.FAILED, still
    return result


def _call(session: Session, name: str, values: Mapping[str, str | bytes],
          switches: Sequence[str], deadline: int) -> list[Any] | Failure:
    try:
        return session.call(_cmdlet(name, values, switches), name,
                            time.monotonic() + deadline)
    except _FailedError as err:
        return Failure(err.failure.status, scrub(err.failure.message, session.secret))
    except Exception as exc:  # noqa: BLE001 - every failure is reported on the action
        failure = transport_failure(exc, session.where, opening=False)
        return Failure(failure.status, scrub(failure.message, session.secret))


def read_back(session: Session, share: str, path: str, *, config: bool = True) -> ExportFile:
    """The file as the audit's config_exports probe lists it on the share: a configuration
    export must hold DocItemSet.xml, any other export at least one entry (BR-011's test)."""
    rows = session.run(Task(probe(LISTING_PROBE), "deployment", {"Path": share}))
    if isinstance(rows, Failure):
        return ExportFile(path=path, found=False, verified=False)
    row = next((r for r in rows if str(r.get("FullName") or "").lower() == path.lower()), None)
    if row is None:
        return ExportFile(path=path, found=False, verified=False)
    entries = _entries(row.get("Entries"))
    size = row.get("Length")
    length = size if isinstance(size, int) and not isinstance(size, bool) else 0
    is_zip = row.get("IsZip") is True
    has_doc = DOC_ITEM_SET in entries
    content = has_doc if config else bool(entries)
    return ExportFile(path=path, found=True, length=length, is_zip=is_zip,
                      has_doc_item_set=has_doc, entries=len(entries),
                      verified=length > 0 and is_zip and content)


def _entries(value: Any) -> set[str]:
    items: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
    return {str(v).lower() for v in items if v is not None}


def export_queue(loaded: LoadedInventory, actions: Sequence[PlannedAction], journal: Journal,
                 run_id: str, *, interactive: bool | None, timeout: int | None,
                 stopped: Callable[[], bool]) -> list[ActionRun]:
    """The Lync actions one after the other on their management server; the queue stops at
    the first that fails (the rest are not_run; a refusal does not stop it), as an instance's
    queue does."""
    if not actions:
        return []
    opened = open_lync(loaded, actions[0].instance, interactive=interactive)
    if isinstance(opened, str):
        return [skipped(a, ActionOutcome.FAILED, opened) for a in actions]
    out: list[ActionRun] = []
    first: ActionRun | None = None  # the first that failed
    try:
        for action in actions:
            if stopped():
                out.append(skipped(action, ActionOutcome.INTERRUPTED, "interrupted (Ctrl-C)"))
            elif first is not None:
                out.append(skipped(action, ActionOutcome.NOT_RUN, f"not run: {first.id} "
                                   f"({first.action}) ended {first.outcome.value} first"))
            else:
                out.append(_one(opened, action, journal, run_id, timeout))
                if out[-1].outcome not in (ActionOutcome.SUCCEEDED, ActionOutcome.REFUSED):
                    first = out[-1]
    finally:
        opened.close()
    return out


def _one(session: Session, action: PlannedAction, journal: Journal, run_id: str,
         timeout: int | None) -> ActionRun:
    started = now_utc()
    journal.write("start", run_id=run_id, action=action.id, kind=action.action,
                  instance=action.instance, database=action.database, at=started)
    result, export = run_export(session, action, run_id, timeout or action.deadline_seconds)
    checkpoint(kill_point("ran", action.action))  # done on the server, no end line yet
    finished = now_utc()
    journal.write("end", run_id=run_id, action=action.id, kind=action.action,
                  outcome=result.outcome.value, at=finished)
    return ActionRun(id=action.id, action=action.action, instance=action.instance,
                     database=action.database, outcome=result.outcome, reason=result.reason,
                     started_at=started, finished_at=finished, statements=result.statements,
                     messages=result.messages, export=export, fixes=_fixes(action))


def _fixes(action: PlannedAction) -> list[str]:
    return [f"{f.rule_id}|{f.subject}" for f in action.fixes]


def skipped(action: PlannedAction, outcome: ActionOutcome, reason: str) -> ActionRun:
    """An action that did not start."""
    return ActionRun(id=action.id, action=action.action, instance=action.instance,
                     database=action.database, outcome=outcome, reason=reason,
                     fixes=_fixes(action))
