"""Real-server behaviours the demo estates do not show, made to happen in the lab (issue 17
items 3, 5-8; issue 16 item 5): a server that does not offer TLS, a 2008 R2 before SP1, a login
that sees no sys.master_files rows, a connection that opened master, error 916. Each lab instance
is small (the clock, sys.databases and the files of one healthy instance) and private."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from auditor.checks.placement import NO_FILES_SEEN
from auditor.collect.base import CollectContext
from auditor.collect.runner import collect
from auditor.collect.sql import SqlCollector, preflight_sql
from auditor.collect.sql_preflight import Permission
from auditor.connect.sql_tls import PROTOCOL_HINT
from auditor.evidence import EvidenceBundle, Observation, ObservationStatus
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from auditor.lab.instance import LabLogin, create_instance
from auditor.lab.loader import InstanceData, sql_observations
from auditor.lab.notls import NoTlsFront
from auditor.lab.realcases import (
    NO_USER_MESSAGE,
    hide_master_files,
    land_in_master,
    present_build,
    raise_916,
)
from tests.integration.labkit import toolkit

pytestmark = pytest.mark.pg

SOURCE = "SQLBNE01\\RTC"
PROBES = ("server_time", "databases", "database_files", "suspect_pages")
OLD, HIDDEN, MASTER, NOTLS = "SQLOLD01\\RTC", "SQLHID01\\RTC", "SQLMST01\\RTC", "SQLNOTLS01\\RTC"
STORES = ["xds", "lis", "rtcxds", "rtcshared", "rgsconfig", "rtcdyn", "rtcab"]


def _instance(lab: LabCluster, healthy: LabEstate, key: str) -> tuple[str, LabLogin]:
    """A private lab instance database holding a few probes' rows of the healthy SQLBNE01."""
    recorded = sql_observations(healthy.served.observations, SOURCE)
    data = InstanceData(SOURCE, {p: recorded[p] for p in PROBES})
    login = LabLogin(f"audit_{key}", secrets.token_urlsafe(18))
    create_instance(lab, key, data, login)
    return key, login


