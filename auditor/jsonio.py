"""Reading the JSON files the tool writes (evidence bundles, results.json) as untrusted input.

Refused with one `file:line: message` each: invalid JSON, values canonical JSON cannot encode
(NaN, Infinity, numbers beyond the float range such as 1e400, lone surrogates), integers too
long for Python to read, and nesting deeper than MAX_JSON_DEPTH (docs/limits.md).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.limits import MAX_JSON_DEPTH
from auditor.validation import dotted
from auditor.yamlio import read_text

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_CONSTANT = re.compile(r"[:\[,]\s*(-?Infinity|NaN)\b")
_LONG_INTEGER = re.compile(r"\d{4000,}")


class _NotCanonicalError(Exception):
    """A number literal canonical JSON cannot hold; its text, to find its line."""

    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _refuse_constant(name: str) -> Any:
    raise _NotCanonicalError(name)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotCanonicalError(literal)
    return value


def load_json_document(path: Path, file_format: str, description: str,
                       limit: int) -> dict[str, Any]:
    """A JSON file whose top-level `format` names what it is (bundle, results)."""
    return read_json_document(path, file_format, description, limit)[0]


def read_json_document(path: Path, file_format: str, description: str,
                       limit: int) -> tuple[dict[str, Any], str]:
    """load_json_document, with the file's text (for pydantic's strict JSON validation)."""
    text = read_text(path, limit)
    raw = parse_json(path, text)
    if not isinstance(raw, dict) or raw.get("format") != file_format:
        raise InputError(path, f"not an auditor {description}", field="format")
    return raw, text


def parse_json(path: Path, text: str) -> Any:
    """json.loads, refusing what canonical JSON cannot encode and too deep a nesting."""
    try:
        raw = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotCanonicalError as exc:
        raise InputError(path, "a number canonical JSON cannot hold (NaN, Infinity, or beyond "
                         "the range of a double such as 1e400)",
                         line=_line_of_literal(text, exc.literal)) from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise InputError(path, f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # int(): more digits than Python converts (sys.get_int_max_str_digits)
        found = _LONG_INTEGER.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise InputError(path, "an integer with too many digits", line=line) from None
    _check_tree(path, raw, surrogates=bool(_SURROGATE_ESCAPE.search(text)))
    return raw


def _line_of_literal(text: str, literal: str) -> int | None:
    if literal in ("NaN", "Infinity", "-Infinity"):
        found = _CONSTANT.search(text)
        return text.count("\n", 0, found.start(1)) + 1 if found else None
    at = re.search(r"[:\[,]\s*" + re.escape(literal), text)
    return text.count("\n", 0, at.end()) + 1 if at else None


def _check_tree(path: Path, raw: Any, *, surrogates: bool) -> None:
    """Depth (iteratively, so a deep document cannot exhaust the stack) and, when the text
    holds surrogate escapes, strings that are not valid Unicode."""
    if not isinstance(raw, dict | list):
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) >= MAX_JSON_DEPTH:
            raise InputError(path, f"nested deeper than {MAX_JSON_DEPTH} levels",
                             field=_field(loc))
        children: Any = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in children:
            if surrogates and not (_encodable(key) and _encodable(item)):
                raise InputError(path, "a string holds a lone surrogate (not valid Unicode)",
                                 field=_field((*loc, key)))
            if isinstance(item, dict | list):
                stack.append((item, (*loc, key)))


def _encodable(text: object) -> bool:
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(loc: tuple[str | int, ...]) -> str | None:
    shown = dotted(loc[:6]) + ("…" if len(loc) > 6 else "")
    return shown or None
