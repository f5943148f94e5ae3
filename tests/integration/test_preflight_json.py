"""`auditor preflight --json` against the lab: one instance that answers, one on a closed port;
the output parses, matches docs/preflight.schema.json and says the same as the exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from tests.integration.labkit import closed_port

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
UP, DOWN = "LAB01\\UP", "LAB01\\DOWN"


def test_preflight_json_matches_its_schema(lab: LabCluster, demo_lab: dict[str, LabEstate],
                                           tmp_path: Path) -> None:
    ref = next(r for r in demo_lab["healthy"].instances if r.server_name == "SQLBNE01\\RTC")
    down = ref.connection.replace(f"PORT={lab.port}", f"PORT={closed_port()}")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"estate": {"name": "json"}, "sql_instances": [
        {"server_name": name, "host": "lab01.example.com", "role": "back_end",
         "connection": conn, "login_timeout_seconds": 2,
         "credential": {"kind": "env", "name": "PF_JSON", "username": ref.login.name}}
        for name, conn in ((UP, ref.connection), (DOWN, down))]}), encoding="utf-8")
    env = {**os.environ, "PF_JSON": ref.login.password, "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-m", "auditor", "preflight", "--inventory",
                           str(inventory), "--json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    schema = json.loads((ROOT / "docs" / "preflight.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    by = {(c["target"], c["check"]): c for c in data["checks"]}
    assert by[(UP, "reachable")]["ok"] is True
    assert by[(UP, "login")]["ok"] is True
    assert by[(DOWN, "reachable")]["ok"] is False
    assert data["ok"] is False
    assert data["failed"] == sum(1 for c in data["checks"] if not c["ok"])
    assert ref.login.password not in done.stdout
