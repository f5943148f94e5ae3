"""HTML from the jinja2 templates, and the PDF from that same HTML (WeasyPrint, no network)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

import auditor
from auditor.report.model import ReportView

logger = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"


def templates_dir() -> Path:
    """The shipped templates (auditor/data/report_templates -> report_templates/)."""
    return Path(auditor.__file__).parent / "data" / "report_templates"


@functools.cache
def environment() -> Environment:
    """Autoescaping (html, j2 and by default), strict about undefined names."""
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


def _stylesheet() -> Markup:
    """The CSS to inline; it is our own file, but it must not be able to end the <style>."""
    css = (templates_dir() / STYLESHEET).read_text(encoding="utf-8")
    if "</" in css:
        raise ValueError(f"{STYLESHEET} must not contain '</'")
    return Markup(css)  # noqa: S704 - shipped stylesheet, checked above


def render_html(view: ReportView) -> str:
    """One self-contained HTML file: CSS inlined, no scripts, no external resources."""
    return environment().get_template(TEMPLATE).render(view=view, css=_stylesheet())


def render_pdf(html: str) -> bytes:
    """A4 PDF of the report HTML; title and metadata come from its <head>, built from the view.

    Only data: URLs may be fetched, so no evidence text can make the renderer read a file or
    reach the network.
    """
    from weasyprint import HTML  # imported here: it is slow to load and only the PDF needs it
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise TypeError(f"WeasyPrint returned {type(pdf).__name__}, not bytes")
    logger.debug("rendered a PDF of %d bytes", len(pdf))
    return pdf
