"""Remediation text in the estate's own names, and the `auditor remediate plan` command."""

from __future__ import annotations

import pytest

from auditor.report.model import ReportView, RuleView
from auditor.report.render import render_html
from tests.unit.test_report_golden import ESTATES, demo_view


def _rule(view: ReportView, rule_id: str) -> RuleView:
    return next(r for p in view.practices for r in p.rules if r.id == rule_id)


@pytest.mark.parametrize("estate", ESTATES)
def test_no_placeholder_destination_or_share_where_the_inventory_has_it(estate: str) -> None:
    html = render_html(demo_view(estate))
    # every demo inventory has backup destinations and an export share
    assert "backup01" not in html
    assert "&lt;export share&gt;" not in html
    assert "&lt;backup share&gt;" not in html


def test_rule_text_names_the_estates_destination_and_share() -> None:
    view = demo_view("drifted")
    assert "BACKUP LOG [rtcxds] TO DISK = N'\\\\bnebak01.fabrikam.com\\sqlbackup\\rtcxds.trn'" \
        in _rule(view, "BR-003").remediation
    assert ('Export-CsConfiguration -FileName "\\\\bnebak01.fabrikam.com\\lyncexports\\'
            'CsConfiguration-<yyyyMMdd-HHmm>.zip"') in _rule(view, "BR-010").remediation
    neglected = _rule(demo_view("neglected"), "BR-010").remediation
    assert "\\\\fs01.litwareinc.com\\lyncexports\\CsConfiguration-" in neglected


def test_failed_finding_has_its_step_and_plan_command() -> None:
    rule = _rule(demo_view("drifted"), "BR-001")
    assert rule.plan_command.endswith("--rule BR-001")
    failed = next(f for f in rule.findings if f.status.css == "fail")
    assert failed.fix.startswith(f"DBA: schedule a nightly full backup of {failed.subject_name} "
                                 "on SQL")
    assert failed.plan == f"auditor remediate plan --rule BR-001 --subject '{failed.subject_id}'"
    passed = [f for f in rule.findings if f.status.css == "pass"]
    assert passed
    assert all(not f.fix and not f.plan for f in passed)


def test_no_plan_command_without_an_automated_action() -> None:
    rule = _rule(demo_view("drifted"), "BR-005")  # a new log chain: a checklist item only
    assert rule.plan_command == ""
    assert all(not f.plan for f in rule.findings)
    assert any(f.fix for f in rule.findings)
