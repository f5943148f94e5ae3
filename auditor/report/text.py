"""Short, readable text for the report: times with their zone, percentages, grades, values."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

# A value longer than this is cut in the report; results.json keeps it whole.
MAX_VALUE_CHARS = 400
_SMALL_DICT = 8
_SMALL_LIST = 12
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
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


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return when(parsed) if parsed.utcoffset() is not None else f"{parsed:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _cut(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    rest = len(text) - MAX_VALUE_CHARS
    return f"{text[:MAX_VALUE_CHARS]}… ({rest} more characters in results.json)"


def _is_flat_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) <= _SMALL_LIST \
        and all(_is_scalar(v) for v in value)


def _flat(value: Any) -> str:
    if _is_scalar(value):
        return _scalar(value)
    return ", ".join(_scalar(v) for v in value) if value else "none"


def readable(value: Any) -> str:
    """An observed/expected value as short text: 'key: value; key: a, b' for a small mapping."""
    if value is None:
        return ""
    if _is_scalar(value) or _is_flat_list(value):
        return _cut(_flat(value))
    if isinstance(value, Mapping) and len(value) <= _SMALL_DICT \
            and all(_is_scalar(v) or _is_flat_list(v) for v in value.values()):
        return _cut("; ".join(f"{str(k).replace('_', ' ')}: {_flat(v)}"
                              for k, v in value.items()))
    return _cut(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def anchor(prefix: str, key: str) -> str:
    """An HTML id made only of [a-z0-9-], so no evidence text ever reaches an attribute raw."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
    return f"{prefix}-{slug}" if slug else prefix
