"""Findings by practice: the rule summaries, and each practice with its rules and findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from auditor.engine.rules import Practice, Rule, RulePack
from auditor.engine.score import score
from auditor.findings import Finding, Status, worst
from auditor.report.badges import (
    SEVERITY_BADGES,
    STATUS_BADGES,
    issue_counts,
    score_view,
    status_order,
)
from auditor.report.evidenceindex import EvidenceIndex
from auditor.report.model import FindingView, Link, PracticeView, ResponseView, RuleView
from auditor.report.remedy import PLAN_COMMAND, Remedies
from auditor.report.text import anchor, readable
from auditor.results import Results, RuleSummary

Respond = Callable[[Finding], ResponseView | None]


def _waiver_note(finding: Finding) -> str:
    ref = finding.waiver
    if ref is None:
        return ""
    state = "waiver expired on" if ref.expired else "waived until"
    return f"{state} {ref.expires} by {ref.approver}: {ref.reason}"


def _finding_view(finding: Finding, evidence: EvidenceIndex, respond: Respond,
                  remedies: Remedies) -> FindingView:
    subject = finding.subject
    location = " on ".join(p for p in (subject.instance, subject.host) if p)
    remedy = remedies.for_finding(finding)
    return FindingView(
        fix=remedy.step if remedy else "", plan=remedy.command if remedy else "",
        status=STATUS_BADGES[finding.status], subject_id=subject.id, subject_name=subject.name,
        location=location, message=finding.message, observed=readable(finding.observed),
        expected=readable(finding.expected), evidence=evidence.refs(finding.evidence_ids),
        waiver_note=_waiver_note(finding), response=respond(finding))


def _safe_url(url: str | None) -> str:
    """Only web links become links; anything else (javascript:, file:) is shown as text only."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


def _rule_view(summary: RuleSummary, rule: Rule | None, findings: Sequence[Finding],
               evidence: EvidenceIndex, respond: Respond, remedies: Remedies) -> RuleView:
    shown = sorted((f for f in findings if f.status is not Status.NOT_APPLICABLE),
                   key=lambda f: (status_order(f.status), f.subject.id))
    n_a = len(findings) - len(shown)
    note = ""
    if n_a:
        noun = "subject is" if n_a == 1 else "subjects are"
        note = f"{n_a} {noun} not applicable (listed in Appendix B)"
    return RuleView(
        id=summary.id, anchor=anchor("rule", summary.id), heading=f"{summary.id} {summary.title}",
        title=summary.title, severity=SEVERITY_BADGES[summary.severity],
        status=STATUS_BADGES[summary.status], subjects=summary.subjects,
        rationale=rule.rationale if rule else "", how_checked=rule.how_checked if rule else "",
        remediation=remedies.rule_text(rule.remediation, findings) if rule else "",
        plan_command=(f"{PLAN_COMMAND} --rule {summary.id}"
                      if remedies.has_action(summary.id) else ""),
        references=tuple(Link(r.title, _safe_url(r.url)) for r in rule.references) if rule else (),
        controls=", ".join(rule.controls) if rule else "", practice=summary.practice,
        findings=tuple(_finding_view(f, evidence, respond, remedies) for f in shown),
        not_applicable=n_a,
        not_applicable_note=note)


def practice_summaries(results: Results, pack: RulePack) -> list[RuleSummary]:
    """Every rule that has results; a finding whose rule lacks a summary still gets one."""
    out = {r.id: r for r in results.rules}
    for finding in results.findings:
        if finding.rule_id not in out:
            own = [f.status for f in results.findings if f.rule_id == finding.rule_id]
            rule = pack.rule(finding.rule_id)
            out[finding.rule_id] = RuleSummary(
                id=finding.rule_id, title=rule.title if rule else finding.rule_id,
                practice=finding.practice, severity=finding.severity, status=worst(own),
                subjects=len(own))
    return sorted(out.values(), key=lambda r: r.id)


def _practice_key(practice_id: str) -> tuple[int, str]:
    digits = practice_id.lstrip("P")
    return (int(digits), practice_id) if digits.isdigit() else (10**6, practice_id)


def practice_views(results: Results, pack: RulePack, summaries: Sequence[RuleSummary],
                   evidence: EvidenceIndex, respond: Respond,
                   remedies: Remedies) -> tuple[PracticeView, ...]:
    by_practice = {p.id: p for p in results.by_practice}
    # a partial audit shows only the practices it selected rules of
    known: dict[str, Practice | None] = {p.id: p for p in pack.practices
                                         if results.scope.complete or p.id in by_practice}
    for pid in [*by_practice, *(r.practice for r in summaries)]:
        known.setdefault(pid, None)
    grouped: dict[str, dict[str, list[Finding]]] = {}
    for f in results.findings:
        grouped.setdefault(f.practice, {}).setdefault(f.rule_id, []).append(f)
    out = []
    for pid in sorted(known, key=_practice_key):
        practice, summary = known[pid], by_practice.get(pid)
        own_rules = grouped.get(pid, {})
        own = [f for found in own_rules.values() for f in found]
        rules = tuple(_rule_view(r, pack.rule(r.id), own_rules.get(r.id, []), evidence, respond,
                                 remedies) for r in summaries if r.practice == pid)
        title = practice.title if practice else (summary.title if summary else pid)
        out.append(PracticeView(
            id=pid, anchor=anchor("practice", pid), heading=f"{pid} {title}", title=title,
            source_text=practice.source_text if practice else "",
            assessment=practice.assessment.value if practice else "",
            status=STATUS_BADGES[worst([f.status for f in own])],
            score=score_view(summary.score if summary else score(own)), rules=rules,
            issues=issue_counts([f.status for f in own])))
    return tuple(out)
