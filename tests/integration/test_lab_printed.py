"""Every command `auditor lab ... up` prints works as printed, in a shell, for every estate.

Each printed audit command is run by bash as printed (the env file's variables through
`env $(cat FILE)`, the executable by its absolute path: no venv on PATH), and its results.json
must give the verdicts written by hand in that estate's fixtures/demo/<estate>/expected.yaml.
One command of `lab sql up` (the drifted estate's) runs exactly as printed, with the PDF it
writes by default; the others, and those `lab lync up` prints, get `--format json` appended,
since a ~95-page PDF costs half a minute of CPU and the report of every estate is tested in
test_demo_report.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import lab_lync, lab_sql
from auditor.lab.demo import DEMO_ESTATES, demo_root
from auditor.yamlio import load_yaml

Verdicts = set[tuple[str, str, str]]
WHOLE_ESTATE = "drifted"  # its `lab sql up` command runs unchanged, report.pdf and all
AUDIT_LINE = re.compile(r"^\s+(env .* audit --inventory .*--out audit-(\w+))$", re.MULTILINE)


def expected(estate: str) -> Verdicts:
    data, _ = load_yaml(demo_root() / estate / "expected.yaml")
    assert isinstance(data, dict)
    return {(rule, subject, status) for rule, subjects in data["verdicts"].items()
            for subject, status in subjects.items()}


def got(results: Path) -> Verdicts:
    data = json.loads(results.read_text(encoding="utf-8"))
    return {(f["rule_id"], f["subject"]["id"], f["status"]) for f in data["findings"]
            if f["status"] != "not_applicable"}


def run_as_printed(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The line in a shell whose PATH has no venv (as an admin's login shell)."""
    home = cwd / "home"  # a home of its own: the audit records into its default history there
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def check_audit(line: str, estate: str, cwd: Path, *, whole: bool = False) -> None:
    executable = shlex.split(line)[3]  # env $(cat FILE) EXECUTABLE audit ...
    assert Path(executable).is_absolute(), line
    assert os.access(executable, os.X_OK), line
    done = run_as_printed(line if whole else f"{line} --format json", cwd)
    want = expected(estate)
    failing = any(status in ("fail", "error") for _, _, status in want)
    assert done.returncode == (1 if failing else 0), done.stdout + done.stderr
    assert got(cwd / f"audit-{estate}" / "results.json") == want
    assert (cwd / f"audit-{estate}" / "report.pdf").is_file() == whole


@pytest.fixture
def sql_lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    runner = CliRunner()
    up = runner.invoke(lab_sql.app, ["up", "--dir", str(tmp_path / "lab")])
    assert up.exit_code == 0, up.output
    try:
        yield up.output, tmp_path
    finally:
        runner.invoke(lab_sql.app, ["down", "--dir", str(tmp_path / "lab")])


@pytest.mark.pg
@pytest.mark.slow
def test_lab_sql_up_prints_an_audit_per_estate_that_gives_its_verdicts(
        sql_lab: tuple[str, Path]) -> None:
    output, cwd = sql_lab
    printed = {estate: line for line, estate in AUDIT_LINE.findall(output)}
    assert sorted(printed) == sorted(DEMO_ESTATES), output
    for estate, line in printed.items():
        check_audit(line, estate, cwd, whole=estate == WHOLE_ESTATE)

    preflight = next(line.strip() for line in output.splitlines()
                     if " preflight --inventory " in line)
    checked = run_as_printed(preflight, cwd)
    assert checked.returncode == 1, checked.stdout + checked.stderr  # one login has no grants
    assert "VIEW SERVER STATE" in checked.stdout

    down = next(line.split(": ", 1)[1] for line in output.splitlines()
                if line.startswith("stop it with: "))
    stopped = run_as_printed(down, cwd)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not (cwd / "lab" / lab_sql.STATE_FILE).exists()


@pytest.mark.winrm
@pytest.mark.slow
@pytest.mark.parametrize("estate", DEMO_ESTATES)
def test_lab_lync_up_prints_an_audit_that_gives_the_estates_verdicts(
        estate: str, tmp_path: Path) -> None:
    runner = CliRunner()
    up = runner.invoke(lab_lync.app, ["up", "--dir", str(tmp_path / "lab"), "--estate", estate])
    assert up.exit_code == 0, up.output
    try:
        found = AUDIT_LINE.findall(up.output)
        assert [name for _, name in found] == [estate], up.output
        assert "--replay " in found[0][0]
        check_audit(found[0][0], estate, tmp_path)
    finally:
        down = runner.invoke(lab_lync.app, ["down", "--dir", str(tmp_path / "lab"),
                                            "--estate", estate])
    assert down.exit_code == 0, down.output
