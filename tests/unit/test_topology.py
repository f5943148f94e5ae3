"""Where Lync's topology (Get-CsService) and the inventory disagree, the report says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from auditor.evidence import read_bundle
from auditor.facts import Known, derive_facts
from auditor.facts.lync import DatabaseService
from auditor.facts.topology import topology_differences
from auditor.inventory import load_inventory
from auditor.pipeline import Toolkit
from auditor.report import build_view

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"


def _differences(estate: str) -> tuple[str, ...]:
    inventory = load_inventory(DEMO / estate / "inventory.yaml").inventory
    bundle, _ = read_bundle(DEMO / estate / "evidence.json")
    services = derive_facts(bundle, inventory, bundle.collected_at).lync.database_services
    assert isinstance(services, Known)
    return topology_differences(inventory, services.value)


def test_healthy_topology_agrees_with_the_inventory() -> None:
    assert _differences("healthy") == ()


def test_neglected_topology_differences_are_named() -> None:
    assert _differences("neglected") == (
        "The inventory lists xds, lis on SQLBNE01\\RTC, but Lync reports no "
        "CentralManagementDatabase there.",
        "The inventory lists LcsCDR, QoEMetrics on SQLMON01\\LYNCMON, but Lync reports no "
        "MonitoringDatabase there.",
    )


def test_a_service_the_inventory_does_not_list() -> None:
    inventory = load_inventory(DEMO / "healthy" / "inventory.yaml").inventory
    extra = DatabaseService(role="ArchivingDatabase", sql_host="sqlarc01.nwtraders.com",
                            sql_instance="arch", mirror=None)
    assert topology_differences(inventory, (extra,))[0] == (
        "Lync reports the ArchivingDatabase on sqlarc01.nwtraders.com\\arch, an instance the "
        "inventory does not list: its stores are not audited.")


def test_report_scope_lists_the_differences() -> None:
    toolkit = Toolkit()
    loaded = toolkit.load_inventory(DEMO / "neglected" / "inventory.yaml")
    bundle, digest = read_bundle(DEMO / "neglected" / "evidence.json")
    results = toolkit.evaluate(bundle, digest, loaded, toolkit.load_waivers(loaded, None))
    view = build_view(results, toolkit.pack, loaded.inventory, bundle,
                      dt.datetime(2026, 11, 23, 20, tzinfo=dt.UTC))
    assert len(view.scope.topology) == 2
    assert "Get-CsService" in view.scope.topology_note
