"""CLIXML output objects (as PowerShell remoting sends them) as JSON values and probe rows."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from auditor.canonical import JsonValue
from auditor.connect.winrm_transport import Failure, Status, _FailedError

Row = dict[str, JsonValue]


# --- CLIXML -> JSON -------------------------------------------------------------------------

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NET_DATE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
_CONTAINERS = {"LST", "IE", "STK", "QUE"}


def _string(text: str | None) -> str:
    """A CLIXML string: `_xHHHH_` escapes are UTF-16 code units (surrogate pairs too)."""
    if not text or "_x" not in text:
        return text or ""
    units = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def net_datetime(text: str) -> str:
    """A .NET DateTime as ISO 8601: the offset kept (Kind Utc `Z`, Local `+hh:mm`); a DateTime
    of Kind Unspecified stays without one, which the facts refuse rather than guess."""
    match = _NET_DATE.match(text.strip())
    if not match:
        return text
    base, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    stamp = dt.datetime.fromisoformat(base).replace(microsecond=micro)
    if zone:
        stamp = stamp.replace(tzinfo=dt.UTC if zone == "Z" else dt.datetime.strptime(
            zone.replace(":", ""), "%z").tzinfo)
    return stamp.isoformat()


def _number(text: str) -> JsonValue:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return int(value) if value == value.to_integral_value() else str(value)


def _float(text: str) -> JsonValue:
    value = float(text)
    return value if math.isfinite(value) else text


_PRIMITIVES: dict[str, Callable[[str], JsonValue]] = {
    "S": _string, "C": lambda t: chr(int(t)), "B": lambda t: t.strip().lower() == "true",
    "DT": net_datetime, "TS": str, "By": int, "SB": int, "U16": int, "I16": int, "U32": int,
    "I32": int, "U64": int, "I64": int, "Sg": _float, "Db": _float, "D": _number, "G": str,
    "URI": _string, "Version": str, "XD": _string, "SBK": _string, "BA": str,
}


class Clixml:
    """Converts one serialised object (and what it refers to) to JSON values."""

    def __init__(self) -> None:
        self.refs: dict[str, JsonValue] = {}
        self.type_names: dict[str, list[str]] = {}

    def value(self, element: ET.Element) -> JsonValue:
        """Any CLIXML element: a primitive, a reference or an object."""
        tag = _local(element.tag)
        if tag in _PRIMITIVES:
            return _PRIMITIVES[tag](element.text or "")
        if tag == "Nil" or tag == "SS":  # a SecureString is never decrypted
            return None
        if tag == "Ref":
            return self.refs.get(element.get("RefId", ""))
        if tag == "Obj":
            return self._object(element)
        raise ValueError(f"unknown CLIXML element <{tag}>")

    def _object(self, element: ET.Element) -> JsonValue:
        types: list[str] = []
        props: dict[str, JsonValue] = {}
        items: list[JsonValue] | None = None
        mapping: dict[str, JsonValue] | None = None
        primitive: tuple[bool, JsonValue] = (False, None)
        to_string: str | None = None
        for child in element:
            tag = _local(child.tag)
            if tag == "TN":
                types = [t.text or "" for t in child]
                self.type_names[child.get("RefId", "")] = types
            elif tag == "TNRef":
                types = self.type_names.get(child.get("RefId", ""), [])
            elif tag in ("Props", "MS"):
                for prop in child:
                    props[_string(prop.get("N"))] = self.value(prop)
            elif tag in _CONTAINERS:
                items = [self.value(i) for i in child]
            elif tag == "DCT":
                mapping = {}
                for entry in child:
                    key = next((c for c in entry if c.get("N") == "Key"), None)
                    val = next((c for c in entry if c.get("N") == "Value"), None)
                    if key is not None:
                        mapping[str(self.value(key))] = None if val is None else self.value(val)
            elif tag == "ToString":
                to_string = _string(child.text)
            else:
                primitive = (True, self.value(child))
        result: JsonValue
        if items is not None:
            result = items
        elif mapping is not None:
            result = mapping
        elif "System.Enum" in types:
            result = to_string if to_string is not None else primitive[1]
        elif props:
            result = props
        elif primitive[0]:
            result = primitive[1]
        else:
            result = to_string
        self.refs[element.get("RefId", "")] = result
        return result


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def to_json(value: Any) -> JsonValue:
    """One output object as pypsrp delivered it: complex objects are re-read from their CLIXML
    (pypsrp keeps it), primitives taken as they are."""
    xml = getattr(value, "_xml", None)
    if isinstance(xml, str):
        # pypsrp parsed this same text with ElementTree already; expat >= 2.4.1 caps entity
        # expansion, so a hostile server gets no further here than in pypsrp.
        return Clixml().value(ET.fromstring(xml))  # noqa: S314
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # as _float does: NaN and infinities have no JSON form
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def rows_of(outputs: Sequence[Any], select: Sequence[str]) -> list[Row]:
    """Rows with exactly the selected properties (missing ones null), as Select-Object gives."""
    rows = []
    for i, out in enumerate(outputs, start=1):
        value = _converted(out, i)
        if not isinstance(value, dict):
            shown = repr(value)[:80]
            raise _FailedError(Failure(Status.ERROR, f"malformed output: object {i} is not an "
                                       f"object with properties but {shown}"))
        lowered = {k.lower(): v for k, v in value.items()}
        rows.append({name: lowered.get(name.lower()) for name in select})
    return rows


def _with_nested(outputs: Sequence[Any], select: Sequence[str], name: str) -> list[Row]:
    """Split a two-statement output: the objects that have the property are the rows, the
    others its expanded items. Items replace the property's depth-1 strings (a server whose
    types keep them as objects is taken as it is)."""
    rows_out, items = [], []
    for i, out in enumerate(outputs, start=1):
        value = _converted(out, i)
        if isinstance(value, dict) and name.lower() in {k.lower() for k in value}:
            rows_out.append(out)
        elif isinstance(value, dict):
            items.append(value)
        else:
            raise _FailedError(Failure(Status.ERROR, f"malformed output: object {i} is "
                                       f"{repr(value)[:80]}"))
    rows = rows_of(rows_out, select)
    nested = [row.get(name) for row in rows]
    if all(isinstance(v, list) and all(isinstance(i, dict) for i in v) for v in nested):
        return rows
    if len(rows) != 1:
        raise _FailedError(Failure(Status.ERROR, f"{name} came back as strings on {len(rows)} "
                                   "objects and cannot be told apart"))
    return [{**rows[0], name: list(items)}]


def _converted(out: Any, i: int) -> JsonValue:
    try:
        return to_json(out)
    except (ET.ParseError, ValueError) as exc:
        raise _FailedError(Failure(Status.ERROR, f"malformed output object {i}: {exc}")
                           ) from None
