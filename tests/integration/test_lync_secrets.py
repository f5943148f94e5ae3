"""The WinRM password (a canary) never appears in observations, results, logs or the terminal,
even when a server echoes it back in an error."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from auditor.collect.lync import preflight_lync
from tests.integration.lync_fixtures import (
    CANARY_PASSWORD,
    CANARY_USER,
    LYNC_RULES,
    audit,
    canary_env,
    collect_lync,
    live_inventory,
    running_lab,
)

__all__ = ["canary_env"]

pytestmark = pytest.mark.winrm

FORMS = (CANARY_PASSWORD, base64.b64encode(f"{CANARY_USER}:{CANARY_PASSWORD}".encode()).decode())


def test_canary_password_never_leaks(tmp_path: Path, canary_env: str,
                                     caplog: pytest.LogCaptureFixture,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with running_lab("healthy") as running:
        running.lab.faults.error["share_space"] = (
            f"logon failure for {CANARY_USER} with password {CANARY_PASSWORD}")
        running.lab.faults.soft_error["cms_replication"] = f"echo {FORMS[1]}"
        loaded = live_inventory(tmp_path, "healthy", running)
        live = collect_lync(loaded, running)
        checks = preflight_lync(loaded, connect_to=running.connect_to, interactive=False)
        assert {c.user for c in running.endpoint.calls} == {CANARY_USER}  # it was the login
        running.endpoint.faults.refuse_auth = True
        refused = collect_lync(loaded, running)
    results = audit("healthy", loaded, live)
    texts += [o.model_dump_json() for o in [*live, *refused]]
    texts += [results.model_dump_json(), repr(checks), caplog.text]
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    errors = [o.error or "" for o in live if not o.ok]
    assert any("***" in e for e in errors)
    assert {o.probe for o in live if not o.ok} == {"share_space", "cms_replication"}
    assert any(f.rule_id in LYNC_RULES for f in results.findings)
    for text in texts:
        for form in FORMS:
            assert form not in text
