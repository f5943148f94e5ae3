"""Evidence identity and evidence times: the estate a bundle belongs to, one observation per
id, records read fresh, `now` for live and replayed evidence, the scope's evidence times, and
the lab's move of a recording to the present."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.evidence import Origin, Source, read_bundle
from auditor.lab.timeshift import delta_to, shift_bundle, shift_row, shift_windows
from auditor.pipeline import Toolkit, collect_bundle
from auditor.report.scope import evidence_times, inventory_change

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
HEALTHY, DRIFTED = DEMO / "healthy", DEMO / "drifted"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "auditor", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def assert_refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert text in lines[0]


@pytest.fixture(scope="module")
def kit() -> Toolkit:
    return Toolkit()


def test_duplicate_observation_ids_are_refused_naming_the_id(tmp_path: Path) -> None:
    data = json.loads((HEALTHY / "evidence.json").read_text())
    data["observations"].append(data["observations"][5])
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="appears twice") as err:
        read_bundle(path)
    assert data["observations"][5]["id"] in str(err.value)
    out = tmp_path / "r.json"
    assert_refused(run_cli("evaluate", str(path), "--inventory", str(HEALTHY / "inventory.yaml"),
                           "--out", str(out)), f"observation {data['observations'][5]['id']}")


def test_a_version_1_bundle_is_read_and_known_by_name(tmp_path: Path, kit: Toolkit) -> None:
    data = json.loads((HEALTHY / "evidence.json").read_text())
    for key in ("estate_id", "sources"):
        del data[key]
    data["version"] = 1
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(data))
    bundle, digest = read_bundle(path)
    assert bundle.estate_id is None
    assert {e.origin for e in bundle.evidence_times()} == {Origin.RECORDED}
    loaded = kit.load_inventory(HEALTHY / "inventory.yaml")
    assert kit.evaluate(bundle, digest, loaded, ()).estate_id == "northwind-lync"
    other = kit.load_inventory(DRIFTED / "inventory.yaml")
    with pytest.raises(InputError, match="estate 'Northwind Traders'"):
        kit.evaluate(bundle, digest, other, ())


def test_another_estates_bundle_and_results_are_refused(tmp_path: Path) -> None:
    inventory = str(HEALTHY / "inventory.yaml")
    assert_refused(run_cli("evaluate", str(DRIFTED / "evidence.json"), "--inventory", inventory,
                           "--out", str(tmp_path / "r.json")), "estate id 'fabrikam-lync'")
    results = tmp_path / "drifted.json"
    done = run_cli("evaluate", str(DRIFTED / "evidence.json"), "--inventory",
                   str(DRIFTED / "inventory.yaml"), "--out", str(results))
    assert done.returncode == 1, done.stderr
    assert_refused(run_cli("report", str(results), "--inventory", inventory, "--out",
                           str(tmp_path / "rep"), "--format", "json"),
                   "is of estate id 'fabrikam-lync', this inventory of estate id "
                   "'northwind-lync'")


def test_same_estate_renamed_is_allowed_and_a_changed_inventory_is_shown(
        tmp_path: Path, kit: Toolkit) -> None:
    text = (HEALTHY / "inventory.yaml").read_text().replace("name: Northwind Traders",
                                                             "name: Northwind (renamed)")
    folder = tmp_path / "healthy"
    shutil.copytree(HEALTHY, folder)
    (folder / "inventory.yaml").write_text(text)
    bundle, digest = read_bundle(HEALTHY / "evidence.json")
    loaded = kit.load_inventory(folder / "inventory.yaml")
    results = kit.evaluate(bundle, digest, loaded, ())
    assert results.inventory_sha256 != bundle.inventory_sha256
    (item,) = inventory_change(bundle, results.inventory_sha256)
    assert item.value.startswith("changed since the evidence was collected")
    assert inventory_change(bundle, bundle.inventory_sha256) == ()


def test_now_before_the_collection_start_is_refused(tmp_path: Path) -> None:
    assert_refused(run_cli("evaluate", str(HEALTHY / "evidence.json"), "--inventory",
                           str(HEALTHY / "inventory.yaml"), "--out", str(tmp_path / "r.json"),
                           "--now", "2026-11-23T19:59:59Z"),
                   "is before the evidence was collected (2026-11-23T20:00:00+00:00)")


def _drifted_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "drifted"
    shutil.copytree(DRIFTED, folder)
    return folder / "inventory.yaml"


def test_a_deleted_records_file_is_could_not_assess_never_the_replays(
        tmp_path: Path, kit: Toolkit) -> None:
    inventory = _drifted_copy(tmp_path)
    (inventory.parent / "records" / "training.csv").unlink()
    loaded = kit.load_inventory(inventory)
    wall = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    bundle = collect_bundle(kit, loaded, DRIFTED / "evidence.json", wall)
    assert bundle.collected_at == read_bundle(DRIFTED / "evidence.json")[0].collected_at
    records = [o for o in bundle.observations if o.source is Source.RECORDS]
    assert "records:training:estate" not in {o.id for o in records}
    assert {o.finished_at for o in records} == {wall}  # read now, not at the replay's time
    findings = kit.evaluate(bundle, "0" * 64, loaded, ()).findings
    (dr041,) = [f for f in findings if f.rule_id == "DR-041"]
    assert dr041.status.value == "error"
    assert dr041.message == "no training records were provided"


def test_a_missing_records_folder_errs_every_record_rule(tmp_path: Path, kit: Toolkit) -> None:
    inventory = _drifted_copy(tmp_path)
    shutil.rmtree(inventory.parent / "records")
    loaded = kit.load_inventory(inventory)
    bundle = collect_bundle(kit, loaded, DRIFTED / "evidence.json", dt.datetime.now(dt.UTC))
    findings = kit.evaluate(bundle, "0" * 64, loaded, ()).findings
    for rule in ("DR-040", "DR-041", "DR-042"):
        (found,) = [f for f in findings if f.rule_id == rule]
        assert found.status.value == "error", found
        assert "the records folder records named by the inventory does not exist" in found.message


def test_scope_names_each_sources_evidence_times(tmp_path: Path, kit: Toolkit) -> None:
    loaded = kit.load_inventory(_drifted_copy(tmp_path))
    wall = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
    bundle = collect_bundle(kit, loaded, DRIFTED / "evidence.json", wall)
    lines = {i.label: i.value for i in evidence_times(bundle)}
    recorded = "replayed from a bundle recorded at 2026-11-23 20:00:00 UTC"
    assert lines["SQL Server evidence"].startswith(recorded)
    assert lines["Lync evidence"].startswith(recorded)
    assert lines["Administrators' records"].startswith("read 2026-12-02 09:00:00 UTC")


def test_the_lab_moves_a_recording_to_the_present_keeping_every_age() -> None:
    bundle, _ = read_bundle(HEALTHY / "evidence.json")
    present = dt.datetime(2026, 12, 2, 9, 17, 30, tzinfo=dt.UTC)
    delta = delta_to(bundle.collected_at, present)
    assert delta == dt.timedelta(days=8, hours=13, minutes=17)
    moved = shift_bundle(bundle, delta)
    assert moved.collected_at == bundle.collected_at + delta
    row = {"run_date": 20261123, "run_time": 235500, "next_run_date": 0}
    assert shift_row(row, dt.timedelta(minutes=7), 0) == {
        "run_date": 20261124, "run_time": 200, "next_run_date": 0}
    window = shift_windows({"policy": {"backup_window": {"start": "22:00", "end": "05:00"}}},
                           delta)
    assert window["policy"]["backup_window"] == {"start": "11:17", "end": "18:17"}
    kit = Toolkit()
    loaded = kit.load_inventory(HEALTHY / "inventory.yaml")
    before = kit.evaluate(bundle, "0" * 64, loaded, ())
    after = kit.evaluate(moved, "0" * 64, loaded, ())
    changed = {(f.rule_id, f.subject.id) for f, g in zip(before.findings, after.findings,
                                                         strict=True) if f.status != g.status}
    # Only the backup window judges a time of day, and this test did not move the window.
    assert {rule for rule, _ in changed} <= {"BR-030"}
