"""The scored report: one view model, HTML and PDF from it, every output format written."""

from __future__ import annotations

import datetime as dt
import io
import logging
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from auditor.checks import check_kinds
from auditor.engine.evaluate import evaluate
from auditor.engine.waivers import Waiver
from auditor.evidence import EvidenceBundle
from auditor.facts import derive_facts
from auditor.findings import Status
from auditor.inventory import Inventory, LoadedInventory
from auditor.report import OutputFormat, ReportView, build_view, render_html, write_report
from auditor.report.formats import FILENAMES, render_format
from auditor.report.pdf import render_pdf
from auditor.report.render import render_print_html
from auditor.report.text import grade, readable, when
from auditor.results import Results, build_results, results_bytes
from tests.casekit import CASES_DIR, RuleCase, case_bundle, case_inventory, rule_pack
from tests.pdftext import page_texts

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
GENERATED = dt.datetime(2026, 11, 25, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
HOSTILE = "<img src=x onerror=alert(1)>"
SQL01 = "SQL01\\RTC"


def _rows(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "database_id": 5 + i} for i, n in enumerate(names)]


def _full(set_id: int, db: str, finish: str) -> dict[str, Any]:
    return {"backup_set_id": set_id, "database_name": db, "backup_start_date": finish,
            "backup_finish_date": finish}


# SQL01\RTC: xds and rtcshared backed up 2 h before NOW (pass); lis and rtcxds 49 h before
# (fail; rtcxds waived); rgsconfig missing from sys.databases (error); a hostile user database
# (not a Lync store: not applicable). MON01 unreachable (error). SQL02 and FE01 are not observed.
CASE: dict[str, Any] = {
    "name": "report",
    "now": NOW.isoformat(),
    "observations": [
        {"probe": "server_time", "target": SQL01, "rows": [{}]},
        {"probe": "databases", "target": SQL01,
         "rows": _rows("xds", "lis", "rtcxds", "rtcshared", HOSTILE)},
        {"probe": "backup_history", "target": SQL01, "rows": [
            _full(1, "xds", "2026-11-25T10:00:00.000000"),
            _full(2, "rtcshared", "2026-11-25T10:00:00.000000"),
            _full(3, "lis", "2026-11-23T11:00:00.000000"),
            _full(4, "rtcxds", "2026-11-23T11:00:00.000000")]},
        {"probe": "last_backups", "target": SQL01, "rows": [
            {"database_name": db, "last_finish": finish} for db, finish in (
                ("xds", "2026-11-25T10:00:00.000000"),
                ("rtcshared", "2026-11-25T10:00:00.000000"),
                ("lis", "2026-11-23T11:00:00.000000"),
                ("rtcxds", "2026-11-23T11:00:00.000000"))]},
        {"probe": "databases", "target": "MON01\\LYNCMON", "status": "unreachable",
         "error": "08001 could not connect to mon01.contoso.com:1433"},
    ],
    "expect": {},
}

WAIVERS = (
    Waiver(rule="BR-001", subject="database:SQL01\\RTC/rtcxds", approver="J. Smith (CISO)",
           reason=f"rtcxds is rebuilt from the pool; nightly backup starts in January {HOSTILE}",
           expires=dt.date(2027, 1, 31)),
    Waiver(rule="BR-001", subject="database:SQL01\\RTC/lis", approver="J. Smith (CISO)",
           reason="old exception", expires=dt.date(2026, 10, 1)),
    Waiver(rule="BR-001", subject="database:NOPE\\X/xds", approver="A. Admin",
           reason="server retired", expires=dt.date(2027, 6, 30)),
)


