"""The audit stages wired together: load inputs, collect, evaluate. The CLI calls these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.checks import check_kinds
from auditor.checks.subjects import unlisted_stores
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
from auditor.errors import InputError
from auditor.evidence import EvidenceBundle, Observation, Source
from auditor.facts import derive_facts
from auditor.inventory import LoadedInventory, load_inventory
from auditor.results import Results, UnlistedStore, build_results


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
        collection time and may not precede it (evidence would then be judged before it
        existed)."""
        same_estate("the evidence bundle", bundle.estate_id, bundle.estate, loaded)
        at = now or bundle.collected_at
        if at < bundle.collected_at:
            raise InputError("--now", f"{at.isoformat()} is before the evidence was collected "
                             f"({bundle.collected_at.isoformat()}): give a --now at or after "
                             "the collection start")
        facts = derive_facts(bundle, loaded.inventory, at)
        findings = evaluate(facts, self.pack, self.kinds, loaded, waivers, scope=scope)
        return build_results(findings=findings, pack=self.pack, waivers=waivers,
                             estate=loaded.inventory.estate.name,
                             estate_id=loaded.inventory.estate.id, now=at,
                             collected_at=bundle.collected_at, bundle_sha256=bundle_sha256,
                             inventory_sha256=loaded.sha256, scope=scope,
                             unlisted_stores=[UnlistedStore(
                                 subject=db.subject.id, instance=db.facts.instance.server_name,
                                 database=db.name, store_class=db.kind.value)
                                 for db in unlisted_stores(facts)])


def same_estate(what: str, estate_id: str | None, name: str, loaded: LoadedInventory) -> None:
    """Refuse evidence or results of another estate than the inventory's: by estate id when
    both carry one, else by the estate's name (a version 1 bundle, or an inventory without
    an id). A changed inventory of the same estate is allowed; the report shows it."""
    estate = loaded.inventory.estate
    if estate_id is not None and estate.id is not None:
        if estate_id == estate.id:
            return
        theirs, ours = f"estate id {estate_id!r}", f"estate id {estate.id!r}"
    elif name == estate.name:
        return
    else:
        theirs, ours = f"estate {name!r}", f"estate {estate.name!r}"
    raise InputError(loaded.path, f"{what} is of {theirs}, this inventory of {ours}: give the "
                     "inventory of the audited estate")


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

    `started_at` is the wall clock when collection starts. A live observation replaces its
    replayed copy. Records the inventory names are never taken from the replay (a missing file
    is could-not-assess). The bundle's collected_at, the evaluation's default `now`, is the live
    collection's start when anything (SQL or Lync) is collected live, else the replay's
    (docs/time.md)."""
    context = CollectContext(inventory=loaded, started_at=started_at, progress=progress)
    inventory = loaded.inventory
    live: list[Collector] = []
    if any(inst.connection for inst in inventory.sql_instances):
        live.append(SqlCollector())
    if inventory.lync is not None:
        live.append(LyncCollector())
    collectors: list[Collector] = []
    collected_at = started_at
    if replay is not None:
        fresh = {Source.RECORDS} if inventory.records else set()
        recorded = ReplayCollector(replay, fresh)
        collectors.append(recorded)
        if not live:
            collected_at = recorded.bundle.collected_at
    collectors += [*live, RecordsCollector()]
    return collect(context, collectors, toolkit.pack.version, collected_at)
