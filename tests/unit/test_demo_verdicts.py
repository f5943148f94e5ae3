"""The demo estates of fixtures/demo/ give exactly the verdicts written by hand in expected.yaml.

Each estate's README.md tells its story; expected.yaml was written from it and rules.md, never
from the evaluator's output. Here the recorded bundle is evaluated against the estate's own
inventory and waivers at the default time (the bundle's collection time), and every finding
that is not `not_applicable` must be listed there with its status, and nothing else.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from auditor.collect.records import collect_records
from auditor.evidence import EvidenceBundle, Source, make_observation, read_bundle
from auditor.findings import Status
from auditor.pipeline import Toolkit
from auditor.results import Results
from auditor.yamlio import load_yaml
from tools.demo.build import build

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"
ESTATES = ("healthy", "drifted", "neglected")
RULE_IDS = 26
UNKNOWN_ZONE = 127  # backupset.time_zone when msdb does not know the offset

Verdicts = set[tuple[str, str, str]]


@cache
def toolkit() -> Toolkit:
    """The shipped rule pack, loaded once."""
    return Toolkit()


def evaluate(estate: str, bundle: EvidenceBundle | None = None) -> Results:
    """The estate's bundle (or a changed copy) against its inventory and waivers, default now."""
    kit = toolkit()
    loaded = kit.load_inventory(DEMO / estate / "inventory.yaml")
    waivers = kit.load_waivers(loaded, None)
    recorded, sha = read_bundle(DEMO / estate / "evidence.json")
    return kit.evaluate(bundle or recorded, sha, loaded, waivers)


def verdicts(results: Results) -> Verdicts:
    """(rule, subject, status) of every finding that is not not_applicable."""
    return {(f.rule_id, f.subject.id, f.status.value) for f in results.findings
            if f.status is not Status.NOT_APPLICABLE}


def expected(estate: str) -> dict[str, Any]:
    """The hand-written expected.yaml of an estate."""
    data, _ = load_yaml(DEMO / estate / "expected.yaml")
    assert isinstance(data, dict)
    return data


def expected_verdicts(estate: str) -> Verdicts:
    """expected.yaml's verdicts as (rule, subject, status)."""
    return {(rule, subject, status) for rule, subjects in expected(estate)["verdicts"].items()
            for subject, status in subjects.items()}


@pytest.mark.parametrize("estate", ESTATES)
def test_verdicts_are_the_hand_written_ones(estate: str) -> None:
    got = verdicts(evaluate(estate))
    want = expected_verdicts(estate)
    assert sorted(want - got) == [], "expected but not found"
    assert sorted(got - want) == [], "found but not expected"


@pytest.mark.parametrize("estate", ESTATES)
def test_score_and_coverage_are_the_hand_computed_ones(estate: str) -> None:
    overall = evaluate(estate).overall
    want = expected(estate)
    assert overall.score is not None
    assert overall.coverage is not None
    assert (round(overall.score, 1), round(overall.coverage, 1)) == (want["score"],
                                                                     want["coverage"])


def test_every_rule_passes_somewhere_and_fails_somewhere() -> None:
    statuses: dict[str, set[str]] = {}
    for estate in ESTATES:
        for rule, _, status in expected_verdicts(estate):
            statuses.setdefault(rule, set()).add(status)
    assert len(statuses) == len({r.id for r in toolkit().pack.rules}) == RULE_IDS
    lacking = {rule: sorted(found) for rule, found in statuses.items()
               if not {"pass", "fail"} <= found}
    assert not lacking


def test_healthy_is_perfect_and_neglected_is_below_half() -> None:
    assert expected("healthy")["score"] == expected("healthy")["coverage"] == 100.0
    assert all(status == "pass" for _, _, status in expected_verdicts("healthy"))
    assert expected("neglected")["score"] < 50


