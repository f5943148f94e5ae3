"""The report's auditor sections, charts, responses file and exports (no PDF rendering here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.findings import Status
from auditor.report import AppendixMode, OutputFormat, build_view, render_html, write_report
from auditor.report.exports import CSV_COLUMNS, csv_bytes, junit_bytes, markdown_bytes, md
from auditor.report.responses import ManagementResponse, load_responses
from auditor.results import results_bytes
from tests.casekit import rule_pack
from tests.unit.test_report import GENERATED, HOSTILE, Audit

LIS = "database:SQL01\\RTC/lis"
RESPONSES = (
    ManagementResponse(subject=LIS, rule="BR-001", owner="J. Smith (DBA lead)",
                       due=dt.date(2027, 1, 31), response=f"Nightly full added {HOSTILE}"),
    ManagementResponse(subject="database:SQL01\\RTC/rgsconfig", owner="A. Admin",
                       due=dt.date(2026, 11, 1), response="Restore rgsconfig from export"),
    ManagementResponse(subject="database:NOPE\\X/xds", owner="B. Nobody",
                       due=dt.date(2027, 1, 1), response="typo"),
)
HISTORY = ((dt.date(2026, 5, 25), 41.0), (dt.date(2026, 8, 25), 55.5))


@pytest.fixture(scope="module")
def audit() -> Audit:
    return Audit()


@pytest.fixture(scope="module")
def rich(audit: Audit) -> tuple[object, str]:
    view = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                      responses=RESPONSES, history=HISTORY)
    return view, render_html(view)


def test_cover_and_summary_say_what_an_auditor_needs(audit: Audit) -> None:
    view, html = audit.view, audit.html
    assert view.provenance.audit_period.endswith("(the backup history in the evidence)")
    assert "2026-11-23 11:00:00 UTC" in view.provenance.audit_period
    assert view.provenance.collection == "2026-11-25 12:00:00 UTC"
    assert view.scope.account == "not recorded in the inventory"
    for text in ("Audit period", "Evidence collected", "Evidence bundle SHA-256", "Top risks",
                 "Scope and limitations", "Control mapping", "Sign-off",
                 "Prepared by (auditor)", "Accepted by (management)"):
        assert text in html
    assert view.risks, "the case has failures, so it has top risks"
    first = view.risks[0]
    assert first.headline.endswith(".")
    assert " of " in first.headline
    assert first.example.startswith("For example, ")
    critical = [r for r in view.risks if r.severity.word == "CRITICAL"]
    assert critical
    assert view.risks[0].severity.word == "CRITICAL"


def test_coverage_gaps_group_errors_by_cause(audit: Audit) -> None:
    gaps = audit.view.gaps
    assert sum(g.findings for g in gaps) == audit.results.overall.counts["error"]
    unreachable = next(g for g in gaps if "MON01" in g.cause)
    assert "unreachable" in unreachable.cause
    assert "08001" in unreachable.cause
    assert unreachable.findings > 1
    assert [e.id for e in unreachable.evidence] == ["sql:databases:MON01\\LYNCMON"]


def test_control_mapping_comes_from_the_rule_pack(audit: Audit) -> None:
    pack = rule_pack()
    named = {c for r in pack.rules for c in r.controls}
    rows = {c.control: c for c in audit.view.controls}
    assert set(rows) == named
    iso = [c for c in rows if c.startswith("ISO/IEC 27001:2022")]
    assert iso == sorted(iso, key=lambda c: [int(p) for p in c.rsplit("A.", 1)[1].split(".")])
    for control, row in rows.items():
        assert {r[0] for r in row.rules} == {r.id for r in pack.rules if control in r.controls}


def test_scope_shows_tls_opt_out_and_basic_over_http(audit: Audit) -> None:
    raw = audit.inventory.model_dump(mode="json")
    raw["estate"]["audit_account"] = "CONTOSO\\svc-audit"
    raw["sql_instances"][0]["encrypt"] = False
    raw["lync"] = {"management_servers": ["fe01.contoso.com"], "transport": "http",
                   "auth": "basic", "allow_basic_over_http": True}
    inventory = type(audit.inventory).model_validate(raw)
    view = build_view(audit.results, rule_pack(), inventory, audit.bundle, GENERATED)
    assert view.scope.account == "CONTOSO\\svc-audit"
    assert view.scope.instances[0].transport == "NOT ENCRYPTED (TLS opt-out)"
    text = " ".join(view.scope.limitations)
    assert "SQL01\\RTC was not encrypted" in text
    assert "Basic authentication over HTTP was explicitly allowed" in text
    assert any(i.value.startswith("WinRM over HTTP, port 5985, basic") for i in view.scope.lync)
    assert "CONTOSO\\svc-audit" in render_html(view)


@pytest.mark.parametrize(("trust", "shown", "css", "limited"), [
    ({"any_certificate": True}, "TLS, certificate NOT checked (tls_trust: any_certificate)",
     "fail", True),
    ({"ca_file": "/etc/auditor/sql01-ca.pem"},
     "TLS, certificate checked against /etc/auditor/sql01-ca.pem (tls_trust: ca_file)", "pass",
     False),
    (None, "TLS", "pass", False)])
def test_scope_shows_how_the_certificate_was_trusted(audit: Audit, trust: dict[str, object] | None,
                                                     shown: str, css: str,
                                                     limited: bool) -> None:
    raw = audit.inventory.model_dump(mode="json")
    raw["sql_instances"][0]["tls_trust"] = trust
    inventory = type(audit.inventory).model_validate(raw)
    view = build_view(audit.results, rule_pack(), inventory, audit.bundle, GENERATED)
    first = view.scope.instances[0]
    assert (first.transport, first.transport_css) == (shown, css)
    said = (f"The connection to {first.server_name} was encrypted but its certificate was not "
            "checked (tls_trust: any_certificate in the inventory): the server's identity was not "
            "proven, so a man in the middle could have read or altered its evidence.")
    assert (said in view.scope.limitations) is limited
    assert shown in render_html(view)


def test_charts_have_text_alternatives_and_tables(audit: Audit) -> None:
    charts = audit.view.charts
    assert charts.trend is None  # no history given
    for chart in (charts.gauge, charts.practices, charts.ages, charts.heatmap):
        assert chart is not None
        assert chart.svg.startswith("<svg ")
        assert 'role="img"' in chart.svg
        assert f'<desc id="{chart.anchor}-d">' in chart.svg
        assert chart.alt
        assert (chart.table is not None and chart.table.rows) or "table By practice" in chart.note
        assert "<script" not in chart.svg
        assert "href" not in chart.svg
    ages = charts.ages
    assert ages is not None
    assert ages.table is not None
    rows = {r[0]: r for r in ages.table.rows}
    assert rows["SQL01\\RTC/lis"][2:] == ("2 d 1 h", "26 h", "FAIL")
    assert rows["SQL01\\RTC/xds"][2:] == ("2 h", "26 h", "PASS")
    heat = charts.heatmap
    assert heat is not None
    assert heat.table is not None
    assert sum(int(c) for r in heat.table.rows for c in r[1:-1] if c != "·") == \
        sum(int(r[-1]) for r in heat.table.rows)
    assert "no policy window" in heat.alt


def test_trend_is_drawn_only_with_history(rich: tuple[object, str], audit: Audit) -> None:
    view, html = rich
    trend = view.charts.trend  # type: ignore[attr-defined]
    assert trend is not None
    assert trend.table is not None
    assert [r[0] for r in trend.table.rows] == ["2026-05-25", "2026-08-25",
                                                "2026-11-25 (this audit)"]
    assert "Score over past audits" in html
    assert "Score over past audits" not in audit.html


def test_chart_text_is_escaped(audit: Audit) -> None:
    from auditor.report.charts import Bar, ChartTable, practice_bars

    table = ChartTable("t", ("a",), (("1",),), (False,))
    chart = practice_bars("x", [Bar(HOSTILE, 50.0, "pass", "50%")], table)
    assert HOSTILE not in chart.svg
    assert "&lt;img src=x onerror=alert(1)&gt;" in chart.svg


def test_management_responses_are_shown_per_finding(rich: tuple[object, str]) -> None:
    view, html = rich
    rows = {(r.rule_id, r.subject_id): r for r in view.responses}  # type: ignore[attr-defined]
    lis = rows[("BR-001", LIS)].response
    assert lis is not None
    assert lis.owner == "J. Smith (DBA lead)"
    assert not lis.overdue
    rgs = rows[("BR-001", "database:SQL01\\RTC/rgsconfig")].response
    assert rgs is not None
    assert rgs.overdue
    assert rows[("BR-001", "database:MON01\\LYNCMON/LcsCDR")].response is None
    assert view.unused_responses == ("any rule on database:NOPE\\X/xds",)  # type: ignore[attr-defined]
    assert HOSTILE not in html
    assert "Nightly full added &lt;img" in html
    assert "OVERDUE" in html


def test_responses_file_loads_and_reports_file_line_errors(tmp_path: Path) -> None:
    good = tmp_path / "responses.yaml"
    good.write_text("responses:\n"
                    "  - subject: database:SQL01\\RTC/lis\n"
                    "    rule: BR-001\n"
                    "    owner: J. Smith\n"
                    "    due: 2027-01-31\n"
                    "    response: Nightly full added.\n", encoding="utf-8")
    loaded = load_responses(good, {"BR-001"})
    assert loaded[0].due == dt.date(2027, 1, 31)
    assert loaded[0].rule == "BR-001"
    cases = {
        "owner: J. Smith\n    typo: x\n": ("5", "responses[0].typo: unknown field"),
        "owner: J. Smith\n    due: 31/01/2027\n": ("5", "responses[0].due"),
    }
    for swap, (line, message) in cases.items():
        bad = tmp_path / "bad.yaml"
        text = good.read_text(encoding="utf-8").replace("owner: J. Smith\n", swap, 1)
        if "due: 31" in swap:
            text = text.replace("    due: 2027-01-31\n", "", 1)
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_responses(bad, {"BR-001"})
        assert err.value.render().startswith(f"{bad}:{line}: {message}")
    with pytest.raises(InputError, match=r":3: responses\[0\]\.rule: unknown rule id 'BR-001'"):
        load_responses(good, {"BR-002"})
    twice = tmp_path / "twice.yaml"
    body = good.read_text(encoding="utf-8").split("\n", 1)[1]
    twice.write_text("responses:\n" + body + body, encoding="utf-8")
    with pytest.raises(InputError, match=r":7: responses\[1\]\.subject: a second response"):
        load_responses(twice, {"BR-001"})


def test_csv_has_one_row_per_finding_and_is_spreadsheet_safe(audit: Audit,
                                                             rich: tuple[object, str]) -> None:
    view, _ = rich
    data = csv_bytes(audit.results, view)  # type: ignore[arg-type]
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(audit.results.findings)
    assert tuple(rows[0]) == CSV_COLUMNS
    lis = next(r for r in rows if r["subject_id"] == LIS and r["rule_id"] == "BR-001")
    assert lis["status"] == "fail"
    assert lis["response_owner"] == "J. Smith (DBA lead)"
    assert lis["observed"].startswith('{"age_hours": 49')
    from auditor.report.exports import _safe_cell

    assert _safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _safe_cell("-2") == "'-2"
    assert _safe_cell("ok") == "ok"


def test_junit_maps_statuses(audit: Audit) -> None:
    root = ET.fromstring(junit_bytes(audit.results))  # noqa: S314 - our own output
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(audit.results.findings)
    counts = audit.results.overall.counts
    assert int(root.get("failures", "-1")) == counts["fail"]
    assert int(root.get("errors", "-1")) == counts["error"]
    assert int(root.get("skipped", "-1")) == counts["waived"] + counts["not_applicable"]
    assert len(root.findall(".//failure")) == counts["fail"]
    assert len(root.findall(".//error")) == counts["error"]
    lis = next(c for c in cases if c.get("name") == f"BR-001 {LIS}")
    failure = lis.find("failure")
    assert failure is not None
    assert "over the 26 h limit" in (failure.get("message") or "")
    assert "evidence: sql:backup_history:SQL01\\RTC" in (failure.text or "")
    names = [c.get("name") or "" for c in cases]
    assert any(HOSTILE in n for n in names)  # escaped by the XML writer, read back whole


def test_markdown_summary_escapes_markup(audit: Audit) -> None:
    text = markdown_bytes(audit.results, audit.view).decode("utf-8")
    assert text.startswith("# Backup and DR audit: Case estate")
    assert f"**Score {md(audit.view.overall.score)}" in text
    assert "## Top risks" in text
    assert "## Rules that need attention" in text
    assert "## Failed and unassessed findings" in text
    assert md("a|b<c>") == "a\\|b\\<c\\>"
    assert "<img" not in text


def test_appendix_rows_and_modes(audit: Audit, tmp_path: Path) -> None:
    full = audit.view.appendix
    assert full.mode == "full"
    assert len(full.details) == len(audit.bundle.observations)
    history = next(d for d in full.details if d.probe == "backup_history")
    assert history.rows == 4
    assert len(history.cells) == 4
    assert not history.columns  # wide rows are shown as key=value lines
    assert "backup_set_id=1" in history.cells[0][0]
    few = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                     appendix_rows=2)
    cut = next(d for d in few.appendix.details if d.probe == "backup_history")
    assert len(cut.cells) == 2
    assert cut.note.startswith("Showing the first 2 of 4 rows")
    summary = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                         appendix_mode=AppendixMode.SUMMARY)
    assert summary.appendix.details == ()
    assert 'class="obs"' not in render_html(summary)
    split = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                       appendix_mode=AppendixMode.SPLIT)
    paths = write_report(split, results_bytes(audit.results), tmp_path, {OutputFormat.HTML})
    assert [p.name for p in paths] == ["report.html", "evidence-appendix.html"]
    assert 'class="obs"' not in paths[0].read_text(encoding="utf-8")
    assert paths[1].read_text(encoding="utf-8").count('<details class="obs"') == \
        len(audit.bundle.observations)


def test_embedded_evidence_only_when_the_hash_matches(audit: Audit) -> None:
    assert audit.view.embedded is None  # the case's results carry a made-up hash
    assert "not attached" in audit.view.evidence_note
    data = b'{"format": "auditor-evidence"}\n'
    import hashlib

    results = audit.results.model_copy(update={"bundle_sha256": hashlib.sha256(data).hexdigest()})
    view = build_view(results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                      evidence_bytes=data)
    assert view.embedded is not None
    assert view.embedded.data == data
    assert view.embedded.sha256 == results.bundle_sha256


def test_status_filter_markup(audit: Audit) -> None:
    html = audit.html
    assert '<nav class="filter" id="filter"' in html
    for status in ("error", "fail", "waived", "pass"):
        assert f'data-status="{status}"' in html
    assert html.count('<tr class="frow row-fail" data-status="fail">') >= \
        sum(1 for f in audit.results.findings if f.status is Status.FAIL)
