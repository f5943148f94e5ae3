"""Canonical JSON: one byte form per value, so hashes and results are reproducible."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import tempfile
import uuid
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from auditor.errors import InputError

__all__ = [
    "CanonicalRows",
    "JsonValue",
    "canonical_bytes",
    "canonical_rows",
    "check_replaceable",
    "check_writable",
    "pretty_bytes",
    "sha256_of",
    "sha256_of_json",
    "to_json_value",
    "write_atomic",
]

# Value types already in canonical form: a column holding only these (and None) is kept as is.
_PLAIN_TYPES: frozenset[type] = frozenset({str, int, bool, type(None)})


def to_json_value(value: Any) -> JsonValue:
    """Fixed forms: datetimes ISO 8601 (naive stays naive), Decimal as digits, UUID upper-case."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    raise TypeError(f"no canonical JSON form for {type(value).__name__}")


class CanonicalRows(list[dict[str, JsonValue]]):
    """Rows whose values are already canonical JSON values, keys in sorted order."""


def canonical_rows(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> CanonicalRows:
    """A driver's result (column names, rows of values) as canonical rows, column by column.

    Only the columns holding something other than str, int, bool and None (datetimes, decimals,
    UUIDs, bytes) are converted, and each row is built once with sorted keys: per value this is
    several times cheaper than `to_json_value` on each row (benchmarks/sql.py). Raises TypeError
    for a value with no canonical form, as `to_json_value` does.
    """
    if not rows:
        return CanonicalRows()
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    if len(columns) != len(names):
        raise ValueError(f"{len(names)} column names but rows of {len(columns)} values")
    converted = [column if set(map(type, column)) <= _PLAIN_TYPES
                 else [to_json_value(v) for v in column] for column in columns]
    order = sorted(range(len(names)), key=names.__getitem__)
    keys = [str(names[i]) for i in order]
    return CanonicalRows(dict(zip(keys, values, strict=True))
                         for values in zip(*(converted[i] for i in order), strict=True))


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8."""
    text = json.dumps(to_json_value(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def sha256_of_json(value: JsonValue) -> str:
    """SHA-256 of a value that is already in canonical JSON form (skips the conversion)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_of(value: Any) -> str:
    """SHA-256 of the canonical JSON of a value."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def pretty_bytes(value: Any) -> bytes:
    """Stable, readable JSON for files people open: sorted keys, two-space indent."""
    text = json.dumps(to_json_value(value), sort_keys=True, indent=2, ensure_ascii=False,
                      allow_nan=False)
    return (text + "\n").encode("utf-8")


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def check_replaceable(path: Path) -> None:
    """Refuse a path that exists and is not a regular file (a device, folder, FIFO, socket or
    symbolic link): an atomic write would put a regular file in its place. A symbolic link is
    refused rather than followed, so a link planted at the output path cannot redirect a
    write made as root (docs/output-folder.md)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(path, f"cannot be written: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise InputError(path, f"is {_kind(mode)}, not a regular file; refusing to replace it")


def check_writable(path: Path) -> None:
    """Before any long work: the file could be written (a regular file or nothing at the path,
    and its folder exists or can be made, and takes a new file)."""
    check_replaceable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(path, f"cannot be written: {exc.strerror or exc}") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, fsync, then rename over it.

    Refuses to replace anything but a regular file (check_replaceable). A failure to write
    (no space left, a read-only file system, no permission) is an InputError naming the path.
    """
    check_replaceable(path)
    try:
        _write_and_rename(path, data)
    except OSError as exc:
        raise InputError(path, f"cannot be written: {exc.strerror or exc}") from None


def _write_and_rename(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; reports are meant to be handed over
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
