"""`auditor preflight` against the lab: a login with every grant, one without any, one down."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from auditor.cli.preflight import preflight
from auditor.collect.sql import preflight_sql
from auditor.collect.sql_preflight import Permission
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from tests.integration.labkit import closed_port

pytestmark = pytest.mark.pg

OK, BARE, DOWN = "LAB01\\GRANTED", "LAB01\\NOGRANTS", "LAB01\\DOWN"


def _inventory(path: Path, instances: list[tuple[str, str, str]]) -> Path:
    path.write_text(yaml.safe_dump({
        "estate": {"name": "preflight"},
        "sql_instances": [{"server_name": name, "host": "lab01.example.com",
                           "role": "back_end", "connection": conn,
                           "credential": {"kind": "env", "name": env}}
                          for name, conn, env in instances]}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def inventories(lab: LabCluster, demo_lab: dict[str, LabEstate],
                tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    ref = next(r for r in demo_lab["healthy"].instances if r.server_name == "SQLBNE01\\RTC")
    bare_password = secrets.token_urlsafe(12)
    lab.create_login("preflight_nogrants", bare_password)
    down = lab.odbc(ref.database, ref.login.name).replace(f"PORT={lab.port}",
                                                          f"PORT={closed_port()}")
    folder = tmp_path_factory.mktemp("preflight")
    everything = _inventory(folder / "all.yaml", [
        (OK, ref.connection, "PF_OK"),
        (BARE, lab.odbc(ref.database, "preflight_nogrants"), "PF_BARE"),
        (DOWN, down, "PF_OK")])
    good = _inventory(folder / "good.yaml", [(OK, ref.connection, "PF_OK")])
    return everything, good, {"PF_OK": ref.login.password, "PF_BARE": bare_password}


def test_preflight_names_each_missing_permission_with_its_fix(
        inventories: tuple[Path, Path, dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    everything, _, env = inventories
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    checks = preflight_sql(load_inventory(everything))
    by = {(c.target, c.check): c for c in checks}
    needed = [p.value for p in (Permission.MSDB_READ, Permission.AGENT_READER,
                                Permission.VIEW_SERVER_STATE, Permission.VIEW_ANY_DATABASE)]

    for name in ("reachable", "login", *needed):
        assert by[(OK, name)].ok, by[(OK, name)]
    assert "TLS required" in by[(OK, "login")].detail

    assert by[(BARE, "reachable")].ok
    assert by[(BARE, "login")].ok
    fixes = {Permission.MSDB_READ.value: "db_datareader",
             Permission.AGENT_READER.value: "SQLAgentReaderRole",
             Permission.VIEW_SERVER_STATE.value: "GRANT VIEW SERVER STATE",
             Permission.VIEW_ANY_DATABASE.value: "GRANT VIEW ANY DATABASE"}
    for permission, fix in fixes.items():
        failed = by[(BARE, permission)]
        assert not failed.ok
        assert "denied" in failed.detail
        assert failed.fix is not None
        assert fix in failed.fix

    assert not by[(DOWN, "reachable")].ok
    assert by[(DOWN, "reachable")].fix
    assert not by[(DOWN, "login")].ok
    assert "unreachable" in by[(DOWN, "login")].detail
    assert (DOWN, Permission.MSDB_READ.value) not in by


def test_preflight_command_exit_codes(inventories: tuple[Path, Path, dict[str, str]],
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    everything, good, env = inventories
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = typer.Typer()
    app.command()(preflight)
    runner = CliRunner()

    failed = runner.invoke(app, ["--inventory", str(everything)])
    assert failed.exit_code == 1, failed.output
    assert "FAILED" in failed.output
    assert "fix: USE master; GRANT VIEW SERVER STATE" in failed.output

    passed = runner.invoke(app, ["--inventory", str(good)])
    assert passed.exit_code == 0, passed.output
    assert "0 failed" in passed.output

    bad = tmp_path / "bad.yaml"
    bad.write_text("estate: {name: x}\nsql_instances: [{server_name: 'no good'}]\n")
    refused = runner.invoke(app, ["--inventory", str(bad)])
    assert refused.exit_code == 2, refused.output
