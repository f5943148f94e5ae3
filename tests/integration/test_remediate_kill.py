"""kill -9 during apply: remediation.json is absent (it is written atomically at the end), and
the journal names every action that had started, because each line is on disk first. Killed
mid-statement (a hanging backup), and at the fixed points of each SQL action kind through the
test hook (auditor/killhook.py): once its start line is on disk, once it ran on the server, once
its end line is on disk, and after every action before the record is written. The restore
test's and the Lync export's fixed points are in their own test files; random moments in
test_remediate_killloop.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.lab.cluster import LabCluster
from auditor.remediate.journal import read_journal
from tests.integration.remedkit import (
    Estate,
    add_fault,
    apply_killed,
    check_kill_point,
    effects,
    make_estate,
    marks,
    prepared,
    started,
    use_env,
)

pytestmark = [pytest.mark.pg, pytest.mark.slow]

SQL_KINDS = ("start_backup_job", "backup_log", "backup_database")
POINTS = ("start", "ran", "end")


def _wait_for(path: Path, action: str, seconds: float = 60) -> list[dict[str, object]]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        lines = read_journal(path)
        if any(line.get("event") == "start" and line.get("database") == action
               for line in lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"the journal never named {action}")


def _as_from_a_terminal() -> None:
    """SIGINT handled by default, as for a command typed at a shell: a test run started in the
    background by a script (CI) inherits SIGINT ignored, and so would the apply it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _apply_with_model_hanging(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
        *extra: str) -> tuple[Estate, Path, subprocess.Popen[bytes]]:
    """`remediate apply` of SQLCHI02's plan started, its backup of model set to hang."""
    estate = make_estate(lab, tmp_path, name)
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--subject", "database:SQLCHI02*")
    add_fault(estate, "SQLCHI02\\RTC", "backup_database", "hang", target="model")
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "remediate", "apply", str(plan_path), "--bundle",
         str(bundle), "--inventory", str(estate.inventory), "--out", str(out), "--apply",
         "--yes", "--outside-window", *extra], env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_as_from_a_terminal)
    return estate, out, proc


def test_kill_9_mid_action_leaves_the_journal_and_no_half_record(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate, out, proc = _apply_with_model_hanging(lab, tmp_path, monkeypatch, "remkill")
    try:
        lines = _wait_for(out / "journal.jsonl", "model")  # master done, model hanging
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # the hung statement's server process does not notice its client died: end it
        estate.sql("SQLCHI02\\RTC", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE query LIKE '%lab_backup%' AND pid <> pg_backend_pid()")
    assert not (out / "remediation.json").exists()
    assert not list(out.glob(".remediation.json.*"))
    started = [line["database"] for line in read_journal(out / "journal.jsonl")
               if line["event"] == "start"]
    assert started == ["master", "model"]
    ended = [line for line in lines if line["event"] == "end"]
    assert [e["outcome"] for e in ended] == ["succeeded"]
    assert estate.sql("SQLCHI02\\RTC", "SELECT count(*) FROM dbo.backupset WHERE "
                      "database_name = 'master' AND backup_set_id > 1000000")[0][0] == 1


def test_ctrl_c_starts_nothing_new_and_records_what_ran(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, proc = _apply_with_model_hanging(lab, tmp_path, monkeypatch, "remint",
                                             "--timeout", "4")
    try:
        _wait_for(out / "journal.jsonl", "model")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 1
    finally:
        proc.kill()
    record = json.loads((out / "remediation.json").read_text())
    assert [(a["database"], a["outcome"]) for a in record["actions"]] == [
        ("master", "succeeded"), ("model", "timed_out"), ("msdb", "interrupted")]


def test_kill_9_at_the_fixed_points_of_each_sql_action(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the drifted estate: SQLBNE01 an Agent job (rgsconfig) then a log backup (xds), SQLCHI02
    # fulls of its system databases; the two queues run side by side
    estate = make_estate(lab, tmp_path, "remkillpoints", source="drifted")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--rule", "BR-003",
                                 "--rule", "BR-004")
    planned = json.loads(plan_path.read_text())["actions"]
    assert {a["action"] for a in planned} == set(SQL_KINDS)
    instances = {a["instance"] for a in planned}
    for kind in SQL_KINDS:
        for point in POINTS:
            before = marks(estate, instances)
            lines = apply_killed(estate.inventory, plan_path, bundle,
                                 tmp_path / f"{kind}-{point}", f"remediate-{point}-{kind}",
                                 "--outside-window")
            check_kill_point(lines, effects(estate, planned, before), kind, point)
    before = marks(estate, instances)
    lines = apply_killed(estate.inventory, plan_path, bundle, tmp_path / "record",
                         "remediate-record", "--outside-window")
    every = {(a["action"], a["instance"], a["database"]) for a in planned}
    assert started(lines) == every
    assert effects(estate, planned, before) == every
    assert len([line for line in lines if line["event"] == "end"]) == len(planned)
