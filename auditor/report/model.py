"""The report's view model: frozen, precomputed, plain text. Templates only lay it out."""

from __future__ import annotations

from dataclasses import dataclass


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
    findings: tuple[FindingView, ...]
    not_applicable: int
    not_applicable_note: str


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


@dataclass(frozen=True)
class AttentionRow:
    """A rule whose worst status is error, fail or warn, for the summary."""

    rule_id: str
    anchor: str
    title: str
    severity: Badge
    status: Badge
    affected: int


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
    """A not_applicable finding, for the appendix."""

    rule_id: str
    subject_id: str
    reason: str


@dataclass(frozen=True)
class WaiverView:
    """A waiver from the waivers file and what became of it."""

    rule: str
    subject: str
    reason: str
    approver: str
    expires: str
    state: Badge


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
