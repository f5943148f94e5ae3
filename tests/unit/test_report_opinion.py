"""The audit opinion (docs/report.md "Audit opinion"), the grade cap and severity-first order."""

from __future__ import annotations

import pytest

from auditor.engine.opinion import Verdict, audit_opinion
from auditor.engine.score import score
from auditor.findings import Finding, Severity, Status, Subject, SubjectType
from auditor.report.opinion import capped
from tests.unit.test_report_golden import demo_view


def _finding(n: int, severity: Severity, status: Status, before: Status | None = None) -> Finding:
    subject = Subject(id=f"database:SQL01\\RTC/db{n}", type=SubjectType.DATABASE, name=f"db{n}")
    return Finding(rule_id=f"BR-{n:03d}", practice="P1", severity=severity, subject=subject,
                   status=status, status_before_waiver=before or status, message="m")


def _opinion(findings: list[Finding], complete: bool = True) -> Verdict:
    return audit_opinion(findings, complete=complete,
                         coverage=score(findings).coverage).verdict


def test_one_critical_fail_is_not_compliant_whatever_the_score() -> None:
    passes = [_finding(i, Severity.CRITICAL, Status.PASS) for i in range(1, 200)]
    findings = [*passes, _finding(999, Severity.CRITICAL, Status.FAIL)]
    assert (score(findings).score or 0.0) > 99
    opinion = audit_opinion(findings, complete=True, coverage=score(findings).coverage)
    assert opinion.label == "Not compliant"
    assert "BR-999" in opinion.reason
    assert capped("A", opinion.verdict) == "F"


def test_opinion_cases_in_order() -> None:
    crit_fail = _finding(1, Severity.CRITICAL, Status.FAIL)
    high_error = _finding(2, Severity.HIGH, Status.ERROR)
    low_error = _finding(3, Severity.LOW, Status.ERROR)
    med_warn = _finding(4, Severity.MEDIUM, Status.WARN)
    waived = _finding(5, Severity.CRITICAL, Status.WAIVED, Status.FAIL)
    ok = [_finding(10 + i, Severity.MEDIUM, Status.PASS) for i in range(40)]
    # a critical fail outranks an unassessed high rule and a partial audit
    assert _opinion([crit_fail, high_error, *ok], complete=False) is Verdict.NOT_COMPLIANT
    assert _opinion([high_error, *ok]) is Verdict.CANNOT_CONCLUDE
    assert _opinion(ok, complete=False) is Verdict.CANNOT_CONCLUDE
    # a low error under 90 % coverage cannot conclude; the same error among many passes can
    assert _opinion([low_error, *ok[:5]]) is Verdict.CANNOT_CONCLUDE
    assert _opinion([low_error, *ok]) is Verdict.COMPLIANT  # coverage 97.6 %, no grave error
    assert _opinion([med_warn, *ok]) is Verdict.COMPLIANT_WITH_EXCEPTIONS
    # a waived critical failure is an exception, not a non-compliance
    assert _opinion([waived, *ok]) is Verdict.COMPLIANT_WITH_EXCEPTIONS
    assert _opinion(ok) is Verdict.COMPLIANT
    assert _opinion([]) is Verdict.CANNOT_CONCLUDE


def test_grade_is_capped_by_the_opinion() -> None:
    assert [capped("A", v) for v in Verdict] == ["F", "C", "B", "A"]
    assert [capped("D", v) for v in Verdict] == ["F", "D", "D", "D"]
    assert capped("n/a", Verdict.CANNOT_CONCLUDE) == "n/a"


@pytest.mark.parametrize(("estate", "label", "grade", "css"), [
    ("healthy", "Compliant", "A", "a"),
    ("drifted", "Not compliant", "F", "f"),  # scores 87.1 (B) but three critical rules fail
    ("neglected", "Not compliant", "F", "f"),
])
def test_demo_estate_opinion(estate: str, label: str, grade: str, css: str) -> None:
    view = demo_view(estate)
    assert view.opinion.label == label
    assert (view.grade, view.grade_css) == (grade, css)
    assert view.headline.startswith(f"{label}: score ")
    assert view.charts.gauge.svg.count(f"Grade {grade}") == 1


def test_drifted_opinion_names_its_critical_failures() -> None:
    view = demo_view("drifted")
    assert view.opinion.reason == ("3 critical checks failed without a waiver (BR-001, BR-040, "
                                   "DR-030), whatever the score.")
    assert view.opinion.grade_note == "capped from B by the opinion (not compliant)"
    assert view.overall.score.startswith("87.1")


def test_attention_is_severity_first() -> None:
    view = demo_view("neglected")
    got = [(a.rule_id, a.status.word) for a in view.attention]
    assert got[:7] == [("BR-001", "ERROR"), ("BR-040", "FAIL"), ("DR-001", "FAIL"),
                       ("DR-030", "FAIL"), ("BR-050", "ERROR"), ("BR-002", "FAIL"),
                       ("BR-003", "FAIL")]
    # the medium errors come after every critical and high rule, before the medium fails
    assert [a.rule_id for a in view.attention][16:19] == ["BR-030", "DR-010", "BR-004"]
    assert got[-1] == ("BR-042", "FAIL")
    # BR-001 has an error and failures: both are shown
    first = view.attention[0]
    assert [(c.badge.word, c.count) for c in first.issues] == [("FAIL", 6), ("ERROR", 1),
                                                               ("WARN", 1)]


def test_top_risks_are_severity_first() -> None:
    risks = demo_view("neglected").risks
    assert [r.severity.word for r in risks] == ["CRITICAL"] * 4 + ["HIGH"]


def test_practice_status_shows_fails_and_errors_side_by_side() -> None:
    p1 = demo_view("neglected").practices[0]
    assert p1.status.word == "ERROR"
    assert [(c.badge.word, c.count) for c in p1.issues] == [("FAIL", 17), ("ERROR", 1),
                                                            ("WARN", 1)]


def test_practice_bars_follow_status_not_score() -> None:
    svg = str(demo_view("drifted").charts.practices.svg)
    fail, green = "#b3261e", "#1e7b34"
    # P1 scores over 60 % but holds failures: its bar is red; P3 passes: green
    assert svg.count(fail) == 12
    assert svg.count(green) == 3
