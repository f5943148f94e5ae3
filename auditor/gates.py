"""Exit-code gates for automation: which findings make an audit run exit 1.

Without `--fail-on` or `--fail-on-new`, any fail or error finding does (rules.md "Exit codes").
Either of them replaces that rule with its own: only findings at or above a severity, or only
findings new since the last full audit. Errors count as failing everywhere: evidence that could
not be assessed must not let a gate pass. `--fail-under` keeps its contract and adds to either.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from auditor.findings import Finding, Severity, Status
from auditor.results import Results

FAILING = (Status.FAIL, Status.ERROR)
SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True)
class Gates:
    """The gates a run was given; all None or False is the default rule."""

    fail_under: float | None = None
    fail_on: Severity | None = None
    fail_on_new: bool = False

    @property
    def replaces_default(self) -> bool:
        """--fail-on and --fail-on-new replace "any fail or error exits 1"."""
        return self.fail_on is not None or self.fail_on_new


def finding_key(estate_id: str | None, finding: Finding) -> str:
    """A finding's identity across audits: estate, rule and canonical subject."""
    return f"{estate_id or ''}|{finding.rule_id}|{finding.subject.id}"


def failing(results: Results) -> list[Finding]:
    """The findings that fail or could not be assessed (waived ones are not)."""
    return [finding for finding in results.findings if finding.status in FAILING]


def at_or_above(findings: Iterable[Finding], severity: Severity) -> list[Finding]:
    """The findings whose rule is at least as severe as the given level."""
    floor = SEVERITY_RANK[severity]
    return [finding for finding in findings if SEVERITY_RANK[finding.severity] >= floor]


def new_since(results: Results, findings: Iterable[Finding],
              previous: Collection[str] | None) -> list[Finding]:
    """The findings not failing in the previous audit; with none, every finding is new."""
    if previous is None:
        return list(findings)
    return [finding for finding in findings
            if finding_key(results.estate_id, finding) not in previous]


def tripped(results: Results, gates: Gates, previous: Collection[str] | None) -> list[str]:
    """Why the run should exit 1: one reason per gate that tripped; empty when none did."""
    reasons: list[str] = []
    selected = failing(results)
    if gates.fail_on is not None:
        selected = at_or_above(selected, gates.fail_on)
    if gates.fail_on_new:
        selected = new_since(results, selected, previous)
    if selected:
        reasons.append(_findings_reason(gates, len(selected)))
    score = results.overall.score or 0.0
    if gates.fail_under is not None and score < gates.fail_under:
        reasons.append(f"score {score:.1f} is below --fail-under {gates.fail_under:g}")
    return reasons


def _findings_reason(gates: Gates, count: int) -> str:
    kinds = ["fail or error"]
    if gates.fail_on is not None:
        kinds.append(f"at or above {gates.fail_on.value}")
    if gates.fail_on_new:
        kinds.append("new since the last full audit")
    return f"{count} finding(s): {', '.join(kinds)}"
