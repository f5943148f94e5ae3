"""The audit opinion as the report shows it, and the grade capped so it never looks better."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.engine.opinion import Opinion, Verdict

# The best letter each opinion allows (docs/report.md "Audit opinion"): a score alone never
# makes a report with a critical failure look green.
GRADE_CAP: dict[Verdict, str] = {
    Verdict.NOT_COMPLIANT: "F", Verdict.CANNOT_CONCLUDE: "C",
    Verdict.COMPLIANT_WITH_EXCEPTIONS: "B", Verdict.COMPLIANT: "A",
}
_LETTERS = "ABCDF"
OPINION_CSS: dict[Verdict, str] = {
    Verdict.NOT_COMPLIANT: "fail", Verdict.CANNOT_CONCLUDE: "error",
    Verdict.COMPLIANT_WITH_EXCEPTIONS: "warn", Verdict.COMPLIANT: "pass",
}


@dataclass(frozen=True)
class OpinionView:
    """The opinion, its reason, and the grade it allows."""

    label: str
    reason: str
    css: str  # a status badge suffix: fail, error, warn or pass
    grade: str  # the letter shown: the score's, capped by the opinion
    grade_by_score: str  # the score's own letter
    grade_note: str  # "capped from B: not compliant", or ""

    @property
    def grade_css(self) -> str:
        return "na" if self.grade == "n/a" else self.grade.lower()


def capped(letter: str, verdict: Verdict) -> str:
    """The worse of the score's letter and the opinion's cap; 'n/a' stays 'n/a' unless the
    opinion is not compliant (then F: a critical failure is a result)."""
    cap = GRADE_CAP[verdict]
    if letter not in _LETTERS:
        return cap if verdict is Verdict.NOT_COMPLIANT else letter
    return max(letter, cap, key=_LETTERS.index)


def opinion_view(opinion: Opinion, letter: str) -> OpinionView:
    """The opinion for the cover and the executive summary."""
    shown = capped(letter, opinion.verdict)
    note = (f"capped from {letter} by the opinion ({opinion.label.lower()})"
            if shown != letter else "")
    return OpinionView(opinion.label, opinion.reason, OPINION_CSS[opinion.verdict], shown,
                       letter, note)
