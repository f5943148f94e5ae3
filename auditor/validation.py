"""Pydantic errors as `file:line: field: message` lines, every error of a file, in line order.

Messages name the file, the line and the field, never the file's content: a key that does not
look like a field name (it may be the first line of a system file named by mistake) is shown as
`<key>`, and pydantic's messages, which never quote the input, are used as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from auditor.errors import InputError, in_line_order, raise_all

Loc = tuple[str | int, ...]
LineMap = dict[Loc, int]
ModelT = TypeVar("ModelT", bound=BaseModel)

_SHOWN_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
HIDDEN_KEY = "<key>"


def shown_key(key: str) -> str:
    """A key as error messages show it: field-name-like keys as they are, others hidden."""
    return key if _SHOWN_KEY.match(key) else HIDDEN_KEY


def dotted(loc: Sequence[str | int]) -> str:
    """`pools[2].fqdn` from ('pools', 2, 'fqdn')."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (
            f".{shown_key(part)}" if out else shown_key(part))
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
    """Validate data with a pydantic model; every error becomes one InputError line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise_all(validation_errors(exc, path, lines, prefix))
        raise  # unreachable: a ValidationError has at least one error


def validation_error(exc: ValidationError, path: Path, lines: Mapping[Loc, int],
                     prefix: Loc = ()) -> InputError:
    """The first error (in line order) of a pydantic error."""
    return validation_errors(exc, path, lines, prefix)[0]


def validation_errors(exc: ValidationError, path: Path, lines: Mapping[Loc, int],
                      prefix: Loc = ()) -> list[InputError]:
    """Every pydantic error as `file:line: field: message`, in line order, each field once."""
    errors = exc.errors(include_url=False)
    # An unknown key is usually a typo of a required one: report the typo, not the absence.
    typo_parents = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    found: list[InputError] = []
    seen: set[tuple[int | None, str | None]] = set()
    for err in errors:
        if err["type"] == "missing" and tuple(err["loc"][:-1]) in typo_parents:
            continue
        item = _one(err, path, lines, prefix)
        if (item.line, item.field) not in seen:
            seen.add((item.line, item.field))
            found.append(item)
    return in_line_order(found)


def _one(err: ErrorDetails, path: Path, lines: Mapping[Loc, int], prefix: Loc) -> InputError:
    loc = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "required field is missing"
    return InputError(path, message, line=line_of(lines, loc), field=dotted(loc) or None)


def json_validation_error(exc: ValidationError, path: Path) -> InputError:
    """The first pydantic error of a JSON document, naming its field (JSON has no line map)."""
    err = exc.errors(include_url=False)[0]
    return InputError(path, str(err["msg"]), field=dotted(
        [p for p in err["loc"] if isinstance(p, str | int)][:12]) or None)
