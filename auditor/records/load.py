"""Loading the records admins keep, from one YAML file or a folder of YAML and CSV files.

Two layouts are accepted (docs/records.md):
- one YAML file holding `{kind: [rows...]}` for any of the kinds of RECORD_KINDS;
- a folder holding `<kind>.yaml` (a list, or `{kind: [...]}`) and/or `<kind>.csv` (header row,
  empty cells = null), at most one file per kind.
Every bad input raises InputError naming the file, the line and the field; when a file has
several errors, MultipleInputError holds them all, in line order (files in kind order).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.errors import InputError, MultipleInputError, in_line_order, raise_all, reads_input
from auditor.records.models import RECORD_KINDS, Record, _identity
from auditor.yamlio import (
    LineMap,
    Loc,
    dotted,
    line_of,
    load_csv,
    load_yaml,
    shown_key,
    validation_errors,
)


@dataclass(frozen=True)
class LoadedKind:
    """The records of one kind and the file (name only) they came from."""

    records: tuple[Record, ...]
    file: str


# (line, field) of a row's field: lets YAML and CSV share the duplicate check.
Locate = Callable[[int, str], tuple[int | None, str]]


def load_records(path: Path) -> dict[str, tuple[Record, ...]]:
    """Records by kind, only for the kinds the file or folder provides."""
    return {kind: loaded.records for kind, loaded in load_records_files(path).items()}


@reads_input
def load_records_files(path: Path) -> dict[str, LoadedKind]:
    """Like load_records, keeping the file name each kind came from."""
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() == ".csv":
        raise InputError(path, "a single records file must be YAML ({kind: [rows]}); "
                         "put CSV files in a folder, one <kind>.csv per kind")
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(path, "the records file must be a mapping of kind: [rows]", line=1)
    loaded: dict[str, LoadedKind] = {}
    errors: list[InputError] = []
    for kind, rows in data.items():
        if kind not in RECORD_KINDS:
            errors.append(InputError(path, f"unknown record kind (expected one of "
                                     f"{', '.join(RECORD_KINDS)})", line=lines.get((kind,)),
                                     field=shown_key(kind)))
            continue
        try:
            loaded[kind] = LoadedKind(_yaml_rows(path, lines, kind, rows, (kind,)), path.name)
        except InputError as exc:
            errors.append(exc)
        except MultipleInputError as exc:
            errors += exc.errors
    raise_all(in_line_order(errors))
    return {kind: loaded[kind] for kind in RECORD_KINDS if kind in loaded}


def _load_folder(folder: Path) -> dict[str, LoadedKind]:
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        suffix = entry.suffix.lower()
        if entry.name.startswith(".") or suffix not in (".yaml", ".yml", ".csv"):
            continue
        kind = entry.stem
        if kind not in RECORD_KINDS:
            raise InputError(entry, f"unknown record kind {shown_key(kind)!r} (name record files "
                             f"<kind>.yaml or <kind>.csv: {', '.join(RECORD_KINDS)})")
        if kind in found:
            raise InputError(entry, f"records of kind {kind} are given twice: "
                             f"{found[kind].name} and {entry.name}")
        found[kind] = entry
    if not found:
        raise InputError(folder, "no record files (<kind>.yaml or <kind>.csv) in this folder")
    loaded = {}
    errors: list[InputError] = []
    for kind in RECORD_KINDS:
        if kind not in found:
            continue
        entry = found[kind]
        try:
            records = _csv_file(entry, kind) if entry.suffix.lower() == ".csv" else _yaml_file(
                entry, kind)
        except InputError as exc:
            errors.append(exc)
            continue
        except MultipleInputError as exc:
            errors += exc.errors
            continue
        loaded[kind] = LoadedKind(records, entry.name)
    raise_all(errors)
    return loaded


def _yaml_file(path: Path, kind: str) -> tuple[Record, ...]:
    data, lines = load_yaml(path)
    if isinstance(data, dict):
        if list(data) != [kind]:
            other = next((k for k in data if k != kind), kind)
            raise InputError(path, f"a {path.name} holds a list of rows, or {{{kind}: [rows]}}",
                             line=lines.get((other,)), field=shown_key(other))
        return _yaml_rows(path, lines, kind, data[kind], (kind,))
    return _yaml_rows(path, lines, kind, data, ())


def _yaml_rows(path: Path, lines: LineMap, kind: str, rows: Any, prefix: Loc) -> tuple[Record, ...]:
    if not isinstance(rows, list):
        raise InputError(path, "must be a list of rows", line=line_of(lines, prefix),
                         field=dotted(prefix) or None)
    model = RECORD_KINDS[kind]
    records: dict[int, Record] = {}
    errors: list[InputError] = []
    for i, row in enumerate(rows):
        try:
            records[i] = model.model_validate(row)
        except ValidationError as exc:
            errors += validation_errors(exc, path, lines, (*prefix, i))

    def locate(i: int, field: str) -> tuple[int | None, str]:
        loc = (*prefix, i, field)
        return line_of(lines, loc), dotted(loc)

    raise_all(in_line_order(errors + _duplicates(path, records, locate)))
    return tuple(records.values())


def _csv_file(path: Path, kind: str) -> tuple[Record, ...]:
    header, rows, lines = load_csv(path)
    model = RECORD_KINDS[kind]
    _csv_header(path, model, header)
    records: dict[int, Record] = {}
    errors: list[InputError] = []
    for i, row in enumerate(rows):
        cells = {k: v for k, v in row.items() if v is not None}
        try:
            records[i] = model.model_validate(cells, context={"csv": True})
        except ValidationError as exc:
            errors += validation_errors(exc, path, {(): lines[(i,)]})

    def locate(i: int, field: str) -> tuple[int | None, str]:
        return lines.get((i,)), field

    raise_all(in_line_order(errors + _duplicates(path, records, locate)))
    return tuple(records.values())


def _csv_header(path: Path, model: type[Record], header: list[str]) -> None:
    """Columns must be fields of the kind, each once."""
    seen: set[str] = set()
    errors = []
    for raw in header:
        column = raw.strip()
        if not column:
            errors.append(InputError(path, "empty column name in the header row", line=1))
        elif column in seen:
            errors.append(InputError(path, "duplicate column", line=1, field=shown_key(column)))
        elif column not in model.model_fields:
            errors.append(InputError(path, "unknown field", line=1, field=shown_key(column)))
        seen.add(column)
    raise_all(errors)


def _duplicates(path: Path, records: dict[int, Record], locate: Locate) -> list[InputError]:
    """Rows (by their index in the file) that repeat an earlier row's identity."""
    first: dict[Hashable, int] = {}
    errors = []
    for i, record in records.items():
        identity = _identity(record)
        if identity is None:
            continue
        field, key, label = identity
        if key in first:
            line, where = locate(i, field)
            earlier, _ = locate(first[key], field)
            errors.append(InputError(path, f"duplicate {label} (first on line {earlier})",
                                     line=line, field=where))
            continue
        first[key] = i
    return errors
