"""The terminal's account of what could not be collected, and why, after a collection.

The reasons are in the bundle's observations (status and error); here they are grouped so that
one cause over many targets (an unset variable shared by three instances) is one line, and one
target with several causes gets a line per cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from rich.console import Console

from auditor.engine.score import Score
from auditor.evidence import EvidenceBundle, Observation, ObservationStatus, Source
from auditor.inventory import CredentialKind, Inventory

MAX_TARGETS_NAMED = 6  # a grouped line names this many targets, then says how many more
MAX_PROBES_NAMED = 3  # a line names this many failed probes, else counts them
PLURALS = {Source.SQL: "instances", Source.LYNC: "servers", Source.RECORDS: "records files"}


@dataclass(frozen=True)
class Problem:
    """One cause of failed collection and the targets it hit."""

    source: Source
    status: ObservationStatus
    reason: str
    probes: tuple[str, ...] | None  # the failed probes when few (and not all) are named
    every: bool  # every probe of every target failed
    targets: tuple[str, ...]
    observations: int


Cause = tuple[Source, ObservationStatus, str, tuple[str, ...] | None]  # up to `probes`


def _reason(obs: Observation) -> str:
    return " ".join((obs.error or "no reason recorded").split())


def _target_causes(source: Source, observations: list[Observation]
                   ) -> dict[Cause, tuple[bool, int]]:
    """One target's causes of failure: whether each cost every probe, and how many."""
    probes: dict[tuple[ObservationStatus, str], list[str]] = {}
    for obs in observations:
        if not obs.ok:
            probes.setdefault((obs.status, _reason(obs)), []).append(obs.probe)
    causes = {}
    for (status, reason), names in probes.items():
        every = len(names) == len(observations)
        named = tuple(sorted(names)) if not every and len(names) <= MAX_PROBES_NAMED else None
        causes[(source, status, reason, named)] = (every, len(names))
    return causes


def collection_problems(bundle: EvidenceBundle) -> list[Problem]:
    """The failed observations grouped by source, status, reason (and probes, when few)."""
    per_target: dict[tuple[Source, str], list[Observation]] = {}
    for obs in bundle.observations:
        per_target.setdefault((obs.source, obs.target), []).append(obs)
    found: dict[Cause, Problem] = {}
    for (source, target), observations in sorted(per_target.items()):
        for cause, (every, failed) in _target_causes(source, observations).items():
            known = found.get(cause)
            if known is None:
                found[cause] = Problem(*cause, every, (target,), failed)
            else:
                found[cause] = replace(known, every=known.every and every,
                                       targets=(*known.targets, target),
                                       observations=known.observations + failed)
    return list(found.values())


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


def _probes(problem: Problem) -> str:
    if problem.every:
        return "all probes"
    if problem.probes is None:
        return f"{problem.observations} probes"
    return f"probe{'s' if len(problem.probes) > 1 else ''} {', '.join(problem.probes)}"


def problem_line(problem: Problem, hints: Mapping[str, str]) -> str:
    """`sql SQLBNE01\\RTC: denied (all probes): login failed ... (password from $VAR)`."""
    what = _probes(problem)
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
