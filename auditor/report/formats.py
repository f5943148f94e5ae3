"""Output formats: an exhaustive enum, each a thin projection of the one view (or results.json)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import assert_never

from auditor.canonical import write_atomic
from auditor.report.model import ReportView
from auditor.report.render import render_html, render_pdf


class OutputFormat(StrEnum):
    """What `auditor report --format` can write."""

    HTML = "html"
    PDF = "pdf"
    JSON = "json"


FILENAMES: Mapping[OutputFormat, str] = {
    OutputFormat.HTML: "report.html",
    OutputFormat.PDF: "report.pdf",
    OutputFormat.JSON: "results.json",
}


def render_format(fmt: OutputFormat, html: Callable[[], str], results_bytes: bytes) -> bytes:
    """The bytes of one format; the HTML is rendered once and shared by HTML and PDF."""
    match fmt:
        case OutputFormat.HTML:
            return html().encode("utf-8")
        case OutputFormat.PDF:
            return render_pdf(html())
        case OutputFormat.JSON:
            return results_bytes
        case _:
            assert_never(fmt)


def write_report(view: ReportView, results_bytes: bytes, out_dir: Path,
                 formats: set[OutputFormat]) -> list[Path]:
    """Write each requested file atomically into out_dir, in enum order; return their paths."""
    cache: list[str] = []

    def html() -> str:
        if not cache:
            cache.append(render_html(view))
        return cache[0]

    written = []
    for fmt in OutputFormat:
        if fmt in formats:
            path = out_dir / FILENAMES[fmt]
            write_atomic(path, render_format(fmt, html, results_bytes))
            written.append(path)
    return written
