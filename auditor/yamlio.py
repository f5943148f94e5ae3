"""Safe YAML/CSV loading that remembers the line of every value, for `file:line: field` errors."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from auditor.errors import InputError

MAX_INPUT_BYTES = 8 * 1024 * 1024
MAX_NODES = 200_000

Loc = tuple[str | int, ...]
LineMap = dict[Loc, int]
ModelT = TypeVar("ModelT", bound=BaseModel)


class _AliasError(yaml.YAMLError):
    """An alias in the document: refused, since aliases can expand into a YAML bomb."""

    def __init__(self, line: int) -> None:
        super().__init__("alias")
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans and dates stay strings (YAML 1.2 style),
    and aliases are refused where they appear."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _AliasError(event.start_mark.line + 1)
        return super().compose_node(parent, index)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool",
                                                              "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def read_text(path: Path) -> str:
    """Read a regular UTF-8 file, refusing directories, FIFOs, dangling links and huge files."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        kind = "dangling symbolic link" if os.path.islink(path) else "file not found"
        raise InputError(path, kind) from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory, expected a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "is not a regular file (FIFO, socket or device)")
    if info.st_size > MAX_INPUT_BYTES:
        raise InputError(path, f"file too large ({info.st_size} bytes, limit {MAX_INPUT_BYTES})")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, "not valid UTF-8 text", line=line) from None
    if not text.strip():
        raise InputError(path, "file is empty", line=1)
    return text.removeprefix("\ufeff")


def load_yaml(path: Path) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the data and the line of every key path."""
    text = read_text(path)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
    except _AliasError as exc:
        raise InputError(path, "YAML aliases are not allowed", line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(path, f"invalid YAML: {exc.problem or exc.context}", line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(path, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        raise InputError(path, "file holds no YAML document", line=1)
    lines: LineMap = {}
    builder = _Builder(path, loader, lines)
    return builder.build(node, ()), lines


class _Builder:
    """Turns a composed node tree into plain data, refusing aliases and duplicate keys."""

    def __init__(self, path: Path, loader: yaml.SafeLoader, lines: LineMap) -> None:
        self.path = path
        self.loader = loader
        self.lines = lines
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        line = node.start_mark.line + 1
        if id(node) in self.seen or len(self.seen) > MAX_NODES:
            raise InputError(self.path, "YAML aliases and anchors are not allowed", line=line,
                             field=dotted(loc) or None)
        self.seen.add(id(node))
        self.lines[loc] = line
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise InputError(self.path, f"invalid value: {exc}", line=line,
                             field=dotted(loc) or None) from None

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            merge = key_node.tag == "tag:yaml.org,2002:merge"
            if not isinstance(key_node, yaml.ScalarNode) or merge:
                raise InputError(self.path, "keys must be plain strings", line=key_line,
                                 field=dotted(loc) or None)
            key = str(key_node.value)
            if key in result:
                raise InputError(self.path, "duplicate key", line=key_line,
                                 field=dotted((*loc, key)))
            result[key] = self.build(value_node, (*loc, key))
            self.lines[(*loc, key)] = key_line
        return result


def csv_delimiter(text: str) -> str:
    """`;` when the header row has semicolons and no commas (Excel's CSV in the locales that
    write decimal commas), else `,`."""
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


def load_csv(path: Path) -> tuple[list[str], list[dict[str, Any]], LineMap]:
    """Read a CSV file with a header row, comma or semicolon separated: the header's cells as
    written, then the rows (empty cells become None) and their lines."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text))
    rows: list[dict[str, Any]] = []
    lines: LineMap = {(): 1}
    try:
        header = list(reader.fieldnames or [])
        for i, row in enumerate(reader):
            if None in row:
                raise InputError(path, "more cells than header columns", line=reader.line_num)
            rows.append({k.strip(): (v.strip() or None) if isinstance(v, str) else v
                         for k, v in row.items()})
            lines[(i,)] = reader.line_num
    except csv.Error as exc:
        raise InputError(path, f"invalid CSV: {exc}", line=reader.line_num) from None
    return header, rows, lines


def load_json_document(path: Path, file_format: str, description: str) -> dict[str, Any]:
    """A JSON file whose top-level `format` names what it is (bundle, results)."""
    text = read_text(path)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(raw, dict) or raw.get("format") != file_format:
        raise InputError(path, f"not an auditor {description}", field="format")
    return raw


def json_validation_error(exc: ValidationError, path: Path) -> InputError:
    """The first pydantic error of a JSON document, naming its field."""
    err = exc.errors(include_url=False)[0]
    return InputError(path, str(err["msg"]), field=".".join(str(p) for p in err["loc"]))


def dotted(loc: Sequence[str | int]) -> str:
    """`pools[2].fqdn` from ('pools', 2, 'fqdn')."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def line_of(lines: Mapping[Loc, int], loc: Sequence[str | int]) -> int | None:
    """The line of the longest known prefix of `loc`."""
    for end in range(len(loc), -1, -1):
        found = lines.get(tuple(loc[:end]))
        if found is not None:
            return found
    return None


def validate(model: type[ModelT], data: Any, path: Path, lines: LineMap,
             prefix: Loc = ()) -> ModelT:
    """Validate data with a pydantic model, turning the first error into an InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path, lines, prefix) from None


def validation_error(exc: ValidationError, path: Path, lines: Mapping[Loc, int],
                     prefix: Loc = ()) -> InputError:
    """The first pydantic error as `file:line: field: message`."""
    errors = exc.errors(include_url=False)
    # An unknown key is usually a typo of a required one: report the typo, not the absence.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field is missing"
    return InputError(path, message, line=line_of(lines, loc), field=dotted(loc) or None)
