"""The terminal after a real collection against the PostgreSQL lab: a wrong password, an unset
variable shared by two instances and a closed port each get a line on stderr naming the
targets and the reason; a run where most findings are `error` says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from tests.integration.labkit import closed_port, edit_inventory, healthy_copy

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
DENIED_LOGIN = "SQLCHI02\\RTC"
CLOSED = "RESTORE01\\TEST"
UNSET = ("SQLCHI01\\RTC", "SQLMON01\\LYNCMON")
HEALTHY = ("SQLBNE01\\RTC", "FE-BNE01\\RTCLOCAL")
UNSET_VAR = "AUDITOR_TEST_NEVER_SET"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def _env(estate: LabEstate) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != UNSET_VAR}
    return {**env, **estate.env, "COLUMNS": "80", "NO_COLOR": "1"}


def _unset(estate: LabEstate, server: str) -> dict[str, object]:
    ref = next(r for r in estate.instances if r.server_name == server)
    return {"credential": {"kind": "env", "name": UNSET_VAR, "username": ref.login.name}}


def _faulty(lab: LabCluster, estate: LabEstate, target: Path) -> Path:
    closed = next(r for r in estate.instances if r.server_name == CLOSED)
    return edit_inventory(estate.inventory, target, {
        CLOSED: {"connection": closed.connection.replace(f"PORT={lab.port}",
                                                         f"PORT={closed_port()}"),
                 "login_timeout_seconds": 2},
        **{server: _unset(estate, server) for server in UNSET}})


def test_collect_names_each_failed_target_and_why(lab: LabCluster, tmp_path: Path) -> None:
    estate = healthy_copy(lab, tmp_path, "cli_summary")
    env = _env(estate)
    wrong_var = next(r.env_var for r in estate.instances if r.server_name == DENIED_LOGIN)
    env[wrong_var] = "not-the-password"
    inventory = _faulty(lab, estate, tmp_path / "faulty.yaml")
    done = _run(env, "collect", "--inventory", str(inventory), "--replay", str(estate.replay),
                "--out", str(tmp_path / "evidence.json"))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("could not collect "), done.stderr
    assert lines[0].endswith("(4 targets):")
    by_start = {line.split(":")[0].strip(): line for line in lines[1:]}
    assert set(by_start) == {f"sql {DENIED_LOGIN}", f"sql {CLOSED}",
                             f"sql 2 instances ({', '.join(sorted(UNSET))})"}, done.stderr
    wrong = by_start[f"sql {DENIED_LOGIN}"]
    assert ": denied (" in wrong
    assert "password authentication failed" in wrong
    assert wrong.endswith(f"(password from ${wrong_var})")
    unset = by_start[f"sql 2 instances ({', '.join(sorted(UNSET))})"]
    assert unset.endswith(f"no secret: environment variable {UNSET_VAR} is not set")
    closed = by_start[f"sql {CLOSED}"]
    assert ": unreachable (" in closed
    assert "Connection refused" in closed
    assert not any(server in done.stderr for server in HEALTHY)
    assert all(value not in done.stderr + done.stdout for value in estate.env.values())
    assert done.stdout.startswith(f"wrote {tmp_path / 'evidence.json'}")


def test_audit_says_when_most_checks_could_not_be_assessed(lab: LabCluster,
                                                          tmp_path: Path) -> None:
    estate = healthy_copy(lab, tmp_path, "cli_unassessed")
    env = _env(estate)
    for ref in estate.instances:
        env.pop(ref.env_var)  # no password at all, and no recorded bundle to fall back on
    out = tmp_path / "audit"
    done = _run(env, "audit", "--inventory", str(estate.inventory), "--out", str(out),
                "--format", "json")
    assert done.returncode == 1, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("most checks")]
    assert len(warning) == 1, done.stderr
    assert warning[0].endswith("fix collection first, the score is not the estate's")
    unset = [line for line in done.stderr.splitlines() if line.endswith(" is not set")]
    assert len(unset) == 6  # each instance has a variable of its own: a line each

    quiet = _run(env, "--quiet", "audit", "--inventory", str(estate.inventory), "--out",
                 str(tmp_path / "quiet"), "--format", "json")
    assert quiet.returncode == 1
    assert len(quiet.stdout.splitlines()) == 1  # the verdict line only
    assert quiet.stdout.startswith("score ")
    assert "most checks could not be assessed" in quiet.stderr  # errors still shown
    assert quiet.stderr.count(" is not set") == 6
