"""The audit opinion: what an auditor can sign, from the findings, the coverage and the scope.

docs/report.md "Audit opinion" defines it; the first case that holds wins, so a critical
failure is never hidden behind a good score:
1. any unwaived critical fail -> not compliant;
2. a partial audit, coverage below 90 %, or any critical or high error -> cannot conclude;
3. any fail, warn or waiver -> compliant with exceptions;
4. otherwise -> compliant.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from auditor.findings import Finding, Severity, Status

MIN_COVERAGE = 90.0
_GRAVE = (Severity.CRITICAL, Severity.HIGH)


class Verdict(StrEnum):
    """The four opinions, worst first."""

    NOT_COMPLIANT = "not_compliant"
    CANNOT_CONCLUDE = "cannot_conclude"
    COMPLIANT_WITH_EXCEPTIONS = "compliant_with_exceptions"
    COMPLIANT = "compliant"


LABELS: dict[Verdict, str] = {
    Verdict.NOT_COMPLIANT: "Not compliant", Verdict.CANNOT_CONCLUDE: "Cannot conclude",
    Verdict.COMPLIANT_WITH_EXCEPTIONS: "Compliant with exceptions",
    Verdict.COMPLIANT: "Compliant",
}


class Opinion(BaseModel):
    """The opinion with its label and the reason it was reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict = Field(description="not_compliant, cannot_conclude, "
                                         "compliant_with_exceptions or compliant")
    label: str = Field(description="the opinion as the report shows it")
    reason: str = Field(description="why, in one sentence")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rules(findings: Sequence[Finding]) -> str:
    return ", ".join(sorted({f.rule_id for f in findings}))


def _opinion(verdict: Verdict, reason: str) -> Opinion:
    return Opinion(verdict=verdict, label=LABELS[verdict], reason=reason)


def _cannot_conclude(findings: Sequence[Finding], complete: bool,
                     coverage: float | None) -> str:
    """The reasons the evidence does not support a conclusion, or '' when it does."""
    reasons = []
    if not complete:
        reasons.append("this is a partial audit (only some rules were evaluated)")
    if coverage is None:
        reasons.append("no check was applicable")
    elif coverage < MIN_COVERAGE:
        reasons.append(f"only {coverage:.1f} % of the applicable checks could be assessed "
                       f"(at least {MIN_COVERAGE:.0f} % is needed)")
    grave = [f for f in findings if f.status is Status.ERROR and f.severity in _GRAVE]
    if grave:
        reasons.append(f"{_plural(len(grave), 'critical or high check')} could not be "
                       f"assessed ({_rules(grave)})")
    return "; ".join(reasons)


def audit_opinion(findings: Sequence[Finding], *, complete: bool,
                  coverage: float | None) -> Opinion:
    """The opinion on an evaluation's findings (docs/report.md "Audit opinion")."""
    critical = [f for f in findings
                if f.status is Status.FAIL and f.severity is Severity.CRITICAL]
    if critical:
        return _opinion(Verdict.NOT_COMPLIANT,
                        f"{_plural(len(critical), 'critical check')} failed without a waiver "
                        f"({_rules(critical)}), whatever the score.")
    doubt = _cannot_conclude(findings, complete, coverage)
    if doubt:
        return _opinion(Verdict.CANNOT_CONCLUDE, doubt[0].upper() + doubt[1:] + ".")
    counts = {s: sum(1 for f in findings if f.status is s)
              for s in (Status.FAIL, Status.WARN, Status.WAIVED)}
    if any(counts.values()):
        said = ", ".join(_plural(n, noun) for n, noun in (
            (counts[Status.FAIL], "failed check"), (counts[Status.WARN], "partly met check"),
            (counts[Status.WAIVED], "waived finding")) if n)
        return _opinion(Verdict.COMPLIANT_WITH_EXCEPTIONS,
                        f"No critical failure and enough evidence, with exceptions: {said}.")
    return _opinion(Verdict.COMPLIANT, "Every applicable check passed, with at least "
                    f"{MIN_COVERAGE:.0f} % of them assessed and no waiver.")
