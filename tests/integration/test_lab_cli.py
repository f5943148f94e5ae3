"""`auditor lab sql up|down`: a lab, an inventory and passwords, then nothing left behind."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli.lab_sql import ENV_FILE, STATE_FILE, app
from auditor.collect.sql import preflight_sql
from auditor.inventory import load_inventory
from auditor.lab.demo import NO_GRANTS_SERVER
from tests.integration.labkit import collect_live, evaluate, verdicts

pytestmark = pytest.mark.pg


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_writes_a_ready_inventory_and_down_removes_everything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    lab_dir = tmp_path / "lab"
    up = runner.invoke(app, ["up", "--dir", str(lab_dir), "--estate", "healthy"])
    assert up.exit_code == 0, up.output
    state = json.loads((lab_dir / STATE_FILE).read_text())
    try:
        assert "auditor audit --inventory" in up.output
        env_file = lab_dir / ENV_FILE
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert len(env) == 7  # six instances and the login without grants
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        inventory = lab_dir / "healthy" / "inventory.yaml"
        assert "PWD" not in inventory.read_text()

        assert "auditor preflight --inventory" in up.output
        preflight = lab_dir / "preflight" / "inventory.yaml"
        assert "PWD" not in preflight.read_text()
        checks = preflight_sql(load_inventory(preflight))
        granted = [c for c in checks if c.target != NO_GRANTS_SERVER]
        bare = [c for c in checks if c.target == NO_GRANTS_SERVER]
        assert granted
        assert all(c.ok for c in granted), granted
        assert [c.check for c in bare if c.ok] == ["driver", "reachable", "login"]
        missing = [c for c in bare if not c.ok]
        assert len(missing) >= 4
        assert all(c.fix for c in missing), missing
        again = runner.invoke(app, ["up", "--dir", str(lab_dir)])
        assert again.exit_code == 2

        bundle = collect_live(inventory, lab_dir / "healthy" / "replay.json")
        got = verdicts(evaluate(bundle, inventory))
        assert got
        assert {status for _, _, status in got} == {"pass"}  # the healthy estate
    finally:
        down = runner.invoke(app, ["down", "--dir", str(lab_dir)])
    assert down.exit_code == 0, down.output
    assert not _port_open(int(state["port"]))
    assert not Path(state["home"]).exists()
    assert not (lab_dir / STATE_FILE).exists()
    assert not (lab_dir / ENV_FILE).exists()
    assert not (lab_dir / "preflight").exists()
    assert runner.invoke(app, ["down", "--dir", str(lab_dir)]).exit_code == 2
