"""The Lync preflight: per server, reachable, login and each role the probes need there."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auditor.collect.base import PreflightCheck
from auditor.collect.clixml import to_json
from auditor.collect.lync_access import (
    ROLE_FIX,
    ROLE_GRANTS,
    SHARE_FIX,
    delegation_fix,
    holds,
    rbac_roles_note,
    second_hop,
)
from auditor.collect.lync_collector import LyncCollector
from auditor.collect.lync_plan import Task, plan
from auditor.collect.lync_session import Session
from auditor.connect.credentials import Secret, SecretUnavailableError
from auditor.connect.winrm_transport import (
    Failure,
    Status,
    _FailedError,
    guarded_logs,
    scrub,
    transport_failure,
)
from auditor.facts.lync import share_paths
from auditor.inventory import LoadedInventory, LyncAccess, LyncAuth, LyncTransport
from auditor.probes.catalogue import HERE as PROBES_DIR
from auditor.probes.catalogue import PsProbe, Scope

# --- preflight ------------------------------------------------------------------------------

IDENTITY_SCRIPT = "audit_identity.ps1"
LYNC_MODULE = "Lync"


def preflight_lync(loaded: LoadedInventory, *, interactive: bool | None = None,
                   connect_to: Mapping[str, str] | None = None) -> list[PreflightCheck]:
    """Per Lync server: reachable, login, and each role the probes run there need."""
    access = loaded.inventory.lync
    if access is None:
        return [PreflightCheck("lync", "inventory", False, "the inventory has no lync: section",
                               fix="add lync: {management_servers: [<front end FQDN>]}")]
    collector = LyncCollector(interactive=interactive, connect_to=connect_to)
    checks = [_transport_check(access)]
    secret = collector._secret(access)
    hosts = list(dict.fromkeys([*access.management_servers,
                                *(s.fqdn for s in loaded.inventory.servers)]))
    managers = {h.lower() for h in access.management_servers}
    with guarded_logs(secret if isinstance(secret, Secret) else None):
        checks += _preflight_hosts(collector, loaded, access, secret, hosts, managers)
    return checks


def _preflight_hosts(collector: LyncCollector, loaded: LoadedInventory, access: LyncAccess,
                     secret: Secret | SecretUnavailableError, hosts: Sequence[str],
                     managers: set[str]) -> list[PreflightCheck]:
    checks: list[PreflightCheck] = []
    for host in hosts:
        if isinstance(secret, SecretUnavailableError):
            checks.append(PreflightCheck(host, "login", False, f"no secret: {secret}",
                                         fix="set the credential's environment variable or "
                                         "keyring entry, or run with a terminal for the prompt"))
            continue
        session = collector.session(loaded, access, secret, host)
        started = time.monotonic()
        failure = session.open()
        if failure is not None:
            reachable = failure.status not in (Status.UNREACHABLE, Status.TIMEOUT)
            checks.append(PreflightCheck(host, "reachable", reachable, failure.message if not
                                         reachable else f"{session.where} answered",
                                         fix=None if reachable else _REACH_FIX))
            if reachable:
                checks.append(PreflightCheck(host, "login", False, failure.message,
                                             fix=_LOGIN_FIX))
            continue
        took = (time.monotonic() - started) * 1000
        checks.append(PreflightCheck(host, "reachable", True, f"{session.where} answered"))
        checks.append(PreflightCheck(host, "login", True, f"runspace pool opened as "
                                     f"{secret.username or 'the current user'} in {took:.0f} ms"))
        try:
            servers = {s.fqdn.lower() for s in loaded.inventory.servers}
            scopes = ({Scope.SERVER} if host.lower() in servers else set()) | (
                {Scope.DEPLOYMENT, Scope.POOL, Scope.SHARE} if host.lower() in managers else set())
            checks += _role_checks(collector, session, host, scopes, loaded, secret)
        finally:
            session.close()
    return checks


_REACH_FIX = ("check the name, the firewall (TCP 5986 for https, 5985 for http) and that WinRM "
              "listens: winrm quickconfig -transport:https")
_LOGIN_FIX = ("check the account and its password source; it must be allowed to log on over "
              "WinRM (Remote Management Users or local Administrators on the server)")


def _transport_check(access: LyncAccess) -> PreflightCheck:
    if access.transport is LyncTransport.HTTPS:
        ca = access.ca_bundle or "the system store"
        return PreflightCheck("lync", "transport", True, f"https, certificates validated "
                              f"against {ca}, auth {access.auth.value}")
    if access.auth is LyncAuth.BASIC:
        return PreflightCheck("lync", "transport", True, "http with basic auth: ALLOWED BY "
                              "allow_basic_over_http, the password crosses the network "
                              "unencrypted", fix="use transport: https")
    return PreflightCheck("lync", "transport", True, f"http with {access.auth.value} message "
                          "encryption")


def _role_checks(collector: LyncCollector, session: Session, host: str, scopes: set[Scope],
                 loaded: LoadedInventory, secret: Secret) -> list[PreflightCheck]:
    manager = Scope.DEPLOYMENT in scopes
    probes = [p for p in collector.catalogue.powershell if p.scope in scopes]
    user = secret.username or "<audit account>"
    checks: list[PreflightCheck] = []
    groups, failure = _identity(session)
    if failure is not None:
        checks.append(PreflightCheck(host, "identity", False, failure.message))
    for requirement in sorted({p.rbac for p in probes}):
        names = ", ".join(sorted(p.name for p in probes if p.rbac == requirement))
        key = requirement.lower()
        if key == "file share read":
            checks += _share_checks(session, host, loaded, names)
        elif key in ROLE_GRANTS:
            ok = holds(key, groups)
            note = "" if ok else rbac_roles_note(groups)
            checks.append(PreflightCheck(host, requirement, ok, f"{'held' if ok else 'NOT held'}"
                                         f" (needed by {names}){note}",
                                         fix=None if ok else ROLE_FIX[key].format(user=user)))
        else:
            checks.append(PreflightCheck(host, requirement, False, f"cannot be verified "
                                         f"(needed by {names})"))
    if manager:
        checks += _cmdlet_checks(collector, session, host, probes, loaded, user)
    return checks


def _identity(session: Session) -> tuple[list[str], Failure | None]:
    script = (PROBES_DIR / "ps" / IDENTITY_SCRIPT).read_text(encoding="utf-8")
    identity = _try(session, lambda ps: ps.add_script(script), IDENTITY_SCRIPT)
    if isinstance(identity, Failure):
        return [], identity
    found = to_json(identity[0]) if identity else None
    raw = found.get("Groups") if isinstance(found, dict) else None
    return ([str(g) for g in raw] if isinstance(raw, list) else []), None


def _try(session: Session, build: Callable[[Any], None], label: str) -> list[Any] | Failure:
    try:
        return session.call(build, label)
    except _FailedError as err:
        return err.failure
    except Exception as exc:  # noqa: BLE001
        failure = transport_failure(exc, session.where, opening=False)
        return Failure(failure.status, scrub(failure.message, session.secret))


def _command(name: str, **parameters: Any) -> Callable[[Any], None]:
    def build(ps: Any) -> None:
        ps.add_cmdlet(name)
        for key, value in parameters.items():
            ps.add_parameter(key, value)

    return build


def _share_checks(session: Session, host: str, loaded: LoadedInventory,
                  names: str) -> list[PreflightCheck]:
    """Get-Item on each share (Test-Path would say False alike for missing and refused)."""
    checks = []
    for share in share_paths(loaded.inventory):
        result = _try(session, _command("Get-Item", LiteralPath=share, ErrorAction="Stop"),
                      "Get-Item")
        ok = not isinstance(result, Failure) and bool(result)
        fix = None if ok else SHARE_FIX
        detail = "readable"
        if isinstance(result, Failure):
            detail = result.message
            if result.status is Status.DENIED and second_hop(session.access.auth, detail,
                                                              share=True):
                far = share.lstrip("\\").split("\\", 1)[0]
                fix = delegation_fix(session.access.auth, f"the share's host {far}")
            elif result.status is not Status.DENIED:
                fix = "check that the share and folder exist, then " + SHARE_FIX
        elif not ok:
            detail = "not found or not readable"
        checks.append(PreflightCheck(host, f"file share read {share}", ok,
                                     f"{detail} (needed by {names})", fix=fix))
    return checks


def _cmdlet_checks(collector: LyncCollector, session: Session, host: str,
                   probes: Sequence[PsProbe], loaded: LoadedInventory,
                   user: str) -> list[PreflightCheck]:
    """The Lync module imported once, every probe cmdlet there, then each one run once (the
    only proof that the session may run it: RBAC roles say nothing here)."""
    refused = session.ensure_module(LYNC_MODULE)
    if refused is not None:
        return [PreflightCheck(host, "Lync module", False, refused.message,
                               fix="run the audit against a server with the Lync Server "
                               "Management Shell (Lync Server 2013 core components)")]
    available, missing = _cmdlet_check(session, host, probes)
    checks = [PreflightCheck(host, "Lync module", True, "Import-Module Lync succeeded"),
              available]
    management, _ = plan(loaded, collector.catalogue)
    tried: set[str] = set()
    for task in management:
        probe = task.probe
        if (not probe.command or probe.name in tried or task.problem is not None
                or probe.command in missing):
            continue
        tried.add(probe.name)
        checks.append(_run_check(session, host, task, user))
    return checks


def _run_check(session: Session, host: str, task: Task, user: str) -> PreflightCheck:
    probe = task.probe
    label = f"runs {probe.name}"
    result = session.run(task)
    if not isinstance(result, Failure):
        return PreflightCheck(host, label, True, f"{probe.command} answered ({len(result)} "
                              "objects)")
    fix = None
    if second_hop(session.access.auth, result.message, share=False):
        fix = delegation_fix(session.access.auth, "the Central Management store's SQL Server")
    elif result.status is Status.DENIED:
        fix = ROLE_FIX.get(probe.rbac.lower(), "").format(user=user) or None
    return PreflightCheck(host, label, False, f"{result.message} (needs {probe.rbac})", fix=fix)


def _cmdlet_check(session: Session, host: str,
                  probes: Sequence[PsProbe]) -> tuple[PreflightCheck, list[str]]:
    missing: list[str] = []
    for command in sorted({p.command for p in probes if p.command}):
        result = _try(session, _command("Get-Command", Name=command), "Get-Command")
        if isinstance(result, Failure) or not result:
            missing.append(command)
    if missing:
        return PreflightCheck(host, "cmdlets", False, "not available to the account: "
                              + ", ".join(missing), fix="run on a server with the Lync Server "
                              "2013 Management Shell, whose Lync module has these cmdlets"
                              ), missing
    return PreflightCheck(host, "cmdlets", True, "every probe cmdlet is available"), missing
