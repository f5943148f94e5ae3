"""The PDFs read back with pypdf: the archival PDF/A-3b with its evidence attached, and a report
rendered in parts (as a large estate is) with page numbers, contents, outline and links right."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from auditor.report import build_view
from auditor.report.model import ReportView
from auditor.report.pdf import render_pdf_in_parts, report_pdf
from auditor.report.render import body_rows, plan, render_html, split
from tests.casekit import rule_pack
from tests.pdftext import page_texts
from tests.unit.test_report import GENERATED, Audit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def audit() -> Audit:
    return Audit()


def _view_with_bundle_file(audit: Audit) -> tuple[ReportView, bytes]:
    data = b'{"format": "auditor-evidence", "observations": []}\n'
    results = audit.results.model_copy(update={"bundle_sha256": hashlib.sha256(data).hexdigest()})
    view = build_view(results, rule_pack(), audit.inventory, audit.bundle, GENERATED,
                      evidence_bytes=data)
    return view, data


def _titles(reader: PdfReader) -> list[tuple[int, str, int]]:
    out: list[tuple[int, str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                page = reader.get_destination_page_number(item)
                assert page is not None
                out.append((depth, str(item.title), page))

    walk(reader.outline, 0)
    return out


def test_archival_pdf_carries_the_evidence_and_is_tagged(audit: Audit) -> None:
    view, data = _view_with_bundle_file(audit)
    pdf = report_pdf(view, render_html(view), archival=True)
    reader = PdfReader(io.BytesIO(pdf))
    attached = reader.attachments["evidence.json"][0]
    assert attached == data
    assert hashlib.sha256(attached).hexdigest() == view.provenance.bundle_sha256
    root: Any = reader.root_object
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert "/OutputIntents" in root
    assert "/AF" in root
    assert reader.metadata is not None
    assert reader.metadata.title == view.title
    text = " ".join(page_texts(pdf))
    assert view.embedded is not None
    assert view.embedded.sha256 in "".join(text.split())


def test_parts_keep_numbers_contents_outline_and_links(audit: Audit) -> None:
    view = audit.view
    front, parts = split(plan(view), rows=40)
    assert len(parts) > 3
    assert {b.kind for b in front} >= {"cover", "toc", "summary"}
    assert body_rows(plan(view)) > 40
    pdf = render_pdf_in_parts(view, rows=40)
    reader = PdfReader(io.BytesIO(pdf))
    pages = [" ".join(text.split()) for text in page_texts(pdf)]
    n = len(pages)
    for i, text in enumerate(pages, 1):
        assert f"Page {i} of {n}" in text, f"page {i} has no 'Page {i} of {n}'"
    outline = _titles(reader)
    by_title = {t: (d, page) for d, t, page in outline}
    for p in view.practices:
        depth, _ = by_title[p.heading]
        assert depth == 1  # under "Findings by practice"
    assert by_title["Findings by practice"][0] == 0
    assert by_title["BR-001 Every Lync database has a recent full backup"][0] == 2
    # the contents give each section the page the outline points at
    # pypdf for the contents: pdftotext -raw puts each leader dot on a line of its own
    contents = " ".join((reader.pages[1].extract_text() or "").split())
    for title in ("Waivers", "Control mapping", "Appendix A: Evidence", "P5 Secure, remote "
                  "backup location"):
        found = re.search(re.escape(title) + r" ?\.{3,} ?(\d+)", contents)
        assert found, f"{title} not in the contents"
        assert int(found.group(1)) == by_title[title][1] + 1
    # no link is left pointing at "xref:": each became a named destination
    dests = set(reader.named_destinations)
    links = 0
    for page in reader.pages:
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            action = annot.get("/A")
            assert "xref:" not in str(action.get("/URI", "") if action else "")
            if "/Dest" in annot:
                links += 1
                assert str(annot["/Dest"]) in dests
    assert links > 20
    assert reader.metadata is not None
    assert reader.metadata.title == view.title
    # the running header names the estate and the chapter on body pages
    assert "Backup and DR audit: Case estate" in pages[-1]
    assert "Appendix B: Not applicable findings" in pages[-1]


def test_a_report_without_evidence_links_nothing_missing(audit: Audit) -> None:
    """No bundle: no heatmap, no appendix rows, and WeasyPrint finds every anchor."""
    import logging

    bare = build_view(audit.results, rule_pack(), audit.inventory, None, GENERATED)
    assert bare.charts.heatmap is None
    listed = any(e.anchor == "backups" for e in bare.toc)
    assert listed == bool(bare.charts.ages)
    complaints: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            complaints.append(record.getMessage())

    handler = Catch(logging.WARNING)
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        pdf = report_pdf(bare, parts=False)
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    assert complaints == []
    assert PdfReader(io.BytesIO(pdf)).pages
