"""build_view: Results + rule pack (+ inventory, bundle) -> one ReportView for every format.

The parts are built by practices.py (findings by practice), sections.py (section order, table of
contents, smaller sections) and provenance.py (provenance, attached bundle), with the badges of
badges.py and the evidence anchors of evidenceindex.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from auditor.engine.rules import RulePack
from auditor.evidence import EvidenceBundle
from auditor.facts import Facts, derive_facts
from auditor.findings import Finding, Status
from auditor.history.model import SinceLastAudit, TrendPoint
from auditor.inventory import Inventory
from auditor.remediate.record import RunRecord
from auditor.report import summary as parts
from auditor.report.appendix import DEFAULT_MAX_ROWS, AppendixMode, appendix
from auditor.report.badges import SEVERITY_BADGES, STATUS_BADGES, score_view
from auditor.report.chartdata import build_charts
from auditor.report.evidenceindex import EvidenceIndex
from auditor.report.model import GroupRow, ReportView, ResponseView, WaiverView
from auditor.report.opinion import opinion_view
from auditor.report.partial import partial_note, selected_pack
from auditor.report.practices import practice_summaries, practice_views
from auditor.report.provenance import build_provenance, embedded_bundle
from auditor.report.remediation import remediation_view
from auditor.report.remedy import Remedies
from auditor.report.responses import ManagementResponse, ResponseIndex
from auditor.report.scope import build_scope
from auditor.report.sections import (
    SECTIONS,
    error_groups,
    needs_attention,
    not_applicable_groups,
    site_name,
    table_of_contents,
    waiver_state,
)
from auditor.report.since import since_view, summary_sentence
from auditor.report.text import grade, when
from auditor.results import Results, opinion_of

__all__ = ["SECTIONS", "build_view"]


def build_view(results: Results, pack: RulePack, inventory: Inventory,
               bundle: EvidenceBundle | None, generated_at: dt.datetime, *,
               responses: Sequence[ManagementResponse] = (),
               history: Sequence[tuple[dt.date, float]] = (),
               appendix_mode: AppendixMode = AppendixMode.FULL,
               appendix_rows: int = DEFAULT_MAX_ROWS, evidence_bytes: bytes | None = None,
               facts: Facts | None = None, since: SinceLastAudit | None = None,
               trend: Sequence[TrendPoint] = (),
               remediation: RunRecord | None = None) -> ReportView:
    """The one view model of a report; `generated_at` is passed in so output is reproducible.

    `responses` come from a management responses file (load_responses), `history` is the
    (date, score) of past audits for the trend chart, `evidence_bytes` the bundle file to attach
    to the archival PDF (checked against results.bundle_sha256); `since` and `trend` are the
    history snapshot's change since the last audit and its past full audits.
    """
    when(generated_at)  # refuses a naive time before any work is done
    if facts is None and bundle is not None:
        facts = derive_facts(bundle, inventory, results.now)
    evidence = EvidenceIndex(bundle)
    index = ResponseIndex(responses)

    def respond(finding: Finding) -> ResponseView | None:
        if finding.status is Status.NOT_APPLICABLE:
            return None
        found = index.find(finding.rule_id, finding.subject.id)
        return parts.response_view(found, results.now) if found else None

    summaries = practice_summaries(results, pack)
    practices = practice_views(results, pack, summaries, evidence, respond,
                               Remedies(inventory))
    overall = score_view(results.overall)
    opinion = opinion_view(opinion_of(results), grade(results.overall.score))
    letter = opinion.grade
    estate = results.estate
    findings = results.findings
    embedded, evidence_note = embedded_bundle(results, bundle, evidence_bytes)
    risks = parts.top_risks(summaries, findings, STATUS_BADGES.__getitem__,
                            lambda r: SEVERITY_BADGES[r.severity])
    counts = results.overall.counts
    charts = build_charts(results, pack, inventory, facts, history, letter)
    partial = partial_note(results, len(pack.rules))
    narrative = parts.narrative(overall, ", ".join(filter(None, (letter, opinion.grade_note))),
                                len(risks), counts.get("error", 0), counts.get("waived", 0))
    compared = summary_sentence(since)  # after the score: did the estate improve (history)
    summary = (narrative[0], compared, *narrative[1:]) if compared else narrative
    return ReportView(
        title=f"Backup and DR audit: {estate}", estate=estate,
        description=(f"Lync Server 2013 backup and disaster-recovery audit of {estate}: score "
                     f"{overall.score}, grade {letter}, opinion {opinion.label}, coverage "
                     f"{overall.coverage}, "
                     f"{len(findings)} findings"),
        keywords="Lync Server 2013, backup, disaster recovery, audit, SQL Server",
        provenance=build_provenance(results, pack, generated_at, bundle, facts), overall=overall,
        grade=letter, grade_css=opinion.grade_css, opinion=opinion,
        headline=(f"{opinion.label}: score {overall.score}, grade {letter}"
                  + (" (partial audit)" if partial else "")),
        attention=needs_attention(results, summaries), practices=practices,
        errors=error_groups(results, evidence),
        waivers=tuple(WaiverView(w.rule, w.subject, w.reason, w.approver, w.expires,
                                 waiver_state(w, findings), w.note) for w in results.waivers),
        sites=tuple(GroupRow(site_name(inventory, k), score_view(v))
                    for k, v in sorted(results.by_site.items())),
        pools=tuple(GroupRow(k, score_view(v)) for k, v in sorted(results.by_pool.items())),
        has_evidence=bundle is not None, evidence=evidence.rows(),
        collection_problems=tuple(r for r in evidence.rows() if r.status.css != "pass"),
        not_applicable=not_applicable_groups(findings),
        toc=table_of_contents(practices, bool(charts.ages or charts.heatmap),
                              remediation is not None),
        summary=summary,
        risks=risks, charts=charts,
        scope=build_scope(inventory, pack, bundle, findings, facts, results.now,
                          results.inventory_sha256, results.unlisted_stores),
        gaps=parts.gaps(findings, evidence.failed(), evidence.refs),
        controls=parts.controls(selected_pack(results, pack), {r.id: r for r in summaries},
                                STATUS_BADGES.__getitem__),
        responses=parts.response_rows(
            findings, lambda f: index.find(f.rule_id, f.subject.id),
            STATUS_BADGES.__getitem__, results.now),
        responses_given=bool(responses),
        unused_responses=tuple(f"{r.rule or 'any rule'} on {r.subject}"
                               for r in index.unused()),
        signoff=parts.SIGN_OFF,
        appendix=appendix(evidence.pairs(), appendix_mode, appendix_rows),
        embedded=embedded, evidence_note=evidence_note, partial=partial,
        since=since_view(since, trend), remediation=remediation_view(remediation))
