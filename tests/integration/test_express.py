"""A lab instance served as SQL Server Express (no SQL Agent: empty Agent tables, edition
'Express Edition (64-bit)'), audited through the real ODBC path: BR-061's job part and DR-030's
notification part are not applicable and say where such backups are scheduled; checksums and
damaged backups are still judged from msdb. One instance, one collection."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
import yaml

from auditor.collect.base import CollectContext
from auditor.collect.runner import collect
from auditor.collect.sql import SqlCollector
from auditor.evidence import read_bundle
from auditor.findings import Finding, Status
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import demo_root
from auditor.lab.edition import EXPRESS, with_edition
from auditor.lab.instance import LabLogin, create_instance
from auditor.lab.loader import InstanceData, sql_observations
from auditor.lab.timeshift import delta_to, shift_bundle
from tests.integration.labkit import observations_of, toolkit

pytestmark = pytest.mark.pg

SERVER = "SQLMON01\\LYNCMON"
ENV = "AUDITOR_LAB_EXPRESS_PASSWORD"


def _inventory(path: Path, connection: str) -> Path:
    path.write_text(yaml.safe_dump({
        "estate": {"name": "express"},
        "sql_instances": [{"server_name": SERVER, "host": "sqlmon01.nwtraders.com",
                           "role": "monitoring", "stores": ["LcsCDR", "QoEMetrics"],
                           "connection": connection,
                           "credential": {"kind": "env", "name": ENV}}]}), encoding="utf-8")
    return path


def test_express_instance_has_no_agent_parts_and_keeps_its_msdb_parts(
        lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded, _ = read_bundle(demo_root() / "healthy" / "evidence.json")
    moved = shift_bundle(recorded, delta_to(recorded.collected_at, dt.datetime.now(dt.UTC)))
    served = with_edition(sql_observations(moved.observations, SERVER), EXPRESS)
    login = LabLogin("audit_express_mon", secrets.token_urlsafe(18))
    create_instance(lab, "express_sqlmon01", InstanceData(SERVER, served), login)
    monkeypatch.setenv(ENV, login.password)
    kit = toolkit()
    loaded = kit.load_inventory(_inventory(tmp_path / "inventory.yaml",
                                           lab.odbc("express_sqlmon01", login.name)))
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    bundle = collect(context, [SqlCollector(workers=2)], kit.pack.version)

    got = observations_of(bundle, SERVER)
    assert got["server_time"].ok
    clock = got["server_time"].data[0]
    assert isinstance(clock, dict)
    assert clock["edition"] == EXPRESS
    assert got["agent_jobs"].ok
    assert got["agent_jobs"].data == []

    results = kit.evaluate(bundle, "0" * 64, loaded, ())
    by = {(f.rule_id, f.subject.id): f for f in results.findings}
    jobs = by[("BR-061", f"instance:{SERVER}")]
    _is(jobs, Status.NOT_APPLICABLE)
    assert jobs.message.startswith("SQL Server Express has no SQL Agent: its backups are "
                                   "scheduled outside SQL Server, by Windows Task Scheduler "
                                   "running sqlcmd")
    monitored = by[("DR-030", f"instance:{SERVER}")]
    _is(monitored, Status.PASS)
    assert "operator notification not applicable: SQL Server Express has no SQL Agent" in (
        monitored.message)
    for store in ("LcsCDR", "QoEMetrics"):
        for rule in ("BR-061", "DR-030", "BR-001"):
            _is(by[(rule, f"database:{SERVER}/{store}")], Status.PASS)


def _is(finding: Finding, status: Status) -> None:
    assert finding.status is status, (finding.rule_id, finding.subject.id, finding.message)
