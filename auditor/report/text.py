"""Short, readable text for the report: times with their zone, percentages, grades, values."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

# A value longer than this is folded in the HTML (shown whole, in a <details>); never cut.
FOLD_CHARS = 400
_SMALL_DICT = 8
_SMALL_LIST = 12
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# ConvertTo-Json's dates (PowerShell 3.0-5.1): milliseconds since 1970 UTC, maybe an offset
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-])(\d{2})(\d{2})\)/$|^/Date\((-?\d+)\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# keys of observed values that hold a duration, and the unit of their number
_DURATION_KEY = re.compile(r"^(.*age)_(hours|minutes|days)$")
_PER_HOUR = {"hours": 1.0, "minutes": 1 / 60, "days": 24.0}
_GRADES: tuple[tuple[float, str], ...] = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))
# Characters that hide or reorder text: C0/C1 controls but tab and newline, the bidirectional
# marks, embeddings, overrides and isolates, the line/paragraph separators, and lone surrogates
# (which no UTF-8 file can hold).
_HOSTILE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                      "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def codepoint(char: str) -> str:
    """`<U+202E>`: how a hostile character is shown."""
    return f"<U+{ord(char):04X}>"


def visible(text: str) -> str:
    """The text with every control character and bidirectional override shown as `<U+XXXX>`,
    so that a name cannot reverse, hide or overwrite what follows it. The one function every
    output uses: HTML and PDF (the template environment's finalize), Markdown, CSV, JUnit XML
    and the terminal."""
    return _HOSTILE.sub(lambda m: codepoint(m.group()), text)


def visible_html(html: str) -> str:
    """visible() for text that is already HTML: the escape is written as `&lt;U+XXXX&gt;`."""
    return _HOSTILE.sub(lambda m: f"&lt;U+{ord(m.group()):04X}&gt;", html)


def when(value: dt.datetime) -> str:
    """'2026-11-25 12:00:00 UTC' or '... UTC+01:00 (CET)'; a naive time is a bug, not a guess."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"a report time must be timezone-aware: {value.isoformat()}")
    raw = value.strftime("%z")
    zone = f"UTC{raw[:3]}:{raw[3:5]}" if offset else "UTC"
    name = value.tzname()
    if name and not name.startswith("UTC") and name != zone:
        zone = f"{zone} ({name})"
    return f"{value:%Y-%m-%d %H:%M:%S} {zone}"


def percent(value: float | None) -> str:
    """'72.5%', or 'n/a' when nothing was applicable."""
    return "n/a" if value is None else f"{value:.1f}%"


def grade(score: float | None) -> str:
    """A >= 90, B >= 80, C >= 70, D >= 60, else F; 'n/a' without a score."""
    if score is None:
        return "n/a"
    return next((letter for floor, letter in _GRADES if score >= floor), "F")


def duration(hours: float) -> str:
    """An age in the largest sensible unit: '45 min', '5 h 30 min', '3 d 4 h', '7.7 years'."""
    minutes = max(round(hours * 60), 0)
    if minutes >= 365 * 24 * 60:
        return f"{minutes / (365.25 * 24 * 60):.1f} years"
    if minutes >= 48 * 60:
        days, rest = divmod(round(minutes / 60), 24)
        return f"{days} d {rest} h" if rest else f"{days} d"
    if minutes >= 60:
        whole, rest = divmod(minutes, 60)
        return f"{whole} h {rest} min" if rest else f"{whole} h"
    return f"{minutes} min"


def ps_date(value: str) -> dt.datetime | None:
    """A PowerShell `/Date(ms)/` or `/Date(ms+hhmm)/` as an aware time in the zone it names
    (UTC when it names none); None when the text is not one."""
    match = _MS_DATE.match(value)
    if match is None:
        return None
    millis, sign, hh, mm, bare = match.groups()
    moment = _EPOCH + dt.timedelta(milliseconds=int(millis or bare))
    if sign is None:
        return moment
    offset = dt.timedelta(hours=int(hh), minutes=int(mm)) * (-1 if sign == "-" else 1)
    return moment.astimezone(dt.timezone(offset))


def time_text(value: str, offset: dt.timedelta | None = None) -> str | None:
    """A time written by a probe, as when() shows it: a PowerShell /Date(...)/, or ISO 8601
    with its zone; a time without one is the server's local time and gets `offset` (its zone,
    from the server's clock), or is said to be local. None when the text is not a time."""
    parsed = ps_date(value)
    if parsed is None and _ISO_TIME.match(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if parsed is None:
        return None
    if parsed.utcoffset() is not None:
        return when(parsed)
    if offset is not None:
        return when(parsed.replace(tzinfo=dt.timezone(offset)))
    return f"{parsed:%Y-%m-%d %H:%M:%S} (server local time)"


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return time_text(value) or value
    return str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_flat_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) <= _SMALL_LIST \
        and all(_is_scalar(v) for v in value)


def _flat(value: Any) -> str:
    if _is_scalar(value):
        return _scalar(value)
    return ", ".join(_scalar(v) for v in value) if value else "none"


def _item(key: Any, value: Any) -> str:
    """'age: 7.7 years' for an age in hours, minutes or days; else 'key with spaces: value'."""
    name = str(key)
    found = _DURATION_KEY.match(name)
    if found and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{found.group(1).replace('_', ' ')}: {duration(value * _PER_HOUR[found.group(2)])}"
    return f"{name.replace('_', ' ')}: {_flat(value)}"


def readable(value: Any) -> str:
    """An observed/expected value as text, whole (never cut): 'key: value; key: a, b' for a
    small mapping, in the order of its keys (sorted, so a re-render lays it out the same)."""
    if value is None:
        return ""
    if _is_scalar(value) or _is_flat_list(value):
        return _flat(value)
    if isinstance(value, Mapping) and len(value) <= _SMALL_DICT \
            and all(_is_scalar(v) or _is_flat_list(v) for v in value.values()):
        return "; ".join(_item(k, value[k]) for k in sorted(value, key=str))
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def anchor(prefix: str, key: str) -> str:
    """An HTML id made only of [a-z0-9-], so no evidence text ever reaches an attribute raw."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    return f"{prefix}-{slug}" if slug else prefix
