"""build_view: Results + rule pack (+ inventory, bundle) -> one ReportView for every format."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from auditor.canonical import pretty_bytes
from auditor.engine.rules import Practice, Rule, RulePack
from auditor.engine.score import Score, score
from auditor.evidence import EvidenceBundle, Observation, ObservationStatus
from auditor.facts import Facts, derive_facts
from auditor.findings import STATUS_ORDER, Finding, Severity, Status, worst
from auditor.inventory import Inventory
from auditor.report import summary as parts
from auditor.report.appendix import DEFAULT_MAX_ROWS, AppendixMode, appendix
from auditor.report.chartdata import build_charts
from auditor.report.model import (
    AttentionRow,
    Badge,
    Count,
    EmbeddedEvidence,
    ErrorRow,
    EvidenceRef,
    EvidenceRow,
    FindingView,
    GroupRow,
    Link,
    NotApplicableRow,
    PracticeView,
    Provenance,
    ReportView,
    ResponseView,
    RuleView,
    ScoreView,
    TocEntry,
    WaiverView,
)
from auditor.report.responses import ManagementResponse, ResponseIndex
from auditor.report.scope import audit_period, build_scope, collection_window
from auditor.report.text import anchor, grade, percent, readable, when
from auditor.results import Results, RuleSummary, WaiverStatus

Respond = Callable[[Finding], ResponseView | None]

STATUS_BADGES: Mapping[Status, Badge] = {
    Status.ERROR: Badge("ERROR", "error"), Status.FAIL: Badge("FAIL", "fail"),
    Status.WARN: Badge("WARN", "warn"), Status.WAIVED: Badge("WAIVED", "waived"),
    Status.PASS: Badge("PASS", "pass"), Status.NOT_APPLICABLE: Badge("N/A", "na"),
}
SEVERITY_BADGES: Mapping[Severity, Badge] = {s: Badge(s.value.upper(), s.value) for s in Severity}
ATTENTION = (Status.ERROR, Status.FAIL, Status.WARN)

# Sections of the report with their anchors, in order (the template lays them out in this order).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("Executive summary", "summary"), ("Scores", "scores"), ("Backup health", "backups"),
    ("Scope and limitations", "scope"), ("Findings by practice", "practices"),
    ("Could not assess", "errors"), ("Waivers", "waivers"),
    ("Management responses", "responses"), ("Control mapping", "controls"),
    ("Sign-off", "signoff"), ("Appendix A: Evidence", "evidence"),
    ("Appendix B: Not applicable findings", "not-applicable"),
)


def _order(status: Status) -> int:
    return STATUS_ORDER.index(status)


def score_view(value: Score) -> ScoreView:
    """A Score as report text, counts worst-first."""
    counts = tuple(Count(STATUS_BADGES[s], value.counts.get(s.value, 0)) for s in STATUS_ORDER)
    bar = max(0.0, min(100.0, value.score or 0.0))
    return ScoreView(score=percent(value.score),
                     score_without_waivers=percent(value.score_without_waivers),
                     coverage=percent(value.coverage), applicable=value.applicable,
                     assessed=value.assessed, counts=counts, bar=bar)


class _Evidence:
    """Anchors for the observations of the bundle, unique even if two ids slug alike."""

    def __init__(self, bundle: EvidenceBundle | None) -> None:
        self.observations: list[Observation] = sorted(bundle.observations, key=lambda o: o.id) \
            if bundle is not None else []
        self.anchors: dict[str, str] = {}
        for obs in self.observations:
            base = anchor("ev", obs.id)
            taken = set(self.anchors.values())
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            self.anchors[obs.id] = name

    def refs(self, ids: Iterable[str]) -> tuple[EvidenceRef, ...]:
        return tuple(EvidenceRef(i, self.anchors.get(i, "")) for i in ids)

    def rows(self) -> tuple[EvidenceRow, ...]:
        return tuple(_evidence_row(o, self.anchors[o.id]) for o in self.observations)

    def pairs(self) -> list[tuple[Observation, str]]:
        return [(o, self.anchors[o.id]) for o in self.observations]

    def failed(self) -> dict[str, str]:
        return {o.id: f"{o.status.value}" + (f" ({o.error})" if o.error else "")
                for o in self.observations if o.status is not ObservationStatus.OK}


def _evidence_row(obs: Observation, name: str) -> EvidenceRow:
    ok = obs.status is ObservationStatus.OK
    return EvidenceRow(anchor=name, id=obs.id, source=obs.source.value, probe=obs.probe,
                       target=obs.target,
                       status=Badge(obs.status.value.upper(), "pass" if ok else "error"),
                       finished=when(obs.finished_at), rows=len(obs.data),
                       sha256_short=obs.sha256[:12], error=obs.error or "")


def _waiver_note(finding: Finding) -> str:
    ref = finding.waiver
    if ref is None:
        return ""
    state = "waiver expired on" if ref.expired else "waived until"
    return f"{state} {ref.expires} by {ref.approver}: {ref.reason}"


def _finding_view(finding: Finding, evidence: _Evidence, respond: Respond) -> FindingView:
    subject = finding.subject
    location = " on ".join(p for p in (subject.instance, subject.host) if p)
    return FindingView(
        status=STATUS_BADGES[finding.status], subject_id=subject.id, subject_name=subject.name,
        location=location, message=finding.message, observed=readable(finding.observed),
        expected=readable(finding.expected), evidence=evidence.refs(finding.evidence_ids),
        waiver_note=_waiver_note(finding), response=respond(finding))


def _safe_url(url: str | None) -> str:
    """Only web links become links; anything else (javascript:, file:) is shown as text only."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


