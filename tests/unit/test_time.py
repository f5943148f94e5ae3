"""msdb stores server-local times: reading them as UTC flips verdicts on servers far from UTC."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from auditor.facts.sql import server_offset
from tests.casekit import RuleCase, load_cases, run_case

FLIP_CASES = {"BR-001-utc_plus_10_server_local_times": ("database:SQL01\\RTC/xds", "fail", "pass"),
              "BR-001-utc_minus_10_server_local_times":
                  ("database:MON01\\LYNCMON/LcsCDR", "pass", "fail")}


def _case(case_id: str) -> RuleCase:
    return next(c for c in load_cases() if c.id == case_id)


def _offset_forced_to_zero(case: RuleCase) -> RuleCase:
    """The same evidence, but the server's clock read as if it were UTC (the classic bug)."""
    raw = copy.deepcopy(case.raw)
    for obs in raw["observations"]:
        if obs["probe"] == "server_time":
            for row in obs["rows"]:
                row["local_now"] = row["utc_now"]
        for row in obs.get("rows", []):
            if row.get("time_zone") not in (None, 0):
                row["time_zone"] = 127 if row["time_zone"] == 127 else 0
    return RuleCase(case.file, case.rule, case.name + "-utc", raw)


@pytest.mark.parametrize("case_id", sorted(FLIP_CASES))
def test_offset_decides_the_verdict(case_id: str) -> None:
    subject, right, wrong = FLIP_CASES[case_id]
    case = _case(case_id)
    with_offset = {f.subject.id: f.status.value for f in run_case(case)}
    forced_zero = {f.subject.id: f.status.value for f in run_case(_offset_forced_to_zero(case))}
    assert with_offset[subject] == right
    assert forced_zero[subject] == wrong


@pytest.mark.parametrize(("local", "utc", "hours"), [
    ("2026-11-25T22:00:00.100", "2026-11-25T12:00:00.000", 10),
    ("2026-11-25T01:59:59.990", "2026-11-25T12:00:00.000", -10),
    ("2026-11-25T17:45:00.003", "2026-11-25T12:00:00.000", 5.75),
])
def test_server_offset_rounds_to_quarter_hours(local: str, utc: str, hours: float) -> None:
    offset = server_offset(dt.datetime.fromisoformat(local), dt.datetime.fromisoformat(utc))
    assert offset == dt.timedelta(hours=hours)


@pytest.mark.parametrize(("value", "expected"), [
    (None, []),
    ({"Identity": "a"}, [{"Identity": "a"}]),
    ([{"Identity": "a"}, {"Identity": "b"}], [{"Identity": "a"}, {"Identity": "b"}]),
    ({"value": [{"Identity": "a"}], "Count": 1}, [{"Identity": "a"}]),
])
def test_powershell_arrays_in_all_their_json_forms(value: object, expected: object) -> None:
    from auditor.facts.base import as_list

    assert as_list(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "iso"), [
    ("/Date(1795564800000)/", "2026-11-25T00:00:00+00:00"),
    ({"value": "/Date(1795564800000)/", "DisplayHint": 2}, "2026-11-25T00:00:00+00:00"),
    ("2026-11-25T10:00:00+10:00", "2026-11-25T00:00:00+00:00"),
])
def test_powershell_dates(value: object, iso: str) -> None:
    from auditor.facts.base import as_ps_datetime

    parsed = as_ps_datetime({"When": value}, "When")  # type: ignore[dict-item]
    assert parsed is not None
    assert parsed.isoformat() == iso
