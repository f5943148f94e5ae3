"""Helpers for the WinRM lab tests: a loopback endpoint per test, live inventories, audits.

Kept out of conftest.py (the PostgreSQL lab owns that): import what you need from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.collect.base import CollectContext
from auditor.collect.lync import LyncCollector
from auditor.evidence import EvidenceBundle, Observation, Source, read_bundle
from auditor.findings import Status
from auditor.inventory import LoadedInventory, load_inventory
from auditor.lab.winrm.endpoint import WinRMEndpoint
from auditor.lab.winrm.lync import LyncLab
from auditor.pipeline import Toolkit
from auditor.results import Results
from auditor.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
ESTATES = ("healthy", "drifted", "neglected")
LYNC_RULES = frozenset({"BR-010", "BR-011", "BR-020", "BR-041", "BR-050", "DR-001", "DR-002",
                        "DR-010", "DR-020"})
"""The rules whose verdicts read PowerShell evidence."""
CANARY_USER = "LAB\\svc-lyncaudit"
CANARY_PASSWORD = "Canary-7Qx;$(pw)`s3cr3t'"  # noqa: S105 - a canary, searched for in output
PASSWORD_ENV = "AUDITOR_TEST_LYNC_PASSWORD"  # noqa: S105 - a variable name
Verdicts = set[tuple[str, str, str]]


@cache
def toolkit() -> Toolkit:
    """The shipped rule pack, loaded once."""
    return Toolkit()


@dataclass
class RunningLab:
    """An endpoint serving one estate, and the map that sends every server to it."""

    endpoint: WinRMEndpoint
    lab: LyncLab

    @property
    def connect_to(self) -> dict[str, str]:
        """Every server name to this endpoint."""
        return {"*": f"127.0.0.1:{self.endpoint.port}"}


@contextmanager
def running_lab(estate: str | Path, **lab_options: Any) -> Iterator[RunningLab]:
    """A loopback HTTPS endpoint answering from a demo estate's recorded Lync evidence."""
    folder = estate if isinstance(estate, Path) else DEMO / estate
    with serving(LyncLab.from_estate(folder, **lab_options)) as running:
        yield running


@contextmanager
def serving(lab: LyncLab) -> Iterator[RunningLab]:
    """A loopback HTTPS endpoint for a lab built by the test."""
    with WinRMEndpoint(lab, username=CANARY_USER, password=CANARY_PASSWORD) as endpoint:
        yield RunningLab(endpoint, lab)


def lync_section(running: RunningLab, **overrides: Any) -> dict[str, Any]:
    """An inventory `lync:` section for the endpoint: https, its CA, basic auth, env secret."""
    section: dict[str, Any] = {
        "management_servers": ["mgmt01.lab.invalid"],
        "transport": "https", "port": running.endpoint.port, "auth": "basic",
        "ca_bundle": str(running.endpoint.ca_cert),
        "credential": {"kind": "env", "username": CANARY_USER, "name": PASSWORD_ENV},
        "command_timeout_seconds": 2, "connect_timeout_seconds": 2,
    }
    section.update(overrides)
    return section


def live_inventory(tmp_path: Path, estate: str | Path, running: RunningLab, *,
                   edit: Mapping[str, Any] | None = None, **lync: Any) -> LoadedInventory:
    """A copy of an estate's inventory with a lync: section (paths made absolute)."""
    folder = estate if isinstance(estate, Path) else DEMO / estate
    data, _ = load_yaml(folder / "inventory.yaml")
    assert isinstance(data, dict)
    for key in ("waivers", "records"):
        if data.get(key):
            data[key] = str((folder / data[key]).resolve())
    data["lync"] = lync_section(running, **lync)
    data.update(edit or {})
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_inventory(path)


def collect_lync(loaded: LoadedInventory, running: RunningLab | None = None, *,
                 connect_to: Mapping[str, str] | None = None,
                 workers: int = 8) -> list[Observation]:
    """The live Lync collector's observations."""
    mapping = dict(connect_to or (running.connect_to if running else {}))
    collector = LyncCollector(workers=workers, connect_to=mapping, interactive=False)
    context = CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC))
    return list(collector.collect(context))


def combined(recorded: EvidenceBundle, live: list[Observation]) -> EvidenceBundle:
    """The recorded bundle with its Lync observations replaced by the live ones."""
    kept = [o for o in recorded.observations if o.source is not Source.LYNC]
    return recorded.model_copy(update={"observations": sorted([*kept, *live],
                                                              key=lambda o: o.id)})


def audit(estate: str | Path, loaded: LoadedInventory, live: list[Observation]) -> Results:
    """Evaluate the estate's recorded SQL and records evidence plus the live Lync evidence,
    at the recorded collection time, with the estate's own waivers."""
    folder = estate if isinstance(estate, Path) else DEMO / estate
    recorded, sha = read_bundle(folder / "evidence.json")
    kit = toolkit()
    waivers = kit.load_waivers(loaded, None)
    return kit.evaluate(combined(recorded, live), sha, loaded, waivers,
                        now=recorded.collected_at)


def replayed(estate: str) -> Results:
    """The recorded bundle alone, against the estate's own inventory."""
    kit = toolkit()
    loaded = kit.load_inventory(DEMO / estate / "inventory.yaml")
    recorded, sha = read_bundle(DEMO / estate / "evidence.json")
    return kit.evaluate(recorded, sha, loaded, kit.load_waivers(loaded, None))


def verdicts(results: Results, rules: frozenset[str] | None = None) -> Verdicts:
    """(rule, subject, status) of every applicable finding (of some rules)."""
    return {(f.rule_id, f.subject.id, f.status.value) for f in results.findings
            if f.status is not Status.NOT_APPLICABLE and (rules is None or f.rule_id in rules)}


def expected_verdicts(estate: str, rules: frozenset[str] | None = None) -> Verdicts:
    """The hand-written verdicts of fixtures/demo/<estate>/expected.yaml."""
    data, _ = load_yaml(DEMO / estate / "expected.yaml")
    return {(rule, subject, status) for rule, subjects in data["verdicts"].items()
            for subject, status in subjects.items() if rules is None or rule in rules}


def by_id(observations: list[Observation]) -> dict[str, Observation]:
    """Observations keyed by id."""
    return {o.id: o for o in observations}


@pytest.fixture
def canary_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The canary password in the environment variable the live inventories name."""
    monkeypatch.setenv(PASSWORD_ENV, CANARY_PASSWORD)
    return CANARY_PASSWORD
