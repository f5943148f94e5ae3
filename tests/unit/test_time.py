"""Evidence dated after it was collected is never a pass: every case of every rule that reads a
time, replayed with its collection (and `now`) moved to before all of its evidence."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from auditor.checks import check_kinds
from auditor.engine.evaluate import evaluate
from auditor.evidence import EvidenceBundle
from auditor.facts import derive_facts
from auditor.facts.clock import CLOCK_TOLERANCE, AuditClock
from auditor.findings import Finding, Status
from tests.casekit import RuleCase, case_bundle, case_inventory, load_cases, rule_pack

# Rules whose verdict reads no evidence time, and why (every other rule is tested below).
TIMELESS = {
    "DR-001": "pool pairing and the Backup Service's sync state",
    "BR-041": "the share's ACL",
    "DR-050": "spare counts, and SLA expiry dates (a contract date is meant to lie ahead)",
    "DR-060": "file placement on volumes",
}
CASES = load_cases()
TIMED = [c for c in CASES if c.rule not in TIMELESS]
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def _moment(value: Any) -> dt.datetime | None:
    """An evidence time in any form the probes and records give it, as naive UTC-ish."""
    if not isinstance(value, str):
        return None
    match = _MS_DATE.match(value)
    if match:
        return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(match.group(1)))
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def _times(value: Any) -> list[dt.datetime]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _times(v)]
    if isinstance(value, list):
        return [t for v in value for t in _times(v)]
    found = _moment(value)
    return [found] if found is not None else []


def _earliest(bundle: EvidenceBundle) -> dt.datetime | None:
    found = [t for obs in bundle.observations for t in _times(obs.data)]
    return min(found, default=None)


def _stamped(bundle: EvidenceBundle, at: dt.datetime) -> EvidenceBundle:
    """The same rows, read at `at`."""
    observations = [o.model_copy(update={"started_at": at, "finished_at": at})
                    for o in bundle.observations]
    return bundle.model_copy(update={"observations": observations, "collected_at": at})


def _findings(case: RuleCase, bundle: EvidenceBundle, now: dt.datetime) -> list[Finding]:
    inventory = case_inventory(case)
    facts = derive_facts(bundle, inventory.inventory, now)
    return evaluate(facts, rule_pack(), check_kinds(), inventory, only=[case.rule])


def _shifted(case: RuleCase) -> tuple[list[Finding], list[Finding]] | None:
    """The case's findings, then with collection and `now` two days before its earliest
    evidence time (so every time lies beyond collection + tolerance, whatever the zone)."""
    now = dt.datetime.fromisoformat(case.raw["now"])
    bundle = case_bundle(case, now)
    earliest = _earliest(bundle)
    if earliest is None:
        return None
    before = earliest.replace(tzinfo=dt.UTC) - dt.timedelta(days=2)
    return _findings(case, bundle, now), _findings(case, _stamped(bundle, before), before)


@pytest.mark.parametrize("case", TIMED, ids=[c.id for c in TIMED])
def test_evidence_after_now_is_never_a_pass(case: RuleCase) -> None:
    shifted = _shifted(case)
    if shifted is None:
        pytest.skip("the case's evidence holds no time")
    original, moved = shifted
    passed = {f.subject.id for f in original if f.status is Status.PASS}
    statuses = {f.subject.id: (f.status, f.message) for f in moved}
    assert not [s for s, (st, _) in statuses.items() if st is Status.PASS], statuses
    for subject in passed:  # what passed on its times now fails or errs on them
        assert statuses[subject][0] in (Status.FAIL, Status.ERROR), statuses[subject]


def test_every_timed_rule_has_a_passing_case_to_shift() -> None:
    """The generated test is not vacuous: each rule that reads a time passes somewhere, and
    that pass is turned."""
    turned = set()
    for case in TIMED:
        shifted = _shifted(case)
        if shifted and any(f.status is Status.PASS for f in shifted[0]):
            turned.add(case.rule)
    rules = {r.id for r in rule_pack().rules} - set(TIMELESS)
    assert rules <= turned, sorted(rules - turned)


# --- the clock itself -------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
CLOCK = AuditClock(NOW, {"sql:x:y": NOW + dt.timedelta(minutes=3)})


def test_a_time_while_collection_ran_is_age_zero_not_future() -> None:
    moment = NOW + dt.timedelta(minutes=7)  # after now, within finish (12:03) + 5 min
    assert CLOCK.future("backup finished", [moment], ["sql:x:y"]) is None
    assert CLOCK.age(moment) == dt.timedelta(0)


def test_a_time_beyond_the_finish_plus_tolerance_is_future() -> None:
    moment = NOW + dt.timedelta(minutes=3) + CLOCK_TOLERANCE + dt.timedelta(minutes=1)
    found = CLOCK.future("backup finished", [NOW, moment], ["sql:x:y"])
    assert found is not None
    assert found.moment == moment
    assert "6 min after the evidence was collected (2026-11-25 12:03 UTC)" in found.text
    assert " ago" not in found.text


def test_an_unknown_observation_is_judged_against_now() -> None:
    assert CLOCK.future("x", [NOW + dt.timedelta(minutes=6)], ["other"]) is not None


def test_a_date_is_future_only_after_the_read_day_anywhere_on_earth() -> None:
    late = AuditClock(dt.datetime(2026, 11, 25, 23, 0, tzinfo=dt.UTC), {})
    assert late.future_date("trained", [dt.date(2026, 11, 26)], []) is None  # UTC+14
    assert late.future_date("trained", [dt.date(2026, 11, 27)], []) is not None
    assert late.age_days(dt.date(2026, 11, 26)) == 0
