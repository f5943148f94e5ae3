"""The rule pack honours the rules.md contract, and the generated docs are fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.checks import check_kinds
from auditor.ruledoc import rules_markdown
from auditor.schemas import SCHEMAS, schema_text
from tests.casekit import rule_pack

ROOT = Path(__file__).resolve().parents[2]

# rules.md: ids are a contract (reports, waivers and history key on them).
CONTRACT = {
    "BR-001": ("P1", "critical"), "BR-002": ("P1", "high"), "BR-003": ("P1", "high"),
    "BR-004": ("P1", "medium"), "BR-005": ("P1", "high"), "BR-010": ("P2", "high"),
    "BR-011": ("P2", "medium"), "BR-020": ("P3", "high"), "BR-030": ("P4", "medium"),
    "BR-040": ("P5", "critical"), "BR-041": ("P5", "high"), "BR-042": ("P5", "low"),
    "BR-050": ("P6", "high"), "BR-060": ("P7", "high"), "BR-061": ("P8", "high"),
    "DR-001": ("P9", "critical"), "DR-002": ("P9", "high"), "DR-003": ("P9", "high"),
    "DR-010": ("P10", "medium"), "DR-020": ("P11", "medium"), "DR-030": ("P12", "critical"),
    "DR-040": ("P13", "medium"), "DR-041": ("P13", "medium"), "DR-042": ("P13", "high"),
    "DR-050": ("P14", "medium"), "DR-060": ("P15", "high"),
}


def test_every_contract_rule_exists_with_its_practice_and_severity() -> None:
    pack = rule_pack()
    got = {r.id: (r.practice, r.severity.value) for r in pack.rules}
    assert got == CONTRACT


def test_all_fifteen_practices_are_covered() -> None:
    pack = rule_pack()
    assert {p.id for p in pack.practices} == {f"P{i}" for i in range(1, 16)}
    assert {r.practice for r in pack.rules} == {p.id for p in pack.practices}


def test_every_registered_kind_is_used() -> None:
    used = {r.check for r in rule_pack().rules}
    assert set(check_kinds()) == used


def test_docs_rules_md_is_fresh() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(rule_pack()), "docs/rules.md is stale: run `make docs`"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_docs_are_fresh(name: str) -> None:
    current = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert current == schema_text(name), f"docs/{name} is stale: run `make docs`"