@pytest.mark.parametrize("estate", ESTATES)
def test_records_in_the_bundle_are_the_estates_records(estate: str) -> None:
    """The bundle holds the whole evidence: its records observations are what the records
    collector reads from the records file or folder the inventory names."""
    kit = toolkit()
    loaded = kit.load_inventory(DEMO / estate / "inventory.yaml")
    assert loaded.inventory.records is not None
    bundle, _ = read_bundle(DEMO / estate / "evidence.json")
    in_bundle = {o.probe: (o.data, o.parameters) for o in bundle.observations
                 if o.source is Source.RECORDS}
    fresh = collect_records(loaded.relative(loaded.inventory.records), bundle.collected_at)
    assert in_bundle == {o.probe: (o.data, o.parameters) for o in fresh}
    assert bundle.inventory_sha256 == loaded.sha256


@pytest.mark.slow
def test_bundles_are_what_the_builder_writes(tmp_path: Path) -> None:
    """`python -m tools.demo.build` is deterministic, and the committed bundles are its output
    (rebuild them after changing tools/demo or an estate's records or inventory)."""
    for estate in ESTATES:
        shutil.copytree(DEMO / estate, tmp_path / estate,
                        ignore=shutil.ignore_patterns("evidence.json"))
        first = build(estate, tmp_path).read_bytes()
        second = build(estate, tmp_path).read_bytes()
        assert first == second
        assert first == (DEMO / estate / "evidence.json").read_bytes(), estate


def _as_if_utc(bundle: EvidenceBundle) -> EvidenceBundle:
    """The same evidence with every server clock read as UTC (the classic bug)."""
    observations = []
    for obs in bundle.observations:
        rows = copy.deepcopy(obs.data)
        if obs.probe == "server_time":
            for row in rows:
                row["local_now"] = row["utc_now"]
        if obs.probe == "backup_history":
            for row in rows:
                if row["time_zone"] != UNKNOWN_ZONE:
                    row["time_zone"] = 0
        observations.append(make_observation(
            source=obs.source, probe=obs.probe, target=obs.target, started_at=obs.started_at,
            finished_at=obs.finished_at, status=obs.status, error=obs.error, data=rows,
            parameters=obs.parameters))
    return bundle.model_copy(update={"observations": observations})


FLIPS = {
    "healthy": [("BR-003", "database:SQLBNE01\\RTC/rtcxds", "pass", "fail"),
                ("BR-003", "database:SQLCHI01\\RTC/rtcxds", "pass", "fail")],
    "drifted": [("BR-001", "database:SQLBNE01\\RTC/rgsconfig", "fail", "pass")],
    "neglected": [("BR-001", "database:SQLBNE01\\RTC/xds", "fail", "pass")],
}


@pytest.mark.parametrize("estate", ESTATES)
def test_reading_local_times_as_utc_would_change_verdicts(estate: str) -> None:
    """Every estate has instances east and west of UTC whose verdicts depend on the offset."""
    recorded, _ = read_bundle(DEMO / estate / "evidence.json")
    right = {(f.rule_id, f.subject.id): f.status.value for f in evaluate(estate).findings}
    wrong = {(f.rule_id, f.subject.id): f.status.value
             for f in evaluate(estate, _as_if_utc(recorded)).findings}
    for rule, subject, good, bad in FLIPS[estate]:
        assert (right[(rule, subject)], wrong[(rule, subject)]) == (good, bad)


def _summary(estate: str) -> str:
    results = evaluate(estate)
    return json.dumps({"verdicts": sorted(verdicts(results)), "now": results.now.isoformat(),
                       "score": results.overall.score, "coverage": results.overall.coverage})


@pytest.mark.slow
def test_verdicts_do_not_depend_on_the_wall_clock_or_its_zone() -> None:
    """Default `now` is the collection time: two runs, and a run in another process whose
    local zone is Pacific/Auckland (a different calendar day from UTC), agree exactly."""
    first = {estate: _summary(estate) for estate in ESTATES}
    second = {estate: _summary(estate) for estate in ESTATES}
    assert first == second
    script = ("import json; from tests.unit.test_demo_verdicts import ESTATES, _summary; "
              "print(json.dumps({e: _summary(e) for e in ESTATES}))")
    env = {**os.environ, "TZ": "Pacific/Auckland"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(done.stdout) == first
