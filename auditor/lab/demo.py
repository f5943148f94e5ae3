"""The demo estates as a live lab: one database per SQL instance, an inventory that points at them.

For each estate the lab writes `<dir>/<estate>/inventory.yaml` (the demo inventory with a
connection string and an env credential per SQL instance) and `<dir>/<estate>/replay.json`:
the recorded bundle without the SQL observations the lab now serves, so Lync evidence, records
and the T-SQL-only probes (which a PostgreSQL lab cannot answer) still come from the recording.
Its collection time is the recording's, which is where the lab's instance clocks are stopped.

`auditor lab sql up` loads the estate moved to the present (auditor.lab.timeshift): every
recorded time, the replay bundle, the inventory's backup window and the records' dates move by
one delta, so a live audit, judged at its own collection time, gives the recorded verdicts.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import auditor
from auditor.canonical import write_atomic
from auditor.evidence import EvidenceBundle, Source, read_bundle, write_bundle
from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster, LabError
from auditor.lab.edition import with_edition
from auditor.lab.instance import LabLogin, create_instance
from auditor.lab.loader import InstanceData, lab_probes, sql_observations
from auditor.lab.remediation_grants import grant_remediation
from auditor.lab.timeshift import (
    days_of,
    delta_to,
    shift_bundle,
    shift_dates,
    shift_records,
    shift_windows,
    trim_agent_history,
)
from auditor.probes.catalogue import load_catalogue
from auditor.records import load_records_files
from auditor.yamlio import load_yaml

DEMO_ESTATES = ("healthy", "drifted", "neglected")


def demo_root() -> Path:
    """The demo estates shipped inside the package."""
    return Path(auditor.__file__).resolve().parent / "data" / "fixtures" / "demo"


def slug(text: str) -> str:
    """`SQLBNE01\\RTC` -> `sqlbne01_rtc`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


@dataclass(frozen=True)
class LabInstanceRef:
    """Where one simulated instance lives and how to log in."""

    server_name: str
    database: str
    login: LabLogin
    env_var: str
    connection: str


@dataclass(frozen=True)
class LabEstate:
    """One demo estate served by the lab."""

    name: str
    source: Path
    folder: Path
    inventory: Path
    replay: Path
    recorded: EvidenceBundle
    instances: tuple[LabInstanceRef, ...]
    served: EvidenceBundle  # the recording as the lab serves it (moved to the present)
    env: Mapping[str, str] = field(repr=False)


def build_estate(cluster: LabCluster, source: Path, out_dir: Path, name: str | None = None,
                 *, ssl: bool = True, present: dt.datetime | None = None,
                 editions: Mapping[str, str] | None = None) -> LabEstate:
    """Load one demo estate into the lab and write its inventory and replay bundle; with
    `present`, everything recorded is moved so that the recording was made then; `editions`
    (server name -> edition) serves instances as another edition (lab/edition.py)."""
    name = name or source.name
    loaded = load_inventory(source / "inventory.yaml")
    original, _ = read_bundle(source / "evidence.json")
    delta = delta_to(original.collected_at, present) if present else dt.timedelta(0)
    recorded = (trim_agent_history(shift_bundle(original, delta), load_catalogue().history_days)
                if delta else original)
    runnable = lab_probes()
    refs: list[LabInstanceRef] = []
    for inst in loaded.inventory.sql_instances:
        served = sql_observations(recorded.observations, inst.server_name)
        if editions and inst.server_name in editions:
            served = with_edition(served, editions[inst.server_name])
        data = InstanceData(inst.server_name, served)
        bad = data.unreproducible(runnable)
        if bad:
            raise LabError(f"{name}: {inst.server_name}: the lab cannot reproduce the recorded "
                           f"status of {', '.join(bad)}")
        key = slug(f"{name} {inst.server_name}")
        login = LabLogin(f"audit_{key}", secrets.token_urlsafe(18))
        create_instance(cluster, key, data, login)
        refs.append(LabInstanceRef(
            server_name=inst.server_name, database=key, login=login,
            env_var=f"AUDITOR_LAB_{key.upper()}_PASSWORD",
            connection=cluster.odbc(key, login.name)))
    folder = out_dir / name
    inventory = write_inventory(source / "inventory.yaml", folder / "inventory.yaml", refs,
                                encrypt=ssl, delta=delta, recorded_at=original.collected_at)
    replay = write_replay(recorded, folder / "replay.json", runnable)
    return LabEstate(name=name, source=source, folder=folder, inventory=inventory,
                     replay=replay, recorded=original, served=recorded, instances=tuple(refs),
                     env={r.env_var: r.login.password for r in refs})


def write_inventory(source: Path, target: Path, refs: list[LabInstanceRef], *,
                    encrypt: bool = True, delta: dt.timedelta = dt.timedelta(0),
                    recorded_at: dt.datetime | None = None) -> Path:
    """The demo inventory with live connection strings; relative paths made absolute; moved
    by `delta` (its backup window, and its records copied beside it with their dates moved)."""
    data, _ = load_yaml(source)
    if not isinstance(data, dict):
        raise LabError(f"{source}: not an inventory")
    if delta and recorded_at is not None:
        data = move_to_present(data, source.parent, target.parent, delta, recorded_at)
    by_name = {r.server_name.lower(): r for r in refs}
    for inst in data.get("sql_instances") or []:
        ref = by_name.get(str(inst.get("server_name", "")).lower())
        if ref is None:
            continue
        inst["connection"] = ref.connection
        inst["credential"] = {"kind": "env", "name": ref.env_var, "username": ref.login.name}
        inst["encrypt"] = encrypt
    for key in ("records", "waivers"):
        if isinstance(data.get(key), str):
            data[key] = str((source.parent / data[key]).resolve())
    header = (f"# Written by `auditor lab sql up` from {source}.\n"
              "# Each SQL instance is a database in the local PostgreSQL lab; the passwords are "
              "in the environment variables named below (see lab.env).\n")
    text = header + yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=100)
    write_atomic(target, text.encode("utf-8"))
    return target


