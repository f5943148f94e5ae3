"""stores: takes Topology Builder's store kinds; known stores the inventory omits are found and
named; backup_window on a site, pool or instance stands for the policy override."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.checks.subjects import DbClass, unlisted_stores
from auditor.engine.policy import policy_overrides
from auditor.facts import derive_facts
from auditor.facts.topology import ROLE_STORES
from auditor.inventory import Inventory
from auditor.remediate.window import window_for
from auditor.report.scope import build_scope
from auditor.results import UnlistedStore
from auditor.stores import STORE_KINDS, expand_stores, store_kind, unknown_store
from tests.casekit import RuleCase, case_bundle, case_inventory, load_cases, rule_pack


@pytest.mark.parametrize("spelling", ["Central Management", "central management",
                                      "Central Management store", "CENTRAL  MANAGEMENT STORE"])
def test_store_kind_spellings(spelling: str) -> None:
    kind = store_kind(spelling)
    assert kind is not None
    assert kind.databases == ("xds", "lis")


def test_kinds_expand_in_order_each_database_once() -> None:
    names = ["User store", "rtcxds", "Persistent Chat Compliance", "MONITORING", "xds"]
    assert expand_stores(names) == ["rtcxds", "rtcshared", "rtcab", "mgccomp", "LcsCDR",
                                    "QoEMetrics", "xds"]
    assert store_kind("store") is None
    assert store_kind("Persistent") is None


def test_unknown_name_lists_every_accepted_name() -> None:
    message = unknown_store("Response Group") or ""
    for kind in STORE_KINDS:
        assert kind.name in message
    for database in ("xds", "LcsCDR", "mgccomp", "rtcdyn", "lyss"):
        assert database in message
    assert unknown_store("rgsconfig") is None
    assert unknown_store("application store") is None


def test_topology_comparison_uses_the_same_table() -> None:
    assert ROLE_STORES["ApplicationDatabase"] == {"rgsconfig", "rgsdyn", "cpsdyn"}
    assert ROLE_STORES["MonitoringDatabase"] == {"lcscdr", "qoemetrics"}
    assert set(ROLE_STORES) == {k.service for k in STORE_KINDS}


def _case(name: str) -> RuleCase:
    return next(c for c in load_cases() if c.name == name)


def test_omitted_stores_are_found_and_named_in_the_scope() -> None:
    case = _case("transient_store_missing_from_stores_still_judged")
    now = dt.datetime.fromisoformat(case.raw["now"])
    loaded = case_inventory(case)
    facts = derive_facts(case_bundle(case, now), loaded.inventory, now)
    found = [(db.subject.id, db.kind) for db in unlisted_stores(facts)]
    # not ContosoReports (not a Lync store), not the mirror's or the restore test's rgsdyn
    assert found == [("database:SQL01\\RTC/cpsdyn", DbClass.TRANSIENT),
                     ("database:SQL01\\RTC/lis", DbClass.REQUIRED),
                     ("database:SQL01\\RTC/rgsdyn", DbClass.TRANSIENT)]
    unlisted = [UnlistedStore(subject=s, instance="SQL01\\RTC", database=s.rsplit("/", 1)[1],
                              store_class=k.value) for s, k in found]
    scope = build_scope(loaded.inventory, rule_pack(), None, [], None, now,
                        unlisted=unlisted)
    item = next(i for i in scope.audited if i.label == "Lync stores missing from the inventory")
    assert item.value == (
        "3 databases named like a Lync store, which the inventory's stores: omits, were audited "
        "as that store: SQL01\\RTC/cpsdyn (transient: judged by DR-060 only); SQL01\\RTC/lis "
        "(required: judged like a listed store); SQL01\\RTC/rgsdyn (transient: judged by DR-060 "
        "only). Add them to stores: (docs/inventory.md).")
    row = next(i for i in scope.instances if i.server_name == "SQL01\\RTC")
    assert row.stores == "xds; found, not in the inventory: cpsdyn, lis, rgsdyn"


def test_window_shorthand_is_the_override_of_its_scope() -> None:
    window = {"start": "01:00", "end": "03:00"}
    inventory = Inventory.model_validate({
        "estate": {"name": "E"},
        "sites": [{"id": "EMEA", "backup_window": {"start": "20:00", "end": "22:00"}}],
        "pools": [{"fqdn": "pool01.contoso.com", "site": "EMEA", "backup_window": window}],
        "sql_instances": [
            {"server_name": "SQL01\\RTC", "host": "sql01.contoso.com", "role": "back_end",
             "pool": "pool01.contoso.com", "backup_window": {"start": "04:00", "end": "06:00"}},
            {"server_name": "SQL02\\RTC", "host": "sql02.contoso.com", "role": "back_end",
             "pool": "pool01.contoso.com"},
            {"server_name": "MON01\\LYNCMON", "host": "mon01.contoso.com", "role": "monitoring",
             "site": "EMEA"}],
        "policy": {"backup_window": {"start": "23:00", "end": "05:00"}}})
    scopes = [(o.site, o.pool, o.instance) for o in policy_overrides(inventory)]
    assert scopes == [("EMEA", None, None), (None, "pool01.contoso.com", None),
                      (None, None, "SQL01\\RTC")]
    starts = [getattr(window_for(inventory, i), "start", None) for i in inventory.sql_instances]
    assert starts == ["04:00", "01:00", "20:00"]
