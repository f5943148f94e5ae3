"""auditor.discover without a server: the topology rows as entries, stores, YAML scalars."""

from __future__ import annotations

import yaml

from auditor.collect.clixml import Row
from auditor.discover.model import Instance, build
from auditor.discover.reading import RawTopology
from auditor.discover.sqlcheck import fill
from auditor.discover.stores import confirmed_stores, role_stores
from auditor.discover.writer import flow, scalar
from auditor.inventory import InstanceRole

D = "contoso.com"


def _raw() -> RawTopology:
    pool: Row = {"Fqdn": f"pool1.{D}", "Site": "Site:BNE", "Computers": [f"FE01.{D}"],
            "Services": [f"UserServer:pool1.{D}", f"Registrar:pool1.{D}"]}
    edge: Row = {"Fqdn": f"edge1.{D}", "Site": "Site:BNE", "Computers": [f"edge1.{D}"],
            "Services": [f"EdgeServer:edge1.{D}"]}
    store: Row = {"Fqdn": f"sql1.{D}", "Site": "Site:BNE", "Computers": [f"sql1.{D}"],
             "Services": [f"UserDatabase:sql1.{D}"]}
    user: Row = {"Role": "UserDatabase", "PoolFqdn": f"sql1.{D}", "SqlInstanceName": "RTC",
            "MirrorSqlServer": f"UserDatabase:sql2.{D}",
            "DependentServiceList": [f"UserServer:pool1.{D}"]}
    monitoring: Row = {"Role": "MonitoringDatabase", "PoolFqdn": f"sql1.{D}",
                  "SqlInstanceName": "rtc", "SiteId": "Site:BNE"}
    return RawTopology(rows={
        "cs_sites": [{"Identity": "Site:BNE", "Description": "Brisbane"}],
        "cs_pools": [pool, edge, store],
        "cs_computers": [{"Fqdn": f"sql1.{D}", "Pool": f"sql1.{D}"},
                         {"Fqdn": f"odd1.{D}", "Pool": f"gone.{D}"}],
        "cs_UserDatabase": [user], "cs_MonitoringDatabase": [monitoring]},
        backup_pools={f"pool1.{D}": [{"PoolFqdn": f"pool1.{D}",
                                      "BackupPoolFqdn": f"POOL2.{D}"}]})


def test_rows_become_inventory_entries() -> None:
    top = build(_raw())
    assert [(s.id, s.name) for s in top.sites] == [("BNE", "Brisbane")]
    assert [(p.fqdn, p.site, p.backup_pool) for p in top.pools] == [
        (f"pool1.{D}", "BNE", f"pool2.{D}")]
    assert [(s.fqdn, s.role, s.pool, s.site) for s in top.servers] == [
        (f"edge1.{D}", "edge", None, "BNE"), (f"fe01.{D}", "front_end", f"pool1.{D}", None),
        (f"odd1.{D}", "unknown", None, None)]  # in a pool Get-CsPool did not list: kept
    by_name = {i.name: i for i in top.instances}
    principal = by_name["SQL1\\RTC"]  # the monitoring store on the same instance: still back_end
    assert (principal.role, principal.pool) == (InstanceRole.BACK_END, f"pool1.{D}")
    # the User store is rtcxds, rtcshared, rtcab on the back end (rtcdyn lives on each Front
    # End's RTCLOCAL: docs/inventory.md)
    assert principal.stores == ["rtcxds", "rtcshared", "rtcab", "LcsCDR", "QoEMetrics"]
    mirror = by_name["SQL2\\RTC"]
    assert (mirror.role, mirror.pool, mirror.stores) == (
        InstanceRole.MIRROR, f"pool1.{D}", ["rtcxds", "rtcshared", "rtcab"])


def test_required_stores_stay_and_absent_transient_ones_go() -> None:
    expected = role_stores(["UserDatabase", "ApplicationDatabase"])
    listed, left_out = confirmed_stores(expected, ["RTCXDS", "rtcshared", "rtcdyn", "master"])
    assert listed == ["RTCXDS", "rtcshared", "rgsconfig"]
    assert left_out == ["rtcab", "rgsdyn", "cpsdyn"]


def test_templates_fill_only_known_placeholders() -> None:
    inst = Instance(f"sqlbne01.{D}", "rtc", InstanceRole.BACK_END, None, None)
    assert fill("DRIVER={FreeTDS};Server={host};Instance={instance};X={SLUG}_{slug};{other}",
                inst) == (f"DRIVER={{FreeTDS}};Server=sqlbne01.{D};Instance=rtc;"
                          "X=SQLBNE01_RTC_sqlbne01_rtc;{other}")


def test_scalars_read_back_as_written() -> None:
    values = ["SQLBNE01\\RTC", "Brisbane (UTC+10)", "true", "22:00", "a: b", "#x", "",
              "DRIVER={FreeTDS};Server=x;", "CONTOSO\\svc-audit", "1.5", "null", "- x"]
    for value in values:
        assert yaml.safe_load(f"k: {scalar(value)}") == {"k": value}, value
    assert scalar("SQLBNE01\\RTC") == "SQLBNE01\\RTC"  # plain, as a person writes it
    data = {"a": ["x y", "p\\q"], "b": {"c": True, "d": 3}}
    assert yaml.safe_load(f"k: {flow(data)}") == {"k": data}
