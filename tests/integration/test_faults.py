"""The fault matrix on a private copy of the healthy estate: each fault gives the right
observation status, the rules that depend on it come out `error` with the reason, nothing that
depends on it passes, and the other instances are audited as usual."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from auditor.evidence import EvidenceBundle, ObservationStatus
from auditor.findings import Status
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate
from auditor.lab.loader import lab_probes
from auditor.results import Results
from tests.integration.labkit import (
    closed_port,
    collect_live,
    edit_inventory,
    evaluate,
    expected_verdicts,
    healthy_copy,
    kill_when_running,
    observations_of,
    silent_server,
    slow_down,
)

pytestmark = pytest.mark.pg

DENIED_LOGIN = "SQLCHI02\\RTC"
UNKNOWN_HOST = "FE-BNE01\\RTCLOCAL"
CLOSED_PORT = "RESTORE01\\TEST"
SILENT = "SQLMON01\\LYNCMON"
TIMEOUT = "SQLBNE01\\RTC"
DENIED_VIEW = "SQLMON01\\LYNCMON"
DROPPED = "SQLCHI01\\RTC"
GARBAGE = "SQLCHI02\\RTC"
Status_ = ObservationStatus


def _env(monkeypatch: pytest.MonkeyPatch, estate: LabEstate) -> None:
    for name, value in estate.env.items():
        monkeypatch.setenv(name, value)


def _citing(results: Results, obs_ids: set[str]) -> list[tuple[str, str, str, str]]:
    """(rule, subject, status before waivers, message) of findings citing any of obs_ids."""
    return [(f.rule_id, f.subject.id, f.status_before_waiver.value, f.message)
            for f in results.findings
            if obs_ids & set(f.evidence_ids) and f.status is not Status.NOT_APPLICABLE]


def _errors_not_passes(results: Results, obs_ids: set[str], reason: str) -> None:
    """Every finding resting on a faulted observation is an error naming the reason; none
    passes."""
    citing = _citing(results, obs_ids)
    assert citing, sorted(obs_ids)
    wrong = [f for f in citing if f[2] != "error"]
    assert not wrong, wrong
    errors = [f for f in citing if f[2] == "error"]
    assert errors
    assert all(reason in f[3] for f in errors), errors


def _others_as_expected(results: Results, estate: LabEstate, faulted: set[str]) -> None:
    """Findings that rest on no faulted observation keep their hand-written verdicts."""
    want = expected_verdicts(estate)
    assert want is not None
    clean = {(f.rule_id, f.subject.id, f.status.value) for f in results.findings
             if f.status is not Status.NOT_APPLICABLE and not faulted & set(f.evidence_ids)}
    assert len(clean) > 50
    assert sorted(clean - want) == []


def test_connection_faults(lab: LabCluster, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    estate = healthy_copy(lab, tmp_path, "faults_connect")
    _env(monkeypatch, estate)
    by_name = {r.server_name: r for r in estate.instances}
    monkeypatch.setenv(by_name[DENIED_LOGIN].env_var, "not-the-password")
    with silent_server() as silent_port:
        def at(server: str, host: str, port: int) -> dict[str, object]:
            conn = by_name[server].connection.replace(f"PORT={lab.port}", f"PORT={port}")
            return {"connection": conn.replace("SERVER=127.0.0.1", f"SERVER={host}"),
                    "login_timeout_seconds": 2}
        inventory = edit_inventory(estate.inventory, tmp_path / "faults.yaml", {
            UNKNOWN_HOST: at(UNKNOWN_HOST, "no-such-host.invalid", lab.port),
            CLOSED_PORT: at(CLOSED_PORT, "127.0.0.1", closed_port()),
            SILENT: at(SILENT, "127.0.0.1", silent_port),
        })
        started = time.monotonic()
        bundle = collect_live(inventory, estate.replay)
        elapsed = time.monotonic() - started
    assert elapsed < 15, "a silent server must cost the login timeout, not hang the run"

    cases = {DENIED_LOGIN: (Status_.DENIED, "password authentication failed"),
             UNKNOWN_HOST: (Status_.UNREACHABLE, "could not translate host name"),
             CLOSED_PORT: (Status_.UNREACHABLE, "Connection refused"),
             SILENT: (Status_.UNREACHABLE, "timeout expired")}
    results = evaluate(bundle, inventory)
    faulted: set[str] = set()
    for server, (status, reason) in cases.items():
        observations = observations_of(bundle, server)
        live = [o for p, o in observations.items() if p in lab_probes()]
        assert {"server_time", "backup_history", "database_files"} <= {o.probe for o in live}
        for obs in live:
            assert obs.status is status, (server, obs.probe, obs.status)
            assert obs.error is not None
            assert reason in obs.error, obs.error
        ids = {o.id for o in live}
        _errors_not_passes(results, ids, status.value)
        faulted |= ids
    _others_as_expected(results, estate, faulted)


def _probe_faults(lab: LabCluster, estate: LabEstate) -> dict[str, str]:
    db = {r.server_name: r.database for r in estate.instances}
    logins = {r.server_name: r.login.name for r in estate.instances}
    slow_down(lab, db[TIMEOUT], "dbo.suspect_pages", 5, logins[TIMEOUT])   # limit: 1 s
    lab.revoke(db[DENIED_VIEW], logins[DENIED_VIEW], ["dbo.sysjobhistory"])
    slow_down(lab, db[DROPPED], "dbo.backupmediafamily", 10, logins[DROPPED])
    lab.execute("UPDATE sys.databases SET recovery_model = 7 WHERE name = 'rtcxds'",
                db[GARBAGE])
    return logins


def _run_probe_faults(lab: LabCluster, estate: LabEstate, inventory: Path,
                      logins: dict[str, str]) -> EvidenceBundle:
    with kill_when_running(lab, logins[DROPPED], "backupmediafamily") as killed:
        bundle = collect_live(inventory, estate.replay)
    assert killed.is_set()
    return bundle


def test_probe_faults(lab: LabCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    estate = healthy_copy(lab, tmp_path, "faults_probe")
    _env(monkeypatch, estate)
    logins = _probe_faults(lab, estate)
    inventory = edit_inventory(estate.inventory, tmp_path / "faults.yaml",
                               {TIMEOUT: {"query_timeout_seconds": 1}})
    bundle = _run_probe_faults(lab, estate, inventory, logins)
    results = evaluate(bundle, inventory)

    cases = {(TIMEOUT, "suspect_pages"): (Status_.TIMEOUT, "statement timeout"),
             (DENIED_VIEW, "agent_job_history"): (Status_.DENIED, "permission denied"),
             (DROPPED, "backup_devices"): (Status_.ERROR, "connection lost")}
    faulted: set[str] = set()
    for (server, probe), (status, reason) in cases.items():
        observations = observations_of(bundle, server)
        obs = observations[probe]
        assert obs.status is status, (server, probe, obs.status, obs.error)
        assert obs.error is not None
        assert reason in obs.error, obs.error
        others = [o for p, o in observations.items() if p != probe]
        assert all(o.ok for o in others), [(o.probe, o.error) for o in others if not o.ok]
        _errors_not_passes(results, {obs.id}, status.value)
        faulted.add(obs.id)

    garbage = observations_of(bundle, GARBAGE)["databases"]
    assert garbage.ok
    assert any(row["recovery_model"] == 7 for row in garbage.data)
    _errors_not_passes(results, {garbage.id}, "recovery_model")
    _others_as_expected(results, estate, faulted | {garbage.id})
