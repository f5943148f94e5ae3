"""Output formats: an exhaustive enum, each a thin projection of the one view (or results.json)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import assert_never

from auditor.canonical import write_atomic
from auditor.report.appendix import AppendixMode
from auditor.report.exports import csv_bytes, junit_bytes, markdown_bytes
from auditor.report.model import ReportView
from auditor.report.pdf import needs_parts, render_pdf, report_pdf
from auditor.report.render import render_appendix_html, render_html, render_print_html
from auditor.results import Results


class OutputFormat(StrEnum):
    """What `auditor report --format` can write."""

    HTML = "html"
    PDF = "pdf"
    PDFA = "pdfa"
    JSON = "json"
    CSV = "csv"
    JUNIT = "junit"
    MD = "md"


FILENAMES: Mapping[OutputFormat, str] = {
    OutputFormat.HTML: "report.html",
    OutputFormat.PDF: "report.pdf",
    OutputFormat.PDFA: "report-pdfa.pdf",
    OutputFormat.JSON: "results.json",
    OutputFormat.CSV: "findings.csv",
    OutputFormat.JUNIT: "junit.xml",
    OutputFormat.MD: "summary.md",
}
APPENDIX_FILES: Mapping[OutputFormat, str] = {
    OutputFormat.HTML: "evidence-appendix.html",
    OutputFormat.PDF: "evidence-appendix.pdf",
}


class _Sources:
    """What the formats are made from, each computed once and shared."""

    def __init__(self, view: ReportView, results_bytes: bytes, parts: bool | None) -> None:
        self.view = view
        self.results_bytes = results_bytes
        self.parts = parts
        self._html: str | None = None
        self._print: str | None = None
        self._results: Results | None = None

    def html(self) -> str:
        if self._html is None:
            self._html = render_html(self.view)
        return self._html

    def print_html(self) -> str:
        if self._print is None:
            self._print = render_print_html(self.view)
        return self._print

    def results(self) -> Results:
        if self._results is None:
            self._results = Results.model_validate(json.loads(self.results_bytes))
        return self._results


def _render(fmt: OutputFormat, src: _Sources) -> bytes:
    """The bytes of one format; each HTML is rendered once and shared (the print HTML by both
    PDFs)."""
    match fmt:
        case OutputFormat.HTML:
            return src.html().encode("utf-8")
        case OutputFormat.PDF:
            if src.parts is True or (src.parts is None and needs_parts(src.view)):
                return report_pdf(src.view, parts=True)
            return report_pdf(src.view, src.print_html(), parts=False)
        case OutputFormat.PDFA:
            return report_pdf(src.view, src.print_html(), archival=True)
        case OutputFormat.JSON:
            return src.results_bytes
        case OutputFormat.CSV:
            return csv_bytes(src.results(), src.view)
        case OutputFormat.JUNIT:
            return junit_bytes(src.results())
        case OutputFormat.MD:
            return markdown_bytes(src.results(), src.view)
        case _:
            assert_never(fmt)


def render_format(fmt: OutputFormat, view: ReportView, results_bytes: bytes, *,
                  parts: bool | None = None) -> bytes:
    """The bytes of one format of the report."""
    return _render(fmt, _Sources(view, results_bytes, parts))


def write_report(view: ReportView, results_bytes: bytes, out_dir: Path,
                 formats: set[OutputFormat], *, parts: bool | None = None) -> list[Path]:
    """Write each requested file atomically into out_dir, in enum order; return their paths.

    With `--appendix split` the evidence rows go to evidence-appendix.html/.pdf beside the
    report. `parts` forces (True) or forbids (False) rendering the PDF in parts; by default a
    large report is rendered in parts (pdf.py).
    """
    src = _Sources(view, results_bytes, parts)
    written = []
    for fmt in OutputFormat:
        if fmt not in formats:
            continue
        path = out_dir / FILENAMES[fmt]
        write_atomic(path, _render(fmt, src))
        written.append(path)
        if view.appendix.mode == AppendixMode.SPLIT.value and fmt in APPENDIX_FILES:
            extra = out_dir / APPENDIX_FILES[fmt]
            if fmt is OutputFormat.HTML:
                write_atomic(extra, render_appendix_html(view).encode("utf-8"))
            else:
                write_atomic(extra, render_pdf(render_appendix_html(view, screen=False)))
            written.append(extra)
    return written
