"""Verify, independently: re-collect only the instances the run touched (through the SQL
collector the audit uses), re-evaluate (through the same engine) at the servers' own time, and
judge each finding the plan meant to fix. Nothing is fixed on an action's word alone, and a
finding outside the re-collected scope is never marked resolved."""

from __future__ import annotations

import datetime as dt

from auditor.collect.base import CollectContext
from auditor.collect.lync_collector import LyncCollector
from auditor.collect.sql import SqlCollector
from auditor.evidence import EvidenceBundle, Observation
from auditor.findings import Finding, Status
from auditor.inventory import LoadedInventory
from auditor.pipeline import Toolkit
from auditor.probes.catalogue import load_catalogue
from auditor.remediate.model import FindingRef, Plan, PlannedAction
from auditor.remediate.record import (
    ActionOutcome,
    ActionRun,
    FindingCheck,
    FindingVerdict,
    Verification,
)
from auditor.results import Results

RECOLLECTED = "recollected"


EXPORT_PROBE = "config_exports"
SYNC_PROBES = ("backup_service_status", "pool_backup_relationship")
SYNC = "backup_service_sync"
POWERSHELL_ACTIONS = frozenset({"export_configuration", "export_lis", "export_rgs",
                                "export_user_data", SYNC})


def touched(runs: list[ActionRun]) -> list[str]:
    """SQL instances where at least one action started."""
    return sorted({r.instance for r in runs if r.started_at is not None
                   and r.action not in POWERSHELL_ACTIONS}, key=str.lower)


def exporters(runs: list[ActionRun]) -> list[str]:
    """Management servers where an export started."""
    return sorted({r.instance for r in runs if r.started_at is not None
                   and r.action in POWERSHELL_ACTIONS}, key=str.lower)


def lync_probes(runs: list[ActionRun]) -> set[str]:
    """What the started PowerShell actions changed: the share listing (exports), the Backup
    Service status and pairing (syncs)."""
    started = {r.action for r in runs if r.started_at is not None}
    probes = {EXPORT_PROBE} if started & (POWERSHELL_ACTIONS - {SYNC}) else set()
    return probes | (set(SYNC_PROBES) if SYNC in started else set())


def recollect_exports(loaded: LoadedInventory, interactive: bool | None = False,
                      probes: frozenset[str] = frozenset({EXPORT_PROBE})) -> list[Observation]:
    """The export share listing (and, after a sync, the pools' Backup Service status) again,
    those probes and nothing else, through the Lync collector the audit uses."""
    catalogue = load_catalogue()
    scoped_catalogue = catalogue.model_copy(update={"powershell": [
        p for p in catalogue.powershell if p.name in probes]})
    scoped = loaded.model_copy(update={"inventory": loaded.inventory.model_copy(
        update={"servers": []})})
    context = CollectContext(inventory=scoped, started_at=dt.datetime.now(dt.UTC))
    return LyncCollector(catalogue=scoped_catalogue, interactive=interactive).collect(context)


def recollect(loaded: LoadedInventory, instances: list[str], *,
              collector: SqlCollector | None = None) -> list[Observation]:
    """Every SQL probe again, on these instances only."""
    wanted = {name.lower() for name in instances}
    scoped = loaded.inventory.model_copy(update={"sql_instances": [
        i for i in loaded.inventory.sql_instances if i.server_name.lower() in wanted]})
    context = CollectContext(inventory=loaded.model_copy(update={"inventory": scoped}),
                             started_at=dt.datetime.now(dt.UTC))
    return (collector or SqlCollector()).collect(context)


def server_time(observations: list[Observation]) -> dt.datetime:
    """The latest UTC clock the re-collected servers reported (the lab's clocks are stopped);
    the collector's clock when none answered."""
    times = [dt.datetime.fromisoformat(str(o.data[0]["utc_now"])).replace(tzinfo=dt.UTC)
             for o in observations if o.probe == "server_time" and o.ok and o.data]
    return max(times) if times else dt.datetime.now(dt.UTC)


def _answered(observations: list[Observation]) -> set[str]:
    return {o.target.lower() for o in observations if o.probe == "server_time" and o.ok}


def verify(toolkit: Toolkit, loaded: LoadedInventory, plan: Plan, bundle: EvidenceBundle,
           runs: list[ActionRun], *,
           collector: SqlCollector | None = None) -> tuple[Verification, Results | None]:
    """The verification record, and the re-evaluated results (None when nothing ran)."""
    instances = touched(runs)
    fresh = recollect(loaded, instances, collector=collector) if instances else []
    at = server_time(fresh)
    answered = _answered(fresh)
    hosts = exporters(runs)
    if hosts:
        probes = frozenset(lync_probes(runs))
        listing = recollect_exports(loaded, probes=probes)
        fresh += listing
        if any(o.probe in probes and o.ok for o in listing):
            answered |= {h.lower() for h in hosts}
    after: Results | None = None
    if fresh:
        merged = {o.id: o for o in bundle.observations} | {o.id: o for o in fresh}
        new_bundle = bundle.model_copy(update={
            "observations": sorted(merged.values(), key=lambda o: o.id), "collected_at": at})
        waivers = toolkit.load_waivers(loaded, None)
        after = toolkit.evaluate(new_bundle, RECOLLECTED, loaded, waivers, at)
    checks = _judge(plan, after, answered, {r.id: r for r in runs})
    return Verification(evaluated_at=at, instances=[*instances, *hosts], findings=checks,
                        score_before=plan.results_score,
                        score_after=after.overall.score if after else None), after


def _judge(plan: Plan, after: Results | None, answered: set[str],
           runs: dict[str, ActionRun]) -> list[FindingCheck]:
    """One check per finding the plan meant to fix, over every action that fixes it (BR-011's
    exports, both sides of a DR-001 pairing)."""
    now = {(f.rule_id, f.subject.id): f for f in (after.findings if after else [])}
    meant: dict[tuple[str, str], tuple[FindingRef, list[PlannedAction]]] = {}
    for action in plan.actions:
        for ref in action.fixes:
            meant.setdefault((ref.rule_id, ref.subject), (ref, []))[1].append(action)
    return [_check(ref, actions, now.get(key), answered, runs)
            for key, (ref, actions) in meant.items()]


def _check(ref: FindingRef, actions: list[PlannedAction], found: Finding | None,
           answered: set[str], runs: dict[str, ActionRun]) -> FindingCheck:
    if found is None or any(a.instance.lower() not in answered for a in actions):
        return FindingCheck(rule_id=ref.rule_id, subject=ref.subject, before=ref.status,
                            after=None, verdict=FindingVerdict.COULD_NOT_VERIFY,
                            reason="its instance was not re-collected, or did not answer")
    verdict = (FindingVerdict.FIXED if found.status is Status.PASS
               else FindingVerdict.COULD_NOT_VERIFY if found.status is Status.ERROR
               else FindingVerdict.STILL_FAILING)
    reason = found.message
    run = next((runs[a.id] for a in actions if a.id in runs
                and runs[a.id].outcome is not ActionOutcome.SUCCEEDED), None)
    if verdict is FindingVerdict.FIXED and run is not None:
        # e.g. a restore whose copy failed DBCC CHECKDB: the rule's evidence is there,
        # the test failed; never called fixed
        verdict = FindingVerdict.STILL_FAILING
        reason = f"the action {run.outcome.value}: {run.reason}"
    return FindingCheck(rule_id=ref.rule_id, subject=ref.subject, before=ref.status,
                        after=found.status.value, verdict=verdict, reason=reason)
