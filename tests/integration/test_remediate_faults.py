"""Faults, each reported on its action with the server's message: the job fails, the job is
denied, a backup outlives its deadline, a plan edited to back up to the SQL host itself. No
finding is called fixed that is not, the other instances' actions still run, an instance's
queue stops at its first failure (a refusal does not stop it), exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.cluster import LabCluster
from tests.integration.remedkit import add_fault, apply, make_estate, prepared, use_env

pytestmark = pytest.mark.pg

BNE, CHI2 = "SQLBNE01\\RTC", "SQLCHI02\\RTC"
JOB = "DatabaseBackup - USER_DATABASES - FULL"


def _record(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "remediation.json").read_text())
    return data


def _by(record: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["instance"], a["database"]): a for a in record["actions"]}


def _verdicts(record: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["rule_id"], c["subject"]): c["verdict"]
            for c in record["verification"]["findings"]}


def test_job_failure_denial_and_deadline_are_reported_and_nothing_is_called_fixed(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The drifted estate: SQLBNE01's rgsconfig fails BR-001 and an Ola Hallengren job covers
    # it (start_backup_job), then xds needs a log backup; SQLCHI02's system databases need fulls.
    estate = make_estate(lab, tmp_path, "remfault", source="drifted")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule", "BR-003",
                                 "--rule", "BR-004")
    plan = json.loads(plan_path.read_text())
    assert [(a["action"], a["database"], a["job_name"]) for a in plan["actions"]
            if a["instance"] == BNE] == [("start_backup_job", "rgsconfig", JOB),
                                         ("backup_log", "xds", None)]
    add_fault(estate, BNE, "sp_start_job", "fail", message="lab: the share is full (112)")
    add_fault(estate, CHI2, "backup_database", "hang", target="master")

    ran = apply(estate, plan_path, bundle, tmp_path / "run1", "--apply", "--yes",
                "--outside-window", "--timeout", "3")
    assert ran.exit_code == 1, ran.output
    record = _record(tmp_path / "run1")
    actions = _by(record)
    job = actions[(BNE, "rgsconfig")]
    assert job["outcome"] == "failed"
    assert "lab: the share is full (112)" in job["reason"]
    assert actions[(BNE, "xds")]["outcome"] == "not_run"  # the queue stopped at the failure
    assert actions[(CHI2, "master")]["outcome"] == "timed_out"
    assert actions[(CHI2, "model")]["outcome"] == "not_run"
    verdicts = _verdicts(record)
    assert verdicts[("BR-001", f"database:{BNE}/rgsconfig")] == "still failing"
    assert verdicts[("BR-004", f"database:{CHI2}/master")] == "still failing"
    assert "fixed" not in verdicts.values()

    # Denied: the remediation login may not run sp_start_job; the other instance goes on.
    estate.sql(BNE, "DELETE FROM lab.fault")
    estate.sql(CHI2, "DELETE FROM lab.fault")
    add_fault(estate, BNE, "sp_start_job", "deny")
    ran = apply(estate, plan_path, bundle, tmp_path / "run2", "--apply", "--yes",
                "--outside-window", "--timeout", "30")
    assert ran.exit_code == 1, ran.output
    record = _record(tmp_path / "run2")
    actions = _by(record)
    assert actions[(BNE, "rgsconfig")]["outcome"] == "denied"
    assert "EXECUTE permission was denied" in actions[(BNE, "rgsconfig")]["reason"]
    assert {actions[(CHI2, db)]["outcome"] for db in ("master", "model", "msdb")} == {
        "succeeded"}
    verdicts = _verdicts(record)
    assert verdicts[("BR-001", f"database:{BNE}/rgsconfig")] == "still failing"
    assert verdicts[("BR-004", f"database:{CHI2}/msdb")] == "fixed"


HOSTILE = "Ola'); DROP TABLE dbo.backupset; -- ]`$(whoami)`; \"x"


def test_the_job_path_fixes_br001_when_the_job_succeeds_whatever_the_job_is_called(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remjob", source="drifted")
    use_env(estate, monkeypatch)
    # a hostile job name reaches the server only as a bound parameter
    estate.sql(BNE, "UPDATE dbo.sysjobs SET name = ? WHERE name = ?", (HOSTILE, JOB))
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 0, ran.output
    record = _record(tmp_path / "run")
    (job,) = record["actions"]
    assert job["statements"][0]["template"] == "{CALL dbo.sp_start_job(?)}"
    assert job["statements"][0]["parameters"] == {"job_name": HOSTILE}
    assert job["artifacts"][0]["physical_device_name"].startswith(
        "\\\\bnebak01.fabrikam.com\\sqlbackup\\")
    history = estate.sql(BNE, "SELECT h.run_status, h.message FROM dbo.sysjobhistory h JOIN "
                         "dbo.sysjobs j ON j.job_id = h.job_id WHERE j.name = ? AND "
                         "h.step_id = 0 ORDER BY h.instance_id DESC LIMIT 1", (HOSTILE,))
    assert history[0][0] == 1
    assert _verdicts(record) == {("BR-001", f"database:{BNE}/rgsconfig"): "fixed"}


def test_a_plan_edited_to_back_up_onto_the_sql_host_is_refused_on_those_actions(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner never plans a local destination (tests/unit/test_remediate_plan.py); apply
    refuses one all the same, since a person may edit plan.json between review and apply."""
    estate = make_estate(lab, tmp_path, "remlocal", source="drifted")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule", "BR-003",
                                 "--rule", "BR-004")
    plan = json.loads(plan_path.read_text())
    local = {"master": "D:\\SQLBackup\\master_{run}.bak",
             "model": "\\\\SQLCHI02\\backup$\\model_{run}.bak"}
    for action in plan["actions"]:
        if action["instance"] == CHI2 and action["database"] in local:
            for stmt in action["statements"]:
                if "file" in stmt["parameters"]:
                    stmt["parameters"]["file"] = local[action["database"]]
    plan_path.write_text(json.dumps(plan))
    top = estate.sql(CHI2, "SELECT max(backup_set_id) FROM dbo.backupset")[0][0]

    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 1, ran.output
    actions = _by(_record(tmp_path / "run"))
    assert actions[(CHI2, "master")]["outcome"] == "refused"
    assert "a local drive of the SQL Server host" in actions[(CHI2, "master")]["reason"]
    assert actions[(CHI2, "model")]["outcome"] == "refused"
    assert "a share on the SQL Server host itself" in actions[(CHI2, "model")]["reason"]
    assert actions[(CHI2, "msdb")]["outcome"] == "succeeded"  # a refusal stops no queue
    assert actions[(BNE, "rgsconfig")]["outcome"] == "succeeded"  # nor another instance
    written = estate.sql(CHI2, "SELECT DISTINCT database_name FROM dbo.backupset WHERE "
                         "backup_set_id > ?", (top,))
    assert {r[0] for r in written} == {"msdb"}
    verdicts = _verdicts(_record(tmp_path / "run"))
    assert verdicts[("BR-004", f"database:{CHI2}/master")] == "still failing"
    assert verdicts[("BR-004", f"database:{CHI2}/msdb")] == "fixed"
