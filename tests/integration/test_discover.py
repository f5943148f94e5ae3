"""`auditor discover` against the loopback PSRP endpoint (and the PostgreSQL lab with --sql).

The acceptance: for each demo estate, the discovered inventory, completed only with what it
marks TODO, gives the verdicts of the estate's hand-written inventory over the recorded
evidence. The endpoint presents the topology the inventory describes (topology_from_inventory:
the neglected estate's recording deliberately disagrees with its inventory; the last test
reads that recording as it is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.evidence import read_bundle
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from tests.integration.discoverkit import completed, discover, sql_options
from tests.integration.lync_fixtures import (
    DEMO,
    ESTATES,
    replayed,
    running_lab,
    toolkit,
    verdicts,
)

pytestmark = [pytest.mark.winrm, pytest.mark.pg]


@pytest.mark.parametrize("estate", ESTATES)
def test_discovered_inventory_gives_the_hand_written_verdicts(
        estate: str, tmp_path: Path, lab: LabCluster, demo_lab: dict[str, LabEstate]) -> None:
    out = tmp_path / "inventory.yaml"
    with running_lab(estate, topology_from_inventory=True) as running:
        result = discover(running, out, *sql_options(lab, estate), env=dict(demo_lab[estate].env))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "server_name confirmed over ODBC" in text
    assert "# TODO backup_destinations" in text
    assert "# model: TODO" in text
    full = load_inventory(completed(out, estate, tmp_path / "completed.yaml"))
    recorded, sha = read_bundle(DEMO / estate / "evidence.json")
    kit = toolkit()
    results = kit.evaluate(recorded, sha, full, kit.load_waivers(full, None),
                           now=recorded.collected_at)
    want = verdicts(replayed(estate))
    got = verdicts(results)
    assert sorted(want - got) == [], "hand-written verdicts discovery lost"
    assert sorted(got - want) == [], "verdicts only the discovered inventory gives"
