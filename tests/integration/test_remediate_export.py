"""BR-010's export_configuration end to end against the loopback PSRP endpoint: plan ->
apply --apply --yes -> verify on the drifted estate (its export is older than the last CMS
change), the export denied (the second hop refused), and kill -9 at the export's fixed points
(auditor/killhook.py)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.lync_collector import CONNECT_ENV
from auditor.evidence import read_bundle, write_bundle
from auditor.lab.winrm.exports import ExportShare
from auditor.results import write_results
from tests.integration.lync_fixtures import (
    CANARY_PASSWORD,
    DEMO,
    PASSWORD_ENV,
    RunningLab,
    collect_lync,
    combined,
    live_inventory,
    running_lab,
    toolkit,
)
from tests.integration.remedkit import apply_killed, check_kill_point, cli

SHARE = "share:\\\\bnebak01.fabrikam.com\\lyncexports"
AGE = "1000000"  # hours: the drifted estate was recorded long ago; the export is not a backup


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunningLab, Path]]:
    with running_lab("drifted") as running:
        monkeypatch.setenv(PASSWORD_ENV, CANARY_PASSWORD)
        monkeypatch.setenv(CONNECT_ENV, f"*=127.0.0.1:{running.endpoint.port}")
        yield running, tmp_path


def _planned(running: RunningLab, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """Audit (recorded SQL + live Lync) and plan BR-010: (plan, bundle, inventory, share)."""
    loaded = live_inventory(tmp_path, "drifted", running)
    assert loaded.inventory.export_share is not None
    folder = tmp_path / "share"
    running.lab.exports = ExportShare(loaded.inventory.export_share.unc, folder)
    recorded, _ = read_bundle(DEMO / "drifted" / "evidence.json")
    bundle = combined(recorded, collect_lync(loaded, running))
    digest = write_bundle(bundle, tmp_path / "evidence.json")
    kit = toolkit()
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None),
                           now=recorded.collected_at)
    assert {(f.rule_id, f.subject.id, f.status.value) for f in results.findings
            if f.rule_id == "BR-010"} == {("BR-010", SHARE, "fail")}
    write_results(results, tmp_path / "results.json")
    made = cli("remediate", "plan", tmp_path / "results.json", "--bundle",
               tmp_path / "evidence.json", "--inventory", loaded.path, "--out",
               tmp_path / "plan.json", "--rule", "BR-010")
    assert made.exit_code == 0, made.output
    return tmp_path / "plan.json", tmp_path / "evidence.json", loaded.path, folder


def _apply(plan: Path, bundle: Path, inventory: Path, out: Path) -> tuple[int, dict[str, Any]]:
    ran = cli("remediate", "apply", plan, "--bundle", bundle, "--inventory", inventory,
              "--out", out, "--apply", "--yes", "--max-results-age", AGE)
    assert (out / "remediation.json").exists(), ran.output
    return ran.exit_code, json.loads((out / "remediation.json").read_text(encoding="utf-8"))


def test_export_configuration_fixes_br010_and_is_verified_on_the_share(
        lab: tuple[RunningLab, Path]) -> None:
    running, tmp_path = lab
    plan_path, bundle, inventory, folder = _planned(running, tmp_path)
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    (action,) = plan["actions"]
    assert action["action"] == "export_configuration"
    assert action["method"] == "powershell"
    (stmt,) = action["statements"]
    assert stmt["text"] == "Export-CsConfiguration -FileName $FileName -ErrorAction Stop"
    assert stmt["parameters"] == {
        "FileName": "\\\\bnebak01.fabrikam.com\\lyncexports\\CsConfiguration-{run}.zip"}
    assert not any(folder.iterdir())  # planning wrote nothing
    dry = cli("remediate", "apply", plan_path, "--bundle", bundle, "--inventory", inventory,
              "--out", tmp_path / "dry")
    assert dry.exit_code == 0, dry.output
    assert "Export-CsConfiguration" in dry.output
    assert not any(folder.iterdir())  # the dry run sent nothing
    assert not [r for r in running.lab.received if r.command == "Export-CsConfiguration"]

    code, record = _apply(plan_path, bundle, inventory, tmp_path / "run")
    (run,) = record["actions"]
    assert run["outcome"] == "succeeded", run
    written = run["statements"][0]["parameters"]["FileName"]
    assert written.startswith("\\\\bnebak01.fabrikam.com\\lyncexports\\CsConfiguration-20")
    assert run["export"]["verified"] is True
    assert run["export"]["length"] > 0
    # the endpoint got the path as a bound parameter, with -ErrorAction Stop
    sent = [r for r in running.lab.received if r.command == "Export-CsConfiguration"]
    assert [r.parameters for r in sent] == [{"FileName": written, "ErrorAction": "Stop"}]
    # independently: the file is a real ZIP holding DocItemSet.xml
    (made,) = list(folder.iterdir())
    assert made.name == written.rsplit("\\", 1)[1]
    assert made.stat().st_size > 0
    with zipfile.ZipFile(made) as archive:
        assert "DocItemSet.xml" in archive.namelist()
    checks = {(c["rule_id"], c["subject"]): c["verdict"]
              for c in record["verification"]["findings"]}
    assert checks == {("BR-010", SHARE): "fixed"}
    assert code == 0
    journal = (tmp_path / "run" / "journal.jsonl").read_text(encoding="utf-8")
    assert f'"action": "{action["id"]}"' in journal or f'"action":"{action["id"]}"' in journal


def test_a_denied_export_is_reported_and_not_called_fixed(lab: tuple[RunningLab, Path]) -> None:
    running, tmp_path = lab
    plan_path, bundle, inventory, folder = _planned(running, tmp_path)
    assert running.lab.exports is not None
    running.lab.exports.faults.denied = True
    code, record = _apply(plan_path, bundle, inventory, tmp_path / "run")
    (run,) = record["actions"]
    assert run["outcome"] == "denied"
    assert "Access to the path" in run["reason"]
    assert "is denied" in run["reason"]
    assert run["export"] is None
    assert not any(folder.iterdir())
    (check,) = record["verification"]["findings"]
    assert check["verdict"] == "still failing"
    assert code == 1


def test_kill_9_at_the_exports_fixed_points(lab: tuple[RunningLab, Path]) -> None:
    running, tmp_path = lab
    plan_path, bundle, inventory, folder = _planned(running, tmp_path)
    (action,) = json.loads(plan_path.read_text(encoding="utf-8"))["actions"]
    key = (action["action"], action["instance"], action["database"])
    for point in ("start", "ran", "end"):
        for made in folder.iterdir():
            made.unlink()
        lines = apply_killed(inventory, plan_path, bundle, tmp_path / point,
                             f"remediate-{point}-export_configuration",
                             "--max-results-age", AGE)
        check_kill_point(lines, {key} if any(folder.iterdir()) else set(),
                         "export_configuration", point)
