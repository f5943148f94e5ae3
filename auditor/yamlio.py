"""Safe YAML/CSV loading that remembers the line of every value, for `file:line: field` errors.

The loader refuses what PyYAML would turn into a traceback or a surprise: control characters,
aliases, nesting deeper than MAX_YAML_DEPTH, tags on the wrong kind of value, numbers longer than
MAX_NUMBER_CHARS, NaN and infinities. Limits are in auditor.limits (docs/limits.md).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError
from auditor.limits import (
    MAX_NUMBER_CHARS,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    control_character,
)
from auditor.validation import (
    LineMap,
    Loc,
    ModelT,
    dotted,
    json_validation_error,
    line_of,
    shown_key,
    validate,
    validation_error,
    validation_errors,
)

__all__ = ["MAX_INPUT_BYTES", "LineMap", "Loc", "ModelT", "csv_delimiter", "dotted",
           "json_validation_error", "line_of", "load_csv", "load_yaml", "read_text",
           "shown_key", "validate", "validation_error", "validation_errors"]

MAX_INPUT_BYTES = MAX_YAML_BYTES
MAX_NODES = MAX_YAML_NODES
_YAML = "tag:yaml.org,2002:"
_NUMBER_TAGS = (f"{_YAML}int", f"{_YAML}float")


class _RefusedError(yaml.YAMLError):
    """Something the strict loader refuses where it appears (an alias, too deep a nesting)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans and dates stay strings (YAML 1.2 style),
    aliases are refused where they appear and collections nest at most MAX_YAML_DEPTH deep."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent):
            raise _RefusedError("YAML aliases are not allowed", line)
        if self.depth >= MAX_YAML_DEPTH:
            raise _RefusedError(f"nested deeper than {MAX_YAML_DEPTH} levels", line)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in {f"{_YAML}{name}" for name in ("bool", "timestamp", "int", "float")}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    f"{_YAML}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
