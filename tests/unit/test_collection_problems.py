"""Grouping the failed observations of a bundle into one terminal line per cause, and the
warning when most findings could not be assessed."""

from __future__ import annotations

import datetime as dt

from auditor.cli.problems import (
    collection_problems,
    credential_hints,
    problem_line,
    unassessed_warning,
)
from auditor.engine.score import Score
from auditor.evidence import (
    EvidenceBundle,
    Observation,
    ObservationStatus,
    Source,
    make_observation,
)
from auditor.inventory import Inventory

AT = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
OK = ObservationStatus.OK
PROBES = ("server_time", "backup_history", "database_files", "job_history")


def _obs(target: str, probe: str, status: ObservationStatus = OK, error: str | None = None,
         source: Source = Source.SQL) -> Observation:
    return make_observation(source=source, probe=probe, target=target, started_at=AT,
                            finished_at=AT, status=status, error=error)


def _bundle(observations: list[Observation]) -> EvidenceBundle:
    return EvidenceBundle(tool_version="t", rulepack_version="r", estate="e",
                          inventory_sha256="0" * 64, collected_at=AT, collectors=["sql"],
                          observations=observations)


def _target(target: str, status: ObservationStatus, error: str) -> list[Observation]:
    return [_obs(target, p, status, error) for p in PROBES]


UNSET = "no secret: environment variable AUDITOR_SQL_MON is not set"
REFUSED = "08001 could not connect to server: Connection refused"
DENIED = "28P01 FATAL: password authentication failed for user \"audit\""


def _estate() -> EvidenceBundle:
    return _bundle([
        *_target("SQLA\\X", ObservationStatus.DENIED, UNSET),
        *_target("SQLB\\Y", ObservationStatus.DENIED, UNSET),
        *_target("SQLC\\Z", ObservationStatus.DENIED, DENIED),
        *_target("SQLD\\W", ObservationStatus.UNREACHABLE, REFUSED),
        *[_obs("SQLE\\V", p) for p in PROBES[:3]],
        _obs("SQLE\\V", "job_history", ObservationStatus.DENIED,
             "42501 permission denied for table sysjobhistory"),
        *[_obs("SQLF\\U", p) for p in PROBES],
        _obs("edge.example.com", "server_inventory", ObservationStatus.TIMEOUT,
             "WinRM: connecting timed out after 30 s", Source.LYNC),
    ])


def _inventory() -> Inventory:
    def inst(name: str, env: str) -> dict[str, object]:
        return {"server_name": name, "host": "h.example.com", "role": "back_end",
                "credential": {"kind": "env", "name": env, "username": "audit"}}
    return Inventory.model_validate({"estate": {"name": "e"}, "sql_instances": [
        inst("SQLA\\X", "AUDITOR_SQL_MON"), inst("SQLB\\Y", "AUDITOR_SQL_MON"),
        inst("SQLC\\Z", "AUDITOR_SQL_CHI")]})


def test_one_line_per_cause_with_its_targets() -> None:
    problems = collection_problems(_estate())
    hints = credential_hints(_inventory())
    lines = [problem_line(p, hints) for p in problems]
    assert lines == [
        "lync edge.example.com: timeout (all probes): WinRM: connecting timed out after 30 s",
        f"sql 2 instances (SQLA\\X, SQLB\\Y): denied (all probes): {UNSET}",
        f"sql SQLC\\Z: denied (all probes): {DENIED} (password from $AUDITOR_SQL_CHI)",
        f"sql SQLD\\W: unreachable (all probes): {REFUSED}",
        "sql SQLE\\V: denied (probe job_history): 42501 permission denied for table "
        "sysjobhistory",
    ]
    assert sum(p.observations for p in problems) == 4 * 4 + 1 + 1
    assert not any("SQLF" in line for line in lines)  # all collected: not mentioned


def test_a_clean_bundle_has_no_problems() -> None:
    assert collection_problems(_bundle([_obs("SQLF\\U", p) for p in PROBES])) == []


def test_many_targets_are_counted_and_the_rest_summed_up() -> None:
    bundle = _bundle([o for i in range(9)
                      for o in _target(f"SQL{i}\\RTC", ObservationStatus.DENIED, UNSET)])
    (problem,) = collection_problems(bundle)
    line = problem_line(problem, {})
    assert line.startswith("sql 9 instances (SQL0\\RTC, SQL1\\RTC, SQL2\\RTC, SQL3\\RTC, "
                           "SQL4\\RTC, SQL5\\RTC and 3 more): denied (all probes): ")
    assert "\n" not in line


def _score(applicable: int, assessed: int) -> Score:
    return Score(score=0.0, score_without_waivers=0.0, coverage=None, applicable=applicable,
                 assessed=assessed, counts={})


def test_warning_when_most_findings_are_error() -> None:
    warning = unassessed_warning(_score(200, 12))
    assert warning is not None
    assert warning.startswith("most checks could not be assessed (188 of 200 applicable")
    assert "fix collection first" in warning
    assert unassessed_warning(_score(200, 100)) is None  # half: not most
    assert unassessed_warning(_score(200, 99)) is not None
    assert unassessed_warning(_score(0, 0)) is None


def test_many_failed_probes_are_counted_and_still_grouped() -> None:
    def target(name: str, failing: tuple[str, ...]) -> list[Observation]:
        return [_obs(name, p, ObservationStatus.DENIED if p in failing else OK,
                     UNSET if p in failing else None) for p in (*PROBES, "extra_a", "extra_b")]
    bundle = _bundle([*target("SQLA\\X", PROBES), *target("SQLB\\Y", (*PROBES[1:], "extra_a"))])
    (problem,) = collection_problems(bundle)
    assert problem_line(problem, {}) == (f"sql 2 instances (SQLA\\X, SQLB\\Y): denied "
                                         f"(8 probes): {UNSET}")
