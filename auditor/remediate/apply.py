"""`remediate apply`: run a reviewed plan, instance by instance, safely.

Instances run in parallel (bounded); one action at a time per instance, in plan order; an
instance's queue stops at its first failure while the others go on. Before each action: a
journal line on disk, then the preconditions re-checked on the server. Full backups only inside
the instance's backup window (server-local clock) unless `outside_window`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from auditor.checks.storage import host_names
from auditor.facts import InstanceFacts
from auditor.inventory import BackupWindow, Inventory, LoadedInventory, SqlInstance
from auditor.killhook import checkpoint
from auditor.remediate.execute import (
    RefusedError,
    Result,
    check_destination,
    check_preconditions,
    now_utc,
    run_backup,
    run_job,
)
from auditor.remediate.export_exec import export_queue, skipped
from auditor.remediate.export_plan import is_powershell
from auditor.remediate.journal import Journal, kill_point
from auditor.remediate.model import Plan, PlannedAction
from auditor.remediate.queues import group_by_instance
from auditor.remediate.record import ActionOutcome, ActionRun
from auditor.remediate.restore_exec import run_restore
from auditor.remediate.sqlexec import RemediationSession, SqlActionError, open_session
from auditor.remediate.window import window_for

DEFAULT_WORKERS = 4
DEFAULT_MAX_AGE = dt.timedelta(hours=24)
RESTORE = "restore_test"


@dataclass(frozen=True)
class ApplyOptions:
    """What the operator chose on the command line."""

    outside_window: bool = False
    timeout_seconds: int | None = None
    max_results_age: dt.timedelta = DEFAULT_MAX_AGE
    workers: int = DEFAULT_WORKERS
    interactive: bool | None = None
    keep: bool = False  # restore tests keep their copy
    allow_diff_base_reset: bool = False  # ad hoc fulls of databases with differentials


@dataclass
class Applier:
    """Runs one plan against the inventory's instances."""

    plan: Plan
    inventory: Inventory
    facts: dict[str, InstanceFacts]
    options: ApplyOptions
    journal: Journal
    run_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    done: dict[str, ActionRun] = field(default_factory=dict)
    room: dict[str, int | None] = field(default_factory=dict)  # share -> free bytes (audit)
    no_room: dict[str, str] = field(default_factory=dict)
    loaded: LoadedInventory | None = None  # for the Lync session of PowerShell actions

    def run(self) -> list[ActionRun]:
        """Every planned action's run, in plan order. Restore tests run after every backup,
        since one may restore the new full another instance's queue takes."""
        sql = [a for a in self.plan.actions if not is_powershell(a)]
        backups = [a for a in sql if a.action != RESTORE]
        self.no_room = room_refusals(backups, self.room)
        self._phase(backups)
        self._phase([a for a in sql if a.action == RESTORE])
        self._powershell([a for a in self.plan.actions if is_powershell(a)])
        return [self.done[a.id] for a in self.plan.actions]

    def _powershell(self, actions: Sequence[PlannedAction]) -> None:
        """The Lync exports: any time (no backup window), on the management server."""
        # the auditor's clock: a Lync session reports none before the export
        stale = self._stale(dt.datetime.now(dt.UTC)) if actions else ""
        if self.loaded is None or stale:
            runs = [skipped(a, ActionOutcome.REFUSED, stale or "no inventory file to reach "
                            "Lync with") for a in actions]
        else:
            runs = export_queue(self.loaded, actions, self.journal, self.run_id,
                                interactive=self.options.interactive,
                                timeout=self.options.timeout_seconds, stopped=self.stop.is_set)
        self.done.update((run.id, run) for run in runs)

    def _phase(self, actions: Sequence[PlannedAction]) -> None:
        queues = group_by_instance(actions)
        if not queues:
            return
        workers = max(1, min(self.options.workers, len(queues)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._queue, queue) for queue in queues.values()]
            try:
                for future in futures:
                    future.result()
            except KeyboardInterrupt:  # Ctrl-C: start nothing new, report what ran
                self.stop.set()
            for future in futures:
                self.done.update((run.id, run) for run in future.result())

    def _instance(self, name: str) -> SqlInstance | None:
        return next((i for i in self.inventory.sql_instances
                     if i.server_name.lower() == name.lower()), None)

    def _queue(self, actions: Sequence[PlannedAction]) -> list[ActionRun]:
        inst = self._instance(actions[0].instance)
        if inst is None:
            return [_skip(a, ActionOutcome.REFUSED, "the instance is no longer in the inventory")
                    for a in actions]
        opened = open_session(inst, actions[0].dialect, interactive=self.options.interactive)
        if not isinstance(opened, RemediationSession):
            return [_skip(a, ActionOutcome.FAILED, f"cannot connect: {opened.message}")
                    for a in actions]
        try:
            return self._run_queue(opened, inst, actions)
        finally:
            opened.close()

    def _run_queue(self, session: RemediationSession, inst: SqlInstance,
                   actions: Sequence[PlannedAction]) -> list[ActionRun]:
        try:
            clock = session.query("server_clock")[0]
        except SqlActionError as exc:
            return [_skip(a, ActionOutcome.FAILED, exc.failure.message) for a in actions]
        stale = self._stale(clock["utc_now"])
        out: list[ActionRun] = []
        stopped = ""
        for action in actions:
            if self.stop.is_set():
                out.append(_skip(action, ActionOutcome.INTERRUPTED, "interrupted (Ctrl-C)"))
                continue
            blocked = stopped or self._blocked(action)
            refusal = blocked or stale or self.no_room.get(action.id) or \
                self._window_refusal(inst, action, clock["local_now"])
            if refusal:
                outcome = ActionOutcome.NOT_RUN if blocked else ActionOutcome.REFUSED
                out.append(_skip(action, outcome, refusal))
                continue
            run = self._one(session, inst, action)
            out.append(run)
            if run.outcome not in (ActionOutcome.SUCCEEDED, ActionOutcome.REFUSED):
                stopped = f"not run: {action.id} ({action.action} {action.database}) " \
                          f"ended {run.outcome.value} first"
        return out

    def _blocked(self, action: PlannedAction) -> str:
        """A restore test of this run's new full waits for that backup to be verified."""
        if action.after is None:
            return ""
        if self._restore_file(action) is None:
            return f"not run: the backup it restores (action {action.after}) did not succeed"
        return ""

    def _restore_file(self, action: PlannedAction) -> str | None:
        if action.after is None:
            return action.statements[0].parameters.get("file", "")
        before = self.done.get(action.after)
        if before is None or before.outcome is not ActionOutcome.SUCCEEDED:
            return None
        return next((a.physical_device_name for a in before.artifacts
                     if a.verified and a.type == "D"), None)

    def _stale(self, server_utc: dt.datetime) -> str:
        age = server_utc.replace(tzinfo=dt.UTC) - self.plan.results_collected_at
        if age > self.options.max_results_age:
            return (f"the results are {age} old on this server's clock (limit "
                    f"{self.options.max_results_age}): audit and plan again")
        return ""

    def _window_refusal(self, inst: SqlInstance, action: PlannedAction,
                        local_now: dt.datetime) -> str:
        if not action.full_backup or self.options.outside_window:
            return ""
        window = window_for(self.inventory, inst)
        if window is None:
            return "no backup window is set for this instance: pass --outside-window"
        if not inside(window, local_now.time()):
            return (f"{local_now:%H:%M} on the server is outside its backup window "
                    f"{window.start}-{window.end}: wait, or pass --outside-window")
        return ""

    def _one(self, session: RemediationSession, inst: SqlInstance,
             action: PlannedAction) -> ActionRun:
        started = now_utc()
        self.journal.write("start", run_id=self.run_id, action=action.id, kind=action.action,
                           instance=action.instance, database=action.database, at=started)
        deadline = self.options.timeout_seconds or action.deadline_seconds
        own = _own_names(self.facts.get(inst.server_name.lower()), inst)
        try:
            check_destination(action, own)
            check_preconditions(session, action, self.run_id,
                                allow_diff_base_reset=self.options.allow_diff_base_reset)
            if action.action == RESTORE:
                result = run_restore(session, action, self.run_id,
                                     self._restore_file(action) or "", deadline,
                                     keep=self.options.keep)
            else:
                runner = run_job if action.action == "start_backup_job" else run_backup
                result = runner(session, action, self.run_id, own, deadline)
        except RefusedError as exc:
            result = Result(ActionOutcome.REFUSED, str(exc))
        except SqlActionError as exc:
            result = Result(ActionOutcome.FAILED, exc.failure.message, messages=exc.messages)
        checkpoint(kill_point("ran", action.action))  # done on the server, no end line yet
        finished = now_utc()
        self.journal.write("end", run_id=self.run_id, action=action.id, kind=action.action,
                           outcome=result.outcome.value, at=finished)
        return ActionRun(id=action.id, action=action.action, instance=action.instance,
                         database=action.database, outcome=result.outcome, reason=result.reason,
                         started_at=started, finished_at=finished, statements=result.statements,
                         messages=result.messages, artifacts=result.artifacts,
                         restore=result.restore)


