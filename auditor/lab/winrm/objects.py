"""PowerShell objects as a Windows server serialises them over remoting (psrpcore types).

A cmdlet's .NET object travels with its real type names and its properties as adapted
properties (`<Props>`); a script's `[pscustomobject]` travels as note properties (`<MS>`).
Remoting serialises at depth 1 (MS-PSRP; PowerShell's serializer): the properties of an output
object are written at depth 0, where a container is still written item by item but any complex
value (a nested object, an enum) becomes its ToString() string. `flatten()` applies that rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psrpcore.types import (
    PSCustomObject,
    PSDateTime,
    PSInt,
    PSInt64,
    PSList,
    PSNoteProperty,
    PSObject,
)

PS_CUSTOM = ("System.Management.Automation.PSCustomObject", "System.Object")


@dataclass(frozen=True)
class Complex:
    """A complex value before serialisation: type names, properties, ToString."""

    type_names: tuple[str, ...]
    props: Mapping[str, Any]
    to_string: str | None = None

    @property
    def custom(self) -> bool:
        """A [pscustomobject] (note properties) rather than a .NET object."""
        return self.type_names == PS_CUSTOM


@dataclass(frozen=True)
class EnumValue:
    """A .NET enum value; at depth 0 it is written as its name."""

    type_name: str
    name: str
    value: int


def custom_to_string(props: Mapping[str, Any]) -> str:
    """How PowerShell turns a [pscustomobject] into a string: @{Name=...; Version=...}."""
    return "@{" + "; ".join(f"{k}={_plain(v)}" for k, v in props.items()) + "}"


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Complex):
        return value.to_string or custom_to_string(value.props)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list | tuple):
        return " ".join(_plain(v) for v in value)
    return str(value)


def to_psobject(value: Complex) -> PSObject:
    """A top-level output object: its own properties at depth 0."""
    if value.custom:
        obj: PSObject = PSCustomObject()
        for name, prop in value.props.items():
            obj.PSObject.extended_properties.append(PSNoteProperty(name, flatten(prop)))
        return obj
    obj = PSObject()
    obj.PSObject.type_names = list(value.type_names)
    obj.PSObject.to_string = value.to_string or value.type_names[0]
    for name, prop in value.props.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, flatten(prop)))
    return obj


def flatten(value: Any) -> Any:
    """A property value at depth 0: primitives as they are, containers item by item, any
    complex value as its string."""
    if isinstance(value, Complex):
        return value.to_string or custom_to_string(value.props)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, TypedList):
        items = PSList([flatten(v) for v in value.items])
        items.PSObject.type_names = list(value.type_names)
        return items
    return value


@dataclass(frozen=True)
class TypedList:
    """A .NET collection with its type names (System.String[], System.Object[], List`1...)."""

    type_names: tuple[str, ...]
    items: Sequence[Any]


def string_array(values: Sequence[Any]) -> TypedList:
    """A System.String[]."""
    return TypedList(("System.String[]", "System.Array", "System.Object"),
                     [None if v is None else str(v) for v in values])


def object_array(values: Sequence[Any]) -> TypedList:
    """A System.Object[]."""
    return TypedList(("System.Object[]", "System.Array", "System.Object"), list(values))


def int64(value: int) -> PSInt64:
    """An Int64 whatever its size (a Python int below 2^31 would travel as Int32)."""
    return PSInt64(value)


def int32(value: int) -> PSInt:
    """An Int32."""
    return PSInt(value)


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_recorded_date(value: Any) -> dt.datetime | None:
    """A date as ConvertTo-Json wrote it (\\/Date(ms)\\/ or ISO 8601); None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _MS_DATE.match(value)
    if match:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
            milliseconds=int(match.group(1)))
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def net_datetime(value: dt.datetime, offset: dt.timedelta | None) -> PSDateTime:
    """A DateTime with 100 ns ticks, as Windows writes it: Kind Utc (`Z`), Local (the given
    offset) or Unspecified (no zone, when the value itself has none)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC if offset is None else dt.timezone(offset))
    stamp = PSDateTime(value)
    stamp.nanosecond = 300  # a seventh fraction digit, as .NET ticks give
    return stamp


# FileSystemRights, as Enum.ToString() names a [Flags] value: greedy from the largest value.
FILE_SYSTEM_RIGHTS: tuple[tuple[str, int], ...] = (
    ("FullControl", 2032127), ("Synchronize", 1048576), ("TakeOwnership", 524288),
    ("ChangePermissions", 262144), ("Modify", 197055), ("ReadAndExecute", 131241),
    ("Read", 131209), ("ReadPermissions", 131072), ("Delete", 65536), ("Write", 278),
    ("WriteAttributes", 256), ("ReadAttributes", 128), ("DeleteSubdirectoriesAndFiles", 64),
    ("ExecuteFile", 32), ("WriteExtendedAttributes", 16), ("ReadExtendedAttributes", 8),
    ("AppendData", 4), ("CreateFiles", 2), ("ReadData", 1),
)


def flags_to_string(value: int, names: Sequence[tuple[str, int]] = FILE_SYSTEM_RIGHTS) -> str:
    """.NET [Flags] enum ToString(): exact name, else names of the parts, else the number."""
    for name, flag in names:
        if flag == value:
            return name
    rest, parts = value, []
    for name, flag in names:
        if flag and rest & flag == flag:
            parts.append(name)
            rest -= flag
    if rest or not parts:
        return str(value)
    return ", ".join(reversed(parts))
