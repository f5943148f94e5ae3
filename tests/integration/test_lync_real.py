"""The Lync collector against a real Lync Server 2013 front end (marker `winrm_real`).

Set AUDITOR_TEST_WINRM to an inventory file whose `lync:` section reaches the server (its
credential from the environment or a keyring; https with ca_bundle as in production). Nothing
is changed on the server: every probe is read-only. Skipped, with the reason shown by `-ra`,
when the variable is not set.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from auditor.collect.base import CollectContext, PreflightCheck
from auditor.collect.lync import LyncCollector, preflight_lync
from auditor.evidence import ObservationStatus
from auditor.facts.base import Known
from auditor.facts.lync import derive_lync
from auditor.facts.topology import topology_differences
from auditor.inventory import LoadedInventory, load_inventory
from auditor.probes.catalogue import load_catalogue

VARIABLE = "AUDITOR_TEST_WINRM"
pytestmark = [
    pytest.mark.winrm_real,
    pytest.mark.skipif(not os.environ.get(VARIABLE),
                       reason=f"{VARIABLE} is not set (an inventory file reaching a real Lync "
                       "server over WinRM)"),
]


def loaded_inventory() -> LoadedInventory:
    """The inventory AUDITOR_TEST_WINRM names; it must have a lync: section."""
    loaded = load_inventory(Path(os.environ[VARIABLE]))
    assert loaded.inventory.lync is not None, f"{VARIABLE}: the inventory has no lync: section"
    return loaded


def test_preflight_reaches_and_logs_in() -> None:
    loaded = loaded_inventory()
    checks = preflight_lync(loaded, interactive=False)
    assert loaded.inventory.lync is not None
    first = loaded.inventory.lync.management_servers[0]
    by_check = {(c.target, c.check): c for c in checks}
    assert by_check[(first, "reachable")].ok, by_check[(first, "reachable")].detail
    assert by_check[(first, "login")].ok, by_check[(first, "login")].detail


def test_collection_converts_every_probe() -> None:
    loaded = loaded_inventory()
    collector = LyncCollector(interactive=False)
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    observations = collector.collect(context)
    probes = {p.name: p for p in load_catalogue().powershell}
    assert observations
    for obs in observations:
        assert obs.status in ObservationStatus
        if obs.ok:
            for row in obs.data:
                assert list(row) == probes[obs.probe].select
        else:
            assert obs.error
    ok = {o.probe for o in observations if o.ok}
    assert "cms_replication" in ok, [o.error for o in observations
                                     if o.probe == "cms_replication"]
    facts = derive_lync({o.id: o for o in observations}, loaded.inventory)
    assert isinstance(facts.cms_replicas, Known), facts.cms_replicas


# --- issue 17: what only a real Lync 2013 session shows ---------------------------------------

def _checks() -> tuple[LoadedInventory, dict[tuple[str, str], PreflightCheck]]:
    loaded = loaded_inventory()
    checks = preflight_lync(loaded, interactive=False)
    return loaded, {(c.target, c.check): c for c in checks}


def _shown(checks: list[PreflightCheck]) -> str:
    return "\n".join(f"{c.target} {c.check}: {c.detail} -> {c.fix}" for c in checks)


def test_each_cmdlet_runs_with_the_groups_microsoft_documents() -> None:
    """Item 9: RBAC does not apply to this session. Every cmdlet probe runs; and where the
    account holds the RTCUniversal* group a probe's `rbac` column names, that probe ran (the
    documented groups are enough on this server)."""
    loaded, checks = _checks()
    assert loaded.inventory.lync is not None
    first = loaded.inventory.lync.management_servers[0]
    runs = [c for (host, name), c in checks.items() if host == first and name.startswith("runs ")]
    assert runs, "preflight ran no cmdlet (is the Lync module there?)"
    probes = {p.name: p for p in load_catalogue().powershell}
    held = {name for (host, name), c in checks.items() if host == first and c.ok}
    contradicted = [c for c in runs if not c.ok and probes[c.check[5:]].rbac in held]
    assert not contradicted, "held the documented group, yet refused:\n" + _shown(contradicted)
    assert all(c.ok for c in runs), _shown([c for c in runs if not c.ok])


def test_module_is_imported_once_and_local_store_is_accepted() -> None:
    """Items 10 and 11: Import-Module Lync succeeds in a remoting session, and
    Get-CsPoolBackupRelationship takes -LocalStore."""
    loaded, checks = _checks()
    assert loaded.inventory.lync is not None
    first = loaded.inventory.lync.management_servers[0]
    module = checks[(first, "Lync module")]
    assert module.ok, module.detail
    if loaded.inventory.pools:
        relationship = checks[(first, "runs pool_backup_relationship")]
        assert relationship.ok, _shown([relationship])


def test_every_share_is_reached_from_the_session() -> None:
    """Item 10: the second hop. A share refused under Negotiate/Kerberos/NTLM names
    delegation (CredSSP or resource-based constrained delegation) in its fix."""
    _, checks = _checks()
    shares = [c for (_, name), c in checks.items() if name.startswith("file share read ")]
    assert all(c.ok for c in shares), _shown([c for c in shares if not c.ok])


def test_topology_reports_the_compliance_database_where_the_inventory_has_one() -> None:
    """Item 11: Get-CsService -PersistentChatComplianceDatabase runs, and an inventoried
    mgccomp store is matched by a PersistentChatComplianceDatabase service."""
    loaded = loaded_inventory()
    collector = LyncCollector(interactive=False)
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    observations = {o.id: o for o in collector.collect(context)}
    services = observations["lync:database_services:deployment"]
    assert services.ok, services.error
    facts = derive_lync(observations, loaded.inventory)
    assert isinstance(facts.database_services, Known), facts.database_services
    roles = {s.role for s in facts.database_services.value}
    differences = topology_differences(loaded.inventory, facts.database_services.value)
    compliance = [d for d in differences if "PersistentChatComplianceDatabase" in d]
    assert not compliance, compliance
    if any("mgccomp" in {s.lower() for s in i.stores} for i in loaded.inventory.sql_instances):
        assert "PersistentChatComplianceDatabase" in roles, roles


def test_replica_dates_arrive_in_a_form_the_facts_read() -> None:
    """Item 12: LastStatusReport/LastUpdateCreation arrive with an offset or without one (Kind
    Unspecified); the message says which, and both parse (the naive form at an assumed offset,
    which in an audit is the CMS SQL Server's, docs/time.md)."""
    loaded = loaded_inventory()
    collector = LyncCollector(interactive=False)
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    observations = {o.id: o for o in collector.collect(context)}
    replication = observations["lync:cms_replication:deployment"]
    assert replication.ok, replication.error
    stamps = [str(r[k]) for r in replication.data for k in ("LastStatusReport",
                                                            "LastUpdateCreation") if r[k]]
    naive = [s for s in stamps if dt.datetime.fromisoformat(s).tzinfo is None]
    facts = derive_lync(observations, loaded.inventory, Known(dt.timedelta(0), ()))
    assert isinstance(facts.cms_replicas, Known), (facts.cms_replicas, stamps[:4])
    print(f"replica dates: {len(naive)} of {len(stamps)} without an offset, e.g. "  # noqa: T201
          f"{stamps[:2]}")
