"""The machine-readable (`--json`) outputs of preflight, rules list/show and the validate
commands; their JSON Schemas are generated into docs/ (auditor.schemas)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.collect.base import PreflightCheck
from auditor.engine.rules import Reference, RulePack
from auditor.errors import InputError
from auditor.findings import Severity

OUTPUT_VERSION: Literal[1] = 1


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PreflightRow(_Output):
    """One thing preflight verified about one target."""

    target: str
    check: str
    ok: bool
    detail: str
    fix: str | None = Field(description="what to run or change when the check failed")
    advisory: bool = Field(default=False, description="a requirement preflight cannot check "
                           "from here (ok is true; act on the fix)")


class PreflightOutput(_Output):
    """`auditor preflight --json`."""

    format: Literal["auditor-preflight"] = "auditor-preflight"
    version: Literal[1] = OUTPUT_VERSION
    inventory: str
    scope: Literal["audit", "remediation"] = Field(
        default="audit", description="what was checked: the audit's access (default) or, with "
        "--remediation, the permissions `remediate apply` needs")
    ok: bool = Field(description="every check passed (exit code 0)")
    failed: int
    checks: list[PreflightRow]


class RuleRow(_Output):
    """A rule's identity, as `auditor rules list` shows it."""

    id: str
    practice: str
    severity: Severity
    check: str
    title: str


class RulesOutput(_Output):
    """`auditor rules list --json`."""

    format: Literal["auditor-rules"] = "auditor-rules"
    version: Literal[1] = OUTPUT_VERSION
    rulepack_version: str
    practices: int = Field(description="practices in the rule pack")
    practices_covered: int = Field(description="practices with at least one rule")
    rules: list[RuleRow]


class PracticeRef(_Output):
    """A practice of the source document."""

    id: str
    title: str


class RuleOutput(_Output):
    """`auditor rules show ID --json`: a rule with its documentation."""

    format: Literal["auditor-rule"] = "auditor-rule"
    version: Literal[1] = OUTPUT_VERSION
    rulepack_version: str
    id: str
    title: str
    practice: PracticeRef
    severity: Severity
    check: str
    params: dict[str, Any]
    applies_to: list[str]
    rationale: str
    how_checked: str
    remediation: str
    controls: list[str]
    references: list[Reference]


class Problem(_Output):
    """One error in a validated file: where (file, line, field) and what."""

    file: str
    line: int | None
    field: str | None
    message: str


class InventoryValidation(_Output):
    """`auditor inventory validate FILE --json`."""

    format: Literal["auditor-inventory-validation"] = "auditor-inventory-validation"
    version: Literal[1] = OUTPUT_VERSION
    file: str
    ok: bool = Field(description="no error (exit code 0); false: exit code 2")
    sql_instances: int | None = None
    pools: int | None = None
    servers: int | None = None
    waivers: int | None = None
    errors: list[Problem] = Field(default_factory=list)


class RecordsValidation(_Output):
    """`auditor records validate PATH --json`."""

    format: Literal["auditor-records-validation"] = "auditor-records-validation"
    version: Literal[1] = OUTPUT_VERSION
    path: str
    ok: bool = Field(description="no error (exit code 0); false: exit code 2")
    records: dict[str, int] = Field(default_factory=dict, description="rows per record kind")
    errors: list[Problem] = Field(default_factory=list)


def preflight_output(inventory: str, checks: Sequence[PreflightCheck],
                     scope: Literal["audit", "remediation"] = "audit") -> PreflightOutput:
    """The preflight checks as JSON."""
    rows = [PreflightRow(target=c.target, check=c.check, ok=c.ok, detail=c.detail, fix=c.fix,
                         advisory=c.advisory) for c in checks]
    failed = sum(1 for c in checks if not c.ok)
    return PreflightOutput(inventory=inventory, scope=scope, ok=not failed, failed=failed,
                           checks=rows)


def rules_output(pack: RulePack) -> RulesOutput:
    """Every rule of the pack as JSON."""
    return RulesOutput(
        rulepack_version=pack.version, practices=len(pack.practices),
        practices_covered=len({r.practice for r in pack.rules}),
        rules=[RuleRow(id=r.id, practice=r.practice, severity=r.severity, check=r.check,
                       title=r.title) for r in pack.rules])


def rule_output(pack: RulePack, rule_id: str) -> RuleOutput | None:
    """One rule's documentation as JSON; None for an unknown id."""
    rule = pack.rule(rule_id)
    if rule is None:
        return None
    practice = pack.practice(rule.practice)
    return RuleOutput(
        rulepack_version=pack.version, id=rule.id, title=rule.title,
        practice=PracticeRef(id=practice.id, title=practice.title), severity=rule.severity,
        check=rule.check, params=rule.params, applies_to=[t.value for t in rule.applies_to],
        rationale=rule.rationale, how_checked=rule.how_checked, remediation=rule.remediation,
        controls=list(rule.controls), references=list(rule.references))


def problems(errors: Iterable[InputError]) -> list[Problem]:
    """Input errors as JSON rows, in the order they were found."""
    return [Problem(file=e.path, line=e.line, field=e.field, message=e.message) for e in errors]
