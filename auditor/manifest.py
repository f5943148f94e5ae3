"""manifest.json: the list of what an output folder holds, written last (docs/output-folder.md).

A folder whose manifest matches its files (every listed file present with its size and SHA-256,
nothing else beside them) holds one whole audit, written by one run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor.errors import InputError

MANIFEST = "manifest.json"
FORMAT = "auditor-output-folder/1"
MAX_MANIFEST_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


class FileEntry(BaseModel):
    """One file of the folder."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(BaseModel):
    """What one run wrote into the folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["auditor-output-folder/1"]
    run_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    command: str = Field(max_length=40)
    tool_version: str = Field(max_length=40)
    created_at: AwareDatetime
    files: tuple[FileEntry, ...]

    def entry(self, name: str) -> FileEntry | None:
        """The entry of a file, if the manifest lists it."""
        return next((f for f in self.files if f.name == name), None)


def file_entry(path: Path) -> FileEntry:
    """Name, size and SHA-256 of a file as it is on disk."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(name=path.name, size=size, sha256=digest.hexdigest())


def build_manifest(folder: Path, run_id: str, command: str, tool_version: str,
                   created_at: dt.datetime) -> Manifest:
    """The manifest of every file in `folder` (flat: anything but a regular file is refused)."""
    entries = []
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST:
            continue
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise InputError(path, "is not a regular file; an output folder holds files only")
        entries.append(file_entry(path))
    return Manifest(format=FORMAT, run_id=run_id, command=command, tool_version=tool_version,
                    created_at=created_at, files=tuple(entries))


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest; None when it has none; InputError when it is not one."""
    path = folder / MANIFEST
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(path, f"cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise InputError(path, f"is over {MAX_MANIFEST_BYTES} bytes; not a manifest")
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise InputError(path, f"not a valid manifest: {first['msg']}", field=where) from None


def problems(folder: Path, manifest: Manifest) -> list[str]:
    """How the folder's files differ from its manifest (empty when they match)."""
    found: list[str] = []
    names = {p.name for p in folder.iterdir()} - {MANIFEST}
    for extra in sorted(names - {f.name for f in manifest.files}):
        found.append(f"{extra}: not in the manifest")
    for entry in manifest.files:
        path = folder / entry.name
        if not path.is_file():
            found.append(f"{entry.name}: missing")
        elif file_entry(path) != entry:
            found.append(f"{entry.name}: size or SHA-256 differs from the manifest")
    return found


def check_against_manifest(path: Path, sha256: str) -> None:
    """A file read from an output folder that has a manifest must be listed there with this
    SHA-256: otherwise it was changed after the audit wrote it, or the folder was replaced
    while it was read."""
    manifest = read_manifest(path.parent)
    if manifest is None:
        return
    entry = manifest.entry(path.name)
    if entry is None:
        raise InputError(path, f"is not listed in {MANIFEST} of its folder (not written by "
                               "the audit there)")
    if entry.sha256 != sha256:
        raise InputError(path, f"does not match {MANIFEST} of its folder (SHA-256 differs): "
                               "changed after the audit wrote it")
