"""The demo estates, served live by the lab: collection gives back the recorded SQL rows, and
the audit gives the recorded bundle's verdicts, which are the hand-written ones."""

from __future__ import annotations

import pytest

from auditor.evidence import ObservationStatus, Source
from auditor.lab.demo import DEMO_ESTATES, LabEstate
from auditor.lab.loader import lab_probes
from tests.integration.labkit import (
    collect_live,
    evaluate,
    expected_verdicts,
    observations_of,
    rows_key,
    verdicts,
)

pytestmark = pytest.mark.pg


@pytest.mark.parametrize("estate", DEMO_ESTATES)
def test_live_audit_gives_the_recorded_and_hand_written_verdicts(
        demo_lab: dict[str, LabEstate], estate: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lab_estate = demo_lab[estate]
    for name, value in lab_estate.env.items():
        monkeypatch.setenv(name, value)
    live = collect_live(lab_estate.inventory, lab_estate.replay)

    runnable = lab_probes()
    recorded = {o.id: o for o in lab_estate.served.observations}  # moved to the present
    live_sql = [o for o in live.observations
                if o.source is Source.SQL and o.probe in runnable]
    assert {o.id for o in live_sql} == {i for i, o in recorded.items()
                                        if o.source is Source.SQL and o.probe in runnable}
    for obs in live_sql:
        assert obs.status is ObservationStatus.OK, (obs.id, obs.error)
        assert obs.started_at > lab_estate.served.collected_at  # really collected now
        assert rows_key(obs) == rows_key(recorded[obs.id]), obs.id
    assert live.collected_at >= lab_estate.served.collected_at  # judged at the live time

    got = verdicts(evaluate(live, lab_estate.inventory))
    recorded_results = evaluate(lab_estate.recorded, lab_estate.source / "inventory.yaml")
    assert got == verdicts(recorded_results)
    want = expected_verdicts(lab_estate)
    if want is None:
        pytest.skip(f"{estate}: no expected.yaml yet; compared with the recorded bundle only")
    assert sorted(want - got) == [], "expected but not found"
    assert sorted(got - want) == [], "found but not expected"


def test_every_lab_instance_reports_its_recorded_clock(demo_lab: dict[str, LabEstate],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The instance clocks are stopped at the recording moved to the present: server_time
    gives those local and UTC times, so the offset the facts stage applies is the recorded
    one."""
    lab_estate = demo_lab["neglected"]
    for name, value in lab_estate.env.items():
        monkeypatch.setenv(name, value)
    live = collect_live(lab_estate.inventory, lab_estate.replay)
    for ref in lab_estate.instances:
        got = observations_of(live, ref.server_name)["server_time"].data
        want = observations_of(lab_estate.served, ref.server_name)["server_time"].data
        assert got == want
