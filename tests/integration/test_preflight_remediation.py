"""`auditor preflight --remediation` against the lab's preflight inventory: the login with every
grant passes each permission remediation needs, the bare one fails each with its fix."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from typer.testing import CliRunner

from auditor.collect.remediation_preflight import (
    CHECK_AGENT,
    CHECK_BACKUP,
    CHECK_LYNC,
    CHECK_RESTORE,
    CHECK_VERIFY,
    preflight_remediation,
)
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import NO_GRANTS_ENV, NO_GRANTS_SERVER, LabEstate, build_preflight

pytestmark = pytest.mark.pg


@pytest.fixture(scope="module")
def preflight_inventory(lab: LabCluster, demo_lab: dict[str, LabEstate],
                        tmp_path_factory: pytest.TempPathFactory
                        ) -> tuple[Path, dict[str, str], str]:
    estate = demo_lab["healthy"]
    path, password = build_preflight(lab, estate, tmp_path_factory.mktemp("pfrem"))
    granted = estate.instances[0]
    env = {NO_GRANTS_ENV: password, granted.env_var: granted.login.password}
    return path, env, granted.server_name


def _as_restore_test(path: Path, out: Path) -> Path:
    """The same inventory with both instances in the restore_test role, plus a Lync pool."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for inst in data["sql_instances"]:
        inst["role"] = "restore_test"
        inst["stores"] = [*inst["stores"], "mgc"]  # a Lync database this instance lacks
    data["sites"] = [{"id": "bne"}]
    data["pools"] = [{"fqdn": "pool01.example.com", "site": "bne"}]
    out.write_text(yaml.safe_dump(data), encoding="utf-8")
    return out


def test_granted_login_passes_and_bare_login_fails_with_fixes(
        preflight_inventory: tuple[Path, dict[str, str], str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, env, granted = preflight_inventory
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    inventory = _as_restore_test(path, tmp_path / "inv.yaml")
    checks = preflight_remediation(load_inventory(inventory), interactive=False)
    by = {(c.target, c.check): c for c in checks}
    databases = [c.check.removeprefix(CHECK_BACKUP).strip() for c in checks
                 if c.target == granted and c.check.startswith(CHECK_BACKUP)]
    assert databases.pop() == "mgc"
    assert databases, checks
    missing = by[(granted, f"{CHECK_BACKUP} mgc")]
    assert not missing.ok
    assert "answered NULL: no such database" in missing.detail

    for db in databases:
        assert by[(granted, f"{CHECK_BACKUP} {db}")].ok
        bare = by[(NO_GRANTS_SERVER, f"{CHECK_BACKUP} {db}")]
        assert not bare.ok
        assert bare.fix == (f"USE [{db}]; CREATE USER [audit_nogrants] FOR LOGIN "
                            "[audit_nogrants]; EXEC sp_addrolemember N'db_backupoperator', "
                            "N'audit_nogrants';")
    fixes = {CHECK_AGENT: "EXEC sp_addrolemember N'SQLAgentOperatorRole', N'audit_nogrants'",
             CHECK_VERIFY: "GRANT CREATE DATABASE TO [audit_nogrants]",
             CHECK_RESTORE: "EXEC sp_addsrvrolemember N'audit_nogrants', N'dbcreator'"}
    for check, fix in fixes.items():
        assert by[(granted, check)].ok, by[(granted, check)]
        bare = by[(NO_GRANTS_SERVER, check)]
        assert not bare.ok, bare
        assert bare.fix is not None
        assert fix in bare.fix
    lync = by[("Lync", CHECK_LYNC)]
    assert lync.advisory
    assert lync.ok
    assert "RTCUniversalServerAdmins" in (lync.fix or "")


def test_cli_json_follows_the_preflight_schema(
        preflight_inventory: tuple[Path, dict[str, str], str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.cli import app

    path, env, granted = preflight_inventory
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["preflight", "--remediation", "--json",
                                      "--inventory", str(path)])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    schema = json.loads(Path("docs/preflight.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    assert doc["scope"] == "remediation"
    rows = {(r["target"], r["check"]): r for r in doc["checks"]}
    assert rows[(granted, CHECK_AGENT)]["ok"]
    assert not rows[(NO_GRANTS_SERVER, CHECK_AGENT)]["ok"]
    assert (NO_GRANTS_SERVER, CHECK_RESTORE) not in rows  # back_end: no restore test there
