"""Security against the lab: passwords never leak, hostile names only travel as parameters."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pyodbc
import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app as cli_app
from auditor.collect.sql_collector import fetch
from auditor.connect.credentials import Secret
from auditor.connect.sql import build_connection_string
from auditor.evidence import Observation, Source, make_observation, read_bundle, write_bundle
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import demo_root
from auditor.lab.instance import LabLogin, create_instance
from auditor.lab.loader import InstanceData, sql_observations
from auditor.results import write_results
from tests.integration.labkit import collect_live, evaluate, healthy_copy, observations_of

pytestmark = pytest.mark.pg

REAL = "SQLBNE01\\RTC"
WRONG = "SQLCHI01\\RTC"
HOSTILE = "rtc'; DROP TABLE dbo.backupset; --]"
HOSTILE_2 = "x]]; EXEC('SELECT 1');\"q\""


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Every `auditor` log record at DEBUG into a file, for the duration of a test."""
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("auditor")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        handler.close()


def _texts(*folders: Path) -> dict[str, bytes]:
    found = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_bytes()
    for path in Path("/tmp").glob("*odbc*.log"):
        found[str(path)] = path.read_bytes()
    for path in Path("/tmp").glob("mylog_*.log"):
        found[str(path)] = path.read_bytes()
    return found


def test_canary_passwords_never_appear(lab: LabCluster, tmp_path: Path, debug_log: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    estate = healthy_copy(lab, tmp_path / "lab", "canary")
    for name, value in estate.env.items():
        monkeypatch.setenv(name, value)
    refs = {r.server_name: r for r in estate.instances}
    real = f"CanaryReal-{secrets.token_hex(8)}}};PWD=x"
    wrong = f"CanaryWrong-{secrets.token_hex(8)}"
    lab.set_password(refs[REAL].login.name, real)
    monkeypatch.setenv(refs[REAL].env_var, real)
    monkeypatch.setenv(refs[WRONG].env_var, wrong)

    out = tmp_path / "out"
    bundle = collect_live(estate.inventory, estate.replay)
    assert all(o.ok for o in observations_of(bundle, REAL).values())
    assert all(o.status.value == "denied" for o in observations_of(bundle, WRONG).values()
               if o.probe != "backup_encryption")
    write_bundle(bundle, out / "evidence.json")
    write_results(evaluate(bundle, estate.inventory), out / "results.json")
    runner = CliRunner()
    report = runner.invoke(cli_app, ["report", str(out / "results.json"), "--inventory",
                                     str(estate.inventory), "--out", str(out), "--bundle",
                                     str(out / "evidence.json"), "--format", "html"])
    assert report.exit_code == 0, report.output

    captured = capsys.readouterr()
    texts = _texts(out, tmp_path / "lab", debug_log.parent)
    texts["stdout"] = (captured.out + report.output).encode()
    texts["stderr"] = captured.err.encode()
    texts["server.log"] = lab.server_log().encode()
    texts["errors"] = "\n".join(o.error or "" for o in bundle.observations).encode()
    assert debug_log.read_text(encoding="utf-8").count("connecting") >= 6  # DEBUG was on
    for canary in (real, wrong, real.split("}")[0]):
        leaked = [where for where, text in texts.items() if canary.encode() in text]
        assert leaked == [], canary


def _log_entries(text: str) -> list[str]:
    """Server log entries: a multi-line statement is one entry (continuations are indented)."""
    entries: list[str] = []
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d ", line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries


def _renamed(observations: dict[str, Observation], old: str,
             new: dict[str, str]) -> dict[str, Observation]:
    """The observations with database `old` renamed, per column, to hostile names."""
    out = {}
    for probe, obs in observations.items():
        rows = []
        for row in obs.data:
            row = dict(row)
            for column in ("name", "database_name", "destination_database_name",
                           "source_database_name"):
                if row.get(column) == old:
                    row[column] = new.get(column, new["default"])
            rows.append(row)
        out[probe] = make_observation(source=obs.source, probe=obs.probe, target=obs.target,
                                      started_at=obs.started_at, finished_at=obs.finished_at,
                                      status=obs.status, error=obs.error, data=rows,
                                      parameters=obs.parameters)
    return out


def test_hostile_names_travel_only_as_parameters(lab: LabCluster, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    recorded, _ = read_bundle(demo_root() / "healthy" / "evidence.json")
    observations = _renamed(sql_observations(recorded.observations, REAL), "rtcxds",
                            {"default": HOSTILE})
    login = LabLogin("audit_hostile", secrets.token_urlsafe(12))
    create_instance(lab, "hostile", InstanceData(REAL, observations), login,
                    login_settings={"log_statement": "all"})
    monkeypatch.setenv("AUDITOR_LAB_HOSTILE", login.password)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({
        "estate": {"name": "hostile"},
        "sql_instances": [{"server_name": REAL, "host": "sqlbne01.example.com",
                           "role": "back_end", "connection": lab.odbc("hostile", login.name),
                           "credential": {"kind": "env", "name": "AUDITOR_LAB_HOSTILE"}}]}))
    replay = tmp_path / "replay.json"
    write_bundle(recorded.model_copy(update={"observations": []}), replay)

    bundle = collect_live(inventory, replay)
    by_probe = observations_of(bundle, REAL)
    assert all(o.ok for o in by_probe.values()), [o.error for o in by_probe.values()]
    assert HOSTILE in {row["name"] for row in by_probe["databases"].data}
    assert HOSTILE in {row["database_name"] for row in by_probe["backup_history"].data}

    inst = load_inventory(inventory).inventory.sql_instances[0]
    conn = pyodbc.connect(
        build_connection_string(inst, Secret(None, login.password)), autocommit=True,
        timeout=5)
    try:
        for name in (HOSTILE, HOSTILE_2):
            rows = fetch(conn, "SELECT d.name AS name FROM sys.databases d "
                         "WHERE LOWER(d.name) = LOWER(?)", [name]).dicts()
            assert [r["name"] for r in rows] == ([HOSTILE] if name == HOSTILE else [])
    finally:
        conn.close()

    mine = [entry for entry in _log_entries(lab.server_log())
            if f"{login.name}@hostile" in entry.split("\n", 1)[0]]
    statements = [line for line in mine if "LOG:  statement:" in line or "LOG:  execute" in line]
    details = [line for line in mine if "DETAIL:  parameters:" in line]
    assert len(statements) >= 10
    assert any("$1" in line and "backup_finish_date" in line for line in statements)
    assert any("LOWER($1)" in line for line in statements)
    for name in (HOSTILE, HOSTILE_2, "DROP TABLE", "EXEC("):
        assert not [line for line in statements if name in line], name
    assert any("DROP TABLE dbo.backupset" in line for line in details)  # it did go, as $1
    assert any(o.source is Source.SQL for o in bundle.observations)
