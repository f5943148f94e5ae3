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

from auditor.collect.base import CollectContext
from auditor.collect.lync import LyncCollector, preflight_lync
from auditor.evidence import ObservationStatus
from auditor.facts.base import Known
from auditor.facts.lync import derive_lync
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
