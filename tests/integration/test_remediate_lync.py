"""BR-011's exports and DR-001's Backup Service sync end to end against the loopback PSRP
endpoint with the real pypsrp client: plan -> dry run -> apply --apply --yes -> verify, the
faults reported on their action, hostile values reaching PowerShell only as bound parameter
values, and preflight's test-write to the export share.

One endpoint and one audit for the module (the drifted estate at today's date: its LIS,
Response Group and user data exports are weeks old; the admin's robocopy log of the file store
is fresh; the test sets lyncchi's Backup Service out of sync); each test starts from that state.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.lync_collector import CONNECT_ENV
from auditor.collect.share_write_preflight import CHECK, share_write_check
from auditor.evidence import read_bundle, write_bundle
from auditor.inventory import LoadedInventory
from auditor.lab.winrm.exports import ExportFaults, ExportShare
from auditor.lab.winrm.lync import LyncLab
from auditor.remediate.export_exec import export_queue
from auditor.remediate.journal import Journal
from auditor.remediate.model import PlannedAction, read_plan
from auditor.remediate.record import read_run
from auditor.report.remediation import remediation_view
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
from tests.integration.remedkit import cli

UNC = "\\\\bnebak01.fabrikam.com\\lyncexports"
SHARE = f"share:{UNC}"
POOLS = ("lyncbne.fabrikam.com", "lyncchi.fabrikam.com")
OUT_OF_SYNC = "lyncchi.fabrikam.com"
AGE = "1000000"  # hours: the drifted estate's SQL evidence was recorded long ago
STORE_LOG = "FileStore-robocopy-today.log"  # the admin's own file store copy (manual item)
RUN_ID = "20261203T090000Z-lab"
HOSTILE = "x'; $(Remove-Item -Recurse C:\\) `n\" ; `$env:PATH"


@dataclass
class Estate:
    """The module's endpoint, inventory, audit and plan."""

    running: RunningLab
    loaded: LoadedInventory
    folder: Path
    bundle: Path
    plan: Path

    @property
    def lab(self) -> LyncLab:
        return self.running.lab

    def reset(self) -> None:
        """The audited state again: only the file store log on the share, lyncchi out of
        sync, no faults, nothing received."""
        for path in self.folder.iterdir():
            if path.name != STORE_LOG:
                path.unlink()
        assert self.lab.exports is not None
        self.lab.exports.faults = ExportFaults()
        self.lab.backup_sync.faults.denied, self.lab.backup_sync.faults.error = False, None
        self.lab.backup_sync.out_of_sync = {OUT_OF_SYNC}
        self.lab.received.clear()

    def apply(self, plan: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any] | None,
                                                                 str]:
        ran = cli("remediate", "apply", plan, "--bundle", self.bundle, "--inventory",
                  self.loaded.path, "--out", out, *extra, "--max-results-age", AGE)
        record = out / "remediation.json"
        data = json.loads(record.read_text(encoding="utf-8")) if record.exists() else None
        return ran.exit_code, data, ran.output

    def sent(self, command: str) -> list[dict[str, Any]]:
        return [r.parameters for r in self.lab.received if r.command == command]


@pytest.fixture(scope="module")
def module_estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    tmp = tmp_path_factory.mktemp("lync_remediation")
    with running_lab("drifted") as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv(PASSWORD_ENV, CANARY_PASSWORD)
        patch.setenv(CONNECT_ENV, f"*=127.0.0.1:{running.endpoint.port}")
        loaded = live_inventory(tmp, "drifted", running)
        folder = tmp / "share"
        running.lab.exports = ExportShare(UNC, folder)
        (folder / STORE_LOG).write_text("robocopy log\n", encoding="utf-8")
        running.lab.backup_sync.out_of_sync = {OUT_OF_SYNC}
        recorded, _ = read_bundle(DEMO / "drifted" / "evidence.json")
        bundle = combined(recorded, collect_lync(loaded, running))
        digest = write_bundle(bundle, tmp / "evidence.json")
        kit = toolkit()
        results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None),
                               now=dt.datetime.now(dt.UTC))
        write_results(results, tmp / "results.json")
        before = {(f.rule_id, f.subject.id): f for f in results.findings
                  if f.rule_id in ("BR-011", "DR-001")}
        assert before[("BR-011", SHARE)].status.value == "fail", before
        assert [before[("BR-011", SHARE)].observed[k]["status"]
                for k in ("lis", "rgs", "user_data", "file_store")] == \
            ["fail", "fail", "fail", "pass"]
        assert {k: f.status.value for k, f in before.items() if k[0] == "DR-001"} == {
            ("DR-001", f"pool:{p}"): "fail" for p in POOLS}
        made = cli("remediate", "plan", tmp / "results.json", "--bundle", tmp / "evidence.json",
                   "--inventory", loaded.path, "--out", tmp / "plan.json", "--rule", "BR-011",
                   "--rule", "DR-001")
        assert made.exit_code == 0, made.output
        yield Estate(running, loaded, folder, tmp / "evidence.json", tmp / "plan.json")