def _rule_view(summary: RuleSummary, rule: Rule | None, findings: Sequence[Finding],
               evidence: _Evidence, respond: Respond) -> RuleView:
    shown = sorted((f for f in findings if f.status is not Status.NOT_APPLICABLE),
                   key=lambda f: (_order(f.status), f.subject.id))
    n_a = len(findings) - len(shown)
    note = ""
    if n_a:
        noun = "subject is" if n_a == 1 else "subjects are"
        note = f"{n_a} {noun} not applicable (listed in Appendix A)"
    return RuleView(
        id=summary.id, anchor=anchor("rule", summary.id), heading=f"{summary.id} {summary.title}",
        title=summary.title, severity=SEVERITY_BADGES[summary.severity],
        status=STATUS_BADGES[summary.status], subjects=summary.subjects,
        rationale=rule.rationale if rule else "", how_checked=rule.how_checked if rule else "",
        remediation=rule.remediation if rule else "",
        references=tuple(Link(r.title, _safe_url(r.url)) for r in rule.references) if rule else (),
        controls=", ".join(rule.controls) if rule else "", practice=summary.practice,
        findings=tuple(_finding_view(f, evidence, respond) for f in shown), not_applicable=n_a,
        not_applicable_note=note)


def _summaries(results: Results, pack: RulePack) -> list[RuleSummary]:
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


def _practices(results: Results, pack: RulePack, summaries: Sequence[RuleSummary],
               evidence: _Evidence, respond: Respond) -> tuple[PracticeView, ...]:
    known: dict[str, Practice | None] = {p.id: p for p in pack.practices}
    by_practice = {p.id: p for p in results.by_practice}
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
        rules = tuple(_rule_view(r, pack.rule(r.id), own_rules.get(r.id, []), evidence, respond)
                      for r in summaries if r.practice == pid)
        title = practice.title if practice else (summary.title if summary else pid)
        out.append(PracticeView(
            id=pid, anchor=anchor("practice", pid), heading=f"{pid} {title}", title=title,
            source_text=practice.source_text if practice else "",
            assessment=practice.assessment.value if practice else "",
            status=STATUS_BADGES[worst([f.status for f in own])],
            score=score_view(summary.score if summary else score(own)), rules=rules))
    return tuple(out)


