"""The report's "Remediation run" section and per-finding lines, from a remediation.json
(auditor/remediate/record.py): what the last run did and what its re-audit said."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.remediate.record import ActionRun, FindingCheck, RunRecord


@dataclass(frozen=True)
class RemediationRow:
    """One action of the run."""

    action: str
    target: str
    outcome: str
    outcome_css: str
    started: str
    finished: str
    message: str
    verdict: str


@dataclass(frozen=True)
class RemediationView:
    """The last remediation run, beside the findings."""

    run_id: str
    plan_sha256: str
    approved_by: str
    started: str
    finished: str
    score: str
    rows: tuple[RemediationRow, ...]
    # "rule_id|subject" -> "remediated 2026-12-03: fixed"
    lines: Mapping[str, str] = field(default_factory=dict)

    def line(self, rule_id: str, subject: str) -> str:
        """The line a finding row shows, or ""."""
        return self.lines.get(f"{rule_id}|{subject}", "")


def _when(at: dt.datetime | None) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def _message(run: ActionRun) -> str:
    """The reason, then the server's last message (where errors arrive)."""
    parts = [run.reason] if run.reason else []
    parts += run.messages[-1:]
    return "; ".join(parts) or "—"


def _mine(run: ActionRun, check: FindingCheck) -> bool:
    """A finding on the action's database (a restore test runs elsewhere: any instance); for a
    Lync action, a finding it was planned to fix."""
    if run.fixes:
        return f"{check.rule_id}|{check.subject}" in run.fixes
    subject = check.subject.casefold()
    if not subject.endswith("/" + run.database.casefold()):
        return False
    return run.action == "restore_test" or run.instance.casefold() in subject


def _verdict(run: ActionRun, checks: list[FindingCheck]) -> str:
    mine = [f"{c.rule_id} {c.verdict.value}" for c in checks if _mine(run, c)]
    return ", ".join(mine) or "not judged"


_CSS = {"succeeded": "pass", "failed": "fail", "timed_out": "fail", "denied": "fail",
        "refused": "warn", "not_run": "na", "interrupted": "warn"}


def remediation_view(record: RunRecord | None) -> RemediationView | None:
    """The section's view; None without a record."""
    if record is None:
        return None
    checks = record.verification.findings if record.verification else []
    day = _day(record)
    rows = tuple(RemediationRow(
        action=r.action, target=f"{r.instance} / {r.database}" if r.database else r.instance,
        outcome=r.outcome.value,
        outcome_css=_CSS.get(r.outcome.value, "na"), started=_when(r.started_at),
        finished=_when(r.finished_at), message=_message(r), verdict=_verdict(r, checks))
        for r in record.actions)
    lines = {f"{c.rule_id}|{c.subject}": f"remediated {day}: {c.verdict.value}" for c in checks}
    return RemediationView(
        run_id=record.run_id, plan_sha256=record.plan_sha256, approved_by=record.approved_by,
        started=_when(record.started_at), finished=_when(record.finished_at),
        score=_score(record), rows=rows, lines=lines)


def _day(record: RunRecord) -> str:
    at = record.verification.evaluated_at if record.verification else record.finished_at
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d")


def _score(record: RunRecord) -> str:
    v = record.verification
    if v is None:
        return "not verified"
    before = "—" if v.score_before is None else f"{v.score_before:g}"
    after = "—" if v.score_after is None else f"{v.score_after:g}"
    return f"{before} → {after}"
