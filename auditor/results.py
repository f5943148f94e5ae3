"""results.json: findings, scores and provenance of one evaluation (documented JSON Schema)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor import __version__
from auditor.canonical import pretty_bytes, write_atomic
from auditor.engine.opinion import Opinion, audit_opinion
from auditor.engine.rules import RulePack
from auditor.engine.score import Score, rollup, score
from auditor.engine.selection import FULL_SCOPE, AuditScope
from auditor.engine.waivers import Waiver, waiver_note
from auditor.errors import InputError, raise_all, reads_input
from auditor.findings import Finding, Severity, Status, worst
from auditor.jsonio import read_json_document
from auditor.limits import MAX_RESULTS_BYTES
from auditor.validation import json_validation_error

RESULTS_FORMAT: Final = "auditor-results"
RESULTS_VERSION: Final = 2  # 2 added `scope`; a version 1 file is read as a complete audit


class RuleSummary(BaseModel):
    """A rule's identity and its worst status over its subjects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    practice: str
    severity: Severity
    status: Status
    subjects: int


class PracticeSummary(BaseModel):
    """A practice of the source document with its rules' score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    status: Status
    rules: list[str]
    score: Score


class WaiverStatus(BaseModel):
    """A waiver from the waivers file and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    subject: str
    reason: str
    approver: str
    expires: str
    expired: bool
    applied: bool = Field(description="it turned a fail or warn into waived")
    matched: bool = Field(description="a finding for this rule and subject exists")
    note: str | None = Field(default=None, description="why it covered nothing, when that "
                             "needs saying: no such finding, or the finding moved to the "
                             "instance's databases")


class UnlistedStore(BaseModel):
    """A database named like a Lync store on a back_end, monitoring, archiving or
    persistent_chat instance, which the inventory's `stores:` omits: it is judged as that store
    all the same (a transient store by DR-060 only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(description="database:HOST\\INSTANCE/db")
    instance: str
    database: str = Field(description="the name as sys.databases spells it")
    store_class: str = Field(description="how the rules treat it: required, transient, "
                             "offline, mirror, local or unknown (rules.md \"Subjects\")")


class Results(BaseModel):
    """The whole evaluation. Deterministic: same bundle, rules, inventory and now -> same bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["auditor-results"] = RESULTS_FORMAT
    version: Literal[2] = RESULTS_VERSION
    scope: AuditScope = Field(FULL_SCOPE, description="what was evaluated: everything, or a "
                              "selection (a partial audit, scored over the selection only)")
    tool_version: str
    rulepack_version: str
    estate: str
    estate_id: str | None = Field(default=None, description="the inventory's estate.id")
    now: AwareDatetime = Field(description="the time the rules were evaluated at")
    collected_at: AwareDatetime
    bundle_sha256: str
    inventory_sha256: str
    overall: Score
    opinion: Opinion | None = Field(None, description="the audit opinion (docs/report.md "
                                    "\"Audit opinion\"); absent in files written before it "
                                    "existed, then computed from the findings")
    by_practice: list[PracticeSummary]
    by_site: dict[str, Score]
    by_pool: dict[str, Score]
    rules: list[RuleSummary]
    findings: list[Finding]
    waivers: list[WaiverStatus]
    unlisted_stores: list[UnlistedStore] = Field(
        default_factory=list, description="Lync stores found on the audited instances that the "
        "inventory's `stores:` omits (added in 2026-12; absent means none or an older file)")


def build_results(*, findings: Sequence[Finding], pack: RulePack, waivers: Sequence[Waiver],
                  estate: str, now: dt.datetime, collected_at: dt.datetime, bundle_sha256: str,
                  inventory_sha256: str, estate_id: str | None = None,
                  scope: AuditScope = FULL_SCOPE,
                  unlisted_stores: Sequence[UnlistedStore] = ()) -> Results:
    """Scores and summaries from findings; a partial scope lists only the rules, practices
    and waivers it selected."""
    selected = [r for r in pack.rules if scope.selects(r)]
    rules = []
    for rule in selected:
        own = [f for f in findings if f.rule_id == rule.id]
        rules.append(RuleSummary(id=rule.id, title=rule.title, practice=rule.practice,
                                 severity=rule.severity, status=worst([f.status for f in own]),
                                 subjects=len(own)))
    practices = []
    for practice in pack.practices:
        own = [f for f in findings if f.practice == practice.id]
        own_rules = [r.id for r in selected if r.practice == practice.id]
        if own_rules or scope.complete:
            practices.append(PracticeSummary(
                id=practice.id, title=practice.title, status=worst([f.status for f in own]),
                rules=own_rules, score=score(own)))
    kept = [w for w in waivers if any(r.id == w.rule for r in selected)
            and scope.selects_subject(w.subject)]
    overall = score(findings)
    return Results(
        scope=scope, tool_version=__version__, rulepack_version=pack.version, estate=estate,
        estate_id=estate_id,
        now=now.astimezone(dt.UTC), collected_at=collected_at.astimezone(dt.UTC),
        bundle_sha256=bundle_sha256, inventory_sha256=inventory_sha256, overall=overall,
        opinion=audit_opinion(findings, complete=scope.complete, coverage=overall.coverage),
        by_practice=practices, by_site=rollup(findings, lambda f: f.subject.site),
        by_pool=rollup(findings, lambda f: f.subject.pool), rules=rules, findings=list(findings),
        waivers=_waiver_statuses(findings, kept, now), unlisted_stores=list(unlisted_stores))


