"""apply's safety: the dry run touches nothing, --apply needs consent, the backup window, a
changed inventory, and no secret in any file or output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.lab.cluster import LabCluster
from tests.integration.remedkit import apply, make_estate, prepared, snapshot, use_env

pytestmark = pytest.mark.pg


def test_dry_run_changes_nothing_and_shows_statements_with_parameters_apart(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remdry")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a")
    before = snapshot(estate)
    ran = apply(estate, plan_path, bundle, tmp_path / "run")
    assert ran.exit_code == 0, ran.output
    assert snapshot(estate) == before
    assert not (tmp_path / "run").exists()
    assert "dry run: nothing is sent" in ran.output
    assert "BACKUP DATABASE @db TO DISK = @file WITH CHECKSUM" not in ran.output  # lab text
    assert "SELECT dbo.lab_backup(?, ?, 'D', true)" in ran.output
    assert "    database = lis" in ran.output


def test_apply_without_a_terminal_or_yes_is_refused_with_one_line(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remtty")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a")
    before = snapshot(estate)
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply")
    assert ran.exit_code == 2
    assert ran.output.strip().splitlines() == [
        "error: --apply needs a terminal to confirm, or --yes"]
    assert snapshot(estate) == before


def test_full_backups_need_the_window_or_outside_window(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lab clocks: SQLBNE01 06:00 local, SQLCHI01/02 14:00 local. The window 01:00-05:00 holds
    # neither; log backups run any time.
    policy = {"rules": {"BR-041": {"backup_accounts": ["LITWARE\\svc-sql"]}},
              "backup_window": {"start": "01:00", "end": "05:00"}}
    estate = make_estate(lab, tmp_path, "remwin", {"policy": policy})
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule", "BR-003")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes")
    assert ran.exit_code == 1, ran.output
    record = json.loads((tmp_path / "run" / "remediation.json").read_text())
    outcomes = {(a["action"], a["database"], a["instance"]): (a["outcome"], a["reason"])
                for a in record["actions"]}
    full = outcomes[("backup_database", "xds", "SQLBNE01\\RTC")]
    assert full[0] == "refused"
    assert "outside its backup window 01:00-05:00" in full[1]
    assert outcomes[("backup_log", "rtcxds", "SQLBNE01\\RTC")][0] == "succeeded"
    checks = {(c["rule_id"], c["subject"]): c["verdict"]
              for c in record["verification"]["findings"]}
    assert checks[("BR-001", "database:SQLBNE01\\RTC/xds")] == "still failing"
    assert checks[("BR-003", "database:SQLBNE01\\RTC/rtcxds")] == "fixed"


def test_no_window_needs_outside_window(lab: LabCluster, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remnowin")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-004")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes")
    assert ran.exit_code == 1
    record = json.loads((tmp_path / "run" / "remediation.json").read_text())
    assert {a["outcome"] for a in record["actions"]} == {"refused"}
    assert all("--outside-window" in a["reason"] for a in record["actions"])
    assert record["verification"]["instances"] == []  # nothing ran: nothing re-collected
    assert {c["verdict"] for c in record["verification"]["findings"]} == {"could not verify"}


def test_a_changed_inventory_is_refused(lab: LabCluster, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "reminv")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a")
    data = yaml.safe_load(estate.inventory.read_text())
    data["estate"]["description"] = "changed after the plan"
    estate.inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 2
    assert "changed since the plan was made" in ran.output


def test_stale_results_are_refused_on_the_servers_clock(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remold")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-004")
    for ref in estate.lab.instances:  # the servers' clocks move two days on
        lab.execute("UPDATE lab.instance SET clock_utc = clock_utc + interval '2 days'",
                    ref.database)
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 1
    record = json.loads((tmp_path / "run" / "remediation.json").read_text())
    assert all(a["outcome"] == "refused" and "audit and plan again" in a["reason"]
               for a in record["actions"])


def test_no_password_in_plan_record_journal_or_output(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remsecret")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 0, ran.output
    texts = [ran.output, plan_path.read_text(), (tmp_path / "run" / "journal.jsonl").read_text(),
             (tmp_path / "run" / "remediation.json").read_text()]
    for password in estate.lab.env.values():
        assert all(password not in text for text in texts)


def test_apply_connects_with_the_remediation_credential(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remcred")
    data = yaml.safe_load(estate.inventory.read_text())
    for inst in data["sql_instances"]:
        if inst["server_name"] == "SQLCHI02\\RTC":
            inst["remediation_credential"] = {"kind": "env", "name": "AUDITOR_TEST_REMEDIATOR",
                                              "username": inst["credential"]["username"]}
    estate.inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    use_env(estate, monkeypatch)
    monkeypatch.delenv("AUDITOR_TEST_REMEDIATOR", raising=False)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--subject", "database:SQLCHI02*")
    ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 1
    record = json.loads((tmp_path / "run" / "remediation.json").read_text())
    assert {a["reason"] for a in record["actions"]} == {
        "cannot connect: no secret: environment variable AUDITOR_TEST_REMEDIATOR is not set"}
    audit_password = estate.lab.env[next(r.env_var for r in estate.lab.instances
                                         if r.server_name == "SQLCHI02\\RTC")]
    monkeypatch.setenv("AUDITOR_TEST_REMEDIATOR", audit_password)
    ran = apply(estate, plan_path, bundle, tmp_path / "run2", "--apply", "--yes",
                "--outside-window")
    assert ran.exit_code == 0, ran.output
