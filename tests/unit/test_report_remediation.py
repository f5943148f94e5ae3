"""`auditor report --remediation FILE`: the "Remediation run" section and each affected
finding's line, rendered to HTML only (no PDF) from a run record built from the models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.remediate.record import (
    ActionOutcome,
    ActionRun,
    FindingCheck,
    FindingVerdict,
    RunRecord,
    Verification,
    write_run,
)
from auditor.report import build_view, render_html
from auditor.report.render import render_print_html
from auditor.results import write_results
from tests.casekit import CASES_DIR, rule_pack
from tests.unit.test_report import GENERATED, NOW, Audit

LIS, RTCXDS = "database:SQL01\\RTC/lis", "database:SQL01\\RTC/xds"
AT = NOW + dt.timedelta(hours=2)


def _record() -> RunRecord:
    return RunRecord(
        tool_version="test", estate="report", run_id="run-42", plan_sha256="cd" * 32,
        approved_by="alice (--yes)", started_at=AT, finished_at=AT + dt.timedelta(minutes=5),
        options={}, actions=[
            ActionRun(id="a1", action="backup_database", instance="SQL01\\RTC", database="lis",
                      outcome=ActionOutcome.SUCCEEDED, started_at=AT,
                      finished_at=AT + dt.timedelta(minutes=1),
                      messages=["BACKUP DATABASE successfully processed 100 pages"]),
            ActionRun(id="a2", action="backup_database", instance="SQL01\\RTC", database="xds",
                      outcome=ActionOutcome.DENIED, reason="sp_start_job denied",
                      started_at=AT + dt.timedelta(minutes=1),
                      finished_at=AT + dt.timedelta(minutes=2),
                      messages=["The EXECUTE permission was denied (229)"])],
        verification=Verification(
            evaluated_at=AT + dt.timedelta(minutes=5), instances=["SQL01\\RTC"],
            score_before=40.0, score_after=55.5, findings=[
                FindingCheck(rule_id="BR-001", subject=LIS, before="fail", after="pass",
                             verdict=FindingVerdict.FIXED),
                FindingCheck(rule_id="BR-001", subject=RTCXDS, before="fail", after="fail",
                             verdict=FindingVerdict.STILL_FAILING)]))


@pytest.fixture(scope="module")
def html() -> str:
    audit = Audit()
    view = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                      remediation=_record())
    return render_html(view)


def test_section_shows_the_run_and_each_action(html: str) -> None:
    section = html.split('<section class="major flow" id="remediation">', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "<h2>Remediation run</h2>" in section
    assert 'href="#remediation"' in html.split('id="remediation"', 1)[0]  # in the contents
    assert "cd" * 32 in section
    assert "alice (--yes)" in section
    assert "40 → 55.5" in section
    lis_row, xds_row = section.split("<tr class=\"row-")[-2:]
    assert "SQL01\\RTC / lis" in lis_row
    assert "succeeded" in lis_row
    assert "2026-11-25 14:00:00 UTC" in lis_row
    assert "2026-11-25 14:01:00 UTC" in lis_row
    assert "successfully processed" in lis_row
    assert "BR-001 fixed" in lis_row
    assert "denied" in xds_row
    assert "(229)" in xds_row
    assert "BR-001 still failing" in xds_row


def test_each_affected_finding_row_says_what_the_run_did(html: str) -> None:
    assert html.count("remediated 2026-11-25: fixed") == 1
    row = next(r for r in html.split('<tr class="frow') if "remediated 2026-11-25: fixed" in r)
    assert "SQL01\\RTC/lis" in row
    assert "remediated 2026-11-25: still failing" in html


def test_print_html_holds_the_section_too() -> None:
    audit = Audit()
    view = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                      remediation=_record())
    printed = render_print_html(view)  # the HTML the PDF is made from (no PDF rendered here)
    assert '<section class="major flow" id="remediation">' in printed
    assert "remediated 2026-11-25: fixed" in printed


def test_without_a_record_there_is_no_section() -> None:
    audit = Audit()
    assert 'id="remediation"' not in audit.html
    assert "remediated " not in audit.html


def test_bad_remediation_json_is_exit_2_in_one_line(tmp_path: Path) -> None:
    from auditor.cli import app

    audit = Audit()
    results = tmp_path / "results.json"
    write_results(audit.results, results)
    bad = tmp_path / "remediation.json"
    write_run(_record(), bad)
    bad.write_text(bad.read_text(encoding="utf-8").replace('"plan_sha256"', '"plan_hash"'),
                   encoding="utf-8")
    args = ["report", str(results), "--inventory", str(CASES_DIR / "_inventory.yaml"),
            "--out", str(tmp_path / "out"), "--format", "html", "--remediation", str(bad)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) <= 2, done.output
    assert "remediation.json" in lines[0], done.output
    good = tmp_path / "good.json"
    write_run(_record(), good)
    done = CliRunner().invoke(app, [*args[:-1], str(good)])
    assert done.exit_code == 0, done.output
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Remediation run" in page
    assert "remediated 2026-11-25: fixed" in page
