"""`auditor lab sql up --express INSTANCE`: the name is checked against the estates being
loaded before any lab starts (case-insensitive), and served as SQL Server Express."""

from __future__ import annotations

from pathlib import Path

from auditor.cli.lab_sql import _express_editions
from auditor.lab.edition import EXPRESS
from tests.unit.test_cli_conventions import run_cli


def test_names_map_to_the_estates_instances_case_insensitively() -> None:
    assert _express_editions(["healthy"], ["sqlmon01\\lyncmon"]) == {
        "SQLMON01\\LYNCMON": EXPRESS}
    assert _express_editions(["healthy"], []) == {}


def test_an_unknown_instance_is_bad_input_before_the_lab_starts(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    done = run_cli("lab", "sql", "up", "--dir", str(lab_dir), "--estate", "healthy",
                   "--express", "NOPE\\X")
    assert done.returncode == 2
    assert "--express: no SQL instance 'NOPE\\X' in the estates being loaded" in done.stderr
    assert "Traceback" not in done.stderr
    assert not lab_dir.exists()
