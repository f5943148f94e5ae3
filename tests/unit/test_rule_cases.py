"""Every hand-written rule case gives the status it expects, subject by subject."""

from __future__ import annotations

import pytest

from tests.casekit import RuleCase, load_cases, rule_pack, run_case

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(case: RuleCase) -> None:
    findings = {f.subject.id: f for f in run_case(case)}
    expected: dict[str, str] = case.raw["expect"]
    assert expected, "a case must expect something"
    got = {subject: findings[subject].status.value if subject in findings else "<no finding>"
           for subject in expected}
    detail = {s: findings[s].message for s in expected if s in findings}
    assert got == expected, detail
    messages: dict[str, str] = case.raw.get("messages", {})
    assert {s: findings[s].message for s in messages if s in findings} == messages


def test_every_rule_has_pass_fail_and_error_cases() -> None:
    seen: dict[str, set[str]] = {}
    for case in CASES:
        seen.setdefault(case.rule, set()).update(case.raw["expect"].values())
    for rule in rule_pack().rules:
        statuses = seen.get(rule.id, set())
        missing = {"pass", "fail", "error"} - statuses
        assert not missing, f"{rule.id} has no case with status {sorted(missing)}"
