"""Where Lync's topology (Get-CsService, Get-CsPool, Get-CsComputer) and the inventory
disagree, the report says so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auditor.evidence import make_observation, read_bundle
from auditor.facts import Facts, Known, Unknown, derive_facts
from auditor.facts.topology import (
    DatabaseService,
    TopologyComputer,
    TopologyPool,
    pool_and_computer_differences,
    topology_differences,
)
from auditor.inventory import Inventory, load_inventory
from auditor.pipeline import Toolkit
from auditor.report import build_view
from auditor.report.scope import _topology

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
D = "nwtraders.com"
FE = ("UserServer", "Registrar", "WebServer")


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
    assert len(view.scope.topology) == 3
    assert view.scope.topology[2] == (
        "Lync reports the computer fe-bne02.litwareinc.com in pool lyncbne.litwareinc.com, "
        "which the inventory does not list among its servers: it is not audited.")
    assert "Get-CsService" in view.scope.topology_note
    assert "Get-CsPool, Get-CsComputer" in view.scope.topology_note


# --- pools and computers (Get-CsPool, Get-CsComputer) -------------------------------------

def _healthy() -> Inventory:
    """Pools lyncbne and lyncchi; fe-bne01 and fe-chi01 in them; edge-bne01 in no pool."""
    return load_inventory(DEMO / "healthy" / "inventory.yaml").inventory


def _pool(name: str, roles: tuple[str, ...], *computers: str) -> TopologyPool:
    fqdn = name if "." in name else f"{name}.{D}"
    return TopologyPool(fqdn=fqdn, site="BNE", services=tuple(f"{r}:{fqdn}" for r in roles),
                        computers=tuple(c if "." in c else f"{c}.{D}" for c in computers))


def _agreeing() -> tuple[list[TopologyPool], list[TopologyComputer]]:
    """What Lync reports for the healthy inventory: its pools and servers, an Edge pool of its
    own and a SQL Server store, each with its computer."""
    pools = [_pool("lyncbne", (*FE, "CentralManagement"), "fe-bne01"),
             _pool("lyncchi", FE, "fe-chi01"),
             _pool("edge-bne01", ("EdgeServer",), "edge-bne01"),
             _pool("sqlbne01", ("UserDatabase", "CentralManagementDatabase"), "sqlbne01")]
    computers = [TopologyComputer(c, p.fqdn) for p in pools for c in p.computers]
    return pools, computers


def _compare(pools: list[TopologyPool], computers: list[TopologyComputer],
             inventory: Inventory | None = None) -> tuple[str, ...]:
    return pool_and_computer_differences(inventory or _healthy(), tuple(pools),
                                         tuple(computers))


def test_agreement_gives_no_sentence() -> None:
    assert _compare(*_agreeing()) == ()


def test_fqdns_are_compared_without_regard_to_case() -> None:
    pools, computers = _agreeing()
    shouting = [TopologyPool(p.fqdn.upper(), p.site, p.services,
                             tuple(c.upper() for c in p.computers)) for p in pools]
    mixed = [TopologyComputer(c.fqdn.upper() if "fe-" in c.fqdn else c.fqdn.title(),
                              (c.pool or "").upper()) for c in computers]
    assert _compare(shouting, mixed) == ()


def test_a_front_end_pool_the_inventory_does_not_list() -> None:
    pools, computers = _agreeing()
    pools.append(_pool("lyncsyd", FE, "fe-syd01"))
    computers.append(TopologyComputer(f"fe-syd01.{D}", f"lyncsyd.{D}"))
    assert _compare(pools, computers) == (
        f"Lync reports the Front End pool lyncsyd.{D} in site BNE, which the inventory does not "
        "list: its pairing and Backup Service are not audited.",
        f"Lync reports the computer fe-syd01.{D} in pool lyncsyd.{D}, which the inventory does "
        "not list among its servers: it is not audited.")


def test_pools_that_home_no_users_need_not_be_inventory_pools() -> None:
    """Edge, Director, SQL store and file store pools are not in `pools:`; a Director's
    computer is still a Lync server the inventory should list, a file server is not."""
    pools, computers = _agreeing()
    pools += [_pool("dir01", ("Registrar", "WebServer", "Director"), "dir01"),
              _pool("fs01", ("FileStore",), "fs01"),
              _pool("sqlarc01", ("ArchivingDatabase",), "sqlarc01")]
    computers += [TopologyComputer(f"{n}.{D}", f"{n}.{D}") for n in ("dir01", "fs01",
                                                                   "sqlarc01")]
    assert _compare(pools, computers) == (
        f"Lync reports the computer dir01.{D} in a pool of its own, which the inventory does "
        "not list among its servers: it is not audited.",)


def test_an_inventory_pool_lync_does_not_have() -> None:
    pools, computers = _agreeing()
    pools = [p for p in pools if not p.fqdn.startswith("lyncchi")]
    computers = [c for c in computers if not c.fqdn.startswith("fe-chi01")]
    assert _compare(pools, computers) == (
        f"The inventory lists the pool lyncchi.{D}, but Lync reports no such pool.",
        f"The inventory lists the server fe-chi01.{D} in pool lyncchi.{D}, but Lync reports "
        "no such computer.")


def test_a_computer_the_inventory_does_not_list() -> None:
    pools, computers = _agreeing()
    pools[0] = _pool("lyncbne", FE, "fe-bne01", "fe-bne02")
    computers.append(TopologyComputer(f"fe-bne02.{D}", f"lyncbne.{D}"))
    assert _compare(pools, computers) == (
        f"Lync reports the computer fe-bne02.{D} in pool lyncbne.{D}, which the inventory does "
        "not list among its servers: it is not audited.",)


def test_a_computer_only_a_pool_names_is_lync_s_too() -> None:
    """Get-CsComputer left it out, Get-CsPool's Computers has it: still reported, and an
    inventory server found that way is not called missing."""
    pools, computers = _agreeing()
    pools[0] = _pool("lyncbne", FE, "fe-bne01", "fe-bne02")
    computers = [c for c in computers if not c.fqdn.startswith("fe-bne01")]
    assert _compare(pools, computers) == (
        f"Lync reports the computer fe-bne02.{D} in pool lyncbne.{D}, which the inventory does "
        "not list among its servers: it is not audited.",)


def test_a_computer_of_a_pool_lync_does_not_describe_is_reported() -> None:
    """Fail closed: without the pool's services it cannot be called a SQL host."""
    pools, computers = _agreeing()
    computers.append(TopologyComputer(f"med01.{D}", f"medpool.{D}"))
    computers.append(TopologyComputer(f"odd01.{D}", None))
    assert _compare(pools, computers) == (
        f"Lync reports the computer med01.{D} in pool medpool.{D}, which the inventory does "
        "not list among its servers: it is not audited.",
        f"Lync reports the computer odd01.{D} in no pool, which the inventory does not list "
        "among its servers: it is not audited.")


