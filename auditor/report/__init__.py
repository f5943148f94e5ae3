"""The scored report: one view model (view.py), HTML and PDF from one template (render.py),
and the files of an audit written atomically (formats.py)."""

from auditor.report.formats import OutputFormat, write_report
from auditor.report.model import ReportView
from auditor.report.render import render_html, render_pdf
from auditor.report.view import build_view

__all__ = ["OutputFormat", "ReportView", "build_view", "render_html", "render_pdf",
           "write_report"]
