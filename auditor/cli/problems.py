"""The terminal's account of what could not be collected, and why, after a collection.

The reasons are in the bundle's observations (status and error); here they are grouped so that
one cause over many targets (an unset variable shared by three instances) is one line, and one
target with several causes gets a line per cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console

from auditor.engine.score import Score
from auditor.evidence import EvidenceBundle, Observation, ObservationStatus, Source
from auditor.inventory import CredentialKind, Inventory

MAX_TARGETS_NAMED = 6  # a grouped line names this many targets, then says how many more
PLURALS = {Source.SQL: "instances", Source.LYNC: "servers", Source.RECORDS: "records files"}


@dataclass(frozen=True)
class Problem:
    """One cause of failed collection and the targets it hit."""

    source: Source
    status: ObservationStatus
    reason: str
    probes: tuple[str, ...]  # the probes that failed; empty: every probe of each target
    targets: tuple[str, ...]
    observations: int


Cause = tuple[Source, ObservationStatus, str, tuple[str, ...]]  # source, status, reason, probes


def _reason(obs: Observation) -> str:
    return " ".join((obs.error or "no reason recorded").split())


def _target_causes(source: Source, observations: list[Observation]) -> dict[Cause, int]:
    """One target's causes of failure, with how many observations each cost."""
    probes: dict[tuple[ObservationStatus, str], list[str]] = {}
    for obs in observations:
        if not obs.ok:
            probes.setdefault((obs.status, _reason(obs)), []).append(obs.probe)
    return {(source, status, reason,
             () if len(names) == len(observations) else tuple(sorted(names))): len(names)
            for (status, reason), names in probes.items()}


def collection_problems(bundle: EvidenceBundle) -> list[Problem]:
    """The failed observations grouped by source, status, reason and probes."""
    per_target: dict[tuple[Source, str], list[Observation]] = {}
    for obs in bundle.observations:
        per_target.setdefault((obs.source, obs.target), []).append(obs)
    targets: dict[Cause, list[str]] = {}
    counts: dict[Cause, int] = {}
    for (source, target), observations in sorted(per_target.items()):
        for cause, failed in _target_causes(source, observations).items():
            targets.setdefault(cause, []).append(target)
            counts[cause] = counts.get(cause, 0) + failed
    return [Problem(*cause, tuple(names), counts[cause]) for cause, names in targets.items()]


def credential_hints(inventory: Inventory) -> dict[str, str]:
    """Where each SQL instance's password comes from (a variable's name, never its value), for
    the lines about failed logins."""
    hints = {}
    for inst in inventory.sql_instances:
        cred = inst.credential
        if cred is not None and cred.kind is CredentialKind.ENV and cred.name:
            hints[inst.server_name] = f"password from ${cred.name}"
        elif cred is not None and cred.kind is not CredentialKind.INTEGRATED:
            hints[inst.server_name] = f"password from {cred.kind.value}"
    return hints


def _targets(problem: Problem) -> str:
    plural = PLURALS.get(problem.source, "targets")
    if len(problem.targets) == 1:
        return problem.targets[0]
    named = ", ".join(problem.targets[:MAX_TARGETS_NAMED])
    more = len(problem.targets) - MAX_TARGETS_NAMED
    return f"{len(problem.targets)} {plural} ({named}{f' and {more} more' if more > 0 else ''})"


def problem_line(problem: Problem, hints: Mapping[str, str]) -> str:
    """`sql SQLBNE01\\RTC: denied (all probes): login failed ... (password from $VAR)`."""
    what = "all probes" if not problem.probes else (
        f"probe {problem.probes[0]}" if len(problem.probes) == 1
        else f"probes {', '.join(problem.probes)}")
    line = f"{problem.source.value} {_targets(problem)}: {problem.status.value} ({what}): " \
           f"{problem.reason}"
    named = {hints[t] for t in problem.targets if t in hints}
    if problem.status is ObservationStatus.DENIED and len(named) == 1:
        hint = named.pop()
        if hint.removeprefix("password from $") not in problem.reason:
            line += f" ({hint})"
    return line


def print_problems(bundle: EvidenceBundle, inventory: Inventory, console: Console) -> None:
    """Per target what failed and why, one line per cause; nothing when all was collected."""
    problems = collection_problems(bundle)
    if not problems:
        return
    failed = sum(p.observations for p in problems)
    targets = len({(p.source, t) for p in problems for t in p.targets})
    console.print(f"could not collect {failed} of {len(bundle.observations)} observations "
                  f"({targets} target{'s' if targets != 1 else ''}):", markup=False)
    hints = credential_hints(inventory)
    for problem in problems:
        console.print(f"  {problem_line(problem, hints)}", markup=False)


def unassessed_warning(overall: Score) -> str | None:
    """A line when most applicable findings are `error`: the score then says more about the
    collection than about the estate."""
    errors = overall.applicable - overall.assessed
    if not overall.applicable or errors * 2 <= overall.applicable:
        return None
    return (f"most checks could not be assessed ({errors} of {overall.applicable} applicable "
            "findings are error): fix collection first, the score is not the estate's")