def test_an_inventory_server_lync_does_not_list() -> None:
    pools, computers = _agreeing()
    computers = [c for c in computers if not c.fqdn.startswith(("fe-chi01", "edge"))]
    pools = [_pool("lyncchi", FE) if p.fqdn.startswith("lyncchi") else p for p in pools
             if not p.fqdn.startswith("edge")]
    # edge-bne01 has no pool in the inventory: it may be anything, and is not looked for.
    assert _compare(pools, computers) == (
        f"The inventory lists the server fe-chi01.{D} in pool lyncchi.{D}, but Lync reports "
        "no such computer.",)


def test_a_server_in_another_pool() -> None:
    pools, computers = _agreeing()
    computers = [TopologyComputer(c.fqdn, f"lyncbne.{D}") if c.fqdn.startswith(
        ("fe-chi01", "edge")) else c for c in computers]
    assert _compare(pools, computers) == (
        f"The inventory puts the server edge-bne01.{D} in no pool, but Lync reports it in "
        f"pool lyncbne.{D}.",
        f"The inventory puts the server fe-chi01.{D} in pool lyncchi.{D}, but Lync reports it "
        f"in pool lyncbne.{D}.")


def test_every_kind_of_difference_in_order() -> None:
    """Lync's pools, inventory pools, Lync's computers, inventory servers, moved servers."""
    pools, computers = _agreeing()
    pools = [p for p in pools if not p.fqdn.startswith("lyncchi")]
    pools.append(_pool("lyncsyd", FE, "fe-syd01", "fe-bne01"))
    computers = [c for c in computers if not c.fqdn.startswith(("fe-chi01", "fe-bne01"))]
    computers += [TopologyComputer(f"fe-syd01.{D}", f"lyncsyd.{D}"),
                  TopologyComputer(f"FE-BNE01.{D}", f"lyncsyd.{D}")]
    # edge-bne01 in lyncsyd, a pool the inventory does not list: not a difference.
    computers = [TopologyComputer(c.fqdn, f"lyncsyd.{D}") if c.fqdn.startswith("edge")
                 else c for c in computers]
    expected = (
        f"Lync reports the Front End pool lyncsyd.{D} in site BNE, which the inventory does not "
        "list: its pairing and Backup Service are not audited.",
        f"The inventory lists the pool lyncchi.{D}, but Lync reports no such pool.",
        f"Lync reports the computer fe-syd01.{D} in pool lyncsyd.{D}, which the inventory does "
        "not list among its servers: it is not audited.",
        f"The inventory lists the server fe-chi01.{D} in pool lyncchi.{D}, but Lync reports "
        "no such computer.",
        f"The inventory puts the server fe-bne01.{D} in pool lyncbne.{D}, but Lync reports it "
        f"in pool lyncsyd.{D}.")
    assert _compare(pools, computers) == expected
    assert _compare(pools[::-1], computers[::-1]) == expected