def move_to_present(data: dict[str, Any], source_dir: Path, target_dir: Path,
                    delta: dt.timedelta, recorded_at: dt.datetime) -> dict[str, Any]:
    """An inventory moved by `delta` (auditor.lab.timeshift): its backup windows, and its
    records and waivers copied into `target_dir` with their dates moved, so every record's
    age and every waiver's time left are as recorded."""
    data = shift_windows(data, delta)
    days = days_of(delta, recorded_at)
    if isinstance(data.get("records"), str):
        data["records"] = str(write_records(source_dir / data["records"],
                                            target_dir / "records.yaml", days))
    if isinstance(data.get("waivers"), str):
        waivers, _ = load_yaml(source_dir / data["waivers"])
        moved = target_dir / "waivers.yaml"
        write_atomic(moved, yaml.safe_dump(_plain(shift_dates(waivers, days)),
                                           sort_keys=False, allow_unicode=True).encode())
        data["waivers"] = str(moved)
    return data


def write_records(source: Path, target: Path, days: int) -> Path:
    """The estate's records as one YAML file, every date moved by `days`."""
    rows = {kind: [r.model_dump(mode="json") for r in loaded.records]
            for kind, loaded in load_records_files(source).items()}
    text = yaml.safe_dump(shift_records(rows, days), sort_keys=False, allow_unicode=True)
    write_atomic(target, text.encode("utf-8"))
    return target


def _plain(value: Any) -> Any:
    """Dates and other YAML scalars as the loader read them, containers as plain ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def write_replay(recorded: EvidenceBundle, target: Path, runnable: frozenset[str]) -> Path:
    """The recording minus the SQL observations the lab serves live."""
    kept = [o for o in recorded.observations
            if o.source is not Source.SQL or o.probe not in runnable]
    write_bundle(recorded.model_copy(update={"observations": kept}), target)
    return target


NO_GRANTS_LOGIN = "audit_nogrants"
NO_GRANTS_ENV = "AUDITOR_LAB_NOGRANTS_PASSWORD"
NO_GRANTS_SERVER = "LABNOGRANTS\\RTC"
PREFLIGHT_DIR = "preflight"


def build_preflight(cluster: LabCluster, estate: LabEstate, out_dir: Path) -> tuple[Path, str]:
    """An inventory for trying `auditor preflight`: one instance with every grant, one with none.

    Both reach the same lab database (the estate's first instance); the second through a login
    that may connect but was granted nothing, so preflight lists each missing permission and
    its fix. Returns the inventory's path and the new login's password.
    """
    granted = estate.instances[0]
    password = secrets.token_urlsafe(18)
    cluster.create_login(NO_GRANTS_LOGIN, password)
    grant_remediation(cluster, granted.login.name)  # for `preflight --remediation`
    stores = _stores_of(estate, granted.server_name)
    instances = [
        {"server_name": granted.server_name, "host": "lab-granted.example.com",
         "role": "back_end", "connection": granted.connection, "stores": list(stores),
         "credential": {"kind": "env", "name": granted.env_var,
                        "username": granted.login.name}},
        {"server_name": NO_GRANTS_SERVER, "host": "lab-nogrants.example.com",
         "role": "back_end", "connection": cluster.odbc(granted.database, NO_GRANTS_LOGIN),
         "stores": list(stores),  # a list of its own: safe_dump would write an alias
         "credential": {"kind": "env", "name": NO_GRANTS_ENV, "username": NO_GRANTS_LOGIN}},
    ]
    header = ("# Written by `auditor lab sql up`: the same lab database reached by a login with "
              "every grant\n# the probes need and by one with none. Try: auditor preflight "
              "--inventory <this file>\n")
    body = yaml.safe_dump({"estate": {"name": "lab-preflight"}, "sql_instances": instances},
                          sort_keys=False, width=100)
    target = out_dir / PREFLIGHT_DIR / "inventory.yaml"
    write_atomic(target, (header + body).encode("utf-8"))
    return target, password


def _stores_of(estate: LabEstate, server_name: str) -> list[str]:
    """The `stores:` the estate's inventory gives the instance."""
    data = yaml.safe_load(estate.inventory.read_text(encoding="utf-8")) or {}
    for inst in data.get("sql_instances") or []:
        if inst.get("server_name") == server_name:
            return [str(s) for s in inst.get("stores") or []]
    return []


def write_env(path: Path, estates: list[LabEstate],
              extra: Mapping[str, str] | None = None) -> Path:
    """`NAME=password` lines for every lab login, readable by the owner only."""
    lines = [f"{k}={v}\n" for estate in estates for k, v in sorted(estate.env.items())]
    lines += [f"{k}={v}\n" for k, v in sorted((extra or {}).items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(lines), encoding="utf-8")
    return path
