"""`auditor remediate` on bad input: one line naming the file or option, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.evidence import read_bundle
from auditor.results import write_results
from tests.unit.test_remediate_plan import SOURCE, inventory, toolkit


def _audit(tmp: Path) -> tuple[Path, Path, Path]:
    inv = inventory(tmp)
    kit = toolkit()
    loaded = kit.load_inventory(inv)
    bundle, digest = read_bundle(SOURCE / "evidence.json")
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None))
    write_results(results, tmp / "results.json")
    return inv, SOURCE / "evidence.json", tmp / "results.json"


def _run(*args: str | Path) -> tuple[int, str]:
    done = CliRunner().invoke(app, [str(a) for a in args])
    return done.exit_code, done.output


def test_plan_writes_a_plan_that_apply_dry_runs(tmp_path: Path) -> None:
    inv, bundle, results = _audit(tmp_path)
    code, output = _run("remediate", "plan", results, "--bundle", bundle, "-i", inv,
                        "-o", tmp_path / "plan.json", "--rule", "BR-004")
    assert code == 0, output
    assert "3 action(s)" in output
    code, output = _run("remediate", "apply", tmp_path / "plan.json", "--bundle", bundle,
                        "-i", inv, "-o", tmp_path / "run")
    assert code == 0, output
    assert output.count("backup_database on SQLCHI02\\RTC") == 3
    assert not (tmp_path / "run").exists()


def test_unknown_rule_or_severity_is_bad_input(tmp_path: Path) -> None:
    inv, bundle, results = _audit(tmp_path)
    for option, value in (("--rule", "BR-999"), ("--severity", "urgent")):
        code, output = _run("remediate", "plan", results, "--bundle", bundle, "-i", inv,
                            "-o", tmp_path / "plan.json", option, value)
        assert code == 2
        assert len(output.strip().splitlines()) == 1
        assert option in output


def test_a_bundle_that_is_not_the_results_one_is_refused(tmp_path: Path) -> None:
    inv, _, results = _audit(tmp_path)
    other = SOURCE.parent / "healthy" / "evidence.json"
    code, output = _run("remediate", "plan", results, "--bundle", other, "-i", inv,
                        "-o", tmp_path / "plan.json")
    assert code == 2
    assert "is not the bundle" in output


def test_a_broken_plan_names_its_file_and_field(tmp_path: Path) -> None:
    inv, bundle, results = _audit(tmp_path)
    _run("remediate", "plan", results, "--bundle", bundle, "-i", inv, "-o",
         tmp_path / "plan.json")
    data = json.loads((tmp_path / "plan.json").read_text())
    data["actions"][0]["method"] = "sideways"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    code, output = _run("remediate", "apply", tmp_path / "bad.json", "--bundle", bundle,
                        "-i", inv)
    assert code == 2
    assert "bad.json" in output
    assert "actions[0].method" in output
    (tmp_path / "bad.json").write_text("{")
    code, output = _run("remediate", "apply", tmp_path / "bad.json", "--bundle", bundle,
                        "-i", inv)
    assert code == 2
    assert "invalid JSON" in output