def opinion_of(results: Results) -> Opinion:
    """The stored opinion, or (for a file written before opinions existed) the one its
    findings give."""
    return results.opinion or audit_opinion(results.findings, complete=results.scope.complete,
                                            coverage=results.overall.coverage)


def _waiver_statuses(findings: Sequence[Finding], waivers: Sequence[Waiver],
                     now: dt.datetime) -> list[WaiverStatus]:
    out = []
    for waiver in waivers:
        hits = [f for f in findings if f.rule_id == waiver.rule
                and f.subject.id.lower() == waiver.subject.lower()]
        out.append(WaiverStatus(
            rule=waiver.rule, subject=waiver.subject, reason=waiver.reason,
            approver=waiver.approver, expires=waiver.expires.isoformat(),
            expired=waiver.expired_at(now), matched=bool(hits),
            applied=any(f.status is Status.WAIVED for f in hits),
            note=waiver_note(waiver, findings)))
    return sorted(out, key=lambda w: (w.rule, w.subject))


def results_bytes(results: Results) -> bytes:
    """The canonical file form: sorted keys, two-space indent, UTF-8."""
    return pretty_bytes(results.model_dump(mode="json"))


def write_results(results: Results, path: Path) -> None:
    """Write results.json atomically."""
    write_atomic(path, results_bytes(results))


@reads_input
def read_results(path: Path) -> Results:
    """Read a results.json written by `auditor evaluate`, checked against its schema (the
    model it is generated from, with strict types) and against itself: every total, score and
    summary must be what its findings give, so an edited number cannot reach a report.
    Version 1 (before selections existed) is read as a complete audit."""
    raw, text = read_json_document(path, RESULTS_FORMAT, "results file", MAX_RESULTS_BYTES)
    if raw.get("version") == 1 and "scope" not in raw:
        text = json.dumps({**raw, "version": RESULTS_VERSION})
    try:
        results = Results.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise json_validation_error(exc, path) from None
    raise_all(_inconsistencies(path, results))
    return results


def _inconsistencies(path: Path, results: Results) -> list[InputError]:
    findings = results.findings
    overall = score(findings)
    checks: list[tuple[str, object, object]] = [
        ("overall", results.overall, overall),
        ("by_site", results.by_site, rollup(findings, lambda f: f.subject.site)),
        ("by_pool", results.by_pool, rollup(findings, lambda f: f.subject.pool)),
    ]
    for i, practice in enumerate(results.by_practice):
        own = [f for f in findings if f.practice == practice.id]
        checks += [(f"by_practice[{i}].score", practice.score, score(own)),
                   (f"by_practice[{i}].status", practice.status, worst([f.status for f in own]))]
    for i, rule in enumerate(results.rules):
        own = [f for f in findings if f.rule_id == rule.id]
        checks += [(f"rules[{i}].subjects", rule.subjects, len(own)),
                   (f"rules[{i}].status", rule.status, worst([f.status for f in own]))]
    if results.opinion is not None:
        checks.append(("opinion", results.opinion, audit_opinion(
            findings, complete=results.scope.complete, coverage=overall.coverage)))
    problems = []
    rules = {r.id: (r.practice, r.severity) for r in results.rules}
    for i, finding in enumerate(findings):
        if rules.get(finding.rule_id) != (finding.practice, finding.severity):
            problems.append(InputError(path, "names a rule, practice or severity that the "
                                       "rules list does not hold", field=f"findings[{i}]"))
        elif finding.status not in (Status.WAIVED, finding.status_before_waiver):
            problems.append(InputError(path, "status differs from status_before_waiver "
                                       "without a waiver", field=f"findings[{i}].status"))
    # A finding at fault makes every total disagree: name the finding, not the totals.
    return problems or [InputError(path, "does not match the findings (the file was edited "
                                   "or damaged)", field=field)
                        for field, stored, computed in checks if stored != computed]


def results_json_schema() -> dict[str, object]:
    """The JSON Schema of results.json (docs/results.schema.json is generated from it)."""
    return Results.model_json_schema(mode="serialization")
