"""The PDF: from the report HTML in one WeasyPrint pass, or, for a large estate, in parts.

A large report laid out in one pass holds every page in memory at once (hundreds of MB for a few
thousand findings). In parts, each run of blocks is laid out by a worker process and written to
PDF, and the parts are joined with pypdf. What spans parts is then put right here:
- page numbers: no part prints "page x of y"; every page is stamped once the total is known;
- the contents: the front part (cover, contents, summary, scope) is laid out again once the body's
  page numbers are known, with those numbers written into the contents lines;
- links into another part are written as `xref:<anchor>` and turned into named destinations;
- the outline is built from the named destinations of the sections, practices and rules.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

from markupsafe import Markup

from auditor.report.model import EmbeddedEvidence, ReportView
from auditor.report.render import (
    PART_ROWS,
    Block,
    RenderContext,
    anchors,
    body_rows,
    plan,
    print_parts,
    render_document,
    render_print_html,
    split,
)

logger = logging.getLogger(__name__)

ARCHIVAL_VARIANT = "pdf/a-3b"
PARTS_OVER = 1200  # body rows above which a PDF is rendered in parts (one pass: ~350 MB)
PLACEHOLDER_PAGE = 999
BODY_PART_CSS = Markup(
    "@page { @bottom-right { content: none; } }"
    '@page :first { @top-left { content: "Backup and DR audit: " string(estate); }'
    " @top-right { content: string(chapter); } }")
FRONT_PART_CSS = Markup("@page { @bottom-right { content: none; } }")
STAMP_CSS = (
    "@page { size: A4; margin: 20mm 14mm 18mm 14mm;"
    ' @bottom-right { content: "Page " counter(page) " of " counter(pages);'
    ' font-family: "DejaVu Sans", sans-serif; font-size: 7.5pt; color: #555;'
    " vertical-align: top; padding-top: 3mm; } }"
    " div { break-before: page; height: 1px; }")


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


def _attachment(evidence: EmbeddedEvidence, created: dt.datetime) -> Any:
    from weasyprint import Attachment

    return Attachment(file_obj=io.BytesIO(evidence.data), name=evidence.name,
                      description=f"Evidence bundle of this audit (SHA-256 {evidence.sha256})",
                      created=created, modified=created, relationship="Data",
                      url_fetcher=_fetcher())


def render_pdf(html: str, *, archival: bool = False, evidence: EmbeddedEvidence | None = None,
               created: dt.datetime | None = None) -> bytes:
    """A4 PDF of an HTML document in one pass; only data: URLs may be fetched, so no evidence
    text can make the renderer read a file or reach the network.

    `archival`: PDF/A-3b (WeasyPrint's variant; conformance is not validated here), tagged for
    assistive technology, with the evidence bundle attached as evidence.json when given.
    """
    from weasyprint import HTML

    options: dict[str, Any] = {}
    if archival:
        options = {"pdf_variant": ARCHIVAL_VARIANT, "pdf_tags": True}
        if evidence is not None:
            stamp = created or dt.datetime.now(dt.UTC)
            options["attachments"] = [_attachment(evidence, stamp)]
    pdf = HTML(string=html, url_fetcher=_fetcher()).write_pdf(**options)
    if not isinstance(pdf, bytes):
        raise TypeError(f"WeasyPrint returned {type(pdf).__name__}, not bytes")
    logger.debug("rendered a PDF of %d bytes", len(pdf))
    return pdf


def _part_html(view: ReportView, blocks: Sequence[Block], pages: dict[str, int],
               front: bool) -> str:
    local = frozenset(a for b in blocks for a in anchors(b, view))
    ctx = RenderContext(screen=False, runner=not front, chapter=blocks[0].chapter, local=local,
                        pages=pages, body_class="report part",
                        extra_css=FRONT_PART_CSS if front else BODY_PART_CSS)
    return render_document(view, blocks, ctx)


def render_pdf_in_parts(view: ReportView, *, rows: int = PART_ROWS,
                        workers: int | None = None) -> bytes:
    """The report PDF laid out a part at a time by worker processes, joined, numbered."""
    from auditor.report import pdfjoin
    from auditor.report.pdfpool import PdfPool

    front, parts = print_parts(view) if rows == PART_ROWS else _parts_of(view, rows)
    workers = workers or max(1, min(2, os.cpu_count() or 1))
    guess = {a: PLACEHOLDER_PAGE for part in parts for b in part for a in anchors(b, view)}
    with PdfPool(workers) as pool:
        first: Future[bytes] = pool.submit(_part_html(view, front, guess, True))
        futures = [pool.submit(_part_html(view, part, {}, False)) for part in parts]
        laid = [pdfjoin.Part.of(f.result()) for f in futures]
        front_pages = pdfjoin.Part.of(first.result()).pages
        front_part = pdfjoin.Part.of(b"")
        for _ in range(3):  # the contents' own length can change with the numbers in it
            numbers = pdfjoin.page_numbers(laid, front_pages)
            front_part = pdfjoin.Part.of(
                pool.submit(_part_html(view, front, numbers, True)).result())
            if front_part.pages == front_pages:
                break
            front_pages = front_part.pages
        total = front_part.pages + sum(p.pages for p in laid)
        stamp = pool.submit(stamp_html(total)).result()
    return pdfjoin.join(front_part, laid, stamp, outline=list(_outline(view)))


def _parts_of(view: ReportView, rows: int) -> tuple[list[Block], list[list[Block]]]:
    """Parts of another size (tests of the joining); a one-pass PDF does not match these."""
    from auditor.report.render import ROWS_PER_BLOCK

    return split(plan(view, rows=ROWS_PER_BLOCK), rows)


def stamp_html(pages: int) -> str:
    """`pages` blank A4 pages, each with only its "Page x of y" where the report prints it."""
    return (f"<!DOCTYPE html><html><head><style>{STAMP_CSS}</style></head><body>"
            + "<div></div>" * pages + "</body></html>")


def _outline(view: ReportView) -> Iterator[tuple[int, str, str]]:
    """(level, title, anchor) of the bookmarks, as WeasyPrint makes them from h1-h3."""
    from auditor.report.view import SECTIONS

    sections = {a: t for t, a in SECTIONS}
    for _, anchor_name in SECTIONS:
        if anchor_name == "backups" and not (view.charts.ages or view.charts.heatmap):
            continue
        if anchor_name == "remediation" and view.remediation is None:
            continue
        yield 1, sections[anchor_name], anchor_name
        if anchor_name == "practices":
            for p in view.practices:
                yield 2, p.heading, p.anchor
                for r in p.rules:
                    yield 3, r.heading, r.anchor


def needs_parts(view: ReportView) -> bool:
    """True when the body holds over PARTS_OVER table rows."""
    return body_rows(plan(view)) > PARTS_OVER


def report_pdf(view: ReportView, html: str | None = None, *, archival: bool = False,
               parts: bool | None = None) -> bytes:
    """The report PDF: archival (PDF/A-3b, tagged, evidence attached) always in one pass; the
    plain PDF in parts when `parts`, or, by default, when the body holds over PARTS_OVER rows.
    `html` is the print HTML (render_print_html) when the caller already has it."""
    created = dt.datetime.fromisoformat(view.provenance.generated_iso)
    if parts is None:
        parts = not archival and needs_parts(view)
    if parts and not archival:
        return render_pdf_in_parts(view)
    page = html if html is not None else render_print_html(view)
    if archival:
        return render_pdf(page, archival=True, evidence=view.embedded, created=created)
    return render_pdf(page)

