"""The report's sections in order, its table of contents, and the rows of its smaller sections:
rules needing attention, what could not be assessed, waivers, sites."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.findings import Finding, Status
from auditor.inventory import Inventory
from auditor.report.badges import SEVERITY_BADGES, STATUS_BADGES, issue_counts, reading_order
from auditor.report.evidenceindex import EvidenceIndex
from auditor.report.model import (
    AttentionRow,
    Badge,
    ErrorRow,
    NotApplicableRow,
    PracticeView,
    TocEntry,
)
from auditor.report.text import anchor
from auditor.results import Results, RuleSummary, WaiverStatus

ATTENTION = (Status.ERROR, Status.FAIL, Status.WARN)

# Sections of the report with their anchors, in order (the template lays them out in this order).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("Executive summary", "summary"), ("Scores", "scores"), ("Backup health", "backups"),
    ("Scope and limitations", "scope"), ("Findings by practice", "practices"),
    ("Remediation run", "remediation"), ("Could not assess", "errors"), ("Waivers", "waivers"),
    ("Management responses", "responses"), ("Control mapping", "controls"),
    ("Sign-off", "signoff"), ("Appendix A: Evidence", "evidence"),
    ("Appendix B: Not applicable findings", "not-applicable"),
)


def needs_attention(results: Results, summaries: Sequence[RuleSummary]) -> tuple[AttentionRow, ...]:
    """Rules with an error, fail or warn: the heaviest severity first, then the worst status."""
    rows = [r for r in summaries if r.status in ATTENTION]
    rows.sort(key=lambda r: (reading_order(r.severity, r.status), r.id))
    bad: dict[str, list[Status]] = {}
    for f in results.findings:
        if f.status in ATTENTION:
            bad.setdefault(f.rule_id, []).append(f.status)
    return tuple(AttentionRow(
        r.id, anchor("rule", r.id), r.title, SEVERITY_BADGES[r.severity], STATUS_BADGES[r.status],
        len(bad.get(r.id, [])), issue_counts(bad.get(r.id, []))) for r in rows)


def error_groups(results: Results, evidence: EvidenceIndex) -> tuple[ErrorRow, ...]:
    errors = sorted((f for f in results.findings if f.status is Status.ERROR),
                    key=lambda f: (-f.severity.weight, f.rule_id, f.subject.id))
    return tuple(ErrorRow(f.rule_id, anchor("rule", f.rule_id), f.subject.id, f.message,
                          evidence.refs(f.evidence_ids)) for f in errors)


def waiver_state(waiver: WaiverStatus, findings: Sequence[Finding]) -> Badge:
    if waiver.applied:
        return Badge("APPLIED", "waived")
    if waiver.expired:
        return Badge("EXPIRED", "fail")
    if not waiver.matched:
        return Badge("UNMATCHED", "warn")
    hits = [f for f in findings if f.rule_id == waiver.rule
            and f.subject.id.lower() == waiver.subject.lower()]
    if any(f.status is Status.ERROR for f in hits):
        return Badge("NOT APPLIED: ERROR", "error")
    return Badge("NOT NEEDED", "na")


def site_name(inventory: Inventory, site_id: str) -> str:
    """'EMEA (Europe, Middle East and Africa)' when the inventory names the site."""
    name = next((s.name for s in inventory.sites if s.id == site_id and s.name), None)
    return f"{site_id} ({name})" if name and name != site_id else site_id


def table_of_contents(practices: Sequence[PracticeView], backups: bool,
                      remediation: bool = False) -> tuple[TocEntry, ...]:
    entries = []
    for title, name in SECTIONS:
        if (name == "backups" and not backups) or (name == "remediation" and not remediation):
            continue
        entries.append(TocEntry(1, title, name))
        if name == "practices":
            entries.extend(TocEntry(2, p.heading, p.anchor) for p in practices)
    return tuple(entries)


def _names(findings: Sequence[Finding]) -> str:
    names = sorted({f.subject.name for f in findings}, key=str.lower)
    return ", ".join(names)


def not_applicable_groups(findings: Sequence[Finding]) -> tuple[NotApplicableRow, ...]:
    """The not_applicable findings grouped by reason and instance, the largest groups first:
    hundreds of system databases take a few rows, each with its list for the HTML."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.status is Status.NOT_APPLICABLE:
            groups.setdefault((f.message, f.subject.instance or ""), []).append(f)
    rows = [NotApplicableRow(
        reason, where or "estate", len(own), ", ".join(sorted({f.rule_id for f in own})),
        _names(own), tuple(f"{f.rule_id} {f.subject.id}"
                           for f in sorted(own, key=lambda f: (f.rule_id, f.subject.id))))
        for (reason, where), own in groups.items()]
    return tuple(sorted(rows, key=lambda r: (-r.count, r.where.lower(), r.reason)))
