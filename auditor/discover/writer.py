"""A commented inventory: the discovered entries, and TODO comments for what they lack."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from auditor.discover.entries import Entries, Item

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\\/@-]*")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}

HEADER = """\
# Written by `auditor discover` from the Lync topology {server} reported on {when}.
# Read from the topology: the sites, the pools users are homed on and their backup pools, the
# Lync servers and their roles, every SQL store with its instance, mirror and databases, and
# the file stores.{sql}
# Lines marked TODO hold what the topology cannot know: fill them in, then check the file with
# `auditor inventory validate`. docs/discover.md explains each one; `auditor discover --merge`
# updates the topology later and keeps everything written here by hand.
"""
TAIL = """\
# TODO backup_destinations: where the SQL backups are written (UNC shares or URLs, with
# encrypted: true where they are); the topology does not know them (BR-040, BR-041, BR-042,
# BR-050 read them). For example:
# backup_destinations:
#   - {path: \\\\backup01.example.com\\sql, host: backup01.example.com, site: SITE}
# TODO export_share: the share Export-CsConfiguration and the other exports are written to
# (BR-010, BR-011). For example:
# export_share: {unc: \\\\backup01.example.com\\lyncexports, host: backup01.example.com}
"""
POLICY = """\
# TODO policy, waivers and records are the team's own: the backup window, thresholds and
# overrides (docs/rules.md), the waivers file and the records (docs/records.md). For example:
# policy:
#   backup_window: {start: "22:00", end: "05:00"}
# waivers: waivers.yaml
# records: records.yaml
"""


def scalar(value: Any) -> str:
    """A YAML scalar: plain where that reads back as the same string, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """A value in flow style: {k: v, ...}, [a, b] or a scalar."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _item(item: Item, indent: str = "  ") -> list[str]:
    lines = [f"{indent}# {note}" for note in item.notes]
    first = True
    for key, value in item.data.items():
        lead = f"{indent}- " if first else f"{indent}  "
        eol = f"  # {item.eol[key]}" if key in item.eol else ""
        lines.append(f"{lead}{key}: {flow(value)}{eol}")
        first = False
    lines += [f"{indent}  # {key}: TODO {why}" for key, why in item.todo.items()]
    return lines


def _section(name: str, items: list[Item]) -> list[str]:
    if not items:
        return [f"{name}: []"]
    return [f"{name}:", *(line for item in items for line in _item(item))]


def render(found: Entries, server: str, when: dt.datetime) -> str:
    """The inventory text."""
    sql = (" Each SQL instance's name and databases were confirmed over ODBC (--sql)."
           if found.checked_sql else "")
    lines = [HEADER.format(server=server, when=when.strftime("%Y-%m-%d %H:%M UTC"),
                           sql=sql).rstrip("\n")]
    lines += [f"# could not read {p}" for p in found.problems]
    lines += ["version: 1", "estate:",
              "  # TODO the estate's name and a stable id (the audit history is keyed on the id):",
              "  # the topology has neither; these are made from the servers' DNS domain.",
              *(f"  {k}: {scalar(v)}" for k, v in found.estate.items()),
              "  # audit_account: TODO the account the audit runs as (DOMAIN\\name)"]
    lines += _section("sites", found.sites) + _section("pools", found.pools)
    lines += _section("servers", found.servers) + _section("sql_instances", found.sql_instances)
    lines += _left_out(found) + _file_stores(found)
    lines += [TAIL.rstrip("\n"), "lync:"]
    lines += [f"  {k}: {flow(v)}" for k, v in found.lync.items()]
    lines.append(POLICY.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _left_out(found: Entries) -> list[str]:
    lines = ["  # TODO a restore-test instance (role: restore_test), if backups are restored to "
             "one to test them:", "  # the topology does not know it."]
    if found.left_out:
        lines += ["  # Every Front End Server has these SQL Express instances; they were not "
                  "reached over ODBC,", "  # so they are left out (uncomment to audit them):"]
        for item in found.left_out:
            lines += [f"  # - {flow(item.data)}"] + [f"  #   ({n})" for n in item.notes[-1:]]
    return lines


def _file_stores(found: Entries) -> list[str]:
    if not found.file_stores:
        return ["# The topology names no file store."]
    return ["# File stores (Get-CsService -FileStore): back them up with the SQL backups "
            "(robocopy);", "# the inventory has no field for them:",
            *(f"#   {f}" for f in found.file_stores)]
