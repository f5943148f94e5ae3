"""Right before an action: a BACKUP of that database already running on the server (seen in
sys.dm_exec_requests; in the lab, another session inside the BACKUP stand-in) refuses it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import pytest

from auditor.lab.cluster import LabCluster
from tests.integration.remedkit import (
    Estate,
    add_fault,
    apply,
    make_estate,
    prepared,
    use_env,
)

pytestmark = pytest.mark.pg

BNE = "SQLBNE01\\RTC"


def test_a_backup_already_running_refuses_the_action_and_the_rest_goes_on(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remrunning")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--rule", "BR-001", "--subject",
                                 "database:SQLBNE01\\RTC/*")
    # someone else's BACKUP of xds, hung on the server while the apply runs
    add_fault(estate, BNE, "backup_database", "hang", "xds")
    other = threading.Thread(target=_quiet, daemon=True, args=(
        estate, "SELECT dbo.lab_backup('xds', 'x', 'D', false)"))
    other.start()
    try:
        _until_running(estate)
        ran = apply(estate, plan_path, bundle, tmp_path / "run", "--apply", "--yes",
                    "--outside-window")
    finally:
        estate.sql(BNE, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name LIKE 'BACKUP %'")
        other.join(30)
    assert ran.exit_code == 1, ran.output
    record = json.loads((tmp_path / "run" / "remediation.json").read_text())
    outcomes = {a["database"]: (a["outcome"], a["reason"]) for a in record["actions"]}
    assert outcomes["xds"][0] == "refused"
    assert "a BACKUP of xds is already running" in outcomes["xds"][1]
    assert {o for db, (o, _) in outcomes.items() if db != "xds"} == {"succeeded"}


def _quiet(estate: Estate, text: str) -> None:
    with contextlib.suppress(Exception):  # cancelled at the end of the test, as intended
        estate.sql(BNE, text)


def _until_running(estate: Estate, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rows = estate.sql(BNE, "SELECT count(*) FROM pg_stat_activity "
                          "WHERE application_name LIKE 'BACKUP %'")
        if rows[0][0]:
            return
        time.sleep(0.2)
    raise AssertionError("the other BACKUP did not start")
