"""kill -9 of `remediate apply` at random moments, at least 20 times: remediation.json is absent
or complete (never half-written), and the journal names every action whose backup reached the
server (each start line is on disk before the statement is sent).

Slow (minutes), so excluded by default (`-m "not killloop"` in pyproject.toml); run by hand:
    .venv/bin/pytest -q -s -m killloop tests/integration/test_remediate_killloop.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from auditor.lab.cluster import LabCluster
from auditor.remediate.journal import read_journal
from auditor.remediate.record import RunRecord
from tests.integration.remedkit import Estate, make_estate, prepared, use_env

pytestmark = [pytest.mark.pg, pytest.mark.killloop]

KILLS = 24
SERVER = "SQLCHI02\\RTC"


def _start(estate: Estate, plan_path: Path, bundle: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", "remediate", "apply", str(plan_path), "--bundle",
         str(bundle), "--inventory", str(estate.inventory), "--out", str(out), "--apply",
         "--yes", "--outside-window"], env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _until_journal(path: Path, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not path.exists():
        time.sleep(0.02)


def _new_backups(estate: Estate, since: int) -> list[tuple[int, str]]:
    rows = estate.sql(SERVER, "SELECT backup_set_id, database_name FROM dbo.backupset "
                      "WHERE backup_set_id > ? ORDER BY backup_set_id", (since,))
    return [(int(r[0]), str(r[1])) for r in rows]


def _top(estate: Estate) -> int:
    return int(estate.sql(SERVER, "SELECT COALESCE(max(backup_set_id), 0) FROM "
                          "dbo.backupset")[0][0])


def test_random_kills_never_leave_a_half_record_or_an_unjournalled_action(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, "remkillloop")
    use_env(estate, monkeypatch)
    plan_path, bundle = prepared(estate, tmp_path / "a", "--subject", "database:SQLCHI02*")
    whole = _start(estate, plan_path, bundle, tmp_path / "whole")
    assert whole.wait(300) == 0
    # kills land anywhere from the run's first journal line to its record, the stretch where
    # it talks to the server (before it, the process is only starting)
    times = {str(line["event"]): dt.datetime.fromisoformat(str(line["at"]))
             for line in read_journal(tmp_path / "whole" / "journal.jsonl")}
    span = (times["done"] - times["run"]).total_seconds()
    rng = random.Random(20261203)  # noqa: S311 - a reproducible schedule, not a secret
    seen: Counter[str] = Counter()
    for n in range(KILLS):
        out, since = tmp_path / f"k{n}", _top(estate)
        proc = _start(estate, plan_path, bundle, out)
        _until_journal(out / "journal.jsonl")
        time.sleep(rng.uniform(0, span * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        time.sleep(0.3)  # a statement the server was running when its client died ends
        record = out / "remediation.json"
        if record.exists():  # complete, or it would not parse and validate
            RunRecord.model_validate(json.loads(record.read_text()))
            seen["record complete"] += 1
        else:
            seen["no record"] += 1
        lines = read_journal(out / "journal.jsonl") if (out / "journal.jsonl").exists() else []
        started = {str(line["database"]).lower() for line in lines if line["event"] == "start"}
        written = {db.lower() for _, db in _new_backups(estate, since)}
        assert written <= started, (n, written, started)
        seen[f"{len(started)} started"] += 1
    print(f"\nkill -9 x{KILLS} over the {span:.1f} s of a run: "  # noqa: T201
          f"{dict(sorted(seen.items()))}")
    assert seen["record complete"] + seen["no record"] == KILLS
