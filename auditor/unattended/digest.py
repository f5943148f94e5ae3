"""What changed since the previous audit, in the few lines a mail body or a gate needs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auditor.findings import Finding, Severity, Status
from auditor.gates import FAILING, failing, finding_key
from auditor.report.text import grade
from auditor.results import Results

SHOWN = 20
URGENT = (Severity.CRITICAL, Severity.HIGH)


class MailWhen(StrEnum):
    """When an unattended run mails its report."""

    ALWAYS = "always"
    CHANGED = "changed"  # a finding's status or the score differs from the previous audit
    FAILED = "failed"  # the run's gates tripped (it exits 1)


@dataclass(frozen=True)
class Change:
    """One audit against the one before it (None: there was none)."""

    results: Results
    previous: Results | None

    @property
    def new_failing(self) -> list[Finding]:
        """Failing now and not failing (or absent) in the previous audit."""
        before = failing_keys(self.previous)
        return [f for f in failing(self.results)
                if before is None or finding_key(self.results.estate_id, f) not in before]

    @property
    def resolved(self) -> int:
        """Failing before and not failing now (partial audits: only inside this scope)."""
        if self.previous is None:
            return 0
        now = {finding_key(self.results.estate_id, f): f.status for f in self.results.findings}
        return sum(1 for key in failing_keys(self.previous) or ()
                   if key in now and now[key] not in FAILING)

    @property
    def changed(self) -> bool:
        """Any finding's status or the score differs (always true without a previous audit)."""
        if self.previous is None:
            return True
        return (_statuses(self.previous) != _statuses(self.results)
                or self.previous.overall.score != self.results.overall.score)


def should_mail(when: MailWhen, change: Change, gates_tripped: bool) -> bool:
    """Whether this run's report goes out."""
    if when is MailWhen.CHANGED:
        return change.changed
    if when is MailWhen.FAILED:
        return gates_tripped
    return True


def failing_keys(results: Results | None) -> set[str] | None:
    """The keys of the failing findings of an audit; None without one."""
    if results is None:
        return None
    return {finding_key(results.estate_id, f) for f in failing(results)}


def _statuses(results: Results) -> dict[str, Status]:
    return {finding_key(results.estate_id, f): f.status for f in results.findings}


def subject_line(change: Change) -> str:
    """`[auditor] Contoso Lync: score 85.3 (B), 2 new findings`."""
    results = change.results
    score = results.overall.score
    shown = "n/a" if score is None else f"{score:.1f}"
    new = len(change.new_failing)
    return (f"[auditor] {results.estate}: score {shown} ({grade(score)}), "
            f"{new} new finding{'s' if new != 1 else ''}")


def body_text(change: Change, report_name: str) -> str:
    """The plain-text body: score, change, new urgent findings, coverage gaps."""
    lines = [_score_line(change.results), _change_line(change), ""]
    urgent = [f for f in change.new_failing if f.severity in URGENT]
    lines += _listed("New critical and high findings", urgent)
    gaps = [f for f in change.results.findings if f.status is Status.ERROR]
    lines += _listed("Coverage gaps (could not assess)", gaps)
    lines.append(f"The report is attached ({report_name}).")
    return "\n".join(lines) + "\n"


def _score_line(results: Results) -> str:
    overall = results.overall
    score = "n/a" if overall.score is None else f"{overall.score:.1f}"
    coverage = "n/a" if overall.coverage is None else f"{overall.coverage:.1f} %"
    return (f"Lync backup audit of {results.estate}, evidence of "
            f"{results.collected_at:%Y-%m-%d %H:%M %Z}: score {score} (grade "
            f"{grade(overall.score)}), coverage {coverage}.")


def _change_line(change: Change) -> str:
    if change.previous is None:
        return "No earlier audit to compare with: every finding is new."
    before, now = change.previous.overall.score, change.results.overall.score
    delta = "n/a" if before is None or now is None else f"{now - before:+.1f}"
    return (f"Since the audit of {change.previous.collected_at:%Y-%m-%d %H:%M %Z}: score "
            f"{delta}, {len(change.new_failing)} new, {change.resolved} resolved.")


def _listed(title: str, findings: list[Finding]) -> list[str]:
    if not findings:
        return [f"{title}: none.", ""]
    lines = [f"{title}: {len(findings)}"]
    lines += [f"  - {f.rule_id} {f.severity.value} {f.status.value} {f.subject.id}: "
              f"{f.message}" for f in findings[:SHOWN]]
    if len(findings) > SHOWN:
        lines.append(f"  ... and {len(findings) - SHOWN} more in the report")
    return [*lines, ""]
