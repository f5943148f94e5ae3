"""Every fault of the WinRM endpoint ends in the right status and never in a pass.

The healthy estate passes every Lync-sourced rule when nothing goes wrong, so each fault shows
up as the findings it touches turning into `error`; the audit always finishes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auditor.evidence import Observation, ObservationStatus
from auditor.findings import Status
from auditor.results import Results
from tests.integration.lync_fixtures import (
    LYNC_RULES,
    PASSWORD_ENV,
    RunningLab,
    audit,
    by_id,
    canary_env,
    collect_lync,
    live_inventory,
    running_lab,
)

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

ESTATE = "healthy"
BNE_BACKUP = "\\\\bnebak01.nwtraders.com\\sqlbackup"
EXPORTS = "\\\\bnebak01.nwtraders.com\\lyncexports"
S = ObservationStatus


def run(tmp_path: Path, configure: Callable[[RunningLab], None] | None = None, *,
        connect_to: dict[str, str] | None = None, **lync: Any
        ) -> tuple[dict[str, Observation], Results, float]:
    """Collect the healthy estate live with a fault set, and evaluate it."""
    with running_lab(ESTATE) as running:
        if configure is not None:
            configure(running)
        loaded = live_inventory(tmp_path, ESTATE, running, **lync)
        started = time.monotonic()
        live = collect_lync(loaded, running, connect_to=connect_to)
        took = time.monotonic() - started
    return by_id(live), audit(ESTATE, loaded, live), took


def assert_never_pass(observations: dict[str, Observation], results: Results) -> set[str]:
    """Every Lync-rule finding that used a failed observation is an error; returns the ids."""
    failed = {i for i, o in observations.items() if not o.ok}
    touched = [f for f in results.findings
               if f.rule_id in LYNC_RULES and failed & set(f.evidence_ids)]
    assert touched, "the fault touched no finding"
    assert {f.status for f in touched} == {Status.ERROR}, [
        (f.rule_id, f.subject.id, f.status.value) for f in touched if f.status is not Status.ERROR]
    untouched_lync = [f for f in results.findings if f.rule_id in LYNC_RULES
                      and f not in touched and f.status is not Status.NOT_APPLICABLE]
    assert all(f.status in (Status.PASS, Status.ERROR) for f in untouched_lync)
    return failed


def statuses(observations: dict[str, Observation]) -> set[ObservationStatus]:
    """The distinct statuses."""
    return {o.status for o in observations.values()}


def test_refused_login_is_denied_everywhere(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: setattr(r.endpoint.faults, "refuse_auth", True))
    assert statuses(obs) == {S.DENIED}
    assert all("401" in (o.error or "") for o in obs.values())
    assert_never_pass(obs, results)


def test_connection_dropped_at_login_is_unreachable(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: setattr(r.endpoint.faults, "drop_open", True))
    assert statuses(obs) == {S.UNREACHABLE}
    assert_never_pass(obs, results)


def test_closed_port_is_unreachable(tmp_path: Path, canary_env: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    obs, results, _ = run(tmp_path, connect_to={"*": f"127.0.0.1:{port}"})
    assert statuses(obs) == {S.UNREACHABLE}
    assert all("refused" in (o.error or "").lower() for o in obs.values())
    assert_never_pass(obs, results)


def test_server_that_never_answers_is_unreachable(tmp_path: Path, canary_env: str) -> None:
    """It accepts the connection and never answers: as the SQL collector's login timeout."""
    obs, results, took = run(tmp_path, lambda r: setattr(r.endpoint.faults, "stall", True),
                             command_timeout_seconds=1, connect_timeout_seconds=1)
    assert statuses(obs) == {S.UNREACHABLE}
    assert all("no answer" in (o.error or "") for o in obs.values())
    assert took < 10
    assert_never_pass(obs, results)


def test_untrusted_certificate_is_an_error(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, ca_bundle=None)
    assert statuses(obs) == {S.ERROR}
    assert all("TLS" in (o.error or "") for o in obs.values())
    assert_never_pass(obs, results)


def test_missing_secret_is_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    obs, results, _ = run(tmp_path)
    assert statuses(obs) == {S.DENIED}
    assert all(PASSWORD_ENV in (o.error or "") for o in obs.values())
    assert_never_pass(obs, results)


