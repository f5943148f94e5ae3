"""ODBC connection strings as the drivers read them: `KEY=value;KEY={va;l}}ue}`.

Keywords are case-insensitive and may carry spaces or braces around them (`{PWD} = x`); a value
in braces may hold `;` and `=`, and `}}` stands for one `}`. Empty parts (`;;`) are skipped.
A part without `=` or an unclosed brace is an error, whose message never quotes the string.
"""

from __future__ import annotations

import re


class ConnectionStringError(ValueError):
    """The inventory's connection string cannot be used as it stands."""


Pairs = list[tuple[str, str]]


def normal_key(key: str) -> str:
    """`{ Pwd }` -> `pwd`: how a driver compares keywords."""
    key = key.strip()
    if len(key) >= 2 and key[0] == "{" and key[-1] == "}":
        key = key[1:-1].replace("}}", "}")
    return key.strip().lower()


def display_key(key: str) -> str:
    """A keyword as it may be named in a message: its letters, digits and `_` only."""
    shown = re.sub(r"[^A-Za-z0-9_]", "", key)[:40]
    return shown or "(unnamed)"


def parse_connection_string(text: str) -> Pairs:
    """[(keyword as written, stripped of spaces and braces; value)], in order."""
    pairs: Pairs = []
    i = 0
    while i < len(text):
        if text[i] in "; \t\r\n":
            i += 1
            continue
        key, i = _key(text, i)
        value, i = _value(text, i)
        pairs.append((key, value))
    return pairs


def _key(text: str, start: int) -> tuple[str, int]:
    if text[start] == "{":
        close = _closing_brace(text, start + 1)
        eq = text.find("=", close + 1)
        if eq < 0 or text[close + 1:eq].strip():
            raise ConnectionStringError(f"a braced keyword at character {start + 1} is not "
                                        "followed by '='")
        return text[start + 1:close].replace("}}", "}").strip(), eq + 1
    eq, semi = text.find("=", start), text.find(";", start)
    if eq < 0 or (0 <= semi < eq):
        raise ConnectionStringError(f"the part at character {start + 1} has no '='")
    key = text[start:eq].strip()
    if not key:
        raise ConnectionStringError(f"a value without a keyword at character {start + 1}")
    return key, eq + 1


def _value(text: str, start: int) -> tuple[str, int]:
    i = start
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "{":
        close = _closing_brace(text, i + 1)
        rest = text.find(";", close + 1)
        end = len(text) if rest < 0 else rest
        if text[close + 1:end].strip():
            raise ConnectionStringError(f"text after the closing brace at character "
                                        f"{close + 1}")
        return text[i + 1:close].replace("}}", "}"), end + 1
    end = text.find(";", start)
    end = len(text) if end < 0 else end
    return text[start:end].strip(), end + 1


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` closing a brace opened just before `start` (`}}` is an escape)."""
    i = start
    while i < len(text):
        if text[i] == "}":
            if text[i + 1:i + 2] != "}":
                return i
            i += 2
            continue
        i += 1
    raise ConnectionStringError(f"the '{{' at character {start} is not closed")


def format_value(value: str) -> str:
    """A connection-string value, braced when it holds anything special."""
    if value and not re.search(r"[;{}=\s]", value) and value[0] != "{":
        return value
    return "{" + value.replace("}", "}}") + "}"


def format_pairs(pairs: Pairs) -> str:
    """`K=v;K2={v;2};`"""
    return "".join(f"{k}={format_value(v)};" for k, v in pairs)


def get_key(pairs: Pairs, key: str) -> str | None:
    """The value of a keyword, case-insensitively (the first one, as the drivers take it)."""
    wanted = normal_key(key)
    for k, v in pairs:
        if normal_key(k) == wanted:
            return v
    return None
