"""Pool, share and file names with quotes, `;`, `$()` and backticks reach PowerShell only as
parameter values: the endpoint records what each pipeline received."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from auditor.evidence import ObservationStatus, Source, make_observation, read_bundle
from auditor.inventory import (
    BackupDestination,
    ExportShare,
    LoadedInventory,
    Pool,
    load_inventory,
)
from auditor.lab.winrm.lync import LyncLab
from auditor.probes.catalogue import load_catalogue
from tests.integration.lync_fixtures import (
    DEMO,
    by_id,
    canary_env,
    collect_lync,
    live_inventory,
    serving,
)

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

POOL = "pool\"01'; $(Stop-Computer -Force) `whoami` ; #.nwtraders.com"
SHARE = "\\\\bak01.nwtraders.com\\it's; $(Remove-Item C:\\ -Recurse) `\"x\"` ; echo"
EXPORTS = "\\\\bak01.nwtraders.com\\ex'ports\"; `$(Get-Secret)`"
FILE = SHARE + "\\db'; $(Invoke-Expression evil) `n \"; DROP.bak"
MARKERS = ("Stop-Computer", "Remove-Item", "Get-Secret", "Invoke-Expression", "whoami")


def hostile(loaded: LoadedInventory) -> LoadedInventory:
    """The healthy inventory with a pool, a backup share and the export share renamed.
    Pool FQDNs are validated by the inventory; model_construct stands for a validator gap."""
    inv = loaded.inventory
    pools = [Pool.model_construct(fqdn=POOL, site="BNE", business_critical=True,
                                  backup_pool=None), *inv.pools[1:]]
    shares = [BackupDestination(path=SHARE, host="bak01.nwtraders.com", site="BNE")]
    changed = inv.model_copy(update={"pools": pools, "backup_destinations": shares,
                                     "export_share": ExportShare(unc=EXPORTS)})
    return loaded.model_copy(update={"inventory": changed})


def test_hostile_names_travel_as_parameters(tmp_path: Path, canary_env: str) -> None:
    recorded, _ = read_bundle(DEMO / "healthy" / "evidence.json")
    listing = make_observation(
        source=Source.LYNC, probe="share_files", target=SHARE, status=ObservationStatus.OK,
        started_at=recorded.collected_at, finished_at=recorded.collected_at,
        data=[{"FullName": FILE, "Length": 3 * 2**40, "LastWriteTimeUtc": "/Date(1795000000000)/"}],
        parameters={"Path": SHARE})
    bundle = recorded.model_copy(update={"observations": [*recorded.observations, listing]})
    lab = LyncLab(load_inventory(DEMO / "healthy" / "inventory.yaml").inventory, bundle)
    with serving(lab) as running:
        loaded = hostile(live_inventory(tmp_path, "healthy", running))
        lab.inventory = loaded.inventory
        observations = by_id(collect_lync(loaded, running))
        calls = list(running.endpoint.calls)

    catalogue = load_catalogue()
    scripts = {p.script_text() for p in catalogue.powershell if p.script}
    cmdlets = {p.command for p in catalogue.powershell if p.command} | {"Select-Object",
                                                                        "Import-Module"}
    values: list[tuple[str | None, object]] = []
    for call in calls:
        for command in call.commands:
            if command.is_script:
                assert command.name in scripts
            else:
                assert command.name in cmdlets
            assert not any(m in command.name for m in MARKERS)
            assert all(name is not None for name, _ in command.parameters)
            values += command.parameters
    assert ("PoolFqdn", POOL) in values
    assert ("Path", SHARE) in values
    assert ("Path", EXPORTS) in values
    received = {(r.probe, r.target) for r in lab.received}
    assert {("pool_backup_relationship", POOL), ("backup_service_status", POOL),
            ("share_files", SHARE), ("share_acl", SHARE), ("share_space", SHARE),
            ("config_exports", "deployment")} <= received

    files = observations[f"lync:share_files:{SHARE}"]
    assert files.ok, files.error
    assert files.data == [{"FullName": FILE, "Length": 3 * 2**40,
                           "LastWriteTimeUtc": dt.datetime.fromtimestamp(
                               1795000000, dt.UTC).isoformat()}]
    assert observations[f"lync:pool_backup_relationship:{POOL}"].parameters == {
        "PoolFqdn": POOL, "LocalStore": True}