# YAML 1.1's numbers without its base-60 forms: `12:30` is a time of day (text), not 750.
_StrictLoader.add_implicit_resolver(f"{_YAML}int", re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
_StrictLoader.add_implicit_resolver(f"{_YAML}float", re.compile(
    r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


def read_text(path: Path, limit: int = MAX_YAML_BYTES) -> str:
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
    if info.st_size > limit:
        raise InputError(path, f"file too large ({info.st_size} bytes, limit {limit})")
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


def _read_plain_text(path: Path) -> str:
    """read_text, refusing control characters (YAML and CSV inputs are text people write)."""
    text = read_text(path)
    found = control_character(text)
    if found:
        raise InputError(path, f"{_character(found.group())} is not allowed",
                         line=text.count("\n", 0, found.start()) + 1)
    return text


def _character(char: str) -> str:
    kind = "lone surrogate" if "\ud800" <= char <= "\udfff" else (
        "noncharacter" if char in "\ufffe\uffff" else "control character")
    return f"{kind} U+{ord(char):04X}"


def load_yaml(path: Path) -> tuple[Any, LineMap]:
    """Parse one YAML document; return the data and the line of every key path."""
    loader = _StrictLoader(_read_plain_text(path))
    try:
        node = loader.get_single_node()
    except _RefusedError as exc:
        raise InputError(path, exc.message, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(path, f"invalid YAML: {_clip(exc.problem or exc.context)}",
                         line=line) from None
    except yaml.YAMLError:
        raise InputError(path, "invalid YAML") from None
    finally:
        loader.dispose()
    if node is None:
        raise InputError(path, "file holds no YAML document", line=1)
    lines: LineMap = {}
    builder = _Builder(path, loader, lines)
    return builder.build(node, ()), lines


def _clip(problem: str | None) -> str:
    """PyYAML's description of a syntax error, which may quote a character or a tag of the
    file: quoted parts longer than three characters left out, non-printable characters escaped,
    at most 80 characters."""
    text = re.sub(r"(?:(?<=\s)|^)'[^']{4,}'", "'…'", problem or "syntax error")
    text = text.encode("unicode_escape").decode("ascii").replace("\\u2026", "…")
    return text if len(text) <= 80 else text[:79] + "…"


class _Builder:
    """Turns a composed node tree into plain data, refusing aliases, duplicate keys, tags on
    the wrong kind of value, over-long numbers, non-finite floats and control characters."""

    def __init__(self, path: Path, loader: yaml.SafeLoader, lines: LineMap) -> None:
        self.path = path
        self.loader = loader
        self.lines = lines
        self.seen: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        line = node.start_mark.line + 1
        if id(node) in self.seen or len(self.seen) > MAX_NODES:
            raise self._error("YAML aliases and anchors are not allowed", line, loc)
        self.seen.add(id(node))
        self.lines[loc] = line
        if isinstance(node, yaml.MappingNode):
            self._tag(node, "map", loc)
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            self._tag(node, "seq", loc)
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, loc)

    def _error(self, message: str, line: int, loc: Loc) -> InputError:
        return InputError(self.path, message, line=line, field=dotted(loc) or None)

    def _tag(self, node: yaml.Node, expected: str, loc: Loc) -> None:
        if node.tag != f"{_YAML}{expected}":
            what = "mapping" if expected == "map" else "list"
            raise self._error(f"{_tag_name(node.tag)} is not allowed on a {what}",
                              node.start_mark.line + 1, loc)

    def _scalar(self, node: yaml.Node, loc: Loc) -> Any:
        line = node.start_mark.line + 1
        if node.tag in _NUMBER_TAGS and len(str(node.value)) > MAX_NUMBER_CHARS:
            raise self._error(f"number longer than {MAX_NUMBER_CHARS} characters", line, loc)
        try:
            value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            raise self._error(f"{_tag_name(node.tag)} is not supported", line, loc) from None
        except (ValueError, KeyError, TypeError, OverflowError, yaml.YAMLError):
            short = _tag_name(node.tag).removeprefix("YAML tag ")
            raise self._error(f"not a valid {short} value", line, loc) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise self._error("not a finite number (NaN and infinities are not allowed)", line,
                              loc)
        if isinstance(value, str) and (found := control_character(value)):
            raise self._error(f"{_character(found.group())} is not allowed", line, loc)
        return value

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            merge = key_node.tag == f"{_YAML}merge"
            if not isinstance(key_node, yaml.ScalarNode) or merge:
                raise self._error("keys must be plain strings", key_line, loc)
            key = str(key_node.value)
            if found := control_character(key):
                raise self._error(f"{_character(found.group())} is not allowed in a key",
                                  key_line, loc)
            if key in result:
                raise self._error("duplicate key", key_line, (*loc, key))
            result[key] = self.build(value_node, (*loc, key))
            self.lines[(*loc, key)] = key_line
        return result


def _tag_name(tag: str) -> str:
    """`YAML tag !!int` for the standard tags; other tags are the file's content and are not
    shown."""
    if tag.startswith(_YAML) and tag[len(_YAML):].isalpha():
        return f"YAML tag !!{tag[len(_YAML):]}"
    return "a custom YAML tag"


def csv_delimiter(text: str) -> str:
    """`;` when the header row has semicolons and no commas (Excel's CSV in the locales that
    write decimal commas), else `,`."""
    header = text.split("\n", 1)[0]
    return ";" if ";" in header and "," not in header else ","


def load_csv(path: Path) -> tuple[list[str], list[dict[str, Any]], LineMap]:
    """Read a CSV file with a header row, comma or semicolon separated: the header's cells as
    written, then the rows (empty cells become None) and their lines."""
    text = _read_plain_text(path)
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
    except csv.Error as exc:  # its messages name a limit or a syntax character, not content
        raise InputError(path, f"invalid CSV: {exc}", line=reader.line_num) from None
    return header, rows, lines

