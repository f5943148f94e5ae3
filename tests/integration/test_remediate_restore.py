"""Restore tests (BR-060) on the neglected estate's restore-test instance: planned only there,
FILELISTONLY then RESTORE WITH MOVE per file into the model database's folders, CHECKSUM,
RECOVERY, DBCC CHECKDB, the copy dropped unless --keep; judged by the restorehistory row the
restore wrote (the source's names copied into the restore-test instance's msdb). kill -9 at the
restore test's fixed points (auditor/killhook.py) leaves no record and a journal that names it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.cluster import LabCluster
from tests.integration.remedkit import (
    RESTORE_TEST,
    add_fault,
    apply,
    apply_killed,
    check_kill_point,
    effects,
    make_estate,
    marks,
    prepared,
    use_env,
)

pytestmark = pytest.mark.pg

TARGET = RESTORE_TEST["server_name"]
SUBJECT = "database:SQLCHI01\\RTC/rtcxds"


def _record(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "remediation.json").read_text())
    return data


def test_restore_test_runs_only_on_the_restore_test_instance_and_drops_its_copy(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remrestore")
    use_env(estate, monkeypatch)
    # rtcxds has no full with checksums on a share: the plan's own new full is restored
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule",
                                 "BR-060", "--subject", SUBJECT)
    data = json.loads(plan_path.read_text())
    backup, action = data["actions"]
    assert backup["action"] == "backup_database"
    assert action["action"] == "restore_test"
    assert action["after"] == backup["id"]
    assert action["instance"] == TARGET
    assert action["source_instance"] == "SQLCHI01\\RTC"
    assert [s["name"] for s in action["statements"]] == [
        "restore_filelistonly", "restore_database", "checkdb", "drop_restored"]
    assert action["statements"][0]["parameters"]["file"] == "{after}"

    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 0, ran.output
    record = _record(tmp_path / "run")
    took, done = record["actions"]
    assert took["outcome"] == "succeeded"
    assert done["outcome"] == "succeeded", done
    assert done["statements"][0]["parameters"]["file"] == took["artifacts"][0][
        "physical_device_name"]
    restore = done["restore"]
    assert restore["checkdb_passed"]
    assert restore["dropped"]
    assert restore["source_server_name"] == "SQLCHI01\\RTC"
    assert restore["source_database_name"].lower() == "rtcxds"
    restore_sql = next(s for s in done["statements"] if s["name"] == "restore_database")
    moves = [k for k in restore_sql["parameters"] if k.startswith("move_")]
    assert len(moves) >= 4
    assert restore_sql["template"].count("?") == 2 + len(moves)
    assert "restoretest_" in restore_sql["parameters"]["copy"]
    # the copy is gone, its restorehistory row stays (as DROP DATABASE leaves msdb)
    copy = restore["copy_name"]
    assert estate.sql(TARGET, "SELECT count(*) FROM sys.databases WHERE name = ?",
                      (copy,)) == [(0,)]
    rows = estate.sql(TARGET, "SELECT restore_type, recovery FROM dbo.restorehistory "
                      "WHERE destination_database_name = ?", (copy,))
    assert rows == [("D", True)]
    # production was only read: no restore on the source instance
    assert estate.sql("SQLCHI01\\RTC", "SELECT count(*) FROM dbo.restorehistory "
                      "WHERE destination_database_name = ?", (copy,)) == [(0,)]
    verdicts = {(c["rule_id"], c["subject"]): c["verdict"]
                for c in record["verification"]["findings"]}
    assert verdicts == {("BR-001", SUBJECT): "fixed", ("BR-060", SUBJECT): "fixed"}


def test_checkdb_failure_fails_the_action_and_keeps_the_copy(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remrestorebad")
    use_env(estate, monkeypatch)
    add_fault(estate, TARGET, "checkdb", "fail")
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule",
                                 "BR-060", "--subject", SUBJECT)
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window", "--keep")
    assert ran.exit_code == 1, ran.output
    took, done = _record(tmp_path / "run")["actions"]
    assert took["outcome"] == "succeeded"
    assert done["outcome"] == "failed"
    assert "(8989)" in done["reason"]
    assert "kept" in done["reason"]
    assert not done["restore"]["checkdb_passed"]
    assert not done["restore"]["dropped"]
    assert estate.sql(TARGET, "SELECT count(*) FROM sys.databases WHERE name = ?",
                      (done["restore"]["copy_name"],)) == [(1,)]
    # the restore happened (its history row is there, so the rule passes on the evidence),
    # but the test failed: never called fixed
    checks = {(c["rule_id"], c["subject"]): c
              for c in _record(tmp_path / "run")["verification"]["findings"]}
    assert checks[("BR-001", SUBJECT)]["verdict"] == "fixed"
    assert checks[("BR-060", SUBJECT)]["verdict"] == "still failing"
    assert checks[("BR-060", SUBJECT)]["after"] == "pass"
    assert "(8989)" in checks[("BR-060", SUBJECT)]["reason"]


def test_a_restore_volume_without_room_refuses_before_writing(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remrestorefull")
    use_env(estate, monkeypatch)
    estate.sql(TARGET, "UPDATE lab.volume SET available_bytes = 4096")
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-060", "--subject",
                                 "database:SQLMON01\\LYNCMON/QoEMetrics")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 1, ran.output
    [done] = _record(tmp_path / "run")["actions"]
    assert done["outcome"] == "refused"
    assert "of the restore-test instance, which has 4,096 free" in done["reason"]
    assert [s["name"] for s in done["statements"]] == ["restore_filelistonly"]
    assert estate.sql(TARGET, "SELECT count(*) FROM dbo.restorehistory") == [(0,)]


def test_kill_9_at_the_restore_tests_fixed_points(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remrestorekill")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule",
                                 "BR-060", "--subject", SUBJECT)
    planned = json.loads(plan_path.read_text())["actions"]
    assert [a["action"] for a in planned] == ["backup_database", "restore_test"]
    instances = {a["instance"] for a in planned}
    for point in ("start", "ran", "end"):
        before = marks(estate, instances)
        lines = apply_killed(estate.inventory, plan_path, bundle, tmp_path / point,
                             f"remediate-{point}-restore_test", "--outside-window")
        check_kill_point(lines, effects(estate, planned, before), "restore_test", point)