@pytest.fixture
def estate(module_estate: Estate) -> Estate:
    module_estate.reset()
    return module_estate


def _plan(estate: Estate) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(estate.plan.read_text(encoding="utf-8"))
    return data


def test_the_plan_names_each_cmdlet_with_its_values_apart(estate: Estate) -> None:
    plan = _plan(estate)
    texts = {(a["action"], s["text"], json.dumps(s["parameters"], sort_keys=True))
             for a in plan["actions"] for s in a["statements"]}
    lis = f"{UNC}\\CsLis-{{run}}.zip"
    assert texts == {
        ("export_lis", "Export-CsLisConfiguration -AsBytes -ErrorAction Stop", "{}"),
        ("export_lis", "Set-Content -LiteralPath $LiteralPath -Value $Value -Encoding "
         "$Encoding -ErrorAction Stop", json.dumps(
             {"Encoding": "Byte", "LiteralPath": lis, "Value": "{bytes}"}, sort_keys=True)),
        *(("export_rgs", "Export-CsRgsConfiguration -Source $Source -FileName $FileName "
           "-ErrorAction Stop", json.dumps(
               {"FileName": f"{UNC}\\CsRgs-{p}-{{run}}.zip",
                "Source": f"service:ApplicationServer:{p}"}, sort_keys=True)) for p in POOLS),
        *(("export_user_data", "Export-CsUserData -PoolFqdn $PoolFqdn -FileName $FileName "
           "-ErrorAction Stop", json.dumps(
               {"FileName": f"{UNC}\\CsUserData-{p}-{{run}}.zip", "PoolFqdn": p},
               sort_keys=True)) for p in POOLS),
        ("backup_service_sync", "Invoke-CsBackupServiceSync -PoolFqdn $PoolFqdn -ErrorAction "
         "Stop", json.dumps({"PoolFqdn": OUT_OF_SYNC})),
    }
    (sync,) = [a for a in plan["actions"] if a["action"] == "backup_service_sync"]
    # one sync of the out-of-sync side fixes both pools' DR-001 findings
    assert {f["subject"] for f in sync["fixes"]} == {f"pool:{p}" for p in POOLS}
    exports = [a for a in plan["actions"] if a["action"].startswith("export_")]
    assert all(a["fixes"][0]["subject"] == SHARE and not a["contributes"] for a in exports)
    assert not [m for m in plan["manual"] if m["finding"]["rule_id"] in ("BR-011", "DR-001")]


