"""What a real Lync 2013 session differs in, through the loopback endpoint (issue 17 items 11-12):
the Lync module imported once per runspace, the Persistent Chat compliance database in the
topology, and replica dates that arrive without an offset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from auditor.evidence import Observation, read_bundle
from auditor.facts import derive_facts
from auditor.facts.base import Known, Unknown
from auditor.facts.topology import parse_database_services, topology_differences
from tests.integration.lync_fixtures import (
    DEMO,
    audit,
    by_id,
    canary_env,
    collect_lync,
    combined,
    live_inventory,
    running_lab,
    verdicts,
)

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

PCHAT = {"server_name": "SQLPC01\\PCHAT", "host": "sqlpc01.nwtraders.com",
         "role": "persistent_chat", "site": "BNE", "stores": ["mgc", "mgccomp"]}


def test_module_imported_once_and_compliance_database_seen(tmp_path: Path,
                                                           canary_env: str) -> None:
    """An estate with Persistent Chat and no recorded database services: the lab answers
    Get-CsService per database role, -PersistentChatComplianceDatabase included."""
    estate = tmp_path / "estate"
    estate.mkdir()
    data = yaml.safe_load((DEMO / "healthy" / "inventory.yaml").read_text(encoding="utf-8"))
    data["sql_instances"].append(PCHAT)
    data.pop("waivers", None)
    data.pop("records", None)
    (estate / "inventory.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with running_lab(estate) as running:
        loaded = live_inventory(tmp_path, estate, running)
        live = by_id(collect_lync(loaded, running))
        imports = dict(running.lab.access.imports)
    services = parse_database_services(live["lync:database_services:deployment"])
    roles = {(s.role, s.sql_host) for s in services}
    assert ("PersistentChatComplianceDatabase", "sqlpc01.nwtraders.com") in roles
    assert ("PersistentChatDatabase", "sqlpc01.nwtraders.com") in roles
    differences = topology_differences(loaded.inventory, services)
    assert not [d for d in differences if "sqlpc01" in d.lower() or "mgc" in d.lower()]
    # One runspace pool per server session; only the management server imports Lync, once.
    assert list(imports.values()) == [1]


def _with_clock_removed(observations: list[Observation], target: str) -> list[Observation]:
    return [o for o in observations if o.id.lower() != f"sql:server_time:{target}".lower()]


@pytest.mark.parametrize("naive", [False, True], ids=["offset", "naive"])
def test_replica_dates_with_and_without_an_offset(tmp_path: Path, canary_env: str,
                                                  naive: bool) -> None:
    """The lab writes LastStatusReport/LastUpdateCreation as Local (`+10:00`) or Unspecified
    (no zone, as a DateTime read from SQL Server): the facts read both, the naive form at the
    UTC offset of the SQL instance holding the Central Management store, so DR-002 keeps the
    estate's verdicts."""
    with running_lab("healthy", naive_dates=naive) as running:
        loaded = live_inventory(tmp_path, "healthy", running)
        live = collect_lync(loaded, running)
    rows = by_id(live)["lync:cms_replication:deployment"].data
    stamps = [str(r["LastStatusReport"]) for r in rows]
    assert stamps
    assert all(dt.datetime.fromisoformat(s).tzinfo is None for s in stamps) == naive
    assert all(s.endswith("+10:00") for s in stamps) == (not naive)
    recorded, _ = read_bundle(DEMO / "healthy" / "evidence.json")
    bundle = combined(recorded, live)
    facts = derive_facts(bundle, loaded.inventory, recorded.collected_at)
    replicas = facts.lync.cms_replicas
    assert isinstance(replicas, Known), replicas
    expected = derive_facts(recorded, loaded.inventory, recorded.collected_at).lync.cms_replicas
    assert isinstance(expected, Known)
    assert [(r.fqdn, r.last_status_report) for r in replicas.value] == [
        (r.fqdn, r.last_status_report) for r in expected.value]
    clock_id = "sql:server_time:SQLBNE01\\RTC"
    assert (clock_id.lower() in {i.lower() for i in replicas.evidence_ids}) == naive
    results = audit("healthy", loaded, live)
    assert verdicts(results, frozenset({"DR-002"})) == verdicts(
        audit("healthy", loaded, [o for o in recorded.observations
                                  if o.source.value == "lync"]), frozenset({"DR-002"}))
    if naive:  # without the CMS server's clock, a naive date is not guessed
        blind = bundle.model_copy(update={"observations": _with_clock_removed(
            bundle.observations, "SQLBNE01\\RTC")})
        unknown = derive_facts(blind, loaded.inventory, recorded.collected_at).lync.cms_replicas
        assert isinstance(unknown, Unknown)
        assert "without a UTC offset" in unknown.reason
        assert "SQLBNE01\\RTC" in unknown.reason
