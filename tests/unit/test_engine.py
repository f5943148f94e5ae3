"""Engine pieces: score arithmetic, waivers, policy precedence, crash handling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.checks import check_kinds
from auditor.checks.fullbackup import FullBackupWithin
from auditor.engine.evaluate import evaluate
from auditor.engine.policy import params_resolver
from auditor.engine.registry import Params, ParamsFor, Scope, check_kind
from auditor.engine.rules import Rule
from auditor.engine.score import score
from auditor.engine.waivers import Waiver
from auditor.facts import derive_facts
from auditor.findings import STATUS_ORDER, Finding, Severity, Status, Subject, SubjectType, Verdict
from auditor.inventory import Inventory, LoadedInventory
from tests.casekit import RuleCase, case_bundle, case_inventory, load_cases, rule_pack, run_case

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def _finding(status: Status, severity: Severity, before: Status | None = None) -> Finding:
    subject = Subject(id=f"estate-{status}-{severity}", type=SubjectType.ESTATE, name="x")
    return Finding(rule_id="BR-001", practice="P1", severity=severity, subject=subject,
                   status=status, status_before_waiver=before or status, message="m")


def test_score_weights_credit_and_coverage() -> None:
    findings = [_finding(Status.PASS, Severity.CRITICAL),  # 10 x 1
                _finding(Status.WARN, Severity.HIGH),  # 5 x .5
                _finding(Status.FAIL, Severity.MEDIUM),  # 3 x 0
                _finding(Status.ERROR, Severity.LOW),  # 1 x 0, not assessed
                _finding(Status.NOT_APPLICABLE, Severity.CRITICAL),
                _finding(Status.WAIVED, Severity.HIGH, before=Status.FAIL)]
    result = score(findings)
    assert result.score == round(100 * 12.5 / 19, 1)  # waived left out
    assert result.score_without_waivers == round(100 * 12.5 / 24, 1)
    assert result.applicable == 5
    assert result.coverage == 80.0  # 4 of 5 applicable were assessed
    assert result.counts["error"] == 1


def test_error_counts_against_the_score() -> None:
    assert score([_finding(Status.ERROR, Severity.CRITICAL)]).score == 0.0
    assert score([_finding(Status.NOT_APPLICABLE, Severity.CRITICAL)]).score is None


def _br001_case() -> RuleCase:
    return next(c for c in load_cases() if c.id == "BR-001-full_25h59_passes_26h01_fails")


def _evaluate_with(waivers: list[Waiver], now: dt.datetime) -> dict[str, Finding]:
    case = _br001_case()
    inventory = case_inventory(case)
    facts = derive_facts(case_bundle(case, now), inventory.inventory, now)
    found = evaluate(facts, rule_pack(), check_kinds(), inventory, waivers, only=["BR-001"])
    return {f.subject.id: f for f in found}


def test_waiver_covers_fail_until_it_expires() -> None:
    waiver = Waiver(rule="BR-001", subject="database:sql01\\rtc/LIS", reason="migration",
                    approver="CISO", expires=dt.date(2026, 11, 30))
    valid = _evaluate_with([waiver], NOW)["database:SQL01\\RTC/lis"]
    assert valid.status is Status.WAIVED
    assert valid.status_before_waiver is Status.FAIL
    expired = Waiver(rule="BR-001", subject="database:SQL01\\RTC/lis", reason="migration",
                     approver="CISO", expires=dt.date(2026, 11, 24))
    late = _evaluate_with([expired], NOW)["database:SQL01\\RTC/lis"]
    assert late.status is Status.FAIL
    assert late.waiver is not None
    assert late.waiver.expired


def test_waiver_never_covers_error() -> None:
    waiver = Waiver(rule="BR-001", subject="database:SQL01\\RTC/rtcxds", reason="x",
                    approver="CISO", expires=dt.date(2027, 1, 1))
    finding = _evaluate_with([waiver], NOW)["database:SQL01\\RTC/rtcxds"]
    assert finding.status is Status.ERROR  # rtcxds is not in sys.databases in this case


def test_most_specific_policy_wins(tmp_path: Path) -> None:
    raw = case_inventory(_br001_case()).inventory.model_dump(mode="json")
    raw["policy"] = {"rules": {"BR-001": {"max_age_hours": 30}}, "overrides": [
        {"site": "EMEA", "rules": {"BR-001": {"max_age_hours": 40}}},
        {"instance": "SQL01\\RTC", "rules": {"BR-001": {"max_age_hours": 50}}},
        {"database": "SQL01\\RTC/lis", "rules": {"BR-001": {"max_age_hours": 60}}},
    ]}
    inventory = Inventory.model_validate(raw)
    rule = rule_pack().rule("BR-001")
    assert rule is not None
    resolve = params_resolver(rule, FullBackupWithin, inventory, "inv.yaml")
    assert resolve(Scope()).max_age_hours == 30
    assert resolve(Scope(site="EMEA")).max_age_hours == 40
    assert resolve(Scope(site="EMEA", instance="sql01\\rtc")).max_age_hours == 50
    assert resolve(Scope(site="EMEA", instance="SQL01\\RTC",
                         database="SQL01\\RTC/lis")).max_age_hours == 60


class _NoParams(Params):
    pass


@check_kind("always_crashes", _NoParams)
def _crashes(facts: object, params: ParamsFor[_NoParams]) -> Iterator[Verdict]:
    if params(Scope()) is not None:
        raise RuntimeError("boom")
    yield Verdict(subject=Subject(id="estate", type=SubjectType.ESTATE, name="estate"),
                  status=Status.PASS, message="unreachable")


def test_crashing_check_becomes_error_finding() -> None:
    case = _br001_case()
    inventory: LoadedInventory = case_inventory(case)
    pack = rule_pack()
    base = pack.rule("BR-001")
    assert base is not None
    crashing = Rule.model_validate({**base.model_dump(), "check": "always_crashes", "params": {}})
    pack = pack.model_copy(update={"rules": (crashing,)})
    facts = derive_facts(case_bundle(case, NOW), inventory.inventory, NOW)
    findings = evaluate(facts, pack, {"always_crashes": _crashes}, inventory)
    assert [(f.status, f.message) for f in findings] == [(Status.ERROR,
                                                          "check crashed: RuntimeError")]
    assert score(findings).score == 0.0


def test_results_are_sorted_and_complete() -> None:
    findings = run_case(_br001_case())
    assert findings == sorted(findings, key=lambda f: (f.rule_id, f.subject.id))


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_an_order(status: Status) -> None:
    assert status in STATUS_ORDER