def room_refusals(actions: Sequence[PlannedAction], room: dict[str, int | None]
                  ) -> dict[str, str]:
    """{action id: reason} for ad hoc backups whose destination had less free space, when the
    audit read it, than the plan's backups to it need (the sizes of their newest backups)."""
    by_share: dict[str, list[PlannedAction]] = {}
    for action in actions:
        if action.destination and action.estimated_bytes:
            by_share.setdefault(action.destination.lower(), []).append(action)
    out: dict[str, str] = {}
    for share, queued in by_share.items():
        need, free = sum(a.estimated_bytes for a in queued), room.get(share)
        if free is not None and need > free:
            out.update((a.id, f"the plan's backups to {queued[0].destination} need about "
                        f"{need:,} bytes; the audit saw {free:,} free there") for a in queued)
    return out


def inside(window: BackupWindow, at: dt.time) -> bool:
    """Whether a time of day is in a window that may wrap midnight (23:00-05:00)."""
    start, end = dt.time.fromisoformat(window.start), dt.time.fromisoformat(window.end)
    if start <= end:
        return start <= at < end
    return at >= start or at < end


def _own_names(inst: InstanceFacts | None, cfg: SqlInstance) -> set[str]:
    if inst is not None:
        return host_names(inst)
    return {cfg.host.lower(), cfg.host.split(".")[0].lower(),
            cfg.server_name.split("\\")[0].lower(), "localhost"}


def _skip(action: PlannedAction, outcome: ActionOutcome, reason: str) -> ActionRun:
    return ActionRun(id=action.id, action=action.action, instance=action.instance,
                     database=action.database, outcome=outcome, reason=reason)
