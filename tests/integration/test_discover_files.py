"""`auditor discover`: what it writes, what it refuses, and `--merge` (no --sql: cheap).

Every test reads the healthy estate's topology from the loopback endpoint, except the last,
which reads the neglected estate's recorded topology as it is.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.inventory import load_inventory
from tests.integration.discoverkit import discover
from tests.integration.labkit import closed_port
from tests.integration.lync_fixtures import CANARY_PASSWORD, DEMO, running_lab

pytestmark = pytest.mark.winrm


def test_written_inventory_validates_and_marks_what_it_cannot_know(tmp_path: Path) -> None:
    out = tmp_path / "inventory.yaml"
    with running_lab("healthy") as running:
        result = discover(running, out)
    assert result.exit_code == 0, result.output
    assert "2 sites, 2 pools, 3 servers, 4 SQL instances" in result.output
    checked = CliRunner().invoke(app, ["inventory", "validate", str(out)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.strip() == f"{out}: ok (4 SQL instances, 2 pools, 3 servers, 0 waivers)"
    inv = load_inventory(out).inventory
    assert [(p.fqdn, p.backup_pool) for p in inv.pools] == [
        ("lyncbne.nwtraders.com", "lyncchi.nwtraders.com"),
        ("lyncchi.nwtraders.com", "lyncbne.nwtraders.com")]
    assert {(s.fqdn, s.role, s.pool, s.site) for s in inv.servers} == {
        ("fe-bne01.nwtraders.com", "front_end", "lyncbne.nwtraders.com", None),
        ("fe-chi01.nwtraders.com", "front_end", "lyncchi.nwtraders.com", None),
        ("edge-bne01.nwtraders.com", "edge", None, "BNE")}
    by_name = {i.server_name: i for i in inv.sql_instances}
    assert by_name["SQLCHI02\\RTC"].role.value == "mirror"
    assert by_name["SQLMON01\\LYNCMON"].stores == ["LcsCDR", "QoEMetrics"]
    assert by_name["SQLBNE01\\RTC"].stores[:5] == ["xds", "lis", "rtcxds", "rtcshared",
                                                   "rgsconfig"]
    text = out.read_text(encoding="utf-8")
    for todo in ("# TODO backup_destinations", "# TODO export_share", "# TODO policy",
                 "# model: TODO", "business_critical: false  # TODO",
                 "# audit_account: TODO", "# TODO a restore-test instance",
                 "check it with SELECT @@SERVERNAME"):
        assert todo in text, todo
    assert CANARY_PASSWORD not in text
    assert inv.policy.backup_window is None
    assert inv.backup_destinations == []


def test_an_existing_file_is_never_overwritten_without_force(tmp_path: Path) -> None:
    out = tmp_path / "inventory.yaml"
    out.write_text("hand-written\n", encoding="utf-8")
    with running_lab("healthy") as running:
        refused = discover(running, out)
        both = discover(running, out, "--force", "--merge")
        assert out.read_text(encoding="utf-8") == "hand-written\n"
        forced = discover(running, out, "--force")
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        f"error: {out}: exists; --force overwrites it, --merge updates its topology and "
        "keeps the rest"]
    assert both.exit_code == 2
    assert "not both" in both.output
    assert forced.exit_code == 0, forced.output
    assert load_inventory(out).inventory.pools


def _hand_written(tmp_path: Path) -> Path:
    """The healthy inventory with a pool (and its server) Lync no longer has, and without
    the monitoring instance, which discovery must add."""
    text = (DEMO / "healthy" / "inventory.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "servers:\n",
        "  - {fqdn: lyncold.nwtraders.com, site: BNE}   # retired in 2025, kept for the record\n"
        "servers:\n  - {fqdn: fe-old01.nwtraders.com, role: front_end, model: HP DL380 G7, "
        "pool: lyncold.nwtraders.com}\n")
    start = text.index("  - server_name: SQLMON01\\LYNCMON")
    end = text.index("  - server_name: FE-BNE01\\RTCLOCAL")
    path = tmp_path / "inventory.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    for name in ("waivers.yaml", "records.yaml"):
        shutil.copy(DEMO / "healthy" / name, tmp_path / name)
    return path


def test_merge_keeps_what_a_person_wrote_and_marks_what_left(tmp_path: Path) -> None:
    path = _hand_written(tmp_path)
    before = path.read_text(encoding="utf-8")
    with running_lab("healthy") as running:
        first = discover(running, path, "--merge")
        once = path.read_text(encoding="utf-8")
        again = discover(running, path, "--merge")
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert path.read_text(encoding="utf-8") == once, "a second merge changes nothing"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    kept = [line for line in before.splitlines() if line.lstrip().startswith("#")
            or "policy" in line or "backup_window" in line or "model:" in line]
    assert all(line in once for line in kept)
    assert before.split("policy:")[1] in once  # the policy, waivers and records untouched
    assert ("  - {fqdn: lyncold.nwtraders.com, site: BNE}   # retired in 2025, kept for the "
            f"record  # not in topology since {today}: lyncold.nwtraders.com\n") in once
    assert f"# not in topology since {today}: fe-old01.nwtraders.com\n" in once
    inv = load_inventory(path).inventory
    assert "lyncold.nwtraders.com" in {p.fqdn for p in inv.pools}  # never deleted
    assert "fe-old01.nwtraders.com" in {s.fqdn for s in inv.servers}
    added = {i.server_name: i for i in inv.sql_instances}["SQLMON01\\LYNCMON"]
    assert (added.role.value, added.site) == ("monitoring", "CHI")
    assert f"# added by auditor discover on {today}" in once
    assert {s.model for s in inv.servers if s.fqdn.startswith("fe-bne01")} == {
        "HP ProLiant DL380p Gen8"}
    assert inv.policy.backup_window is not None
    assert inv.lync is not None  # the section it reached Lync with, added


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "inventory.yaml"
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nestate: {name: [unclosed\n", encoding="utf-8")
    with running_lab("healthy") as running:
        wrong = discover(running, out, env={"AUDITOR_TEST_DISCOVER_PASSWORD": "wrong"})
        unreadable = discover(running, broken, "--merge")
        down = discover(running, out, env={"AUDITOR_LYNC_CONNECT": f"*=127.0.0.1:{closed_port()}"})
        spec = discover(running, out, "--sql", "--sql-credential", "vault:x")
    for result in (wrong, unreadable, down, spec):
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert lines[0].startswith("error: "), result.output
        assert "Traceback" not in result.output
    assert "the login was refused" in wrong.output
    assert CANARY_PASSWORD not in wrong.output + down.output
    assert str(broken) in unreadable.output
    assert "invalid YAML" in unreadable.output
    assert "cannot read the topology" in down.output
    assert "--sql-credential" in spec.output
    assert not out.exists()


def test_the_recorded_neglected_topology_finds_what_the_inventory_missed(
        tmp_path: Path) -> None:
    """The neglected estate's recording has a Front End its inventory lacks, and pairs
    lyncchi with lyncbne: discovery writes both."""
    out = tmp_path / "inventory.yaml"
    with running_lab("neglected") as running:
        result = discover(running, out)
    assert result.exit_code == 0, result.output
    inv = load_inventory(out).inventory
    assert "fe-bne02.litwareinc.com" in {s.fqdn for s in inv.servers}
    assert {p.fqdn: p.backup_pool for p in inv.pools}["lyncchi.litwareinc.com"] == (
        "lyncbne.litwareinc.com")


@pytest.mark.parametrize("estate", ["healthy", "drifted"])
def test_recorded_and_inventory_topologies_discover_alike(estate: str, tmp_path: Path) -> None:
    """Where the recording agrees with the inventory, the lab's inventory-made topology (used
    by the acceptance test) and the recorded one give the same inventory (drifted records
    FE-CHI01 in capitals: FQDNs are written in lower case)."""
    found = {}
    for from_inventory in (False, True):
        out = tmp_path / f"{from_inventory}.yaml"
        with running_lab(estate, topology_from_inventory=from_inventory) as running:
            assert discover(running, out).exit_code == 0
        inv = load_inventory(out).inventory
        found[from_inventory] = (inv.sites, inv.pools, inv.servers, inv.sql_instances)
    assert found[False] == found[True]
