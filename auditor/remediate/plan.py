"""results.json + bundle + inventory -> plan.json: one entry per action, and a checklist.

Pure: the same inputs give the same plan, byte for byte. Waived findings are never acted on;
`error` findings (state unknown) are listed to assess first; a finding no implemented action
fits becomes a manual item with the role, the concrete step and the evidence that closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor import __version__
from auditor.evidence import EvidenceBundle
from auditor.facts import InstanceFacts, derive_facts
from auditor.facts.sql_types import Backup
from auditor.findings import Finding, Status, SubjectType
from auditor.inventory import LoadedInventory, SqlInstance
from auditor.remediate.catalogue import Action, Catalogue, RuleRemediation, statement
from auditor.remediate.export_plan import export_action
from auditor.remediate.lync_plan import LYNC_RULES, file_stores, lync_actions, merge
from auditor.remediate.model import FindingRef, ManualItem, Plan, PlannedAction, Statement
from auditor.remediate.notes import action_notes, unactionable
from auditor.remediate.queues import ordered
from auditor.remediate.restore_plan import (
    AFTER_MARK,
    copy_name,
    newest_verified_full,
    restore_statements,
    restore_target,
)
from auditor.remediate.selection import Selection, action_id, ref
from auditor.remediate.targets import (
    backup_file,
    by_database,
    covering_job,
    destination_for,
    dialect_of,
    differentials_since_full,
    durations,
    estimate,
    newest_size,
    supports_compression,
)
from auditor.results import Results

__all__ = ["Planner", "Selection", "action_id"]

BACKUP_TYPE = {"backup_database": "D", "backup_log": "L"}
RESTORE_RULES = frozenset({"BR-060"})
FULL_ACTIONS = ("start_backup_job", "backup_database")
EXPORT = "export_configuration"


@dataclass
class _Draft:
    """An action being assembled from the findings it fixes."""

    action: Action
    inst: InstanceFacts
    database: str
    method: str
    job: str | None = None
    target: SqlInstance | None = None  # restore_test: the restore-test instance
    after: _Draft | None = None  # restore_test: this plan's backup of the database
    file: str = ""  # restore_test: the recorded full it restores (when no `after`)
    fixes: list[FindingRef] = field(default_factory=list)
    contributes: list[FindingRef] = field(default_factory=list)


@dataclass(frozen=True)
class _Choice:
    """An action for a finding, or why there is none."""

    draft: _Draft | None
    reason: str


class Planner:
    """Builds a plan from one audit's results."""

    def __init__(self, results: Results, bundle: EvidenceBundle, loaded: LoadedInventory,
                 catalogue: Catalogue, *, adhoc: bool = False) -> None:
        self.results = results
        self.loaded = loaded
        self.catalogue = catalogue
        self.adhoc = adhoc
        facts = derive_facts(bundle, loaded.inventory, results.now)
        self.lync = facts.lync
        self.file_stores = file_stores(bundle)
        self.instances = {i.instance.server_name.lower(): i for i in facts.instances}
        self._actions = {a.name: a for a in catalogue.actions}
        self._destinations: dict[str, str | None] = {}
        self._reasons: dict[str, str] = {}
        self._durations: dict[str, dict[tuple[str, str], list[int]]] = {}
        self._by_database: dict[str, dict[str, list[Backup]]] = {}
        self._drafts: dict[tuple[str, str, str, str], _Draft] = {}
        self._exports: list[PlannedAction] = []

    def _past(self, inst: InstanceFacts, database: str, kind: str) -> list[int]:
        key = inst.instance.server_name.lower()
        if key not in self._durations:
            self._durations[key] = durations(inst)
        return self._durations[key].get((database.lower(), kind), [])

    def _backups(self, inst: InstanceFacts, database: str) -> list[Backup]:
        key = inst.instance.server_name.lower()
        if key not in self._by_database:
            self._by_database[key] = by_database(inst)
        return self._by_database[key].get(database.lower(), [])

    def _destination(self, inst: InstanceFacts) -> tuple[str | None, str]:
        """The instance's ad hoc destination (or None) and why, worked out once."""
        key = inst.instance.server_name.lower()
        if key not in self._destinations:
            dest = destination_for(self.loaded.inventory, inst)
            self._destinations[key], self._reasons[key] = dest.path, dest.reason
        return self._destinations[key], self._reasons[key]

    def plan(self, selection: Selection, results_sha256: str) -> Plan:
        """The plan for the selected findings."""
        chosen = [f for f in self.results.findings if selection.wants(f)]
        drafts: dict[tuple[str, str, str, str], _Draft] = {}
        self._drafts = drafts
        self._exports = []
        manual: list[ManualItem] = []
        # restore tests last: one may restore the new full a backup action of this plan takes
        for finding in sorted(chosen, key=lambda f: f.rule_id in RESTORE_RULES):
            if finding.status not in (Status.FAIL, Status.WARN):
                continue
            self._place(finding, drafts, manual)
        return Plan(
            tool_version=__version__, estate=self.results.estate, results_sha256=results_sha256,
            results_now=self.results.now, results_collected_at=self.results.collected_at,
            bundle_sha256=self.results.bundle_sha256,
            inventory_sha256=self.loaded.sha256, results_score=self.results.overall.score,
            selection={"rules": list(selection.rules), "subjects": list(selection.subjects),
                       "severities": list(selection.severities)},
            actions=[*ordered(self._finish(d) for d in drafts.values()), *self._exports],
            assess_first=[ref(f) for f in chosen if f.status is Status.ERROR],
            manual=manual, waived=[ref(f) for f in chosen if f.status is Status.WAIVED])

    def _place(self, finding: Finding, drafts: dict[tuple[str, str, str, str], _Draft],
               manual: list[ManualItem]) -> None:
        entry = self.catalogue.rules.get(finding.rule_id)
        if entry is None:
            return
        if finding.rule_id in LYNC_RULES:
            lync = lync_actions(self.loaded.inventory, self.catalogue, finding, self.lync,
                                self.file_stores)
            merge(self._exports, lync.actions)
            if lync.manual is not None:
                manual.append(self._manual(finding, entry, lync.manual, lync.step))
            return
        if EXPORT in entry.actions and finding.subject.type is SubjectType.SHARE:
            made = export_action(self.loaded.inventory, self._actions[EXPORT], finding)
            if isinstance(made, str):
                manual.append(self._manual(finding, entry, made))
            else:
                self._exports.append(made)
            return
        choice = self._choose(finding, entry)
        if choice.draft is None:
            manual.append(self._manual(finding, entry, choice.reason))
            return
        key = (choice.draft.action.name, choice.draft.inst.instance.server_name,
               choice.draft.database.lower(), choice.draft.job or "")
        draft = drafts.setdefault(key, choice.draft)
        (draft.fixes if entry.one_run else draft.contributes).append(ref(finding))
        if not entry.one_run:
            manual.append(self._manual(finding, entry, "one run cannot fix it: it needs the "
                                       "schedule to hold over days"))

    def _choose(self, finding: Finding, entry: RuleRemediation) -> _Choice:
        if not entry.actions:
            return _Choice(None, "no automated action exists for this rule")
        subject = finding.subject
        inst = self.instances.get((subject.instance or "").lower())
        if subject.type is not SubjectType.DATABASE or inst is None:
            return self._unimplemented(entry)
        if not inst.instance.connection:
            return _Choice(None, f"{inst.instance.server_name} has no connection string")
        state = unactionable(inst, subject.name)
        if state is not None:
            return _Choice(None, state)
        kind = "L" if "backup_log" in entry.actions else "D"
        for name in entry.actions:
            choice = self._try(self._actions[name], inst, subject.name, kind)
            if choice is not None:
                return choice
        return self._unimplemented(entry)

    def _try(self, action: Action, inst: InstanceFacts, database: str,
             kind: str) -> _Choice | None:
        if not action.implemented:
            return None
        if action.name == "restore_test":
            return self._restore(action, inst, database)
        if action.name == "start_backup_job":
            job = None if self.adhoc else covering_job(inst, database, kind)
            return _Choice(_Draft(action, inst, database, "agent_job", job.name), "") if job \
                else None
        path, reason = self._destination(inst)
        if path is None:
            return _Choice(None, reason)
        return _Choice(_Draft(action, inst, database, "adhoc"), reason)

    def _restore(self, action: Action, inst: InstanceFacts, database: str) -> _Choice:
        target = restore_target(self.loaded.inventory, inst.instance)
        if target is None:
            return _Choice(None, "the inventory has no restore-test instance (role "
                                 "restore_test) with a connection string")
        draft = _Draft(action, inst, database, "restore_test", target=target)
        draft.after = next((d for d in self._drafts.values() if d.action.name in FULL_ACTIONS
                            and d.inst is inst and d.database.lower() == database.lower()),
                           None)
        if draft.after is None:
            found = newest_verified_full(inst, database)
            if found is None:
                return _Choice(None, f"no full backup of {database} with checksums on a share "
                                     "to restore: back it up first (BR-001)")
            draft.file = found.device
        return _Choice(draft, "")

    def _unimplemented(self, entry: RuleRemediation) -> _Choice:
        names = [a for a in entry.actions if not self._actions[a].implemented]
        if names:
            return _Choice(None, f"automated action {', '.join(names)} is not implemented yet")
        return _Choice(None, "no automated action fits this subject")

    def _manual(self, finding: Finding, entry: RuleRemediation, reason: str,
                step: str | None = None) -> ManualItem:
        subject = finding.subject
        names = _Names(name=subject.name, instance=subject.instance or subject.name,
                       host=subject.host or "", pool=subject.pool or "", site=subject.site or "")
        return ManualItem(finding=ref(finding), role=entry.manual.role,
                          step=step or entry.manual.step.format_map(names),
                          evidence=entry.manual.evidence, reason=reason)

    def _finish(self, draft: _Draft) -> PlannedAction:
        if draft.target is not None:
            return self._finish_restore(draft, draft.target)
        inst, action = draft.inst, draft.action
        dialect = dialect_of(inst.instance)
        kind = BACKUP_TYPE.get(action.name, "D")
        estimated, deadline = estimate(self._past(inst, draft.database, kind), kind)
        dest = self._destination(inst)[0] if draft.method == "adhoc" else None
        values = {"database": draft.database, "job_name": draft.job or "",
                  "file": backup_file(dest, inst.instance, draft.database, kind) if dest else ""}
        compress = supports_compression(inst)
        statements = [Statement(name=name, text=statement(name, dialect),
                                parameters={p: values[p] for p in step.parameters})
                      for step in action.steps
                      for name in [step.compressed if compress and step.compressed
                                   else step.statement]]
        first = _first(draft)
        diffs = differentials_since_full(self._backups(inst, draft.database)) \
            if action.name == "backup_database" else 0
        return PlannedAction(
            id=_draft_id(draft), action=action.name,
            method="agent_job" if draft.job else "adhoc", instance=inst.instance.server_name,
            database=draft.database, subject=first.subject, dialect=dialect,
            fixes=draft.fixes, contributes=draft.contributes, statements=statements,
            destination=dest, job_name=draft.job, full_backup=kind == "D",
            estimated_seconds=estimated, deadline_seconds=deadline,
            estimated_bytes=newest_size(self._backups(inst, draft.database), kind)
            if dest else 0,
            resets_differential_base=diffs > 0, impact=action.impact,
            risk=action.risk, notes=action_notes(action.name, draft.database, draft.job, diffs))


    def _finish_restore(self, draft: _Draft, target: SqlInstance) -> PlannedAction:
        dialect = dialect_of(target)
        estimated, deadline = estimate(self._past(draft.inst, draft.database, "D"), "D")
        after = _draft_id(draft.after) if draft.after else None
        first = _first(draft)
        source = draft.inst.instance.server_name
        return PlannedAction(
            id=_draft_id(draft), action=draft.action.name, method="restore_test",
            instance=target.server_name, database=draft.database, subject=first.subject,
            dialect=dialect, fixes=draft.fixes, contributes=draft.contributes,
            statements=restore_statements(dialect, copy_name(draft.database),
                                          AFTER_MARK if after else draft.file),
            source_instance=source, after=after, full_backup=True,
            estimated_seconds=2 * estimated, deadline_seconds=2 * deadline,
            impact=draft.action.impact, risk=draft.action.risk,
            notes=[f"restores {draft.database} of {source} on {target.server_name} from "
                   + (f"the new full of action {after}" if after else draft.file)
                   + "; DBCC CHECKDB; the copy is dropped unless --keep"])


def _first(draft: _Draft) -> FindingRef:
    return sorted(draft.fixes or draft.contributes, key=lambda r: r.rule_id)[0]


def _draft_id(draft: _Draft) -> str:
    first = _first(draft)
    return action_id(first.rule_id, first.subject, draft.action.name)


class _Names(dict[str, str]):
    """Placeholders of a manual step; an unknown one stays as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
