"""The scored report: one view model (view.py), HTML from one template set (render.py), the PDF
from that HTML (pdf.py, in parts for large estates), exports (exports.py), and the files of an
audit written atomically (formats.py)."""

from auditor.report.appendix import AppendixMode
from auditor.report.formats import OutputFormat, write_report
from auditor.report.model import ReportView
from auditor.report.pdf import render_pdf
from auditor.report.render import render_html
from auditor.report.responses import ManagementResponse, load_responses
from auditor.report.view import build_view

__all__ = ["AppendixMode", "ManagementResponse", "OutputFormat", "ReportView", "build_view",
           "load_responses", "render_html", "render_pdf", "write_report"]
