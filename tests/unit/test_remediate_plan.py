"""The planner over the recorded neglected estate (no lab needed: planning reads evidence only)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.evidence import read_bundle
from auditor.facts.sql_types import AgentJob, JobStep
from auditor.lab.demo import demo_root
from auditor.pipeline import Toolkit
from auditor.remediate.catalogue import default_catalogue
from auditor.remediate.model import Plan, plan_bytes
from auditor.remediate.plan import Planner, Selection, action_id
from auditor.remediate.targets import job_covers

SOURCE = demo_root() / "neglected"
LAB_DRIVER = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=1;DATABASE=x;"
BNE = {"path": "\\\\bnebak01.litwareinc.com\\sql", "host": "bnebak01.litwareinc.com",
       "site": "BNE"}


@cache
def toolkit() -> Toolkit:
    return Toolkit()


def inventory(tmp: Path, bne: dict[str, Any] | None = BNE, connect: bool = True) -> Path:
    data = yaml.safe_load((SOURCE / "inventory.yaml").read_text())
    for inst in data["sql_instances"]:
        if connect:
            inst["connection"] = LAB_DRIVER
    if bne is not None:
        data["backup_destinations"].append(bne)
    for key in ("records", "waivers"):
        data[key] = str(SOURCE / data[key])
    path = tmp / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def make_plan(tmp: Path, selection: Selection | None = None, **kw: Any) -> Plan:
    kit = toolkit()
    loaded = kit.load_inventory(inventory(tmp, **kw))
    bundle, digest = read_bundle(SOURCE / "evidence.json")
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None))
    return Planner(results, bundle, loaded, default_catalogue()).plan(selection or Selection(),
                                                                      "0" * 64)


def keys(plan: Plan) -> set[tuple[str, str, str]]:
    return {(a.action, a.instance, a.database) for a in plan.actions}


def test_plan_is_deterministic_with_stable_unique_ids(tmp_path: Path) -> None:
    first, second = make_plan(tmp_path), make_plan(tmp_path)
    assert plan_bytes(first) == plan_bytes(second)
    ids = [a.id for a in first.actions]
    assert len(ids) == len(set(ids)) == 12
    lis = next(a for a in first.actions if a.database == "lis")
    assert lis.id == action_id("BR-001", "database:SQLBNE01\\RTC/lis", "backup_database")


def test_waived_findings_are_skipped_and_errors_are_assessed_first(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    waived = [(w.rule_id, w.subject) for w in plan.waived]
    assert waived == [("DR-060", "database:SQLBNE01\\RTC/lis")]
    acted = {f.subject for a in plan.actions for f in a.fixes + a.contributes}
    listed = {(m.finding.rule_id, m.finding.subject) for m in plan.manual}
    assert ("DR-060", "database:SQLBNE01\\RTC/lis") not in listed
    errors = {(e.rule_id, e.subject) for e in plan.assess_first}
    assert ("BR-001", "database:SQLBNE01\\RTC/rgsconfig") in errors
    assert "database:SQLBNE01\\RTC/rgsconfig" not in acted
    assert {e.status for e in plan.assess_first} == {"error"}


def test_offline_database_is_a_manual_item_saying_why(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    item = next(m for m in plan.manual if m.finding.subject.endswith("/LcsCDR")
                and m.finding.rule_id == "BR-001")
    assert item.reason == "LcsCDR is OFFLINE: bring it online first"
    assert item.role == "DBA"
    assert "SQLMON01\\LYNCMON" in item.step


def test_manual_steps_carry_real_names(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    assert all("{" not in m.step for m in plan.manual)
    dr060 = next(m for m in plan.manual if m.finding.rule_id == "DR-060"
                 and m.finding.subject == "database:SQLBNE01\\RTC/xds")
    assert dr060.step.startswith("move the log file of xds on SQLBNE01\\RTC")
    br011 = next(m for m in plan.manual if m.finding.rule_id == "BR-011")
    assert "\\\\fs01.litwareinc.com\\lyncexports" in br011.step
    assert "no lync: section" in br011.reason


@pytest.mark.parametrize(("path", "why"), [
    ("E:\\Backup", "a local drive of the SQL Server host"),
    ("\\\\sqlbne01.litwareinc.com\\bak", "a share on the SQL Server host itself"),
    ("\\\\SQLBNE01\\bak", "a share on the SQL Server host itself"),
])
def test_a_destination_that_br040_would_fail_is_refused(tmp_path: Path, path: str,
                                                        why: str) -> None:
    plan = make_plan(tmp_path, bne={"path": path, "site": "BNE"})
    assert not [a for a in plan.actions if a.instance == "SQLBNE01\\RTC"]
    item = next(m for m in plan.manual if m.finding.subject == "database:SQLBNE01\\RTC/xds"
                and m.finding.rule_id == "BR-001")
    assert item.reason.startswith(f"refused destination {path}")
    assert why in item.reason


def test_no_destination_for_the_site_is_said(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, bne=None)
    item = next(m for m in plan.manual if m.finding.subject == "database:SQLBNE01\\RTC/xds"
                and m.finding.rule_id == "BR-001")
    assert "no backup destination for site BNE" in item.reason


def test_no_connection_string_means_manual(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, connect=False)
    assert plan.actions == []
    assert any(m.reason == "SQLBNE01\\RTC has no connection string" for m in plan.manual)


def test_selection_by_rule_subject_and_severity(tmp_path: Path) -> None:
    logs = make_plan(tmp_path, Selection(rules=("br-003",)))
    assert {a.action for a in logs.actions} == {"backup_log"}
    chi02 = make_plan(tmp_path, Selection(subjects=("database:SQLCHI02*",)))
    assert keys(chi02) == {("backup_database", "SQLCHI02\\RTC", db)
                           for db in ("master", "model", "msdb")}
    medium = make_plan(tmp_path, Selection(severities=("medium",)))
    assert {f.rule_id for a in medium.actions for f in a.fixes} == {"BR-004"}


def test_parameters_stand_apart_from_the_fixed_text(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    full = next(a for a in plan.actions if a.database == "xds")
    backup, verify = full.statements
    assert backup.text == "SELECT dbo.lab_backup(?, ?, 'D', true) AS backup_set_id"
    assert backup.parameters == {
        "database": "xds",
        "file": "\\\\bnebak01.litwareinc.com\\sql\\SQLBNE01$RTC\\xds\\FULL\\"
                "SQLBNE01$RTC_xds_FULL_{run}.bak"}
    assert verify.parameters == {"file": backup.parameters["file"]}
    assert full.full_backup
    assert "resets the differential base" in full.notes[0]


def test_estimate_comes_from_past_durations_with_a_floor(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    by_db = {(a.instance, a.database, a.action): a for a in plan.actions}
    rtcxds = by_db[("SQLBNE01\\RTC", "rtcxds", "backup_database")]
    assert (rtcxds.estimated_seconds, rtcxds.deadline_seconds) == (24, 300)
    lis = by_db[("SQLBNE01\\RTC", "lis", "backup_database")]  # never backed up: the default
    assert (lis.estimated_seconds, lis.deadline_seconds) == (600, 1800)


def test_br002_is_contributed_to_never_promised(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    assert not [f for a in plan.actions for f in a.fixes if f.rule_id == "BR-002"]
    assert {f.rule_id for a in plan.actions for f in a.contributes} == {"BR-002"}


def _job(command: str, enabled: bool = True) -> AgentJob:
    return AgentJob(job_id="J", name="j", enabled=enabled, notify_level_email=0,
                    notify_level_page=0, notify_level_netsend=0, operator_name=None,
                    operator_enabled=False, steps=(JobStep(1, "s", "TSQL", command),),
                    schedules=(), runs=())


@pytest.mark.parametrize(("command", "database", "kind", "covers"), [
    ("EXECUTE dbo.DatabaseBackup @Databases = 'USER_DATABASES', @BackupType = 'FULL'",
     "xds", "D", True),
    ("EXECUTE dbo.DatabaseBackup @Databases = 'USER_DATABASES', @BackupType = 'FULL'",
     "msdb", "D", False),
    ("EXECUTE dbo.DatabaseBackup @Databases = 'SYSTEM_DATABASES', @BackupType = 'FULL'",
     "msdb", "D", True),
    ("EXECUTE dbo.DatabaseBackup @Databases = 'USER_DATABASES', @BackupType = 'LOG'",
     "xds", "D", False),
    ("EXECUTE dbo.DatabaseBackup @Databases = N'xds, lis', @BackupType = 'LOG'",
     "lis", "L", True),
    ("BACKUP DATABASE [rtcxds] TO DISK = N'\\\\b\\s\\r.bak' WITH CHECKSUM", "rtcxds", "D", True),
    ("BACKUP LOG [rtcxds] TO DISK = N'\\\\b\\s\\r.trn'", "rtcxds", "D", False),
    ("/SQL \"Maintenance Plans\\Lync Weekly Backup\"", "xds", "D", False),
])
def test_which_job_covers_a_database(command: str, database: str, kind: str,
                                     covers: bool) -> None:
    assert job_covers(_job(command), database, kind) is covers


def test_a_disabled_job_covers_nothing() -> None:
    ola = "EXECUTE dbo.DatabaseBackup @Databases = 'USER_DATABASES', @BackupType = 'FULL'"
    assert not job_covers(_job(ola, enabled=False), "xds", "D")
