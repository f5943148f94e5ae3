"""A remediation's re-audit is recorded as a partial audit whose scope is the subjects of the
re-collected instances: the fixed findings there are resolved, and a finding outside it stays
open even when the verification's evaluation (which still holds every other instance's older
findings) says otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from auditor.findings import Status
from auditor.history.diff import diff_runs
from auditor.history.model import Category
from auditor.history.queries import list_audits, open_findings
from auditor.history.remediation import REAUDIT, reaudit_results, record_reaudit
from auditor.history.store import open_store
from auditor.pipeline import Toolkit
from tests.historykit import DEMO, demo_file, demo_results, record

FIXED_ON = "SQLBNE01\\RTC"  # the instance the remediation touched and re-collected


def test_reaudit_resolves_only_inside_its_scope(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'history.sqlite'}")
    base = demo_results()
    record(store, base)
    failing = [f for f in base.findings if f.status is Status.FAIL]
    inside = {(f.rule_id, f.subject.id) for f in failing if f.subject.instance == FIXED_ON}
    outside = next((f.rule_id, f.subject.id) for f in failing
                   if f.subject.instance not in (None, FIXED_ON))
    assert inside
    passed = inside | {outside}  # the evaluation says both pass; only `inside` was looked at
    after = base.model_copy(update={
        "now": base.now + dt.timedelta(hours=2),
        "findings": [f.model_copy(update={"status": Status.PASS,
                                          "status_before_waiver": Status.PASS})
                     if (f.rule_id, f.subject.id) in passed else f for f in base.findings]})
    toolkit = Toolkit()
    loaded = toolkit.load_inventory(DEMO / "inventory.yaml")
    scoped = reaudit_results(after, toolkit.pack, toolkit.load_waivers(loaded, None),
                             [FIXED_ON.lower()])
    assert scoped is not None
    assert not scoped.scope.complete
    assert {f.subject.instance for f in scoped.findings} == {FIXED_ON}
    assert scoped.overall.score != after.overall.score  # scored over its scope only
    record_reaudit(store, scoped, toolkit.pack, run_id="20261203_101500_abcdef",
                   finished_at=after.now, inventory_bytes=demo_file("inventory.yaml"),
                   record_bytes=b'{"format": "auditor-remediation-run"}\n')

    with store.reading() as conn:
        runs = list_audits(conn)
        assert [r.complete for r in runs] == [False, True]
        assert runs[0].report[REAUDIT] == "20261203_101500_abcdef"
        changes = diff_runs(conn, runs[1], runs[0]).changes
        still = {(f.rule_id, f.subject_id) for f in open_findings(conn, runs[0].estate_key)}
    resolved = {(c.rule_id, c.subject_id) for c in changes if c.category is Category.RESOLVED}
    assert resolved == inside
    assert {c.category for c in changes} <= {Category.RESOLVED, Category.STILL_OPEN}
    assert outside in still
    assert not inside & still

    done = CliRunner().invoke(app, ["history", "report", runs[0].run_id[:8], "--out",
                                    str(tmp_path / "again"), "--history",
                                    str(tmp_path / "history.sqlite")])
    assert done.exit_code == 2
    assert "re-audit of remediation run 20261203_101500_abcdef" in done.output
