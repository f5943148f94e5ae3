"""`auditor lab lync up|down`: a background endpoint process, an inventory that reaches it."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli.lab_lync import app
from auditor.collect.base import CollectContext
from auditor.collect.lync import LyncCollector
from auditor.collect.lync_collector import CONNECT_ENV
from auditor.inventory import load_inventory

pytestmark = [pytest.mark.winrm, pytest.mark.slow]


def test_up_collect_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["up", "--dir", str(tmp_path), "--estate", "drifted"])
    assert done.exit_code == 0, done.output
    folder = tmp_path / "lync-drifted"
    state = json.loads((folder / "endpoint.json").read_text(encoding="utf-8"))
    try:
        assert oct((folder / "lync.env").stat().st_mode & 0o777) == "0o600"
        for line in (folder / "lync.env").read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            monkeypatch.setenv(name, value)
        assert os.environ[CONNECT_ENV] == f"*=127.0.0.1:{state['port']}"
        loaded = load_inventory(folder / "inventory.yaml")
        found = LyncCollector(interactive=False).collect(
            CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC)))
        assert found
        assert all(o.ok for o in found), [(o.id, o.error) for o in found if not o.ok]
    finally:
        done = runner.invoke(app, ["down", "--dir", str(tmp_path), "--estate", "drifted"])
    assert done.exit_code == 0, done.output
    assert not folder.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(int(state["pid"]), 0)
