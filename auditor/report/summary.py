"""The parts of the report an auditor reads first or signs: top risks in plain language, the
causes of coverage gaps, the control mapping, management responses and the sign-off block."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence

from auditor.engine.rules import RulePack
from auditor.findings import STATUS_ORDER, Finding, Status, SubjectType, worst
from auditor.report.model import (
    Badge,
    ControlRow,
    EvidenceRef,
    GapRow,
    ResponseRow,
    ResponseView,
    Risk,
    ScoreView,
    SignOff,
)
from auditor.report.responses import ManagementResponse
from auditor.report.text import anchor
from auditor.results import RuleSummary

MAX_RISKS = 5
ATTENTION = (Status.ERROR, Status.FAIL, Status.WARN)
_NOUNS = {SubjectType.DATABASE: ("database", "databases"),
          SubjectType.INSTANCE: ("SQL Server instance", "SQL Server instances"),
          SubjectType.POOL: ("pool", "pools"), SubjectType.SHARE: ("share", "shares"),
          SubjectType.SERVER: ("server", "servers"),
          SubjectType.MODEL: ("server model", "server models"),
          SubjectType.PERSON: ("person", "people"), SubjectType.PRODUCT: ("product", "products"),
          SubjectType.ESTATE: ("estate", "estates")}
SIGN_OFF = (
    SignOff("Prepared by (auditor)", "performed the audit and prepared this report"),
    SignOff("Reviewed by (quality review)", "reviewed the findings against the evidence"),
    SignOff("Accepted by (management)", "accepts the findings and the responses and due dates"),
)


def _noun(findings: Sequence[Finding], count: int) -> str:
    types = {f.subject.type for f in findings}
    if len(types) != 1:
        return "subjects" if count != 1 else "subject"
    singular, plural = _NOUNS[types.pop()]
    return singular if count == 1 else plural


def _where(finding: Finding) -> str:
    subject = finding.subject
    if subject.instance and subject.type is SubjectType.DATABASE:
        return f"{subject.name} on {subject.instance}"
    return subject.name


def top_risks(summaries: Sequence[RuleSummary], findings: Sequence[Finding],
              badges: Callable[[Status], Badge], severities: Callable[[RuleSummary], Badge],
              limit: int = MAX_RISKS) -> tuple[Risk, ...]:
    """The rules that weigh most on the score, each said as one sentence with an example."""
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    ranked = []
    for rule in summaries:
        own = [f for f in by_rule.get(rule.id, []) if f.status is not Status.NOT_APPLICABLE]
        bad = [f for f in own if f.status in ATTENTION]
        if not bad:
            continue
        weight = rule.severity.weight * sum(0.5 if f.status is Status.WARN else 1.0 for f in bad)
        ranked.append((weight, rule, own, bad))
    # severity first: one critical failure outranks any number of medium errors
    ranked.sort(key=lambda t: (-t[1].severity.weight, STATUS_ORDER.index(t[1].status), -t[0],
                               t[1].id))
    risks = []
    for _, rule, own, bad in ranked[:limit]:
        risks.append(Risk(rule.id, anchor("rule", rule.id), severities(rule), badges(rule.status),
                          _headline(rule.title, own, bad), _example(bad)))
    return tuple(risks)


def _headline(title: str, own: Sequence[Finding], bad: Sequence[Finding]) -> str:
    fails = sum(1 for f in bad if f.status is Status.FAIL)
    warns = sum(1 for f in bad if f.status is Status.WARN)
    errors = sum(1 for f in bad if f.status is Status.ERROR)
    parts = []
    if fails:
        parts.append(f"not met for {fails}")
    if warns:
        parts.append(f"only partly met for {warns}")
    if errors:
        parts.append(f"could not be checked for {errors}")
    said = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"{title}: {said} of {len(own)} {_noun(own, len(own))}."


def _example(bad: Sequence[Finding]) -> str:
    first = min(bad, key=lambda f: (STATUS_ORDER.index(f.status) if f.status is not Status.ERROR
                                    else len(STATUS_ORDER), f.subject.id))
    more = len(bad) - 1
    tail = f" (and {more} more)" if more else ""
    return f"For example, {_where(first)}: {first.message}{tail}"


def gaps(findings: Sequence[Finding], failed: Mapping[str, str],
         refs: Callable[[Sequence[str]], tuple[EvidenceRef, ...]]) -> tuple[GapRow, ...]:
    """Error findings grouped by cause: a failed observation, else the finding's own reason."""
    groups: dict[str, tuple[list[Finding], set[str]]] = {}
    for f in findings:
        if f.status is not Status.ERROR:
            continue
        broken = sorted(i for i in f.evidence_ids if i in failed)
        cause = f"{broken[0]}: {failed[broken[0]]}" if broken else f.message
        found, ids = groups.setdefault(cause, ([], set()))
        found.append(f)
        ids.update(broken[:1] if broken else f.evidence_ids)
    rows = [GapRow(cause, len(found), ", ".join(sorted({f.rule_id for f in found})),
                   refs(sorted(ids))) for cause, (found, ids) in groups.items()]
    return tuple(sorted(rows, key=lambda r: (-r.findings, r.cause)))