def test_hung_command_is_stopped_at_its_deadline(tmp_path: Path, canary_env: str) -> None:
    obs, results, took = run(tmp_path, lambda r: r.lab.faults.hang.add("cms_replication"),
                             command_timeout_seconds=1)
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert list(bad) == ["lync:cms_replication:deployment"]
    assert bad["lync:cms_replication:deployment"].status is S.TIMEOUT
    assert "stopped" in (bad["lync:cms_replication:deployment"].error or "")
    assert took < 6
    failed = assert_never_pass(obs, results)
    touched = {f.rule_id for f in results.findings if failed & set(f.evidence_ids)}
    assert {"DR-002", "BR-010"} <= touched


def test_terminating_error_record_is_an_error(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: r.lab.faults.error.update(
        {f"share_space@{BNE_BACKUP}": "The network path was not found."}))
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert list(bad) == [f"lync:share_space:{BNE_BACKUP}"]
    assert bad[f"lync:share_space:{BNE_BACKUP}"].status is S.ERROR
    assert "network path was not found" in (bad[f"lync:share_space:{BNE_BACKUP}"].error or "")
    assert_never_pass(obs, results)


def test_non_terminating_error_record_is_an_error(tmp_path: Path, canary_env: str) -> None:
    """had_errors stays False for Write-Error; the error stream is checked too."""
    obs, results, _ = run(tmp_path, lambda r: r.lab.faults.soft_error.update(
        {"pool_backup_relationship": "Cannot find the pool."}))
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert {o.probe for o in bad.values()} == {"pool_backup_relationship"}
    assert statuses(bad) == {S.ERROR}
    assert all("error record" in (o.error or "") for o in bad.values())
    assert_never_pass(obs, results)


def test_access_denied_record_is_denied(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: r.lab.faults.denied.add("backup_service_status"))
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert {o.probe for o in bad.values()} == {"backup_service_status"}
    assert statuses(bad) == {S.DENIED}
    assert_never_pass(obs, results)


def test_malformed_output_is_an_error(tmp_path: Path, canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: r.lab.faults.malformed.update(
        {"config_exports", "server_inventory@fe-chi01.nwtraders.com"}))
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert set(bad) == {"lync:config_exports:deployment",
                        "lync:server_inventory:fe-chi01.nwtraders.com"}
    assert statuses(bad) == {S.ERROR}
    assert all("malformed" in (o.error or "") for o in bad.values())
    failed = assert_never_pass(obs, results)
    touched = {f.rule_id for f in results.findings if failed & set(f.evidence_ids)}
    assert {"BR-010", "BR-011", "DR-010"} <= touched


def test_connection_dropped_mid_audit_is_an_error_then_reconnects(tmp_path: Path,
                                                                  canary_env: str) -> None:
    obs, results, _ = run(tmp_path, lambda r: r.lab.faults.drop.add(f"share_acl@{EXPORTS}"))
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert list(bad) == [f"lync:share_acl:{EXPORTS}"]
    assert bad[f"lync:share_acl:{EXPORTS}"].status is S.ERROR
    assert "connection lost" in (bad[f"lync:share_acl:{EXPORTS}"].error or "")
    assert_never_pass(obs, results)


def test_one_unreachable_server_leaves_the_others(tmp_path: Path, canary_env: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]

    def configure(running: RunningLab) -> None:
        mapping["*"] = f"127.0.0.1:{running.endpoint.port}"

    mapping = {"edge-bne01.nwtraders.com": f"127.0.0.1:{dead}"}
    obs, results, _ = run(tmp_path, configure, connect_to=mapping)
    bad = {i: o for i, o in obs.items() if not o.ok}
    assert list(bad) == ["lync:server_inventory:edge-bne01.nwtraders.com"]
    assert bad["lync:server_inventory:edge-bne01.nwtraders.com"].status is S.UNREACHABLE
    assert_never_pass(obs, results)


def test_unreachable_management_server_falls_back_to_the_next(tmp_path: Path,
                                                              canary_env: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]

    def configure(running: RunningLab) -> None:
        mapping["*"] = f"127.0.0.1:{running.endpoint.port}"

    mapping = {"mgmt00.lab.invalid": f"127.0.0.1:{dead}"}
    obs, _, _ = run(tmp_path, configure, connect_to=mapping,
                    management_servers=["mgmt00.lab.invalid", "mgmt01.lab.invalid"])
    assert statuses(obs) == {S.OK}
