"""Helpers for the PostgreSQL lab tests: edit inventories, collect live, evaluate."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from auditor.collect.base import CollectContext
from auditor.collect.replay import ReplayCollector
from auditor.collect.runner import collect
from auditor.collect.sql import SqlCollector
from auditor.evidence import EvidenceBundle, Observation, Source
from auditor.findings import Status
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate, build_estate, demo_root
from auditor.pipeline import RecordsCollector, Toolkit
from auditor.results import Results
from auditor.yamlio import load_yaml

Verdicts = set[tuple[str, str, str]]


@cache
def toolkit() -> Toolkit:
    """The shipped rule pack, loaded once."""
    return Toolkit()


def edit_inventory(source: Path, target: Path, edits: Mapping[str, Mapping[str, Any]]) -> Path:
    """A copy of an inventory with some SQL instances' fields replaced (by server_name)."""
    data, _ = load_yaml(source)
    assert isinstance(data, dict)
    for inst in data["sql_instances"]:
        inst.update(edits.get(inst["server_name"], {}))
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def collect_live(inventory: Path, replay: Path, *, workers: int = 8) -> EvidenceBundle:
    """Replay (Lync, T-SQL-only probes), then live SQL, then fresh records, as `auditor audit
    --replay` collects: the bundle's time (the default `now`) is the live collection's start,
    which is why the lab estates are loaded moved to the present."""
    kit = toolkit()
    loaded = kit.load_inventory(inventory)
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    fresh = {Source.RECORDS} if loaded.inventory.records else set()
    return collect(context, [ReplayCollector(replay, fresh), SqlCollector(workers=workers),
                             RecordsCollector()], kit.pack.version)


def evaluate(bundle: EvidenceBundle, inventory: Path) -> Results:
    """Findings at the bundle's collection time (where the lab's clocks are stopped)."""
    kit = toolkit()
    loaded = kit.load_inventory(inventory)
    return kit.evaluate(bundle, "0" * 64, loaded, kit.load_waivers(loaded, None))


def verdicts(results: Results) -> Verdicts:
    """(rule, subject, status) of every finding that is not not_applicable."""
    return {(f.rule_id, f.subject.id, f.status.value) for f in results.findings
            if f.status is not Status.NOT_APPLICABLE}


def expected_verdicts(estate: LabEstate) -> Verdicts | None:
    """The estate's hand-written expected.yaml verdicts, when the file exists."""
    path = estate.source / "expected.yaml"
    if not path.exists():
        return None
    data, _ = load_yaml(path)
    assert isinstance(data, dict)
    return {(rule, subject, status) for rule, subjects in data["verdicts"].items()
            for subject, status in subjects.items()}


def rows_key(obs: Observation) -> list[str]:
    """An observation's rows as a sorted list (SQL gives no order without ORDER BY)."""
    return sorted(json.dumps(row, sort_keys=True) for row in obs.data)


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that completes the TCP handshake and then never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # never accept(): the kernel finishes the handshake, nobody answers
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def slow_down(cluster: LabCluster, database: str, table: str, seconds: float,
              login: str) -> None:
    """Put a view that sleeps in front of a table, readable by the login."""
    schema, name = table.split(".")
    cluster.execute(f"ALTER TABLE {table} RENAME TO {name}_data", database)
    cluster.execute(f"CREATE VIEW {table} AS SELECT * FROM {schema}.{name}_data "  # noqa: S608
                    f"WHERE (SELECT pg_sleep({float(seconds)})) IS NULL", database)
    cluster.grant(database, login, [table])


@contextmanager
def kill_when_running(cluster: LabCluster, login: str, needle: str,
                      timeout: float = 30.0) -> Iterator[threading.Event]:
    """From another connection, pg_terminate_backend() the login's session once its active
    statement mentions `needle`: the connection drops in the middle of that probe. The event
    is set once the kill happened."""
    done, stop = threading.Event(), threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not stop.is_set() and time.monotonic() < deadline:
            rows = cluster.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ? "
                "AND state = 'active' AND position(? in query) > 0", params=(login, needle))
            if rows:
                done.set()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(timeout=5)


def observations_of(bundle: EvidenceBundle, target: str) -> dict[str, Observation]:
    """One target's SQL observations by probe."""
    return {o.probe: o for o in bundle.observations
            if o.source.value == "sql" and o.target == target}


def utc(text: str) -> dt.datetime:
    """An aware UTC time from ISO text."""
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def healthy_copy(lab: LabCluster, out: Path, name: str) -> LabEstate:
    """A private copy of the healthy estate (its own databases) for tests that break things."""
    return build_estate(lab, demo_root() / "healthy", out, name,
                        present=dt.datetime.now(dt.UTC))
