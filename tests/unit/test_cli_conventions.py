"""The CLI conventions an admin expects, through the real command in a subprocess (stdout and
stderr are pipes, as in a script): --version, --quiet, completion, help without placeholder
noise, one-line table rows, and --json outputs that match their schemas in docs/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from auditor.pipeline import Toolkit

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DEMO = ROOT / "auditor" / "data" / "fixtures" / "demo" / "drifted"
BAD_INVENTORY = ROOT / "tests" / "bad_input" / "inventory" / "unknown_key.yaml"


def run_cli(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def schema_valid(document: Any, schema_name: str) -> None:
    schema = json.loads((DOCS / schema_name).read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)


def test_version_is_the_installed_distributions() -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"auditor {version('lync-backup-auditor')}\n"
    assert run_cli("version").stdout == done.stdout


HELP_PAGES = [(), ("audit",), ("evaluate",), ("collect",), ("report",), ("demo",),
              ("preflight",), ("rules", "list"), ("rules", "show"), ("inventory", "validate"),
              ("records", "validate")]


@pytest.mark.parametrize("page", HELP_PAGES, ids=[" ".join(p) or "root" for p in HELP_PAGES])
def test_help_has_no_type_placeholders(page: tuple[str, ...]) -> None:
    done = run_cli(*page, "--help")
    assert done.returncode == 0, done.stderr
    assert "--help" in done.stdout
    placeholders = re.findall(r"<(?:bool|path|str|int|float)[^>]*>", done.stdout)
    assert placeholders == [], done.stdout
    assert "╭" not in done.stdout  # plain help: no panels to wrap when piped


def test_shell_completion_is_offered() -> None:
    done = run_cli("--help")
    assert "--install-completion" in done.stdout
    assert "--show-completion" in done.stdout


def test_help_shows_flags_bare_and_values_by_metavar() -> None:
    text = run_cli("audit", "--help").stdout
    assert re.search(r"-i, --inventory FILE\s", text)
    assert re.search(r"--rule ID\s", text)
    assert re.search(r"--severity LEVEL\s", text)
    root = run_cli("--help").stdout
    assert re.search(r"^\s+-q, --quiet\s+Print only errors", root, re.MULTILINE)


def test_piped_tables_keep_every_row_on_one_line() -> None:
    done = run_cli("rules", "list", columns=80)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    pack = Toolkit().pack
    for rule in pack.rules:
        rows = [line for line in lines if line.startswith(rule.id + " ")]
        assert len(rows) == 1, rule.id
        assert rows[0].endswith(rule.title)  # the whole title, on the rule's own line
    assert max(len(line) for line in lines) > 80  # not wrapped to the 80 columns of COLUMNS


def test_quiet_prints_only_the_verdict_line(tmp_path: Path) -> None:
    done = run_cli("--quiet", "evaluate", str(DEMO / "evidence.json"), "--inventory",
                   str(DEMO / "inventory.yaml"), "--out", str(tmp_path / "results.json"))
    assert done.returncode == 1  # the drifted estate has findings
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    assert re.fullmatch(r"score [\d.]+ \(without waivers [\d.]+\), coverage [\d.]+%; pass \d+.*",
                        lines[0])
    assert (tmp_path / "results.json").exists()
    loud = run_cli("evaluate", str(DEMO / "evidence.json"), "--inventory",
                   str(DEMO / "inventory.yaml"), "--out", str(tmp_path / "again.json"))
    assert f"wrote {tmp_path / 'again.json'}" in loud.stdout


def _json_of(done: subprocess.CompletedProcess[str]) -> Any:
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def test_rules_list_json() -> None:
    done = run_cli("rules", "list", "--json")
    assert done.returncode == 0
    data = _json_of(done)
    schema_valid(data, "rules-list.schema.json")
    pack = Toolkit().pack
    assert [r["id"] for r in data["rules"]] == [r.id for r in pack.rules]
    assert data["rulepack_version"] == pack.version


def test_rules_show_json() -> None:
    done = run_cli("rules", "show", "br-060", "--json")
    assert done.returncode == 0
    data = _json_of(done)
    schema_valid(data, "rule.schema.json")
    rule = Toolkit().pack.rule("BR-060")
    assert rule is not None
    assert (data["id"], data["severity"], data["remediation"]) == (
        "BR-060", rule.severity.value, rule.remediation)
    assert run_cli("rules", "show", "XX-999", "--json").returncode == 2


def test_inventory_validate_json_ok_and_bad() -> None:
    good = run_cli("inventory", "validate", str(DEMO / "inventory.yaml"), "--json")
    assert good.returncode == 0
    data = _json_of(good)
    schema_valid(data, "inventory-validation.schema.json")
    assert data["ok"] is True
    assert data["sql_instances"] > 0
    assert data["errors"] == []

    bad = run_cli("inventory", "validate", str(BAD_INVENTORY), "--json")
    assert bad.returncode == 2
    data = _json_of(bad)
    schema_valid(data, "inventory-validation.schema.json")
    assert data["ok"] is False
    assert data["errors"]
    first = data["errors"][0]
    assert first["file"].endswith("unknown_key.yaml")
    assert first["line"] is not None
    assert first["message"]


def test_records_validate_json_ok_and_bad(tmp_path: Path) -> None:
    good = run_cli("records", "validate", str(DEMO / "records"), "--json")
    assert good.returncode == 0
    data = _json_of(good)
    schema_valid(data, "records-validation.schema.json")
    assert data["ok"] is True
    assert sum(data["records"].values()) > 0

    broken = tmp_path / "records.yaml"
    broken.write_text("no_such_kind:\n  - {a: 1}\n", encoding="utf-8")
    bad = run_cli("records", "validate", str(broken), "--json")
    assert bad.returncode == 2
    data = _json_of(bad)
    schema_valid(data, "records-validation.schema.json")
    assert data["ok"] is False
    assert data["errors"][0]["file"] == str(broken)
