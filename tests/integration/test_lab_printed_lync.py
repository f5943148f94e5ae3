"""`auditor lab lync up` prints an audit that works as printed, for every estate (the helpers
are tests/integration/test_lab_printed.py's; a file of its own so test workers share them out)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import lab_lync
from auditor.lab.demo import DEMO_ESTATES
from tests.integration.test_lab_printed import AUDIT_LINE, check_audit


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