def test_the_lync_actions_fix_br011_and_dr001_and_are_verified(estate: Estate,
                                                               tmp_path: Path) -> None:
    dry = cli("remediate", "apply", estate.plan, "--bundle", estate.bundle, "--inventory",
              estate.loaded.path, "--out", tmp_path / "dry")
    assert dry.exit_code == 0, dry.output
    assert "Export-CsLisConfiguration" in dry.output
    assert [p.name for p in estate.folder.iterdir()] == [STORE_LOG]  # the dry run wrote nothing
    assert estate.lab.received == []  # and sent nothing
    assert estate.lab.backup_sync.out_of_sync == {OUT_OF_SYNC}

    code, record, output = estate.apply(estate.plan, tmp_path / "run", "--apply", "--yes")
    assert record is not None, output
    assert {r["action"]: r["outcome"] for r in record["actions"]} == {
        "export_lis": "succeeded", "export_rgs": "succeeded", "export_user_data": "succeeded",
        "backup_service_sync": "succeeded"}, record["actions"]
    # the LIS bytes came back and were written, bound, by Set-Content on the share
    (lis_call,) = estate.sent("Export-CsLisConfiguration")
    assert lis_call == {"AsBytes": True, "ErrorAction": "Stop"}
    (written,) = estate.sent("Set-Content")
    assert written["Encoding"] == "Byte"
    lis_file = estate.folder / str(written["LiteralPath"]).rsplit("\\", 1)[1]
    assert lis_file.name.startswith("CsLis-20")
    assert lis_file.read_bytes() == bytes(written["Value"])
    for name, entry in (("CsLis-", "LisConfiguration.xml"), ("CsRgs-", "RgsConfiguration.xml"),
                        ("CsUserData-", "DocItemSet.xml")):
        made = [p for p in estate.folder.iterdir() if p.name.startswith(name)]
        assert made, name
        for path in made:
            with zipfile.ZipFile(path) as archive:
                assert entry in archive.namelist()
    assert sorted(p["Source"] for p in estate.sent("Export-CsRgsConfiguration")) == [
        f"service:ApplicationServer:{p}" for p in POOLS]
    assert estate.sent("Invoke-CsBackupServiceSync") == [
        {"PoolFqdn": OUT_OF_SYNC, "ErrorAction": "Stop"}]
    assert estate.lab.backup_sync.out_of_sync == set()
    runs = {r["action"]: r for r in record["actions"]}
    assert runs["export_lis"]["export"]["verified"] is True
    assert runs["export_lis"]["statements"][1]["parameters"]["Value"].startswith("<")
    assert "SteadyState/NormalState" in " ".join(runs["backup_service_sync"]["messages"])
    checks = {(c["rule_id"], c["subject"]): c["verdict"]
              for c in record["verification"]["findings"]}
    assert checks == {("BR-011", SHARE): "fixed",
                      **{("DR-001", f"pool:{p}"): "fixed" for p in POOLS}}
    assert code == 0
    # the report's run section gives each Lync action the verdicts of what it fixes
    view = remediation_view(read_run(tmp_path / "run" / "remediation.json"))
    assert view is not None
    verdicts = {row.action: row.verdict for row in view.rows}
    assert verdicts["export_lis"] == "BR-011 fixed"
    assert verdicts["backup_service_sync"] == "DR-001 fixed, DR-001 fixed"


def test_a_denied_export_is_reported_on_its_action_and_nothing_is_called_fixed(
        estate: Estate, tmp_path: Path) -> None:
    assert estate.lab.exports is not None
    estate.lab.exports.faults = ExportFaults(denied=True, cmdlets={"export-csuserdata"})
    code, record, output = estate.apply(estate.plan, tmp_path / "run", "--apply", "--yes")
    assert record is not None, output
    outcomes = [(r["action"], r["outcome"]) for r in record["actions"]]
    assert ("export_user_data", "denied") in outcomes
    denied = next(r for r in record["actions"] if r["outcome"] == "denied")
    assert "Access to the path" in denied["reason"]
    assert "CsUserData-" in denied["reason"]
    assert denied["export"] is None
    # the queue stops at its first failure: the rest are not run
    after = outcomes[outcomes.index(("export_user_data", "denied")) + 1:]
    assert after
    assert all(outcome == "not_run" for _, outcome in after)
    assert not [p for p in estate.folder.iterdir() if p.name.startswith("CsUserData-")]
    verdicts = {(c["rule_id"], c["subject"]): c["verdict"]
                for c in record["verification"]["findings"]}
    assert verdicts[("BR-011", SHARE)] == "still failing"
    assert "fixed" not in verdicts.values()
    assert code == 1