def _inventory(path: Path, entries: list[tuple[str, str, str]]) -> Path:
    path.write_text(yaml.safe_dump({"estate": {"name": "real-server cases"}, "sql_instances": [
        {"server_name": name, "host": "sql.example.com", "role": "back_end", "stores": list(STORES),
         "connection": conn, "login_timeout_seconds": 5,
         "credential": {"kind": "env", "name": env}} for name, conn, env in entries]}),
        encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cases(lab: LabCluster, demo_lab: dict[str, LabEstate],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """Three private instances turned into their cases, plus a front without TLS to a fourth
    (the healthy estate's own SQLBNE01, only read); the inventory and the passwords."""
    healthy = demo_lab["healthy"]
    old, old_login = _instance(lab, healthy, "real_old")
    present_build(lab, old, "10.50.1600.1", "RTM")
    raise_916(lab, old, "dbo.suspect_pages", old_login.name, "msdb")
    hidden, hidden_login = _instance(lab, healthy, "real_hidden")
    hide_master_files(lab, hidden, hidden_login.name)
    master, master_login = _instance(lab, healthy, "real_master")
    land_in_master(lab, master)
    ref = next(r for r in healthy.instances if r.server_name == SOURCE)
    env = {"RC_OLD": old_login.password, "RC_HIDDEN": hidden_login.password,
           "RC_MASTER": master_login.password, "RC_NOTLS": ref.login.password}
    with NoTlsFront(lab.port) as front:
        no_tls = ref.connection.replace(f"PORT={lab.port}", f"PORT={front.port}")
        path = _inventory(tmp_path_factory.mktemp("real-cases") / "inventory.yaml", [
            (OLD, lab.odbc(old, old_login.name), "RC_OLD"),
            (HIDDEN, lab.odbc(hidden, hidden_login.name), "RC_HIDDEN"),
            (MASTER, lab.odbc(master, master_login.name), "RC_MASTER"),
            (NOTLS, no_tls, "RC_NOTLS")])
        yield path, env


@pytest.fixture(scope="module")
def bundle(cases: tuple[Path, dict[str, str]]) -> Iterator[EvidenceBundle]:
    path, env = cases
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        loaded = load_inventory(path)
        context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
        yield collect(context, [SqlCollector(workers=4)], toolkit().pack.version)


def _of(bundle: EvidenceBundle, target: str) -> dict[str, Observation]:
    return {o.probe: o for o in bundle.observations if o.target == target}


def test_a_server_without_tls_is_unreachable_for_tls_with_the_way_out(
        bundle: EvidenceBundle) -> None:
    found = _of(bundle, NOTLS)
    assert found
    for obs in found.values():
        assert obs.status is ObservationStatus.UNREACHABLE, obs
        port = (obs.error or "port ? ").split("port ")[1].split(" ")[0]
        assert obs.error == (
            'tls: 08001 connection to server at "127.0.0.1", port '
            f'{port} failed: server does not support SSL, '
            f"but SSL was required (101). {PROTOCOL_HINT}")


def test_the_opt_out_reaches_a_server_without_tls(cases: tuple[Path, dict[str, str]],
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path, env = cases
    monkeypatch.setenv("RC_NOTLS", env["RC_NOTLS"])
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["sql_instances"] = [dict(i, encrypt=False) for i in data["sql_instances"]
                             if i["server_name"] == NOTLS]
    opted = tmp_path / "opted.yaml"
    opted.write_text(yaml.safe_dump(data), encoding="utf-8")
    found = SqlCollector(workers=1).collect(CollectContext(
        inventory=load_inventory(opted), started_at=dt.datetime.now(dt.UTC)))
    assert found
    assert all(o.ok for o in found), [(o.probe, o.error) for o in found if not o.ok]


def test_a_2008_r2_before_sp1_gets_no_volume_probe_and_is_told_why(
        bundle: EvidenceBundle) -> None:
    found = _of(bundle, OLD)
    assert found["server_time"].ok
    assert found["server_time"].data[0]["product_version"] == "10.50.1600.1"
    files = found["database_files"]
    assert files.status is ObservationStatus.ERROR
    assert files.error == (
        "not run: sys.dm_os_volume_stats exists only from SQL Server 2008 R2 SP1 (build "
        "10.50.2500); this server is 10.50.1600.1 (RTM): install that service pack or a later "
        "one")
    assert found["databases"].ok


def test_error_916_is_denied_with_the_user_to_create(bundle: EvidenceBundle) -> None:
    pages = _of(bundle, OLD)["suspect_pages"]
    assert pages.status is ObservationStatus.DENIED
    said = NO_USER_MESSAGE.format(login="audit_real_old", db="msdb")
    assert pages.error == (
        f"42000 ERROR: {said}; Error while executing the query (1) (the login has no user in msdb: "
        "USE [msdb]; CREATE USER [login] FOR LOGIN [login]; EXEC sp_addrolemember "
        "N'db_datareader', N'login';)")


def test_a_connection_in_master_runs_no_probe_and_says_why(bundle: EvidenceBundle) -> None:
    found = _of(bundle, MASTER)
    assert found
    assert {o.status for o in found.values()} == {ObservationStatus.ERROR}
    assert {o.error for o in found.values()} == {
        "the connection opened database 'master', not msdb, where the probes read backup "
        "history and SQL Agent tables: add DATABASE=msdb to the connection string (or to the "
        "DSN)"}


def test_no_master_files_rows_is_a_permission_problem_in_dr_060(
        cases: tuple[Path, dict[str, str]], bundle: EvidenceBundle) -> None:
    files = _of(bundle, HIDDEN)["database_files"]
    assert files.ok
    assert files.data == []  # silently empty, as SQL Server does
    results = toolkit().evaluate(bundle, "0" * 64, load_inventory(cases[0]),
                                 toolkit().load_waivers(load_inventory(cases[0]), None))
    dr060 = [f for f in results.findings
             if f.rule_id == "DR-060" and f.subject.id.startswith(f"database:{HIDDEN}/")
             and f.status.value != "not_applicable"]  # master, model, msdb: not Lync stores
    assert {f.subject.id.split("/")[1] for f in dr060} == set(STORES)
    assert {(f.status.value, f.message) for f in dr060} == {("error", NO_FILES_SEEN)}


def test_preflight_names_the_master_files_grant(cases: tuple[Path, dict[str, str]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path, env = cases
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    checks = {(c.target, c.check): c for c in preflight_sql(load_inventory(path))
              if c.target in (HIDDEN, OLD, NOTLS)}
    hidden = checks[(HIDDEN, Permission.VIEW_ANY_DEFINITION.value)]
    assert not hidden.ok
    assert hidden.detail == (
        "the login holds none of VIEW ANY DEFINITION, ALTER ANY DATABASE or CREATE ANY "
        "DATABASE: sys.master_files returns no rows to it, without an error, so DR-060 cannot "
        "judge log and data file placement")
    assert hidden.fix == "USE master; GRANT VIEW ANY DEFINITION TO [<login>];"
    granted = checks[(OLD, Permission.VIEW_ANY_DEFINITION.value)]
    assert granted.ok
    assert granted.detail == ("sys.master_files lists every database's files (VIEW ANY "
                              "DEFINITION held)")
    assert checks[(HIDDEN, Permission.VIEW_SERVER_STATE.value)].ok  # the probe itself ran
    assert checks[(NOTLS, "reachable")].ok  # TCP is fine: the firewall is not the problem
    login = checks[(NOTLS, "login")]
    assert not login.ok
    assert login.detail.startswith("unreachable: tls: 08001 ")
    assert login.detail.endswith(PROTOCOL_HINT)
    assert login.fix == ('TLS, not the network: see the detail (the server\'s TLS update, '
                         'encrypt: false or tls_trust; docs/sql-collection.md "TLS")')
