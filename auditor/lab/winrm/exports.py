"""The lab's export share: Export-CsConfiguration writes a real ZIP holding DocItemSet.xml
into a local folder standing in for the inventory's export share, and the config_exports
probe lists that folder (each ZIP opened with zipfile, as list_exports.ps1 opens it)."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.lab.winrm.wsman import ErrorSpec, Reply

PERMISSION_DENIED = 18  # ErrorCategory.PermissionDenied
WRITE_ERROR = 23  # ErrorCategory.WriteError
EXPORT_CMDLETS = frozenset({"export-csconfiguration"})
DOC_ITEM_SET = (b'<?xml version="1.0" encoding="utf-8"?>\n'
                b'<DocItemSet xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008">'
                b'<DocItem Name="urn:xds:lab:topology"/></DocItemSet>\n')


@dataclass
class ExportFaults:
    """Settable while the endpoint runs: `denied` (the second hop refused), `error` (any
    other error record, with this message)."""

    denied: bool = False
    error: str | None = None


class ExportShare:
    """A folder standing in for `unc` (the inventory's export_share)."""

    def __init__(self, unc: str, folder: Path) -> None:
        self.unc = unc.rstrip("\\")
        self.folder = folder
        self.faults = ExportFaults()
        folder.mkdir(parents=True, exist_ok=True)

    def handles(self, name: str) -> bool:
        """Whether this is one of the export cmdlets this share answers."""
        return name.lower() in EXPORT_CMDLETS

    def export(self, params: Mapping[str, Any]) -> Reply:
        """Export-CsConfiguration -FileName: the ZIP, or the error record a real server gives."""
        target = str(next((v for k, v in params.items() if k.lower() == "filename"), ""))
        if self.faults.denied:
            return Reply(failure=ErrorSpec(f"Access to the path '{target}' is denied.",
                                           PERMISSION_DENIED, "UnauthorizedAccessException",
                                           "System.UnauthorizedAccessException"))
        if self.faults.error:
            return Reply(failure=ErrorSpec(self.faults.error, WRITE_ERROR, "LabInjectedError"))
        parent, _, name = target.rpartition("\\")
        if parent.lower() != self.unc.lower() or not name or "/" in name or name in {".", ".."}:
            return Reply(failure=ErrorSpec(f"Could not find a part of the path '{target}'.",
                                           WRITE_ERROR, "DirectoryNotFoundException",
                                           "System.IO.DirectoryNotFoundException"))
        with zipfile.ZipFile(self.folder / name, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("DocItemSet.xml", DOC_ITEM_SET)
        return Reply()

    def listing(self) -> list[dict[str, Any]]:
        """config_exports rows for the files in the folder (not recursive)."""
        return [_row(self.unc, path) for path in sorted(self.folder.iterdir()) if path.is_file()]


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