def test_the_demo_estates_pools_and_computers() -> None:
    found = {}
    for estate in ("healthy", "drifted", "neglected"):
        facts = _facts(estate)
        pools, computers = facts.lync.topology_pools, facts.lync.topology_computers
        assert isinstance(pools, Known)
        assert isinstance(computers, Known)
        found[estate] = pool_and_computer_differences(facts_inventory(estate), pools.value,
                                                      computers.value)
    assert found["healthy"] == found["drifted"] == ()
    assert found["neglected"] == (
        "Lync reports the computer fe-bne02.litwareinc.com in pool lyncbne.litwareinc.com, "
        "which the inventory does not list among its servers: it is not audited.",)


# --- the facts: shapes Lync gives, and garbage ---------------------------------------------

def facts_inventory(estate: str) -> Inventory:
    return load_inventory(DEMO / estate / "inventory.yaml").inventory


def _facts(estate: str, replace: dict[str, list[dict[str, Any]] | None] | None = None) -> Facts:
    """The estate's facts, with the rows of some deployment probes replaced (None: dropped)."""
    bundle, _ = read_bundle(DEMO / estate / "evidence.json")
    observations = []
    for obs in bundle.observations:
        if replace and obs.source.value == "lync" and obs.probe in replace:
            rows = replace[obs.probe]
            if rows is None:
                continue
            obs = make_observation(source=obs.source, probe=obs.probe, target=obs.target,
                                   started_at=obs.started_at, finished_at=obs.finished_at,
                                   status=obs.status, data=rows)
        observations.append(obs)
    changed = bundle.model_copy(update={"observations": observations})
    return derive_facts(changed, facts_inventory(estate), bundle.collected_at)