def _attention(results: Results, summaries: Sequence[RuleSummary]) -> tuple[AttentionRow, ...]:
    """Rules with an error, fail or warn: worst status first, then the heaviest severity."""
    rows = [r for r in summaries if r.status in ATTENTION]
    rows.sort(key=lambda r: (_order(r.status), -r.severity.weight, r.id))
    affected: dict[str, int] = {}
    for f in results.findings:
        if f.status in ATTENTION:
            affected[f.rule_id] = affected.get(f.rule_id, 0) + 1
    return tuple(AttentionRow(
        r.id, anchor("rule", r.id), r.title, SEVERITY_BADGES[r.severity], STATUS_BADGES[r.status],
        affected.get(r.id, 0)) for r in rows)


def _errors(results: Results, evidence: _Evidence) -> tuple[ErrorRow, ...]:
    errors = sorted((f for f in results.findings if f.status is Status.ERROR),
                    key=lambda f: (f.rule_id, f.subject.id))
    return tuple(ErrorRow(f.rule_id, anchor("rule", f.rule_id), f.subject.id, f.message,
                          evidence.refs(f.evidence_ids)) for f in errors)


def _waiver_state(waiver: WaiverStatus, findings: Sequence[Finding]) -> Badge:
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


def _site_name(inventory: Inventory, site_id: str) -> str:
    """'EMEA (Europe, Middle East and Africa)' when the inventory names the site."""
    name = next((s.name for s in inventory.sites if s.id == site_id and s.name), None)
    return f"{site_id} ({name})" if name and name != site_id else site_id


def _toc(practices: Sequence[PracticeView], backups: bool) -> tuple[TocEntry, ...]:
    entries = []
    for title, name in SECTIONS:
        if name == "backups" and not backups:
            continue
        entries.append(TocEntry(1, title, name))
        if name == "practices":
            entries.extend(TocEntry(2, p.heading, p.anchor) for p in practices)
    return tuple(entries)


def _provenance(results: Results, pack: RulePack, generated_at: dt.datetime,
                bundle: EvidenceBundle | None, facts: Facts | None) -> Provenance:
    note = "" if results.rulepack_version == pack.version else (
        f"These results were evaluated with rule pack {results.rulepack_version}; the rule "
        f"texts shown come from rule pack {pack.version}.")
    return Provenance(
        generated_at=when(generated_at), generated_iso=generated_at.isoformat(timespec="seconds"),
        evaluated_at=when(results.now), collected_at=when(results.collected_at),
        tool_version=results.tool_version, rulepack_version=pack.version,
        results_rulepack_version=results.rulepack_version, rulepack_note=note,
        bundle_sha256=results.bundle_sha256, inventory_sha256=results.inventory_sha256,
        audit_period=audit_period(facts, results.now),
        collection=collection_window(bundle, results.collected_at))


def _embedded(results: Results, bundle: EvidenceBundle | None,
              evidence_bytes: bytes | None) -> tuple[EmbeddedEvidence | None, str]:
    """The bundle file for the archival PDF, only when its SHA-256 is the one in results.json.

    Without the file's bytes the bundle is written again in its canonical form, which is what
    `auditor collect` wrote, so the hash matches unless the file was edited or reformatted.
    """
    if evidence_bytes is None and bundle is not None:
        ordered = bundle.model_copy(update={"observations": sorted(bundle.observations,
                                                                   key=lambda o: o.id)})
        evidence_bytes = pretty_bytes(ordered.model_dump(mode="json"))
    if evidence_bytes is None:
        return None, "The evidence bundle was not given, so none is attached."
    digest = hashlib.sha256(evidence_bytes).hexdigest()
    if digest != results.bundle_sha256:
        return None, (f"The evidence bundle given has SHA-256 {digest}, not the "
                      f"{results.bundle_sha256} these results were evaluated on, so it is not "
                      "attached.")
    return EmbeddedEvidence("evidence.json", digest, len(evidence_bytes), evidence_bytes), (
        f"The archival PDF (PDF/A-3b) carries the evidence bundle as the attached file "
        f"evidence.json ({len(evidence_bytes):,} bytes, SHA-256 {digest}).")


