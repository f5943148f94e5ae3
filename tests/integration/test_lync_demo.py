"""A live audit of each demo estate over WinRM gives the estate's hand-written verdicts.

The loopback endpoint answers every probe with the objects a Lync 2013 front end would send
(CLIXML with the Lync type names, Int64, Boolean and DateTime properties with their offsets,
remoting's depth-1 flattening), built from the estate's recorded rows; the collector converts
them itself. The live Lync observations replace the recorded ones, the SQL and records
evidence stays as recorded, and the verdicts of the Lync-sourced rules must be expected.yaml's
(and every other verdict the recorded bundle's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.evidence import ObservationStatus, read_bundle
from tests.integration.lync_fixtures import (
    DEMO,
    ESTATES,
    LYNC_RULES,
    audit,
    by_id,
    canary_env,
    collect_lync,
    expected_verdicts,
    live_inventory,
    replayed,
    running_lab,
    verdicts,
)

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm


@pytest.mark.parametrize("estate", ESTATES)
def test_live_audit_gives_the_hand_written_verdicts(estate: str, tmp_path: Path,
                                                    canary_env: str) -> None:
    with running_lab(estate) as running:
        loaded = live_inventory(tmp_path, estate, running)
        live = collect_lync(loaded, running)
    results = audit(estate, loaded, live)
    got, want = verdicts(results, LYNC_RULES), expected_verdicts(estate, LYNC_RULES)
    assert sorted(want - got) == [], "expected but not found"
    assert sorted(got - want) == [], "found but not expected"
    assert verdicts(results) == verdicts(replayed(estate))


@pytest.mark.parametrize("estate", ESTATES)
def test_live_observations_match_the_recorded_ones(estate: str, tmp_path: Path,
                                                   canary_env: str) -> None:
    """Same ids and statuses as the recording; the ok ones carry the same facts (dates in
    another but equal form, enum numbers as names): checked through the verdicts above, and
    here by row counts and the values that pass through unchanged."""
    recorded = {o.id: o for o in read_bundle(DEMO / estate / "evidence.json")[0].observations
                if o.source.value == "lync"}
    with running_lab(estate) as running:
        loaded = live_inventory(tmp_path, estate, running)
        live = by_id(collect_lync(loaded, running))
    assert set(recorded) <= set(live)
    for obs_id, old in recorded.items():
        new = live[obs_id]
        assert new.status is old.status or (
            old.status is ObservationStatus.TIMEOUT and new.status is ObservationStatus.TIMEOUT
        ), (obs_id, new.status, new.error)
        if old.ok:
            assert len(new.data) == len(old.data), obs_id
            # -LocalStore came after the demo bundles were recorded (issue 17 item 10).
            sent = {k: v for k, v in new.parameters.items() if k != "LocalStore"}
            assert sent == old.parameters, obs_id
    extra = set(live) - set(recorded)
    assert {live[i].probe for i in extra} <= {"cms_status", "cs_pools", "cs_computers",
                                              "file_stores"}
    assert all(live[i].ok for i in extra)
