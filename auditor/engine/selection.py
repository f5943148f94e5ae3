"""What an audit covers: every rule, or the rules, severities and subjects selected.

The one AuditScope is written into results.json, shown in the report, and reused by
remediation's re-audit and the audit history, so a partial audit is never taken for a whole one.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from auditor.engine.rules import Rule, RulePack
from auditor.errors import InputError
from auditor.findings import Severity


class AuditScope(BaseModel):
    """The selection an evaluation ran under; empty lists select everything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complete: bool = Field(True, description="every rule of the pack over every subject; "
                                             "false: a partial audit, scored over the selection "
                                             "only")
    rules: list[str] = Field(default_factory=list,
                             description="rule ids selected (--rule); empty: not selected by id")
    severities: list[Severity] = Field(default_factory=list,
                                       description="severities selected (--severity); empty: "
                                                   "not selected by severity")
    subjects: list[str] = Field(default_factory=list,
                                description="subject ids selected (e.g. a re-audit of the "
                                            "subjects remediated); empty: every subject")

    def selects(self, rule: Rule) -> bool:
        """Whether the rule is evaluated: in --rule (if given) and --severity (if given)."""
        return ((not self.rules or rule.id in self.rules)
                and (not self.severities or rule.severity in self.severities))

    def selects_subject(self, subject_id: str) -> bool:
        """Whether findings about this subject are kept (subject ids compare case-blind)."""
        return not self.subjects or subject_id.lower() in {s.lower() for s in self.subjects}


FULL_SCOPE = AuditScope()


def _rule_ids(pack: RulePack, wanted: Iterable[str]) -> list[str]:
    known = {r.id for r in pack.rules}
    ids = sorted({w.strip().upper() for w in wanted})
    for rule_id in ids:
        if rule_id not in known:
            raise InputError("--rule", f"unknown rule id {rule_id!r}; see `auditor rules list`")
    return ids


def _severities(wanted: Iterable[str]) -> list[Severity]:
    names = {w.strip().lower() for w in wanted}
    known = [s.value for s in Severity]
    for name in sorted(names):
        if name not in known:
            raise InputError("--severity", f"unknown severity {name!r} (choose from "
                             f"{', '.join(known)})")
    return [s for s in Severity if s.value in names]


def select(pack: RulePack, rules: Iterable[str] = (), severities: Iterable[str] = (),
           subjects: Iterable[str] = ()) -> AuditScope:
    """The scope of --rule/--severity (and subjects); an unknown name or an empty selection
    is bad input. A selection that leaves no rule and no subject out is complete."""
    scope = AuditScope(rules=_rule_ids(pack, rules), severities=_severities(severities),
                       subjects=sorted(set(subjects)))
    chosen = [r for r in pack.rules if scope.selects(r)]
    if not chosen:
        raise InputError("--rule/--severity", "no rule matches the selection "
                         f"(rules {', '.join(scope.rules) or 'any'}, severities "
                         f"{', '.join(s.value for s in scope.severities) or 'any'})")
    complete = len(chosen) == len(pack.rules) and not scope.subjects
    return scope.model_copy(update={"complete": complete})