class Audit:
    """The synthetic audit every test reads."""

    def __init__(self) -> None:
        case = RuleCase(file=CASES_DIR / "_inventory.yaml", rule="BR-001", name="report", raw=CASE)
        self.loaded: LoadedInventory = case_inventory(case)
        self.bundle: EvidenceBundle = case_bundle(case, NOW)
        facts = derive_facts(self.bundle, self.loaded.inventory, NOW)
        pack = rule_pack()
        findings = evaluate(facts, pack, check_kinds(), self.loaded, WAIVERS)
        self.results: Results = build_results(
            findings=findings, pack=pack, waivers=WAIVERS,
            estate=self.loaded.inventory.estate.name, now=NOW, collected_at=NOW,
            bundle_sha256="ab" * 32, inventory_sha256=self.loaded.sha256)
        self.view: ReportView = build_view(self.results, pack, self.loaded.inventory,
                                           self.bundle, GENERATED)
        self.html = render_html(self.view)

    @property
    def inventory(self) -> Inventory:
        return self.loaded.inventory

    def messages(self, status: Status) -> list[str]:
        return [f.message for f in self.results.findings
                if f.rule_id == "BR-001" and f.status is status]


@pytest.fixture(scope="module")
def audit() -> Audit:
    return Audit()


class _Tags(HTMLParser):
    """Every element and attribute of an HTML document, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text += data

    @classmethod
    def of(cls, html: str) -> _Tags:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def pdf_text(audit: Audit) -> tuple[bytes, list[str]]:
    """The one PDF render of this module; WeasyPrint must not complain about the CSS."""

    handler = _Records()
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        pdf = render_pdf(render_print_html(audit.view))
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == []
    return pdf, page_texts(pdf)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _solid(text: str) -> str:
    """Text without any whitespace: a table cell may wrap a long token anywhere."""
    return "".join(text.split())


def test_the_case_has_every_kind_of_finding(audit: Audit) -> None:
    statuses = {f.subject.id: f.status for f in audit.results.findings if f.rule_id == "BR-001"}
    assert statuses["database:SQL01\\RTC/xds"] is Status.PASS
    assert statuses["database:SQL01\\RTC/lis"] is Status.FAIL
    assert statuses["database:SQL01\\RTC/rtcxds"] is Status.WAIVED
    assert statuses["database:SQL01\\RTC/rgsconfig"] is Status.ERROR
    assert statuses["database:MON01\\LYNCMON/LcsCDR"] is Status.ERROR
    assert statuses[f"database:SQL01\\RTC/{HOSTILE}"] is Status.NOT_APPLICABLE


def test_view_orders_practices_and_findings_worst_first(audit: Audit) -> None:
    view = audit.view
    assert [p.id for p in view.practices] == [f"P{i}" for i in range(1, 16)]
    br001 = next(r for r in view.practices[0].rules if r.id == "BR-001")
    words = [f.status.word for f in br001.findings]
    order = ["ERROR", "FAIL", "WARN", "WAIVED", "PASS"]
    assert words == sorted(words, key=order.index)
    assert {"ERROR", "FAIL", "WAIVED", "PASS"} <= set(words)
    assert "N/A" not in words
    assert br001.not_applicable >= 1
    assert "not applicable" in br001.not_applicable_note
    assert any(i.endswith(HOSTILE) for n in view.not_applicable for i in n.items)


def test_view_scores_grade_and_provenance(audit: Audit) -> None:
    view, overall = audit.view, audit.results.overall
    assert view.overall.score == f"{overall.score:.1f}%"
    assert view.overall.score_without_waivers == f"{overall.score_without_waivers:.1f}%"
    assert view.grade == grade(overall.score)
    assert view.provenance.generated_at == "2026-11-25 13:30:00 UTC+01:00"
    assert view.provenance.evaluated_at == "2026-11-25 12:00:00 UTC"
    assert view.provenance.bundle_sha256 == "ab" * 32
    assert {s.name for s in view.sites} == set(audit.results.by_site)
    assert {p.name for p in view.pools} == set(audit.results.by_pool)
    states = {(w.subject, w.state.word) for w in view.waivers}
    assert ("database:SQL01\\RTC/rtcxds", "APPLIED") in states
    assert ("database:SQL01\\RTC/lis", "EXPIRED") in states
    assert ("database:NOPE\\X/xds", "UNMATCHED") in states
    errors = {e.subject_id: e.reason for e in view.errors}
    assert "not in sys.databases" in errors["database:SQL01\\RTC/rgsconfig"]
    assert "08001" in errors["database:MON01\\LYNCMON/LcsCDR"]
    assert len(view.evidence) == len(audit.bundle.observations)
    assert [r.id for r in view.collection_problems] == ["sql:databases:MON01\\LYNCMON"]


def test_view_refuses_a_naive_time(audit: Audit) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_view(audit.results, rule_pack(), audit.inventory, None, dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    ({"last_full_finished": "2026-11-23T11:00:00+00:00", "age_hours": 49.0},
     "age: 2 d 1 h; last full finished: 2026-11-23 11:00:00 UTC"),  # keys sorted
    ({"ok": True, "gone": None}, "gone: none; ok: yes"),
    (["a", 1, 2.5], "a, 1, 2.5"),
    ("a full backup finished within 26 h", "a full backup finished within 26 h"),
    ({"nested": {"a": 1}}, '{"nested": {"a": 1}}'),
])
def test_readable_values(value: Any, text: str) -> None:
    assert readable(value) == text


def test_grades_and_times() -> None:
    assert [grade(s) for s in (100, 90, 89.9, 80, 70, 60, 59.9, None)] == \
        ["A", "A", "B", "B", "C", "D", "F", "n/a"]
    assert when(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2026-01-02 03:04:05 UTC"
    minus = dt.timezone(dt.timedelta(hours=-5, minutes=-30))
    assert when(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=minus)).endswith("UTC-05:30")


def test_html_shows_the_same_report(audit: Audit) -> None:
    html = audit.html
    assert audit.view.overall.score in html
    assert f"Grade {audit.view.grade}" in html
    for practice in audit.view.practices:
        assert f'id="{practice.anchor}"' in html
    for message in audit.messages(Status.FAIL) + audit.messages(Status.ERROR):
        assert str(escape(message)) in html
    # self-contained: nothing is loaded from anywhere (hyperlinks to Microsoft docs are fine);
    # one inline script (the filter), allowed by its hash in a policy that forbids any request
    tags = _Tags.of(html)
    assert not {"link", "img", "iframe", "object", "embed", "base"} & tags.names
    assert not [a for a in tags.attributes if a[0] == "src" or a[0].startswith("on")]
    assert html.count("<script") == 1
    assert "@import" not in html
    assert "url(" not in html
    policy = unescape(html)
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy


def test_html_escapes_hostile_evidence(audit: Audit) -> None:
    html = audit.html
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    tags = _Tags.of(html)
    assert "img" not in tags.names
    assert HOSTILE in tags.text  # shown to the reader as text


@pytest.mark.slow
def test_pdf_has_score_outline_findings_footer_and_metadata(
        audit: Audit, pdf_text: tuple[bytes, list[str]]) -> None:
    from pypdf import PdfReader

    pdf, pages = pdf_text
    reader = PdfReader(io.BytesIO(pdf))
    text = _flat(" ".join(pages))
    solid = _solid(text)
    assert audit.view.headline in text
    assert audit.view.overall.score in _flat(pages[0])
    for message in audit.messages(Status.FAIL) + audit.messages(Status.ERROR):
        assert _solid(message) in solid
    assert len(pages) > 3
    assert f"Page 1 of {len(pages)}" in _flat(pages[0])
    assert f"Page {len(pages)} of {len(pages)}" in _flat(pages[-1])

    def titles(items: list[Any]) -> list[str]:
        out: list[str] = []
        for item in items:
            out.extend(titles(item) if isinstance(item, list) else [item.title])
        return out

    outline = titles(reader.outline)
    for i in range(1, 16):
        assert any(t.startswith(f"P{i} ") for t in outline), f"P{i} not in the outline"
    for section in ("Executive summary", "Scores", "Scope and limitations",
                    "Findings by practice", "Could not assess", "Waivers", "Management responses",
                    "Control mapping", "Sign-off", "Appendix A: Evidence"):
        assert section in outline
    assert "BR-001 Every Lync database has a recent full backup" in outline
    meta = reader.metadata
    assert meta is not None
    assert meta.title == audit.view.title
    assert meta.get("/Creator") == f"lync-backup-auditor {audit.view.provenance.tool_version}"
    assert _solid(HOSTILE) in solid  # evidence text is shown as text, never interpreted


def test_every_output_format_is_written(audit: Audit, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(FILENAMES) == set(OutputFormat)
    rendered: list[str] = []

    def fake_pdf(html: str) -> bytes:
        rendered.append(html)
        return b"%PDF-stub"

    def fake_report_pdf(view: ReportView, html: str | None = None, *, archival: bool = False,
                        parts: bool | None = None) -> bytes:
        assert html is not None
        assert parts is not True
        return fake_pdf(html) + (b"-a" if archival else b"")

    monkeypatch.setattr("auditor.report.formats.report_pdf", fake_report_pdf)
    data = results_bytes(audit.results)
    paths = write_report(audit.view, data, tmp_path, set(OutputFormat))
    assert [p.name for p in paths] == ["report.html", "report.pdf", "report-pdfa.pdf",
                                       "results.json", "findings.csv", "junit.xml",
                                       "summary.md"]
    assert (tmp_path / "results.json").read_bytes() == data
    assert (tmp_path / "report.pdf").read_bytes() == b"%PDF-stub"
    assert (tmp_path / "report-pdfa.pdf").read_bytes() == b"%PDF-stub-a"
    printed = render_print_html(audit.view)
    assert rendered == [printed, printed]  # rendered once, shared by both PDFs
    assert "<script" not in printed
    assert "<script" in (tmp_path / "report.html").read_text()
    for fmt in OutputFormat:
        assert render_format(fmt, audit.view, data)
    assert write_report(audit.view, data, tmp_path / "only", {OutputFormat.JSON}) == \
        [tmp_path / "only" / "results.json"]


def test_html_is_reproducible_and_works_without_a_bundle(audit: Audit) -> None:
    again = build_view(audit.results, rule_pack(), audit.inventory, audit.bundle, GENERATED)
    assert render_html(again) == audit.html
    bare = build_view(audit.results, rule_pack(), audit.inventory, None, GENERATED)
    html = render_html(bare)
    assert "The evidence bundle was not given to the report" in html
    assert 'href="#ev-' not in html
    assert bare.evidence == ()


def test_a_report_with_nothing_applicable(audit: Audit) -> None:
    empty = build_results(findings=[], pack=rule_pack(), waivers=(), estate="Empty estate",
                          now=NOW, collected_at=NOW, bundle_sha256="0" * 64,
                          inventory_sha256="0" * 64)
    view = build_view(empty, rule_pack(), audit.inventory, None, GENERATED)
    assert (view.overall.score, view.grade) == ("n/a", "n/a")
    assert [p.id for p in view.practices] == [f"P{i}" for i in range(1, 16)]
    html = render_html(view)
    assert "Every applicable finding was assessed." in html
    assert "No waivers were given." in html
    assert view.charts.ages is None
    assert view.charts.heatmap is None
    assert view.charts.trend is None
    assert "No finding needs a management response" in html


def test_every_attribute_is_double_quoted() -> None:
    """render_document writes apostrophes unescaped, which is safe only without '...' values."""
    import re

    from auditor.report.render import templates_dir

    for path in templates_dir().glob("*.j2"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"=\s*'", text), f"{path.name} has a single-quoted attribute"
    for name in ("report.js", "report.css"):
        assert "&#39;" not in (templates_dir() / name).read_text(encoding="utf-8")


def test_apostrophes_in_evidence_are_plain_text(audit: Audit) -> None:
    assert "&#39;" not in audit.html
    assert "'" in audit.html  # e.g. the rules' texts and the policy's 'none'
