"""`preflight --remediation`: a test-write to the export share from the Lync session on the
first management server, exactly as the exports write there (the same second hop), then the
file removed. Values are sent with add_parameter, never in a script."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from auditor.collect.base import PreflightCheck
from auditor.collect.lync_collector import LyncCollector
from auditor.collect.lync_session import Session
from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.connect.winrm_transport import _FailedError, scrub, transport_failure
from auditor.inventory import LoadedInventory, LyncAccess

CHECK = "remediation: write to the export share"
TEST_TEXT = "auditor preflight test-write; safe to delete"
FIX = ("give {account} Modify on {share} (share permission Change, and NTFS: icacls "
       '"{share}" /grant "{account}:(OI)(CI)M"), and let {host} pass the credential on to '
       "{share_host}: lync.auth credssp (Enable-WSManCredSSP -Role Server on {host}) or "
       "Kerberos constrained delegation from {host} to cifs/{share_host}")


def open_lync(loaded: LoadedInventory, host: str, *,
              interactive: bool | None) -> Session | str:
    """An open session to the management server with the Lync remediation credential (the
    audit credential when absent), or why not."""
    access: LyncAccess | None = loaded.inventory.lync
    if access is None:
        return "the inventory has no lync: section"
    which = "remediation_credential" if access.remediation_credential else "credential"
    try:
        secret = resolve(access.remediation_credential or access.credential, host,
                         interactive=interactive)
    except SecretUnavailableError as exc:
        return f"lync.{which}: no secret: {exc}"
    session = LyncCollector(interactive=interactive).session(loaded, access, secret, host)
    failure = session.open()
    return session if failure is None else f"lync.{which}: cannot connect: {failure.message}"


def _cmdlet(name: str, values: Mapping[str, str]) -> Callable[[Any], None]:
    def build(ps: Any) -> None:
        ps.add_cmdlet(name)
        for key, value in values.items():
            ps.add_parameter(key, value)
        ps.add_parameter("ErrorAction", "Stop")
    return build


def _run(session: Session, name: str, values: Mapping[str, str]) -> str | None:
    """None when the cmdlet ran without an error record; else the (scrubbed) message."""
    try:
        session.call(_cmdlet(name, values), name,
                     time.monotonic() + session.access.command_timeout_seconds)
    except _FailedError as err:
        return scrub(err.failure.message, session.secret)
    except Exception as exc:  # noqa: BLE001 - every failure is the check's answer
        return scrub(transport_failure(exc, session.where, opening=False).message,
                     session.secret)
    return None


def share_write_check(loaded: LoadedInventory, *,
                      interactive: bool | None = None) -> PreflightCheck | None:
    """Write a uniquely named small file to the export share and remove it (None when the
    inventory has no lync: section: nothing would write there)."""
    inv = loaded.inventory
    if inv.lync is None:
        return None
    host = inv.lync.management_servers[0]
    if inv.export_share is None:
        return PreflightCheck(host, CHECK, False, "the inventory names no export_share",
                              fix="add export_share: {unc: ..., host: ...} to the inventory")
    share = inv.export_share.unc.rstrip("\\")
    credential = inv.lync.remediation_credential or inv.lync.credential
    account = (credential.username if credential else None) or "<the Lync remediation account>"
    fix = FIX.format(account=account, share=share, host=host,
                     share_host=inv.export_share.host or share.lstrip("\\").split("\\")[0])
    opened = open_lync(loaded, host, interactive=interactive)
    if isinstance(opened, str):
        return PreflightCheck(host, CHECK, False, opened,
                              fix="run `auditor preflight` for the Lync connection first")
    path = f"{share}\\auditor-preflight-{uuid.uuid4().hex}.tmp"
    try:
        return _write_and_remove(opened, host, path, fix)
    finally:
        opened.close()


def _write_and_remove(session: Session, host: str, path: str, fix: str) -> PreflightCheck:
    wrote = _run(session, "Set-Content", {"LiteralPath": path, "Value": TEST_TEXT})
    if wrote is not None:
        return PreflightCheck(host, CHECK, False, f"{host} could not write {path}: {wrote}",
                              fix=fix)
    removed = _run(session, "Remove-Item", {"LiteralPath": path})
    if removed is not None:
        return PreflightCheck(host, CHECK, False, f"wrote {path} but could not remove it: "
                              f"{removed}", fix=f"remove {path} by hand; {fix}")
    return PreflightCheck(host, CHECK, True, f"{host}'s session wrote and removed {path}")
