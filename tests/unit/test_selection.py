"""--rule/--severity selection: the AuditScope, a partial results.json (version 2, scored over
the selection only), reading version 1, and the partial label in the report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from auditor.engine.score import score
from auditor.engine.selection import AuditScope, select
from auditor.errors import InputError
from auditor.evidence import read_bundle
from auditor.findings import Severity
from auditor.pipeline import Toolkit
from auditor.results import Results, read_results, results_bytes

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "auditor" / "data" / "fixtures" / "demo" / "drifted"


@cache
def toolkit() -> Toolkit:
    return Toolkit()


def _evaluate(scope: AuditScope | None = None) -> Results:
    kit = toolkit()
    loaded = kit.load_inventory(DEMO / "inventory.yaml")
    bundle, digest = read_bundle(DEMO / "evidence.json")
    waivers = kit.load_waivers(loaded, None)
    if scope is None:
        return kit.evaluate(bundle, digest, loaded, waivers)
    return kit.evaluate(bundle, digest, loaded, waivers, scope=scope)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_select_normalises_and_says_whether_complete() -> None:
    pack = toolkit().pack
    scope = select(pack, ["br-001", " DR-030 ", "BR-001"], ["CRITICAL"])
    assert scope.rules == ["BR-001", "DR-030"]
    assert scope.severities == [Severity.CRITICAL]
    assert scope.complete is False
    assert select(pack).complete is True
    every = select(pack, severities=[s.value for s in Severity])
    assert every.complete is True  # selects every rule: nothing was left out
    assert select(pack, subjects=["SQLBNE01\\RTC"]).complete is False


@pytest.mark.parametrize(("rules", "severities", "field"), [
    (["XX-999"], [], "--rule"),
    ([], ["urgent"], "--severity"),
    (["BR-001"], ["low"], "--rule/--severity"),  # BR-001 is critical: nothing left
])
def test_select_refuses_unknown_or_empty(rules: list[str], severities: list[str],
                                         field: str) -> None:
    with pytest.raises(InputError) as caught:
        select(toolkit().pack, rules, severities)
    assert caught.value.path == field


def test_partial_results_cover_the_selection_only() -> None:
    full = _evaluate()
    scope = select(toolkit().pack, ["BR-001", "DR-030"])
    part = _evaluate(scope)
    assert part.scope == scope
    assert {f.rule_id for f in part.findings} == {"BR-001", "DR-030"}
    assert [r.id for r in part.rules] == ["BR-001", "DR-030"]
    assert {p.id for p in part.by_practice} == {"P1", "P12"}
    same = [f for f in full.findings if f.rule_id in {"BR-001", "DR-030"}]
    assert part.findings == same
    assert part.overall == score(same)  # the score is over the selected rules only
    assert part.overall != full.overall
    assert all(w.rule in {"BR-001", "DR-030"} for w in part.waivers)
    assert full.scope.complete
    assert {w.rule for w in full.waivers} - {"BR-001", "DR-030"}  # others were dropped


def test_severity_selection_and_subject_scope() -> None:
    part = _evaluate(select(toolkit().pack, severities=["critical"]))
    pack = toolkit().pack
    assert {r.id for r in part.rules} == {r.id for r in pack.rules
                                         if r.severity is Severity.CRITICAL}
    one = _evaluate(AuditScope(complete=False, rules=["BR-001"],
                               subjects=["database:SQLBNE01\\RTC/XDS"]))  # case-blind
    assert [f.subject.id for f in one.findings] == ["database:SQLBNE01\\RTC/xds"]


def test_results_version_2_matches_its_schema_and_version_1_still_reads(tmp_path: Path) -> None:
    part = _evaluate(select(toolkit().pack, ["BR-001"]))
    data = json.loads(results_bytes(part))
    assert data["version"] == 2
    assert data["scope"] == {"complete": False, "rules": ["BR-001"], "severities": [],
                             "subjects": []}
    schema = json.loads((ROOT / "docs" / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)

    old = json.loads(results_bytes(_evaluate()))
    old["version"] = 1
    del old["scope"]
    path = tmp_path / "results-v1.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    read = read_results(path)
    assert read.version == 2
    assert read.scope.complete is True
    assert read.overall == _evaluate().overall


def test_cli_selection_exit_codes_and_partial_report(tmp_path: Path) -> None:
    base = [str(DEMO / "evidence.json"), "--inventory", str(DEMO / "inventory.yaml"), "--out"]
    unknown = run_cli("evaluate", *base, str(tmp_path / "a.json"), "--rule", "BR-999")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == ("error: --rule: unknown rule id 'BR-999'; see "
                                      "`auditor rules list`")
    bad_level = run_cli("evaluate", *base, str(tmp_path / "b.json"), "--severity", "urgent")
    assert bad_level.returncode == 2
    assert "unknown severity 'urgent'" in bad_level.stderr
    assert not (tmp_path / "a.json").exists()

    results = tmp_path / "c.json"
    done = run_cli("evaluate", *base, str(results), "--rule", "BR-001", "--rule", "DR-030",
                   "--severity", "critical")
    assert done.returncode == 1, done.stderr  # the drifted estate fails BR-001
    assert "partial audit: over 2 selected rules only" in done.stdout
    assert read_results(results).scope.rules == ["BR-001", "DR-030"]

    report = run_cli("report", str(results), "--inventory", str(DEMO / "inventory.yaml"),
                     "--out", str(tmp_path / "report"), "--format", "html,md")
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert re.search(r"grade [A-F] \(partial audit\)", html)
    assert html.count("Partial audit: 2 of") == 3  # cover, summary, scope
    assert "rule-br-002" not in html  # no section lists or links an unselected rule
    summary = (tmp_path / "report" / "summary.md").read_text(encoding="utf-8")
    assert "Partial audit: 2 of" in summary
