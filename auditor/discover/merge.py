"""`--merge`: an existing inventory's topology updated in place, everything else kept.

Round-trip YAML (ruamel.yaml) keeps a person's comments, policy, destinations, quoting and
layout. Entries are matched by their key (site id, pool and server FQDN, SQL instance host and
instance name), without regard to case. A matched entry gets the topology's fields; a new one
is appended with a comment; an entry the topology no longer has is never deleted: a comment
above it says since when it is not in the topology.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from auditor.discover.entries import Entries, Item
from auditor.discover.stores import ordered, required
from auditor.errors import InputError
from auditor.inventory import InstanceRole

TOPOLOGY_FIELDS = {"sites": (), "pools": ("site", "backup_pool"),
                   "servers": ("role", "pool", "site"),
                   "sql_instances": ("host", "role", "pool", "site")}
MARK = "not in topology since"
DISCOVERED_ROLES = frozenset({InstanceRole.BACK_END, InstanceRole.MONITORING,
                              InstanceRole.ARCHIVING, InstanceRole.PERSISTENT_CHAT,
                              InstanceRole.MIRROR})
"""Instances the topology lists; restore-test and local instances are never marked."""


def round_trip() -> YAML:
    """A YAML that writes back what it read, byte for byte when nothing changed."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def merge(path: Path, found: Entries, today: dt.date) -> str:
    """The existing inventory's text with the discovered topology merged in."""
    yaml = round_trip()
    try:
        text = path.read_text(encoding="utf-8")
        doc = yaml.load(text)
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise InputError(path, f"cannot be merged: {type(exc).__name__}") from None
    if not isinstance(doc, CommentedMap):
        raise InputError(path, "cannot be merged: the inventory is not a mapping", line=1)
    stamp = today.isoformat()
    marked = set(re.findall(rf"# {MARK} \d{{4}}-\d\d-\d\d: (\S+)", text))
    sections: dict[str, tuple[list[Item], Callable[[Any], str]]] = {
        "sites": (found.sites, lambda e: str(e.get("id", "")).lower()),
        "pools": (found.pools, _fqdn), "servers": (found.servers, _fqdn),
        "sql_instances": (found.sql_instances, instance_key)}
    for name, (items, key) in sections.items():
        _merge_section(doc, name, items, key, stamp, found.checked_sql, marked)
    if "lync" not in doc:
        doc["lync"] = block(found.lync)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def block(data: dict[str, Any]) -> CommentedMap:
    """A new entry in block style, its lists and mappings in flow style (as writer.py)."""
    entry = CommentedMap()
    for key, value in data.items():
        if isinstance(value, list | dict):
            value = CommentedSeq(value) if isinstance(value, list) else CommentedMap(value)
            value.fa.set_flow_style()
        entry[key] = value
    return entry


def _fqdn(entry: Any) -> str:
    return str(entry.get("fqdn", "")).lower()


def instance_key(entry: Any) -> str:
    """host|instance, lower case (MSSQLSERVER for a default instance)."""
    name = str(entry.get("server_name", ""))
    instance = name.split("\\", 1)[1] if "\\" in name else "mssqlserver"
    return f"{str(entry.get('host', '')).lower()}|{instance.lower()}"


def _merge_section(doc: CommentedMap, name: str, items: list[Item], key: Callable[[Any], str],
                   stamp: str, checked: bool, marked: set[str]) -> None:
    seq = doc.get(name)
    if not isinstance(seq, CommentedSeq):
        seq = CommentedSeq()
        doc[name] = seq
    existing = {key(e): e for e in seq if isinstance(e, CommentedMap)}
    for item in items:
        entry = existing.get(key(item.data))
        if entry is None:
            seq.append(block(item.data))
            _comment(seq, len(seq) - 1, f"added by auditor discover on {stamp}")
        else:
            _update(entry, item.data, name, checked)
    wanted = {key(i.data) for i in items}
    for index, entry in enumerate(list(seq)):
        gone = isinstance(entry, CommentedMap) and key(entry) not in wanted
        if gone and key(entry) not in marked and _marked(name, entry):
            _mark(seq, index, f"{MARK} {stamp}: {key(entry)}")  # the first date is kept


def _update(entry: CommentedMap, data: dict[str, Any], section: str, checked: bool) -> None:
    for field in TOPOLOGY_FIELDS[section]:
        if field in data and entry.get(field) != data[field]:
            entry[field] = data[field]
    if section == "sql_instances":
        _add_stores(entry, data.get("stores", []), checked)


def _add_stores(entry: CommentedMap, stores: Iterable[str], checked: bool) -> None:
    """Stores are only added: a store a person listed stays (the audit says if it is gone).
    Unconfirmed transient stores are not added."""
    listed = entry.get("stores")
    have = {str(s).lower() for s in listed or []}
    new = [s for s in stores if s.lower() not in have and (checked or required(s))]
    if not new:
        return
    if isinstance(listed, CommentedSeq):
        listed.extend(new)
    else:
        entry["stores"] = ordered(new)


def _marked(section: str, entry: CommentedMap) -> bool:
    """Whether an entry that left the topology is one discovery would have found."""
    if section == "sites":
        return False  # a site may hold only what the topology does not list (a restore lab)
    if section == "sql_instances":
        return str(entry.get("role", "")) in {r.value for r in DISCOVERED_ROLES}
    return True


def _mark(seq: CommentedSeq, index: int, text: str) -> None:
    """The mark above the item; after its end-of-line comment when it has one (ruamel.yaml
    drops a comment line above an item that has an end-of-line comment when it reads the
    file again, so the mark would not survive the next merge)."""
    eol = seq.ca.items.get(index, [None])[0]
    if eol is not None and hasattr(eol, "value"):
        eol.value = f"{eol.value.rstrip()}  # {text}\n"
    else:
        _comment(seq, index, text)


def _comment(seq: CommentedSeq, index: int, text: str) -> None:
    """A comment line above a sequence item, after any comment already there."""
    before = seq.ca.items.get(index, [None, None])[1] or []
    seq.yaml_set_comment_before_after_key(index, before=text, indent=2)
    if before:
        seq.ca.items[index][1] = list(before) + seq.ca.items[index][1]
