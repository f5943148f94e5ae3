"""The lab's export share: Export-CsConfiguration, -CsRgsConfiguration and -CsUserData write a
real ZIP (Export-CsConfiguration's holds DocItemSet.xml) into a local folder standing in for
the inventory's export share; Export-CsLisConfiguration -AsBytes returns the ZIP's bytes, and
Set-Content / Remove-Item write and remove files there (the LIS bytes, preflight's test-write).
The config_exports probe lists that folder (each ZIP opened with zipfile, as list_exports.ps1
opens it)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psrpcore.types import PSByteArray

from auditor.lab.winrm.wsman import ErrorSpec, Reply

PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
WRITE_ERROR = 23  # ErrorCategory.WriteError
OBJECT_NOT_FOUND = 13
INVALID_ARGUMENT = 5
DOC_ITEM_SET = (b'<?xml version="1.0" encoding="utf-8"?>\n'
                b'<DocItemSet xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008">'
                b'<DocItem Name="urn:xds:lab:topology"/></DocItemSet>\n')
XML = b'<?xml version="1.0" encoding="utf-8"?>\n<LabExport/>\n'
# What each export's ZIP holds here: Export-CsConfiguration's DocItemSet.xml; the LIS and
# Response Group entries as the demo estates' recorded listings show them; Export-CsUserData's
# "pair of XML documents" (Microsoft's page), DocItemSet.xml as third-party tools extract it.
ZIP_ENTRIES = {"export-csconfiguration": {"DocItemSet.xml": DOC_ITEM_SET},
               "export-cslisconfiguration": {"LisConfiguration.xml": XML},
               "export-csrgsconfiguration": {"RgsConfiguration.xml": XML},
               "export-csuserdata": {"DocItemSet.xml": XML, "MetaData.xml": XML}}
FILE_CMDLETS = frozenset({"set-content", "remove-item"})
NEVER = "removeexportedconfiguration"  # deletes the Response Group configuration it exported


@dataclass
class ExportFaults:
    """Settable while the endpoint runs: `denied` (the second hop refused), `error` (any
    other error record, with this message); for the cmdlets in `cmdlets` only (lower case),
    every one when empty."""

    denied: bool = False
    error: str | None = None
    cmdlets: set[str] = field(default_factory=set)


class ExportShare:
    """A folder standing in for `unc` (the inventory's export_share)."""

    def __init__(self, unc: str, folder: Path) -> None:
        self.unc = unc.rstrip("\\")
        self.folder = folder
        self.faults = ExportFaults()
        folder.mkdir(parents=True, exist_ok=True)

    def handles(self, name: str) -> bool:
        """Whether this is one of the export (or share file) cmdlets this share answers."""
        return name.lower() in ZIP_ENTRIES or name.lower() in FILE_CMDLETS

    def export(self, name: str, params: Mapping[str, Any]) -> Reply:
        """The cmdlet's file (or bytes), or the error record a real server gives."""
        given = {k.lower(): v for k, v in params.items()}
        cmdlet = name.lower()
        target = str(given.get("filename", given.get("literalpath", "")))
        fault = self._fault(cmdlet, target)
        if fault is not None:
            return fault
        if NEVER in given:
            return _error("The lab refuses -RemoveExportedConfiguration: it deletes the "
                          "Response Group configuration it exports.", INVALID_ARGUMENT,
                          "ParameterRefused")
        if cmdlet == "export-cslisconfiguration" and given.get("asbytes"):
            return Reply(outputs=[PSByteArray(_zip(ZIP_ENTRIES[cmdlet]))])
        path = self._path(target)
        if path is None:
            return _error(f"Could not find a part of the path '{target}'.", WRITE_ERROR,
                          "DirectoryNotFoundException", "System.IO.DirectoryNotFoundException")
        if cmdlet == "remove-item":
            return self._remove(path, target)
        if path.exists():
            return _error(f"The file '{target}' already exists.", WRITE_ERROR, "IOException",
                          "System.IO.IOException")
        path.write_bytes(_content(given.get("value")) if cmdlet == "set-content"
                         else _zip(ZIP_ENTRIES[cmdlet]))
        return Reply()

    def _fault(self, cmdlet: str, target: str) -> Reply | None:
        if self.faults.cmdlets and cmdlet not in self.faults.cmdlets:
            return None
        if self.faults.denied:
            return _error(f"Access to the path '{target}' is denied.", PERMISSION_DENIED,
                          "UnauthorizedAccessException", "System.UnauthorizedAccessException")
        if self.faults.error:
            return _error(self.faults.error, WRITE_ERROR, "LabInjectedError")
        return None

    def _path(self, target: str) -> Path | None:
        parent, _, name = target.rpartition("\\")
        if parent.lower() != self.unc.lower() or not name or "/" in name or name in {".", ".."}:
            return None
        return self.folder / name

    def _remove(self, path: Path, target: str) -> Reply:
        if not path.is_file():
            return _error(f"Cannot find path '{target}' because it does not exist.",
                          OBJECT_NOT_FOUND, "PathNotFound",
                          "System.Management.Automation.ItemNotFoundException")
        path.unlink()
        return Reply()

    def listing(self) -> list[dict[str, Any]]:
        """config_exports rows for the files in the folder (not recursive)."""
        return [_row(self.unc, path) for path in sorted(self.folder.iterdir()) if path.is_file()]


def _zip(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return buffer.getvalue()


def _content(value: Any) -> bytes:
    """Set-Content's -Value: bytes as they are (-Encoding Byte), text as UTF-8."""
    return bytes(value) if isinstance(value, bytes | bytearray) else str(value).encode()


def _error(message: str, category: int, error_id: str,
           exception: str = "System.Management.Automation.RuntimeException") -> Reply:
    return Reply(failure=ErrorSpec(message, category, error_id, exception))


def _row(unc: str, path: Path) -> dict[str, Any]:
    entries: list[str] = []
    is_zip = False
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                entries, is_zip = archive.namelist(), True
        except (zipfile.BadZipFile, OSError):
            entries, is_zip = [], False
    stat = path.stat()
    written = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
    return {"Name": path.name, "FullName": f"{unc}\\{path.name}", "Length": stat.st_size,
            "LastWriteTimeUtc": written.isoformat(), "IsZip": is_zip, "Entries": entries}
