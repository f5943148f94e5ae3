"""Evaluation: every rule's check kind over the facts, then waivers. Pure and deterministic."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.engine.policy import params_resolver
from auditor.engine.registry import CheckKind
from auditor.engine.rules import Rule, RulePack
from auditor.engine.selection import FULL_SCOPE, AuditScope
from auditor.engine.waivers import Waiver
from auditor.facts import Facts
from auditor.findings import (
    STATUS_ORDER,
    Finding,
    Status,
    Subject,
    SubjectType,
    Verdict,
    WaiverRef,
)
from auditor.inventory import LoadedInventory

logger = logging.getLogger(__name__)

ESTATE_SUBJECT = Subject(id="estate", type=SubjectType.ESTATE, name="estate")


def evaluate(facts: Facts, pack: RulePack, kinds: Mapping[str, CheckKind[Any]],
             inventory: LoadedInventory, waivers: Iterable[Waiver] = (),
             only: Iterable[str] | None = None, scope: AuditScope = FULL_SCOPE) -> list[Finding]:
    """Findings for every rule the scope selects (or only the named ones), sorted by rule and
    subject id; a scope that names subjects keeps only their findings."""
    wanted = {rule_id.upper() for rule_id in only} if only is not None else None
    by_key = {(w.rule, w.subject.lower()): w for w in waivers}
    findings: list[Finding] = []
    for rule in pack.rules:
        if (wanted is not None and rule.id not in wanted) or not scope.selects(rule):
            continue
        for verdict in _run_rule(rule, kinds[rule.check], facts, inventory):
            if not scope.selects_subject(verdict.subject.id):
                continue
            waiver = by_key.get((rule.id, verdict.subject.id.lower()))
            findings.append(_finding(rule, verdict, waiver, facts))
    return sorted(findings, key=lambda f: (f.rule_id, f.subject.id))


def _run_rule(rule: Rule, kind: CheckKind[Any], facts: Facts,
              inventory: LoadedInventory) -> list[Verdict]:
    resolve = params_resolver(rule, kind.params_model, inventory.inventory, str(inventory.path))
    try:
        verdicts = list(kind.func(facts, resolve))
    except Exception as exc:
        logger.debug("check %s of rule %s crashed", kind.name, rule.id, exc_info=True)
        return [Verdict(subject=ESTATE_SUBJECT, status=Status.ERROR,
                        message=f"check crashed: {type(exc).__name__}")]
    if not verdicts:
        return [Verdict(subject=ESTATE_SUBJECT, status=Status.NOT_APPLICABLE,
                        message="no subject in the inventory needs this rule")]
    return _dedupe(rule, verdicts)


def _dedupe(rule: Rule, verdicts: list[Verdict]) -> list[Verdict]:
    """One finding per subject: if a kind yields a subject twice, keep the worse verdict."""
    best: dict[str, Verdict] = {}
    for verdict in verdicts:
        known = best.get(verdict.subject.id)
        if known is None or STATUS_ORDER.index(verdict.status) < STATUS_ORDER.index(known.status):
            best[verdict.subject.id] = verdict
    if len(best) != len(verdicts):
        logger.debug("rule %s yielded duplicate subjects", rule.id)
    return list(best.values())


def _finding(rule: Rule, verdict: Verdict, waiver: Waiver | None, facts: Facts) -> Finding:
    status = verdict.status
    ref = None
    if waiver is not None:
        expired = waiver.expired_at(facts.now)
        ref = WaiverRef(reason=waiver.reason, approver=waiver.approver,
                        expires=waiver.expires.isoformat(), expired=expired)
        if not expired and status in (Status.FAIL, Status.WARN):
            status = Status.WAIVED
    return Finding(rule_id=rule.id, practice=rule.practice, severity=rule.severity,
                   subject=verdict.subject, status=status, status_before_waiver=verdict.status,
                   message=verdict.message, observed=verdict.observed, expected=verdict.expected,
                   evidence_ids=tuple(sorted(set(verdict.evidence_ids))), waiver=ref)
