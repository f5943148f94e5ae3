"""Rule cases (tests/cases/*.yaml): raw evidence rows in, expected status per subject out.

A case file holds `rule:` and `cases:`; each case has `name`, `now`, optional `inventory`
(else tests/cases/_inventory.yaml), `observations` and `expect` ({subject id: status}), and
optionally `messages` ({subject id: the finding's exact message}).
An observation is {source, probe, target, rows} or {..., status, error}. Rows are merged over
the per-probe defaults of tests/cases/_defaults*.yaml, so a case spells out only the columns
that matter to it; everything else is a realistic, harmless value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.checks import check_kinds
from auditor.engine.evaluate import evaluate
from auditor.engine.rules import RulePack, default_rules_dir, load_rule_pack
from auditor.evidence import EvidenceBundle, ObservationStatus, Source, make_observation
from auditor.facts import derive_facts
from auditor.findings import Finding
from auditor.inventory import Inventory, LoadedInventory
from auditor.yamlio import load_yaml

CASES_DIR = Path(__file__).parent / "cases"


@dataclass(frozen=True)
class RuleCase:
    """One hand-written case."""

    file: Path
    rule: str
    name: str
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.name}"


def load_cases() -> list[RuleCase]:
    """Every case of every case file."""
    cases = []
    for path in sorted(CASES_DIR.glob("[A-Z][A-Z]-*.yaml")):
        data, _ = load_yaml(path)
        for raw in data["cases"]:
            cases.append(RuleCase(path, data["rule"], raw["name"], raw))
    return cases


_PACK: list[RulePack] = []


def rule_pack() -> RulePack:
    """The shipped rule pack, loaded once per test session."""
    if not _PACK:
        _PACK.append(load_rule_pack(default_rules_dir(), check_kinds()))
    return _PACK[0]


def _defaults() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for path in sorted(CASES_DIR.glob("_defaults*.yaml")):
        data, _ = load_yaml(path)
        merged.update(data)
    return merged


def case_inventory(case: RuleCase) -> LoadedInventory:
    """The case's own inventory, or the shared one."""
    raw = case.raw.get("inventory")
    if raw is None:
        raw, _ = load_yaml(CASES_DIR / "_inventory.yaml")
    return LoadedInventory(inventory=Inventory.model_validate(raw), path=case.file, sha256="0" * 64)


def case_bundle(case: RuleCase, now: dt.datetime) -> EvidenceBundle:
    """Observations as a collector would have written them."""
    defaults = _defaults()
    observations = []
    for item in case.raw.get("observations", []):
        probe = item["probe"]
        rows = [{**defaults.get(probe, {}), **row} for row in item.get("rows", [])]
        observations.append(make_observation(
            source=Source(item.get("source", "sql")), probe=probe, target=item["target"],
            started_at=now, finished_at=now,
            status=ObservationStatus(item.get("status", "ok")), data=rows,
            error=item.get("error")))
    return EvidenceBundle(tool_version="test", rulepack_version="test", estate="cases",
                          inventory_sha256="0" * 64, collected_at=now, collectors=["test"],
                          observations=observations)


def run_case(case: RuleCase) -> list[Finding]:
    """Evaluate only the case's rule over the case's evidence."""
    now = dt.datetime.fromisoformat(case.raw["now"])
    inventory = case_inventory(case)
    facts = derive_facts(case_bundle(case, now), inventory.inventory, now)
    return evaluate(facts, rule_pack(), check_kinds(), inventory, only=[case.rule])
