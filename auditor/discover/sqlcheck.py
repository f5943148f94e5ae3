"""`--sql`: each instance's name and databases confirmed over ODBC (the SQL collector's session)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from auditor.collect.sql_collector import Fetched, SqlCollector
from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.connect.sql import Failure
from auditor.discover.model import Instance
from auditor.discover.stores import confirmed_stores
from auditor.inventory import Credential, SqlInstance
from auditor.probes.catalogue import Dialect, SqlProbe, load_catalogue

PLACEHOLDER = re.compile(r"\{(host|short|instance|server_name|slug|SLUG)\}")
DEFAULT_CONNECTION = "DRIVER={FreeTDS};Server={host};Instance={instance};DATABASE=msdb;"
"""FreeTDS, Debian's driver, asking SQL Browser for the named instance's port."""


@dataclass(frozen=True)
class SqlAccess:
    """How to reach each instance: templates with {host}, {short}, {instance}, {server_name},
    {slug} (server name as sqlbne01_rtc) and {SLUG} (upper case) placeholders."""

    connection: str = DEFAULT_CONNECTION
    credential: Credential | None = None
    encrypt: bool = True


def slug(text: str) -> str:
    """`SQLBNE01\\RTC` -> `sqlbne01_rtc` (as `auditor lab sql up` names its databases)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def fill(template: str, inst: Instance) -> str:
    """The template with the instance's values (other braces, as in DRIVER={...}, kept)."""
    values = {"host": inst.host, "short": inst.host.split(".", 1)[0],
              "instance": inst.instance or "MSSQLSERVER", "server_name": inst.derived_name,
              "slug": slug(inst.derived_name), "SLUG": slug(inst.derived_name).upper()}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def entry(inst: Instance, access: SqlAccess) -> SqlInstance:
    """The inventory entry the instance is checked (and written) with."""
    cred = access.credential
    if cred is not None:
        cred = cred.model_copy(update={
            "name": fill(cred.name, inst) if cred.name else None,
            "username": fill(cred.username, inst) if cred.username else None})
    return SqlInstance(server_name=inst.derived_name, host=inst.host, role=inst.role,
                       connection=fill(access.connection, inst), credential=cred,
                       encrypt=access.encrypt, login_timeout_seconds=10)


def confirm(inst: Instance, access: SqlAccess, interactive: bool | None = None) -> None:
    """Connect; set the instance's server name, its stores and `reached` (with a note why
    not). The instance is changed in place."""
    sql = entry(inst, access)
    try:
        secret = resolve(sql.credential, sql.server_name, interactive=interactive)
    except SecretUnavailableError as exc:
        _unreached(inst, f"no secret: {exc}")
        return
    with SqlCollector(interactive=interactive).session(sql, secret) as opened:
        if isinstance(opened, Failure):
            _unreached(inst, f"{opened.status.value}: {opened.message}")
            return
        probes = _probes()
        dialect = opened.dialect or Dialect.TSQL
        try:
            clock = _query(opened.run, probes["server_time"], dialect)
            listing = _query(opened.run, probes["databases"], dialect)
        except _UnconfirmedError as exc:
            _unreached(inst, str(exc))
            return
    _reached(inst, clock, [str(r["name"]) for r in listing])


class _UnconfirmedError(Exception):
    pass


def _query(run: Callable[[str, list[Any]], Fetched | Failure], probe: SqlProbe,
           dialect: Dialect) -> list[dict[str, Any]]:
    result = run(probe.text(dialect) or "", [])
    if isinstance(result, Failure):
        raise _UnconfirmedError(f"{result.status.value}: {result.message}")
    return result.dicts()


def _probes() -> Mapping[str, SqlProbe]:
    return {p.name: p for p in load_catalogue().sql if p.name in ("server_time", "databases")}


def _reached(inst: Instance, clock: list[dict[str, Any]], databases: list[str]) -> None:
    inst.reached = True
    name = clock[0].get("server_name") if len(clock) == 1 else None
    inst.server_name = str(name) if name else None
    listed, left_out = confirmed_stores(inst.stores, databases)
    missing = [s for s in listed if s.lower() not in {d.lower() for d in databases}]
    inst.stores = listed
    if missing:
        inst.notes.append(f"not on the instance: {', '.join(missing)} (kept: the topology "
                          "says the store is here; the audit reports it missing)")
    if left_out:
        inst.notes.append(f"transient, not on the instance, left out: {', '.join(left_out)}")


def _unreached(inst: Instance, why: str) -> None:
    inst.reached = False
    inst.notes.append(f"not confirmed over ODBC: {why}")
