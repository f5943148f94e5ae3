"""`auditor preflight` for Lync: reachable, login, and the role each probe needs, per server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from auditor.collect.base import PreflightCheck
from auditor.collect.lync import preflight_lync
from tests.integration.lync_fixtures import canary_env, live_inventory, running_lab

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

ALL_ROLES = ("NWTRADERS\\CsViewOnlyAdministrator", "NWTRADERS\\RTCUniversalServerAdmins",
             "BUILTIN\\Administrators")
MGMT = "mgmt01.lab.invalid"
FE = "fe-bne01.nwtraders.com"


def index(checks: list[PreflightCheck]) -> dict[tuple[str, str], PreflightCheck]:
    return {(c.target, c.check): c for c in checks}


def test_everything_granted(tmp_path: Path, canary_env: str) -> None:
    with running_lab("healthy", groups=ALL_ROLES) as running:
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
    assert [c for c in checks if not c.ok] == []
    got = index(checks)
    assert {(MGMT, "reachable"), (MGMT, "login"), (MGMT, "CsViewOnlyAdministrator"),
            (MGMT, "RTCUniversalServerAdmins"), (MGMT, "cmdlets"), (FE, "login"),
            (FE, "local Administrators (WMI read)"),
            (MGMT, "file share read \\\\bnebak01.nwtraders.com\\sqlbackup")} <= set(got)
    assert (MGMT, "local Administrators (WMI read)") not in got  # no server probe runs there
    assert "https, certificates validated" in got[("lync", "transport")].detail


def test_missing_roles_and_cmdlets_name_the_fix(tmp_path: Path, canary_env: str) -> None:
    with running_lab("healthy", groups=["BUILTIN\\Administrators"]) as running:
        running.lab.faults.missing_cmdlets.add("Get-CsBackupServiceStatus")
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
    failed = {(c.target, c.check): c for c in checks if not c.ok}
    assert set(failed) == {(MGMT, "CsViewOnlyAdministrator"), (MGMT, "RTCUniversalServerAdmins"),
                           (MGMT, "cmdlets")}
    assert "Get-CsBackupServiceStatus" in failed[(MGMT, "cmdlets")].detail
    assert "backup_service_status" in failed[(MGMT, "RTCUniversalServerAdmins")].detail
    assert all(c.fix for c in failed.values())


def test_refused_login_and_unreachable_server(tmp_path: Path, canary_env: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    with running_lab("healthy") as running:
        running.endpoint.faults.refuse_auth = True
        loaded = live_inventory(tmp_path, "healthy", running)
        connect_to = {**running.connect_to, "edge-bne01.nwtraders.com": f"127.0.0.1:{dead}"}
        checks = index(preflight_lync(loaded, connect_to=connect_to, interactive=False))
    assert checks[(MGMT, "reachable")].ok
    assert not checks[(MGMT, "login")].ok
    assert "401" in checks[(MGMT, "login")].detail
    assert not checks[("edge-bne01.nwtraders.com", "reachable")].ok
    assert ("edge-bne01.nwtraders.com", "login") not in checks