def test_pool_rows_as_convertto_json_writes_them() -> None:
    """Identity when Fqdn is absent, Site:BNE as BNE, one service as a single string, and
    Windows PowerShell's {value, Count} wrapper."""
    pools = _facts("healthy", {"cs_pools": [
        {"Identity": f"lyncbne.{D}", "Site": "Site:BNE", "Services": f"UserServer:lyncbne.{D}",
         "Computers": {"value": [f"FE-BNE01.{D}"], "Count": 1}}]}).lync.topology_pools
    assert isinstance(pools, Known)
    assert pools.value == (TopologyPool(f"lyncbne.{D}", "BNE", (f"UserServer:lyncbne.{D}",),
                                        (f"FE-BNE01.{D}",)),)
    assert pools.evidence_ids == ("lync:cs_pools:deployment",)


@pytest.mark.parametrize(("probe", "row", "column"), [
    ("cs_pools", {"Fqdn": "not a host!", "Services": [], "Computers": []}, "Fqdn"),
    ("cs_pools", {"Fqdn": f"lyncbne.{D}", "Services": [{"Role": "x"}], "Computers": []},
     "Services"),
    ("cs_pools", {"Fqdn": f"lyncbne.{D}", "Computers": []}, "Services"),
    ("cs_pools", {"Fqdn": f"lyncbne.{D}", "Services": [], "Computers": [42]}, "Computers"),
    ("cs_computers", {"Identity": 7, "Pool": f"lyncbne.{D}"}, "Identity"),
    ("cs_computers", {"Pool": f"lyncbne.{D}"}, "Fqdn"),
    ("cs_computers", {"Fqdn": f"fe-bne01.{D}", "Pool": ["a", "b"]}, "Pool"),
])
def test_garbage_is_unknown_naming_the_column(probe: str, row: dict[str, Any],
                                              column: str) -> None:
    facts = _facts("healthy", {probe: [row]})
    fact = (facts.lync.topology_pools if probe == "cs_pools"
            else facts.lync.topology_computers)
    assert isinstance(fact, Unknown)
    assert f"{probe} on deployment: column {column}:" in fact.reason


# --- the report's note ----------------------------------------------------------------------

def test_missing_pool_evidence_is_said_and_the_databases_still_shown() -> None:
    facts = _facts("neglected", {"cs_pools": None})
    lines, note = _topology(facts_inventory("neglected"), facts)
    assert len(lines) == 2
    assert "CentralManagementDatabase" in lines[0]
    assert note == (
        "The inventory decides which stores and servers are audited; where Lync's own topology "
        "(Get-CsService) disagrees with it, the difference is listed here. Lync's pools and "
        "computers (Get-CsPool, Get-CsComputer) could not be compared with the inventory: no "
        "cs_pools evidence for deployment (not collected).")


def test_unknown_computers_never_read_as_agreement() -> None:
    facts = _facts("healthy", {"cs_computers": [{"Fqdn": None, "Pool": None}]})
    lines, note = _topology(_healthy(), facts)
    assert lines == ()
    assert note == (
        "The database services Lync reports (Get-CsService) agree with the inventory. Lync's "
        "pools and computers (Get-CsPool, Get-CsComputer) could not be compared with the "
        "inventory: cs_computers on deployment: column Fqdn: None is not a host name (FQDN).")
    assert "agree" not in note.split(". ", 1)[1]


def test_unknown_services_with_known_pools() -> None:
    facts = _facts("neglected", {"database_services": None})
    lines, note = _topology(facts_inventory("neglected"), facts)
    assert lines == (
        "Lync reports the computer fe-bne02.litwareinc.com in pool lyncbne.litwareinc.com, "
        "which the inventory does not list among its servers: it is not audited.",)
    assert note.endswith("Lync's database services (Get-CsService) could not be compared with "
                         "the inventory: no database_services evidence for deployment (not "
                         "collected).")
    assert "(Get-CsPool, Get-CsComputer) disagrees" in note


def test_agreement_note_names_all_three_cmdlets() -> None:
    lines, note = _topology(_healthy(), _facts("healthy"))
    assert lines == ()
    assert note == ("The database services, pools and computers Lync reports (Get-CsService, "
                    "Get-CsPool, Get-CsComputer) agree with the inventory.")
