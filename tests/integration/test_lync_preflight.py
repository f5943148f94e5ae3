"""`auditor preflight` for Lync: reachable, login, and the role each probe needs, per server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from auditor.collect.base import PreflightCheck
from auditor.collect.lync import LyncCollector, preflight_lync
from auditor.collect.lync_access import SHARE_FIX
from auditor.collect.lync_plan import plan
from auditor.collect.lync_preflight import _run_check, _share_checks
from auditor.collect.lync_session import Session
from auditor.connect.credentials import Secret
from auditor.inventory import LoadedInventory, LyncAuth
from auditor.probes.catalogue import load_catalogue
from tests.integration.lync_fixtures import RunningLab, canary_env, live_inventory, running_lab

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

ALL_ROLES = ("NWTRADERS\\RTCUniversalServerAdmins", "BUILTIN\\Administrators")
MGMT = "mgmt01.lab.invalid"
FE = "fe-bne01.nwtraders.com"
SHARE = "\\\\bnebak01.nwtraders.com\\sqlbackup"
RO = "RTCUniversalReadOnlyAdmins"
UA = "RTCUniversalUserAdmins or RTCUniversalServerAdmins"
SA = "RTCUniversalServerAdmins"
CMDLET_PROBES = {"cms_replication", "cms_status", "cs_pools", "cs_computers", "file_stores",
                 "pool_backup_relationship", "backup_service_status"}


def index(checks: list[PreflightCheck]) -> dict[tuple[str, str], PreflightCheck]:
    return {(c.target, c.check): c for c in checks}


def test_everything_granted(tmp_path: Path, canary_env: str) -> None:
    with running_lab("healthy", groups=ALL_ROLES) as running:
        running.lab.access.enforce_groups = True
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
        imports = dict(running.lab.access.imports)
        received = list(running.lab.received)
    assert [c for c in checks if not c.ok] == []
    got = index(checks)
    assert {(MGMT, "reachable"), (MGMT, "login"), (MGMT, RO), (MGMT, UA), (MGMT, SA),
            (MGMT, "Lync module"), (MGMT, "cmdlets"), (FE, "login"),
            (FE, "local Administrators (WMI read)"), (MGMT, f"file share read {SHARE}")
            } <= set(got)
    assert {(MGMT, f"runs {name}") for name in CMDLET_PROBES} <= set(got)
    assert (MGMT, "local Administrators (WMI read)") not in got  # no server probe runs there
    assert "https, certificates validated" in got[("lync", "transport")].detail
    # The module is imported explicitly, once per runspace, on the management server only.
    assert list(imports.values()) == [1]
    relationship = [r for r in received if r.probe == "pool_backup_relationship"]
    assert relationship
    assert all(r.parameters.get("LocalStore") is True for r in relationship)


def test_an_rbac_role_alone_is_not_enough_in_a_local_session(tmp_path: Path,
                                                             canary_env: str) -> None:
    """Issue 17 item 9: CsViewOnlyAdministrator does not authorise the cmdlets in a plain
    WinRM session; preflight says so per cmdlet and names the RTCUniversal* group."""
    groups = ["NWTRADERS\\CsViewOnlyAdministrator", "BUILTIN\\Administrators"]
    with running_lab("healthy", groups=groups) as running:
        running.lab.access.enforce_groups = True
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
    failed = {(c.target, c.check): c for c in checks if not c.ok}
    assert set(failed) == {(MGMT, RO), (MGMT, UA), (MGMT, SA)} | {
        (MGMT, f"runs {name}") for name in CMDLET_PROBES}
    assert "CsViewOnlyAdministrator is held, but Lync RBAC roles apply only" in \
        failed[(MGMT, RO)].detail
    assert "RTCUniversalReadOnlyAdmins" in (failed[(MGMT, RO)].fix or "")
    replication = failed[(MGMT, "runs cms_replication")]
    assert "access denied" in replication.detail
    assert UA in replication.detail
    assert "RTCUniversalUserAdmins" in (replication.fix or "")
    assert "AuthorizedUniversalGroups" in (failed[(MGMT, "runs backup_service_status")].fix
                                           or "")


def test_read_only_admins_run_the_reads_microsoft_documents_for_them(tmp_path: Path,
                                                                    canary_env: str) -> None:
    groups = ["NWTRADERS\\RTCUniversalReadOnlyAdmins", "BUILTIN\\Administrators"]
    with running_lab("healthy", groups=groups) as running:
        running.lab.access.enforce_groups = True
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = index(preflight_lync(loaded, connect_to=running.connect_to,
                                      interactive=False))
    assert checks[(MGMT, RO)].ok
    assert checks[(MGMT, "runs cs_pools")].ok
    assert checks[(MGMT, "runs cs_computers")].ok
    for name in ("cms_replication", "cms_status", "file_stores", "pool_backup_relationship"):
        check = checks[(MGMT, f"runs {name}")]
        assert not check.ok, name
        assert "RTCUniversalUserAdmins" in (check.fix or ""), name
    assert not checks[(MGMT, UA)].ok
    assert not checks[(MGMT, SA)].ok


def test_missing_module_and_cmdlets_name_the_fix(tmp_path: Path, canary_env: str) -> None:
    with running_lab("healthy", groups=ALL_ROLES) as running:
        running.lab.faults.missing_cmdlets.add("Get-CsBackupServiceStatus")
        loaded = live_inventory(tmp_path, "healthy", running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
        running.lab.access.missing_module = True
        without = index(preflight_lync(loaded, connect_to=running.connect_to,
                                       interactive=False))
    failed = {(c.target, c.check): c for c in checks if not c.ok}
    assert set(failed) == {(MGMT, "cmdlets")}
    assert "Get-CsBackupServiceStatus" in failed[(MGMT, "cmdlets")].detail
    assert (MGMT, "runs backup_service_status") not in index(checks)
    module = without[(MGMT, "Lync module")]
    assert not module.ok
    assert "no valid module file" in module.detail
    assert module.fix
    assert (MGMT, "cmdlets") not in without


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


@contextmanager
def negotiate_session(loaded: LoadedInventory, running: RunningLab) -> Iterator[Session]:
    """A management session opened (with the lab's basic auth), then taken as a session under
    Negotiate: what preflight advises depends on the authentication the session used, and the
    lab listener speaks only Basic."""
    access = loaded.inventory.lync
    assert access is not None
    collector = LyncCollector(connect_to=running.connect_to, interactive=False)
    secret = collector._secret(access)
    assert isinstance(secret, Secret)
    session = collector.session(loaded, access, secret, MGMT)
    assert session.open() is None
    session.access = access.model_copy(update={"auth": LyncAuth.NEGOTIATE})
    try:
        yield session
    finally:
        session.close()


def test_a_refused_share_names_delegation_under_negotiate(tmp_path: Path,
                                                          canary_env: str) -> None:
    """Issue 17 item 10: access denied on a UNC path from a Negotiate/Kerberos session is the
    second hop; the fix is CredSSP or resource-based constrained delegation, not share rights."""
    with running_lab("healthy", groups=ALL_ROLES) as running:
        running.lab.access.second_hop.add(SHARE)
        loaded = live_inventory(tmp_path, "healthy", running)
        basic = index(preflight_lync(loaded, connect_to=running.connect_to, interactive=False))
        with negotiate_session(loaded, running) as session:
            hop = index(_share_checks(session, MGMT, loaded, "share_acl"))
        running.lab.access.second_hop.clear()
        with negotiate_session(loaded, running) as session:
            fine = index(_share_checks(session, MGMT, loaded, "share_acl"))
    key = (MGMT, f"file share read {SHARE}")
    assert not basic[key].ok
    assert "is denied" in basic[key].detail
    assert basic[key].fix == SHARE_FIX  # basic auth hands the server the password: no hop
    assert not hop[key].ok
    assert "is denied" in hop[key].detail
    fix = hop[key].fix or ""
    assert "second hop" in fix
    assert "negotiate" in fix
    assert "credssp" in fix
    assert "PrincipalsAllowedToDelegateToAccount" in fix
    assert "bnebak01.nwtraders.com" in fix
    assert fine[key].ok
    assert fine[key].fix is None


def test_a_store_read_as_anonymous_logon_names_delegation(tmp_path: Path,
                                                          canary_env: str) -> None:
    anonymous = "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'."
    with running_lab("healthy", groups=ALL_ROLES) as running:
        running.lab.faults.error["cms_replication"] = anonymous
        loaded = live_inventory(tmp_path, "healthy", running)
        task = next(t for t in plan(loaded, load_catalogue())[0]
                    if t.probe.name == "cms_replication")
        with negotiate_session(loaded, running) as session:
            check = _run_check(session, MGMT, task, "LAB\\svc")
    assert not check.ok
    assert "ANONYMOUS LOGON" in check.detail
    assert "second hop" in (check.fix or "")
    assert "Central Management store's SQL Server" in (check.fix or "")


def test_share_not_found_is_not_advised_as_permissions_only(tmp_path: Path,
                                                            canary_env: str) -> None:
    with running_lab("healthy", groups=ALL_ROLES) as running:
        loaded = live_inventory(tmp_path, "healthy", running, edit={
            "export_share": {"unc": "\\\\bnefs01.nwtraders.com\\lyncexport"}})
        checks = index(preflight_lync(loaded, connect_to=running.connect_to,
                                      interactive=False))
    missing = checks[(MGMT, "file share read \\\\bnefs01.nwtraders.com\\lyncexport")]
    assert not missing.ok
    assert "does not exist" in missing.detail
    assert (missing.fix or "").startswith("check that the share and folder exist")