def test_hostile_values_reach_powershell_only_as_bound_values_and_an_error_is_reported(
        estate: Estate, tmp_path: Path) -> None:
    # a plan edited by hand: hostile values in a Response Group export and the sync, run by
    # the Lync queue apply uses (the whole apply, with its exit code, is tested above)
    plan = read_plan(estate.plan)
    rgs = next(a for a in plan.actions if a.action == "export_rgs")
    sync = next(a for a in plan.actions if a.action == "backup_service_sync")
    name = f"{UNC}\\CsRgs-a'b\"c;d$(Get-Date)`e-{{run}}.zip"
    # and a cmdlet swapped in the plan: only the catalogue's cmdlets ever run from a plan
    swapped = _with(rgs, {"LiteralPath": f"{UNC}\\{STORE_LOG}"}, cmdlet="Remove-Item")
    hostile = [swapped,
               _with(rgs, {"Source": f"service:ApplicationServer:{HOSTILE}", "FileName": name}),
               _with(sync, {"PoolFqdn": HOSTILE})]
    estate.lab.backup_sync.faults.error = "The Lync Backup Service is not running on the pool."
    runs = export_queue(estate.loaded, hostile, Journal(tmp_path / "journal.jsonl"), RUN_ID,
                        interactive=False, timeout=None, stopped=lambda: False)
    (sent_rgs,) = estate.sent("Export-CsRgsConfiguration")
    assert sent_rgs == {"Source": f"service:ApplicationServer:{HOSTILE}",
                        "FileName": name.replace("{run}", RUN_ID), "ErrorAction": "Stop"}
    assert estate.sent("Invoke-CsBackupServiceSync") == [
        {"PoolFqdn": HOSTILE, "ErrorAction": "Stop"}]
    # the file the value names, written as named: nothing in it was run
    assert (estate.folder / name.rsplit("\\", 1)[1].replace("{run}", RUN_ID)).is_file()
    assert [r.outcome.value for r in runs] == ["refused", "succeeded", "failed"]
    assert "not the catalogue's" in runs[0].reason
    assert estate.sent("Remove-Item") == []
    assert (estate.folder / STORE_LOG).is_file()
    assert "The Lync Backup Service is not running on the pool." in runs[2].reason
    assert runs[2].statements[0].parameters == {"PoolFqdn": HOSTILE}
    assert estate.lab.backup_sync.out_of_sync == {OUT_OF_SYNC}


def _with(action: PlannedAction, values: dict[str, str], cmdlet: str = "") -> PlannedAction:
    (stmt,) = action.statements
    return action.model_copy(update={"statements": [stmt.model_copy(
        update={"parameters": values, "name": cmdlet or stmt.name})]})


def test_preflight_test_writes_to_the_export_share_and_removes_the_file(
        estate: Estate) -> None:
    check = share_write_check(estate.loaded, interactive=False)
    assert check is not None
    assert check.check == CHECK
    assert check.ok, check
    (wrote,) = estate.sent("Set-Content")
    (removed,) = estate.sent("Remove-Item")
    path = str(wrote["LiteralPath"])
    assert path.startswith(f"{UNC}\\auditor-preflight-")
    assert removed == {"LiteralPath": path, "ErrorAction": "Stop"}
    assert [p.name for p in estate.folder.iterdir()] == [STORE_LOG]  # removed again

    assert estate.lab.exports is not None
    estate.lab.exports.faults = ExportFaults(denied=True)
    denied = share_write_check(estate.loaded, interactive=False)
    assert denied is not None
    assert not denied.ok
    assert "is denied" in denied.detail
    assert denied.fix is not None
    assert "(OI)(CI)M" in denied.fix
    assert "cifs/bnebak01.fabrikam.com" in denied.fix
    assert [p.name for p in estate.folder.iterdir()] == [STORE_LOG]


def test_the_lync_remediation_credential_is_the_one_used(estate: Estate,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # the audit credential works; a remediation credential with another password is used
    # instead, and the endpoint refuses it
    assert estate.loaded.inventory.lync is not None
    audit = estate.loaded.inventory.lync.credential
    assert audit is not None
    other = audit.model_copy(update={"name": "R18_LYNC_REMEDIATION_PASSWORD"})
    monkeypatch.setenv("R18_LYNC_REMEDIATION_PASSWORD", "not-the-password")
    lync = estate.loaded.inventory.lync.model_copy(update={"remediation_credential": other})
    loaded = estate.loaded.model_copy(update={"inventory": estate.loaded.inventory.model_copy(
        update={"lync": lync})})
    check = share_write_check(loaded, interactive=False)
    assert check is not None
    assert not check.ok
    assert check.detail.startswith("lync.remediation_credential: cannot connect")
    assert "not-the-password" not in check.detail
    assert estate.sent("Set-Content") == []
