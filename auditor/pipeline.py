"""The audit stages wired together: load inputs, collect, evaluate. The CLI calls these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.checks import check_kinds
from auditor.collect.base import CollectContext, Collector, Progress, no_progress
from auditor.collect.lync import LyncCollector
from auditor.collect.records import collect_records
from auditor.collect.replay import ReplayCollector
from auditor.collect.runner import collect
from auditor.collect.sql import SqlCollector
from auditor.engine.evaluate import evaluate
from auditor.engine.policy import validate_policy
from auditor.engine.registry import CheckKind
from auditor.engine.rules import RulePack, default_rules_dir, load_rule_pack
from auditor.engine.selection import FULL_SCOPE, AuditScope
from auditor.engine.waivers import Waiver, load_waivers
from auditor.evidence import EvidenceBundle, Observation
from auditor.facts import derive_facts
from auditor.inventory import LoadedInventory, load_inventory
from auditor.results import Results, build_results


class Toolkit:
    """The rule pack and check kinds, loaded once per command."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.kinds: Mapping[str, CheckKind[Any]] = check_kinds()
        self.pack: RulePack = load_rule_pack(rules_dir or default_rules_dir(), self.kinds)

    def load_inventory(self, path: Path) -> LoadedInventory:
        """An inventory whose policy names only known rules and valid thresholds."""
        loaded = load_inventory(path)
        models = {name: kind.params_model for name, kind in self.kinds.items()}
        validate_policy(self.pack.rules, models, loaded)
        return loaded

    def load_waivers(self, loaded: LoadedInventory, override: Path | None) -> tuple[Waiver, ...]:
        """Waivers from --waivers, else the file the inventory names, else none."""
        path = override
        if path is None and loaded.inventory.waivers:
            path = loaded.relative(loaded.inventory.waivers)
        if path is None:
            return ()
        return load_waivers(path, {r.id for r in self.pack.rules})

    def evaluate(self, bundle: EvidenceBundle, bundle_sha256: str, loaded: LoadedInventory,
                 waivers: tuple[Waiver, ...], now: dt.datetime | None = None,
                 scope: AuditScope = FULL_SCOPE) -> Results:
        """Findings and scores over the scope's rules; `now` defaults to the bundle's
        collection time."""
        at = now or bundle.collected_at
        facts = derive_facts(bundle, loaded.inventory, at)
        findings = evaluate(facts, self.pack, self.kinds, loaded, waivers, scope=scope)
        return build_results(findings=findings, pack=self.pack, waivers=waivers,
                             estate=loaded.inventory.estate.name, now=at,
                             collected_at=bundle.collected_at, bundle_sha256=bundle_sha256,
                             inventory_sha256=loaded.sha256, scope=scope)


class RecordsCollector:
    """The admins' records named by the inventory."""

    name = "records"

    def collect(self, context: CollectContext) -> list[Observation]:
        """One observation per record kind found."""
        loaded = context.inventory
        path = loaded.relative(loaded.inventory.records) if loaded.inventory.records else None
        observations = collect_records(path, context.started_at)
        context.progress("records", len(observations), len(observations))
        return observations


def collect_bundle(toolkit: Toolkit, loaded: LoadedInventory, replay: Path | None,
                   started_at: dt.datetime, progress: Progress = no_progress) -> EvidenceBundle:
    """Live SQL (instances with a connection string) and Lync (when the inventory says how to
    reach it) evidence, over a recorded bundle when one is given; records are read fresh.
    A later collector's observation replaces an earlier one with the same id."""
    context = CollectContext(inventory=loaded, started_at=started_at, progress=progress)
    inventory = loaded.inventory
    collectors: list[Collector] = []
    if replay is not None:
        collectors.append(ReplayCollector(replay))
    if any(inst.connection for inst in inventory.sql_instances):
        collectors.append(SqlCollector())
    if inventory.lync is not None:
        collectors.append(LyncCollector())
    collectors.append(RecordsCollector())
    return collect(context, collectors, toolkit.pack.version)