def controls(pack: RulePack, summaries: Mapping[str, RuleSummary],
             badges: Callable[[Status], Badge]) -> tuple[ControlRow, ...]:
    """Each control named by the rule pack, with its rules and their worst status."""
    by_control: dict[str, list[str]] = {}
    for rule in pack.rules:
        for control in rule.controls:
            by_control.setdefault(control, []).append(rule.id)
    rows = []
    for control in sorted(by_control, key=_control_key):
        ids = by_control[control]
        statuses = [summaries[i].status for i in ids if i in summaries]
        rows.append(ControlRow(control, tuple(
            (i, anchor("rule", i), badges(summaries[i].status if i in summaries
                                          else Status.NOT_APPLICABLE)) for i in ids),
            badges(worst(statuses))))
    return tuple(rows)


def _control_key(control: str) -> tuple[str, tuple[int | str, ...]]:
    """ISO A.5.30 before A.8.13, CP-4 before CP-10: numbers compare as numbers."""
    family, _, rest = control.rpartition(" ")
    parts = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-()]", rest) if p)
    return family, parts


def response_view(response: ManagementResponse, now: dt.datetime) -> ResponseView:
    """A response as text; overdue when its due date has passed at evaluation time."""
    return ResponseView(owner=response.owner, due=response.due.isoformat(),
                        response=response.response,
                        overdue=response.due < now.astimezone(dt.UTC).date())


def response_rows(findings: Sequence[Finding],
                  find: Callable[[Finding], ManagementResponse | None],
                  badges: Callable[[Status], Badge], now: dt.datetime) -> tuple[ResponseRow, ...]:
    """Every finding that needs a response (error, fail, warn, waived), with it or without."""
    wanted = (*ATTENTION, Status.WAIVED)
    rows = []
    for f in sorted(findings, key=lambda f: (-f.severity.weight, STATUS_ORDER.index(f.status),
                                             f.rule_id, f.subject.id)):
        if f.status in wanted:
            found = find(f)
            rows.append(ResponseRow(f.rule_id, anchor("rule", f.rule_id), f.subject.id,
                                    badges(f.status),
                                    response_view(found, now) if found else None))
    return tuple(rows)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def narrative(overall: ScoreView, grade: str, risks: int, errors: int,
              waived: int) -> tuple[str, ...]:
    """The executive summary's opening sentences."""
    lines = [f"The estate scores {overall.score} (grade {grade}) with waivers, and "
             f"{overall.score_without_waivers} without them. {overall.coverage} of the "
             f"{overall.applicable} applicable checks could be assessed."]
    if risks:
        lines.append("The risks below weigh most on the score; each links to its rule, with the "
                     "evidence and the remediation steps.")
    else:
        lines.append("No rule has a failed, partly met or unassessed finding.")
    if errors:
        lines.append(f"{_count(errors, 'check')} could not be assessed: see Could not assess "
                     "for the causes. An unassessed check is never counted as passed.")
    if waived:
        verb = "is" if waived == 1 else "are"
        lines.append(f"{_count(waived, 'finding')} {verb} waived by an approved, unexpired "
                     "waiver; see Waivers.")
    return tuple(lines)
