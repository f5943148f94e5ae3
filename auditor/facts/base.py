"""Known-or-unknown values and the parsing helpers every fact module uses."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from auditor.canonical import JsonValue
from auditor.evidence import EvidenceBundle, Observation, Source, observation_id

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Known(Generic[T]):
    """A fact read from evidence, with the observations it came from."""

    value: T
    evidence_ids: tuple[str, ...]


@dataclass(frozen=True)
class Unknown:
    """A fact that could not be established, and why. Never a pass."""

    reason: str
    evidence_ids: tuple[str, ...] = ()


Fact = Known[T] | Unknown


class BadValueError(ValueError):
    """A row value that does not have the type its probe promises."""

    def __init__(self, column: str, value: object, expected: str, *, problem: bool = False) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        detail = f"{shown}: {expected}" if problem else f"{shown} is not {expected}"
        super().__init__(f"column {column}: {detail}")


def fact_from(
    bundle_index: Mapping[str, Observation], source: Source, probe: str, target: str,
    parse: Callable[[Observation], T],
) -> Fact[T]:
    """Find one observation and parse its rows; every failure becomes Unknown with a reason."""
    obs_id = observation_id(source, probe, target)
    obs = bundle_index.get(obs_id)
    if obs is None:
        return Unknown(f"no {probe} evidence for {target} (not collected)")
    if not obs.ok:
        detail = f": {obs.error}" if obs.error else ""
        return Unknown(f"{probe} on {target} ended {obs.status.value}{detail}", (obs.id,))
    try:
        return Known(parse(obs), (obs.id,))
    except BadValueError as exc:
        return Unknown(f"{probe} on {target}: {exc}", (obs.id,))


def index(bundle: EvidenceBundle) -> dict[str, Observation]:
    """Observations by id."""
    return {obs.id: obs for obs in bundle.observations}


def combine(first: Fact[T], second: Fact[U], join: Callable[[T, U], T]) -> Fact[T]:
    """Both facts known: join them; otherwise the first unknown."""
    if isinstance(first, Unknown):
        return first
    if isinstance(second, Unknown):
        return second
    return Known(join(first.value, second.value), first.evidence_ids + second.evidence_ids)


# --- column readers: each raises BadValueError naming the column -------------------------

def col(row: Mapping[str, JsonValue], name: str) -> JsonValue:
    """A column that must be present (it may be null)."""
    try:
        return row[name]
    except KeyError:
        raise BadValueError(name, "<missing>", "present") from None


def as_str(row: Mapping[str, JsonValue], name: str) -> str:
    value = col(row, name)
    if type(value) is not str:
        raise BadValueError(name, value, "a string")
    return value


def as_opt_str(row: Mapping[str, JsonValue], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValueError(name, value, "a string")
    return value


def as_int(row: Mapping[str, JsonValue], name: str) -> int:
    value = col(row, name)
    if type(value) is not int:  # `type`, not isinstance: a bool is no integer here
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        raise BadValueError(name, value, "an integer")
    return value


def as_opt_int(row: Mapping[str, JsonValue], name: str) -> int | None:
    return None if row.get(name) is None else as_int(row, name)


def as_bool(row: Mapping[str, JsonValue], name: str) -> bool:
    """bit columns: pyodbc gives bool; psqlODBC without BoolsAsChar=0 gives '0'/'1'."""
    value = col(row, name)
    if type(value) is bool:
        return value
    if value in (0, 1, "0", "1"):
        return value in (1, "1")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadValueError(name, value, "a bit (0/1)")


def as_opt_bool(row: Mapping[str, JsonValue], name: str) -> bool | None:
    return None if row.get(name) is None else as_bool(row, name)


def as_decimal(row: Mapping[str, JsonValue], name: str) -> Decimal | None:
    value = row.get(name)
    if value is None:
        return None
    if type(value) is str:  # the common case (LSNs, sizes as text), checked first: it is hot
        try:
            return Decimal(value)
        except InvalidOperation:
            raise BadValueError(name, value, "a number") from None
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise BadValueError(name, value, "a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise BadValueError(name, value, "a number") from None


def as_naive(row: Mapping[str, JsonValue], name: str) -> dt.datetime:
    """A naive server-local datetime as pyodbc returns it (ISO text in the bundle)."""
    value = col(row, name)
    parsed = _parse_naive(value)
    if parsed is None:
        raise BadValueError(name, value, "a date and time")
    return parsed


def as_opt_naive(row: Mapping[str, JsonValue], name: str) -> dt.datetime | None:
    return None if row.get(name) is None else as_naive(row, name)


def _parse_naive(value: JsonValue) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else None


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def as_ps_datetime(row: Mapping[str, JsonValue], name: str,
                   naive_offset: dt.timedelta | None = None) -> dt.datetime | None:
    """A PowerShell date, always returned in UTC: ISO 8601 as the collector writes a CLIXML
    DateTime (with its offset; none for Kind Unspecified), or `\\/Date(ms)\\/` and a
    {value: ...} wrapper as ConvertTo-Json wrote them in older and demo bundles. A date without
    an offset is read only when the caller says which offset it assumes (`naive_offset`)."""
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, str):
        match = _MS_DATE.match(value)
        if match:
            millis = int(match.group(1))
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=millis)
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None and naive_offset is not None:
            parsed = parsed.replace(tzinfo=dt.timezone(naive_offset))
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(dt.UTC)
    raise BadValueError(name, row.get(name), "a date with a zone (/Date(ms)/ or ISO 8601)")


def as_list(value: JsonValue) -> list[JsonValue]:
    """A list; also as ConvertTo-Json wrote one in older and demo bundles: a single object
    where an array is expected, or Windows PowerShell's {"value": [...], "Count": n} wrapper."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and set(value) == {"value", "Count"} and isinstance(
            value["value"], list):
        return value["value"]
    return [value]


def as_ps_bool(row: Mapping[str, JsonValue], name: str) -> bool:
    """PowerShell booleans, tolerating 'True'/'False' strings from Select-Object output."""
    return as_bool(row, name)
