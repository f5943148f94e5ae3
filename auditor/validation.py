"""Pydantic errors as `file:line: field: message` lines, every error of a file, in line order.

Messages name the file, the line and the field, never the file's content: a key that does not
look like a field name (it may be the first line of a system file named by mistake) is shown as
`<key>`, and pydantic's messages, which never quote the input, are used as they are.
"""

from __future__ import annotations

import re
import types
import typing
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


Places = Mapping[str, tuple[str, ...]]
MAX_PLACES = 6


def field_places(model: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """Where each field name is valid in a tree of models: {'stores': ('sql_instances[]',),
    'pools': ('',), ...}, '' being the top level. Unknown-field errors name these places."""
    found: dict[str, list[str]] = {}

    def walk(current: type[BaseModel], where: str, depth: int) -> None:
        for name, info in current.model_fields.items():
            found.setdefault(name, []).append(where)
            for child, is_list in _models_in(info.annotation):
                if depth < 4:
                    below = f"{where}.{name}" if where else name
                    walk(child, below + ("[]" if is_list else ""), depth + 1)

    walk(model, "", 0)
    return {name: tuple(dict.fromkeys(places)) for name, places in found.items()}


def _models_in(annotation: Any, in_list: bool = False) -> list[tuple[type[BaseModel], bool]]:
    """The models an annotation holds (through Optional, Annotated and list)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(annotation, in_list)]
    origin = typing.get_origin(annotation)
    if origin is dict:
        return []
    is_list = in_list or origin is list
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        args = typing.get_args(annotation)[:1] if origin is typing.Annotated else (
            typing.get_args(annotation))
        return [m for arg in args for m in _models_in(arg, is_list)]
    return []


def _belongs(key: str, places: Places) -> str | None:
    """'pools belongs at the top level' for a field written in the wrong place."""
    where = places.get(key, ())
    if not where or len(where) > MAX_PLACES or shown_key(key) != key:
        return None
    under = [w for w in where if w]
    named = (["at the top level"] if len(under) < len(where) else []) + (
        [f"under {_either(under)}"] if under else [])
    return f"{key} belongs {' or '.join(named)}"


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def validate(model: type[ModelT], data: Any, path: Path, lines: LineMap,
             prefix: Loc = (), places: Places | None = None) -> ModelT:
    """Validate data with a pydantic model; every error becomes one InputError line. With
    `places` (field_places of the model), an unknown field says where that field belongs."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise_all(validation_errors(exc, path, lines, prefix, places))
        raise  # unreachable: a ValidationError has at least one error


def validation_error(exc: ValidationError, path: Path, lines: Mapping[Loc, int],
                     prefix: Loc = ()) -> InputError:
    """The first error (in line order) of a pydantic error."""
    return validation_errors(exc, path, lines, prefix)[0]


def validation_errors(exc: ValidationError, path: Path, lines: Mapping[Loc, int],
                      prefix: Loc = (), places: Places | None = None) -> list[InputError]:
    """Every pydantic error as `file:line: field: message`, in line order, each field once."""
    errors = exc.errors(include_url=False)
    # An unknown key is usually a typo of a required one: report the typo, not the absence.
    typo_parents = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "extra_forbidden"}
    found: list[InputError] = []
    seen: set[tuple[int | None, str | None]] = set()
    for err in errors:
        if err["type"] == "missing" and tuple(err["loc"][:-1]) in typo_parents:
            continue
        item = _one(err, path, lines, prefix, places or {})
        if (item.line, item.field) not in seen:
            seen.add((item.line, item.field))
            found.append(item)
    return in_line_order(found)


def _one(err: ErrorDetails, path: Path, lines: Mapping[Loc, int], prefix: Loc,
         places: Places) -> InputError:
    loc = (*prefix, *(p for p in err["loc"] if isinstance(p, str | int)))
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        key = loc[-1] if loc and isinstance(loc[-1], str) else ""
        hint = _belongs(key, places)
        message = f"unknown field; {hint}" if hint else "unknown field"
    elif err["type"] == "missing":
        message = "required field is missing"
    return InputError(path, message, line=line_of(lines, loc), field=dotted(loc) or None)


def json_validation_error(exc: ValidationError, path: Path) -> InputError:
    """The first pydantic error of a JSON document, naming its field (JSON has no line map)."""
    err = exc.errors(include_url=False)[0]
    return InputError(path, str(err["msg"]), field=dotted(
        [p for p in err["loc"] if isinstance(p, str | int)][:12]) or None)
