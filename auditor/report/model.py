"""The report's view model: frozen, precomputed, plain text. Templates only lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.report.appendix import EvidenceAppendix
    from auditor.report.charts import ChartsView
    from auditor.report.opinion import OpinionView
    from auditor.report.remediation import RemediationView
    from auditor.report.scope import ScopeView
    from auditor.report.since import SinceView


@dataclass(frozen=True)
class Badge:
    """A status shown as a word on a colour; `css` is one of a fixed set of class suffixes."""

    word: str
    css: str


@dataclass(frozen=True)
class Count:
    """How many findings have one status."""

    badge: Badge
    count: int


@dataclass(frozen=True)
class ScoreView:
    """A Score as text: with and without waivers, coverage, counts worst-first."""

    score: str
    score_without_waivers: str
    coverage: str
    applicable: int
    assessed: int
    counts: tuple[Count, ...]
    bar: float  # 0-100, the width of the score bar


@dataclass(frozen=True)
class EvidenceRef:
    """An observation id a finding rests on; `anchor` is empty when it is not in the bundle."""

    id: str
    anchor: str


@dataclass(frozen=True)
class ResponseView:
    """Management's response to a finding, from the responses file."""

    owner: str
    due: str
    response: str
    overdue: bool


@dataclass(frozen=True)
class FindingView:
    """One subject's verdict under one rule."""

    status: Badge
    subject_id: str
    subject_name: str
    location: str  # "SQL01\\RTC on sql01.contoso.com", or ""
    message: str
    observed: str
    expected: str
    evidence: tuple[EvidenceRef, ...]
    waiver_note: str
    response: ResponseView | None = None
    fix: str = ""  # the concrete step from the remediation catalogue, for a fail or warn
    plan: str = ""  # `auditor remediate plan --rule R --subject S`, when an action exists


@dataclass(frozen=True)
class Link:
    """A reference: title and (optional) URL."""

    title: str
    url: str


@dataclass(frozen=True)
class RuleView:
    """A rule with its documentation and its findings, worst first; n/a ones only counted."""

    id: str
    anchor: str
    heading: str
    title: str
    severity: Badge
    status: Badge
    subjects: int
    rationale: str
    how_checked: str
    remediation: str
    references: tuple[Link, ...]
    controls: str
    practice: str
    findings: tuple[FindingView, ...]
    not_applicable: int
    not_applicable_note: str
    plan_command: str = ""  # the whole `auditor remediate plan` command, when an action exists


@dataclass(frozen=True)
class PracticeView:
    """A practice of the source document with its score and rules."""

    id: str
    anchor: str
    heading: str
    title: str
    source_text: str
    assessment: str
    status: Badge
    score: ScoreView
    rules: tuple[RuleView, ...]
    issues: tuple[Count, ...] = ()  # fails, errors, warns side by side; empty: none


@dataclass(frozen=True)
class AttentionRow:
    """A rule whose worst status is error, fail or warn, for the summary."""

    rule_id: str
    anchor: str
    title: str
    severity: Badge
    status: Badge
    affected: int
    issues: tuple[Count, ...] = ()  # its fails, errors and warns side by side


@dataclass(frozen=True)
class ErrorRow:
    """A finding that could not be assessed, with the reason."""

    rule_id: str
    rule_anchor: str
    subject_id: str
    reason: str
    evidence: tuple[EvidenceRef, ...]


@dataclass(frozen=True)
class NotApplicableRow:
    """The not_applicable findings of one reason on one instance (or estate-wide), counted;
    `items` lists each (rule, subject) for the HTML, folded."""

    reason: str
    where: str
    count: int
    rules: str
    subjects: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class WaiverView:
    """A waiver from the waivers file and what became of it."""

    rule: str
    subject: str
    reason: str
    approver: str
    expires: str
    state: Badge
    note: str | None = None  # why it covered nothing (auditor.engine.waivers.waiver_note)


@dataclass(frozen=True)
class GroupRow:
    """A site's or pool's score."""

    name: str
    score: ScoreView


@dataclass(frozen=True)
class EvidenceRow:
    """One observation of the evidence bundle."""

    anchor: str
    id: str
    source: str
    probe: str
    target: str
    status: Badge
    finished: str
    rows: int
    sha256_short: str
    error: str


@dataclass(frozen=True)
class Risk:
    """A top risk of the executive summary, in plain language."""

    rule_id: str
    anchor: str
    severity: Badge
    status: Badge
    headline: str  # "Every Lync database has a recent full backup: not met for 3 of 17 databases"
    example: str  # "lis on SQL01\\RTC: last full backup finished 49 h 00 min ago, ..."


@dataclass(frozen=True)
class GapRow:
    """One cause of "could not assess", with how many findings it left unassessed."""

    cause: str
    findings: int
    rules: str
    evidence: tuple[EvidenceRef, ...]


@dataclass(frozen=True)
class ControlRow:
    """A control of a framework and the rules that give evidence for it."""

    control: str
    rules: tuple[tuple[str, str, Badge], ...]  # (rule id, anchor, status)
    status: Badge


@dataclass(frozen=True)
class ResponseRow:
    """A finding that has, or lacks, a management response (for the responses section)."""

    rule_id: str
    anchor: str
    subject_id: str
    status: Badge
    response: ResponseView | None


@dataclass(frozen=True)
class SignOff:
    """A line of the sign-off block."""

    role: str
    duty: str


@dataclass(frozen=True)
class TocEntry:
    """A line of the table of contents."""

    level: int
    title: str
    anchor: str


@dataclass(frozen=True)
class Provenance:
    """Where the numbers come from: versions, hashes and the three times, with zones."""

    generated_at: str
    generated_iso: str
    evaluated_at: str
    collected_at: str
    tool_version: str
    rulepack_version: str
    results_rulepack_version: str
    rulepack_note: str
    bundle_sha256: str
    inventory_sha256: str
    audit_period: str
    collection: str


@dataclass(frozen=True)
class EmbeddedEvidence:
    """The evidence bundle file to attach to the archival PDF, with its hash."""

    name: str
    sha256: str
    size: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ReportView:
    """Everything the HTML/PDF report shows, computed once from Results."""

    title: str
    estate: str
    description: str
    keywords: str
    provenance: Provenance
    overall: ScoreView
    grade: str
    grade_css: str
    opinion: OpinionView
    headline: str
    attention: tuple[AttentionRow, ...]
    practices: tuple[PracticeView, ...]
    errors: tuple[ErrorRow, ...]
    waivers: tuple[WaiverView, ...]
    sites: tuple[GroupRow, ...]
    pools: tuple[GroupRow, ...]
    has_evidence: bool
    evidence: tuple[EvidenceRow, ...]
    collection_problems: tuple[EvidenceRow, ...]
    not_applicable: tuple[NotApplicableRow, ...]
    toc: tuple[TocEntry, ...]
    summary: tuple[str, ...]
    risks: tuple[Risk, ...]
    charts: ChartsView
    scope: ScopeView
    gaps: tuple[GapRow, ...]
    controls: tuple[ControlRow, ...]
    responses: tuple[ResponseRow, ...]
    responses_given: bool
    unused_responses: tuple[str, ...]
    signoff: tuple[SignOff, ...]
    appendix: EvidenceAppendix
    embedded: EmbeddedEvidence | None
    evidence_note: str
    partial: str = ""  # a partial audit's label (report/partial.py); empty for a full audit
    since: SinceView | None = None  # what changed since the last audit (report/since.py)
    remediation: RemediationView | None = None  # the last remediation run (report/remediation.py)