def build_view(results: Results, pack: RulePack, inventory: Inventory,
               bundle: EvidenceBundle | None, generated_at: dt.datetime, *,
               responses: Sequence[ManagementResponse] = (),
               history: Sequence[tuple[dt.date, float]] = (),
               appendix_mode: AppendixMode = AppendixMode.FULL,
               appendix_rows: int = DEFAULT_MAX_ROWS, evidence_bytes: bytes | None = None,
               facts: Facts | None = None) -> ReportView:
    """The one view model of a report; `generated_at` is passed in so output is reproducible.

    `responses` come from a management responses file (load_responses), `history` is the
    (date, score) of past audits for the trend chart, `evidence_bytes` the bundle file to attach
    to the archival PDF (checked against results.bundle_sha256).
    """
    when(generated_at)  # refuses a naive time before any work is done
    if facts is None and bundle is not None:
        facts = derive_facts(bundle, inventory, results.now)
    evidence = _Evidence(bundle)
    index = ResponseIndex(responses)

    def respond(finding: Finding) -> ResponseView | None:
        if finding.status is Status.NOT_APPLICABLE:
            return None
        found = index.find(finding.rule_id, finding.subject.id)
        return parts.response_view(found, results.now) if found else None

    summaries = _summaries(results, pack)
    practices = _practices(results, pack, summaries, evidence, respond)
    overall = score_view(results.overall)
    letter = grade(results.overall.score)
    estate = results.estate
    findings = results.findings
    embedded, evidence_note = _embedded(results, bundle, evidence_bytes)
    risks = parts.top_risks(summaries, findings, STATUS_BADGES.__getitem__,
                            lambda r: SEVERITY_BADGES[r.severity])
    counts = results.overall.counts
    charts = build_charts(results, pack, inventory, facts, history)
    return ReportView(
        title=f"Backup and DR audit: {estate}", estate=estate,
        description=(f"Lync Server 2013 backup and disaster-recovery audit of {estate}: score "
                     f"{overall.score}, grade {letter}, coverage {overall.coverage}, "
                     f"{len(findings)} findings"),
        keywords="Lync Server 2013, backup, disaster recovery, audit, SQL Server",
        provenance=_provenance(results, pack, generated_at, bundle, facts), overall=overall,
        grade=letter, grade_css="na" if letter == "n/a" else letter.lower(),
        headline=f"Score {overall.score}, grade {letter}",
        attention=_attention(results, summaries), practices=practices,
        errors=_errors(results, evidence),
        waivers=tuple(WaiverView(w.rule, w.subject, w.reason, w.approver, w.expires,
                                 _waiver_state(w, findings)) for w in results.waivers),
        sites=tuple(GroupRow(_site_name(inventory, k), score_view(v))
                    for k, v in sorted(results.by_site.items())),
        pools=tuple(GroupRow(k, score_view(v)) for k, v in sorted(results.by_pool.items())),
        has_evidence=bundle is not None, evidence=evidence.rows(),
        collection_problems=tuple(r for r in evidence.rows() if r.status.css != "pass"),
        not_applicable=tuple(NotApplicableRow(f.rule_id, f.subject.id, f.message)
                             for f in sorted(findings, key=lambda f: (f.rule_id, f.subject.id))
                             if f.status is Status.NOT_APPLICABLE),
        toc=_toc(practices, bool(charts.ages or charts.heatmap)),
        summary=parts.narrative(overall, letter, len(risks), counts.get("error", 0),
                                counts.get("waived", 0)),
        risks=risks, charts=charts,
        scope=build_scope(inventory, pack, bundle, findings, facts, results.now),
        gaps=parts.gaps(findings, evidence.failed(), evidence.refs),
        controls=parts.controls(pack, {r.id: r for r in summaries}, STATUS_BADGES.__getitem__),
        responses=parts.response_rows(
            findings, lambda f: index.find(f.rule_id, f.subject.id),
            STATUS_BADGES.__getitem__, results.now),
        responses_given=bool(responses),
        unused_responses=tuple(f"{r.rule or 'any rule'} on {r.subject}"
                               for r in index.unused()),
        signoff=parts.SIGN_OFF,
        appendix=appendix(evidence.pairs(), appendix_mode, appendix_rows),
        embedded=embedded, evidence_note=evidence_note)
