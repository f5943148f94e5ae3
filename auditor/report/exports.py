"""Machine-readable exports: CSV (one row per finding), JUnit XML (one testcase per rule and
subject), and a Markdown summary for tickets. Each is a projection of results.json and the view."""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from auditor.findings import STATUS_ORDER, Finding, Status
from auditor.report.model import ReportView, ResponseView
from auditor.report.text import visible
from auditor.results import Results

CSV_COLUMNS = (
    "rule_id", "rule_title", "practice", "severity", "status", "status_before_waiver",
    "subject_id", "subject_type", "subject_name", "instance", "host", "site", "pool", "message",
    "observed", "expected", "evidence_ids", "waiver_approver", "waiver_expires", "waiver_reason",
    "response_owner", "response_due", "response")
MAX_MD_FINDINGS = 50
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Only what Markdown (CommonMark with GitHub's tables and strikethrough) reads as markup inside a
# line: emphasis, code, links, raw HTML, table cells, strikethrough, and an entity; "85.3%" and
# "BR-001" stay as they are.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~]|&(?=#|\w+;))")
# what starts a heading, quote, list or ordered list when it opens a line
_MD_LINE_START = re.compile(r"^(\d+)([.)])(?=\s|$)|^([#>+\-=])")


def _responses(view: ReportView) -> dict[tuple[str, str], ResponseView]:
    return {(r.id, f.subject_id): f.response for p in view.practices for r in p.rules
            for f in r.findings if f.response is not None}


def _json(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection), with hostile
    characters made visible. The check sees the text as NFKC makes it, so the fullwidth
    U+FF1D, U+FF0B, U+FF0D and U+FF20 (which a spreadsheet may take for = + - @) are caught,
    and also after leading spaces."""
    text = visible(text)
    probe = unicodedata.normalize("NFKC", text)
    if probe.startswith(_FORMULA) or probe.lstrip(" ").startswith(_FORMULA):
        return "'" + text
    return text


def _titles(results: Results) -> dict[str, str]:
    return {r.id: r.title for r in results.rules}


def csv_bytes(results: Results, view: ReportView) -> bytes:
    """One row per finding, every status, in results order; UTF-8 with a BOM for spreadsheets."""
    titles = _titles(results)
    responses = _responses(view)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in results.findings:
        s, w = f.subject, f.waiver
        r = responses.get((f.rule_id, s.id))
        row = (f.rule_id, titles.get(f.rule_id, ""), f.practice, f.severity.value,
               f.status.value, f.status_before_waiver.value, s.id, s.type.value, s.name,
               s.instance or "", s.host or "", s.site or "", s.pool or "", f.message,
               _json(f.observed), _json(f.expected), ";".join(f.evidence_ids),
               w.approver if w else "", w.expires if w else "", w.reason if w else "",
               r.owner if r else "", r.due if r else "", r.response if r else "")
        writer.writerow([_safe_cell(str(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _x(text: str) -> str:
    return _XML_BAD.sub("\ufffd", visible(text))


def _details(f: Finding) -> str:
    lines = [f.message]
    if f.observed is not None:
        lines.append(f"observed: {_json(f.observed)}")
    if f.expected is not None:
        lines.append(f"expected: {_json(f.expected)}")
    lines.append(f"evidence: {', '.join(f.evidence_ids) or 'none recorded'}")
    return _x("\n".join(lines))


def _testcase(suite: ET.Element, f: Finding, title: str) -> None:
    case = ET.SubElement(suite, "testcase", classname=_x(f"{f.practice}.{f.rule_id}"),
                         name=_x(f"{f.rule_id} {f.subject.id}"), time="0")
    props = ET.SubElement(case, "properties")
    for name, value in (("rule_title", title), ("severity", f.severity.value),
                        ("status", f.status.value), ("subject_type", f.subject.type.value)):
        ET.SubElement(props, "property", name=name, value=_x(value))
    if f.status is Status.FAIL:
        ET.SubElement(case, "failure", message=_x(f.message), type="fail").text = _details(f)
    elif f.status is Status.ERROR:
        ET.SubElement(case, "error", message=_x(f.message), type="error").text = _details(f)
    elif f.status is Status.WAIVED and f.waiver is not None:
        ET.SubElement(case, "skipped", message=_x(
            f"waived until {f.waiver.expires} by {f.waiver.approver}: {f.waiver.reason}"))
        ET.SubElement(case, "system-out").text = _details(f)
    elif f.status is Status.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=_x(f"not applicable: {f.message}"))
    elif f.status is Status.WARN:
        ET.SubElement(case, "system-out").text = "warn: " + _details(f)


def _counts(findings: Iterable[Finding]) -> dict[str, str]:
    items = list(findings)
    c = {s: sum(1 for f in items if f.status is s) for s in Status}
    return {"tests": str(len(items)), "failures": str(c[Status.FAIL]),
            "errors": str(c[Status.ERROR]),
            "skipped": str(c[Status.WAIVED] + c[Status.NOT_APPLICABLE]), "time": "0"}


def junit_bytes(results: Results) -> bytes:
    """JUnit XML: a testsuite per practice, a testcase per rule and subject. fail -> failure,
    error -> error, waived and not_applicable -> skipped, warn -> passed with a warn note."""
    titles = _titles(results)
    root = ET.Element("testsuites", {
        "name": _x(f"lync-backup-auditor: {results.estate}"),
        "timestamp": results.now.isoformat(timespec="seconds"), **_counts(results.findings)})
    by_practice: dict[str, list[Finding]] = {}
    for f in results.findings:
        by_practice.setdefault(f.practice, []).append(f)
    names = {p.id: p.title for p in results.by_practice}
    for pid in sorted(by_practice, key=lambda p: (len(p), p)):
        items = by_practice[pid]
        suite = ET.SubElement(root, "testsuite", {
            "name": _x(f"{pid} {names.get(pid, pid)}"),
            "timestamp": results.now.isoformat(timespec="seconds"), **_counts(items)})
        for f in items:
            _testcase(suite, f, titles.get(f.rule_id, f.rule_id))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"


def md(text: str) -> str:
    """Text safe inside Markdown, on one line: what Markdown would read as markup escaped (and a
    line-opening marker, so the text may start a line), hostile characters made visible."""
    inline = _MD_SPECIAL.sub(r"\\\1", " ".join(visible(text).split()))
    return _MD_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", inline)


def markdown_bytes(results: Results, view: ReportView) -> bytes:
    """A short Markdown summary to paste into a ticket."""
    o = view.overall
    lines = [f"# {md(view.title)}", "", *([md(view.partial), ""] if view.partial else []),
             f"**Audit opinion: {md(view.opinion.label)}.** {md(view.opinion.reason)}", "",
             f"**Score {md(o.score)} (grade {md(view.grade)}"
             f"{md(', ' + view.opinion.grade_note) if view.opinion.grade_note else ''})** · "
             "without waivers "
             f"{md(o.score_without_waivers)} · coverage {md(o.coverage)} · evaluated "
             f"{md(view.provenance.evaluated_at)}", "",
             f"Evidence collected {md(view.provenance.collection)} · report rendered "
             f"{md(view.provenance.generated_at)}", "",
             f"Evidence bundle SHA-256 `{view.provenance.bundle_sha256}` · tool "
             f"{md(view.provenance.tool_version)} · rule pack "
             f"{md(view.provenance.results_rulepack_version)}", "",
             "| " + " | ".join(c.badge.word for c in o.counts) + " |",
             "|" + "---:|" * len(o.counts),
             "| " + " | ".join(str(c.count) for c in o.counts) + " |", ""]
    if view.risks:
        lines += ["## Top risks", ""]
        lines += [f"{i}. **{md(r.rule_id)}** ({md(r.severity.word.lower())}, "
                  f"{md(r.status.word)}) {md(r.headline)} {md(r.example)}"
                  for i, r in enumerate(view.risks, 1)]
        lines.append("")
    lines += _attention(view)
    lines += _findings(results)
    return "\n".join(lines).encode("utf-8")


def _attention(view: ReportView) -> list[str]:
    if not view.attention:
        return ["No rule has an error, fail or warn finding.", ""]
    lines = ["## Rules that need attention", "", "| Rule | Title | Severity | Status | Subjects |",
             "|---|---|---|---|---:|"]
    lines += [f"| {md(a.rule_id)} | {md(a.title)} | {md(a.severity.word.lower())} | "
              f"{md(a.status.word)} | {a.affected} |" for a in view.attention]
    return [*lines, ""]


def _findings(results: Results) -> list[str]:
    bad = sorted((f for f in results.findings if f.status in (Status.ERROR, Status.FAIL)),
                 key=lambda f: (-f.severity.weight, STATUS_ORDER.index(f.status), f.rule_id,
                                f.subject.id))
    if not bad:
        return []
    lines = [f"## Failed and unassessed findings ({len(bad)})", ""]
    lines += [f"- **{f.status.value.upper()}** {md(f.rule_id)} `{_code(f.subject.id)}`: "
              f"{md(f.message)}" for f in bad[:MAX_MD_FINDINGS]]
    if len(bad) > MAX_MD_FINDINGS:
        lines.append(f"- … and {len(bad) - MAX_MD_FINDINGS} more: see findings.csv or the "
                     "report.")
    return [*lines, ""]


def _code(text: str) -> str:
    """Text inside a code span: a backtick would end it, so it becomes a quote."""
    return " ".join(visible(text).replace("`", "'").split())

