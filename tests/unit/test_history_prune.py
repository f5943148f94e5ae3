"""`history prune`: the dry run deletes nothing; --apply removes only the old audits' bundles
and report files, keeps the newest and the open streaks' first audits, and what stays still
renders. And a failed delivery lands in the audit's run record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from auditor.canonical import pretty_bytes
from auditor.cli import app
from auditor.cli.history_audit import AuditHistory
from auditor.cli.unattended import Unattended
from auditor.evidence import read_bundle
from auditor.facts import derive_facts
from auditor.findings import Status
from auditor.gates import Gates
from auditor.history.diff import diff_runs
from auditor.history.model import HistorySnapshot
from auditor.history.prune import Retention, apply_prune, dry_run
from auditor.history.queries import find_run
from auditor.history.record import AuditRecord, record_audit
from auditor.history.schema import audits, blobs, findings, intervals
from auditor.history.store import HistoryStore, open_store
from auditor.pipeline import Toolkit
from auditor.results import Results, results_bytes
from auditor.unattended.digest import MailWhen
from auditor.unattended.metrics import AuditRun
from tests.historykit import DEMO, demo_file, demo_results, pack_sha256, record

LATER = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
KEEP_NEWEST_ONLY = Retention(keep_days=0, keep_last=1, now=LATER)


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def _flip(results: Results, rule: str, subject: str, value: str, days: int) -> Results:
    status = Status(value)
    found = [f.model_copy(update={"status": status, "status_before_waiver": status})
             if (f.rule_id, f.subject.id) == (rule, subject) else f for f in results.findings]
    return results.model_copy(update={"findings": found,
                                      "now": results.now + dt.timedelta(days=days)})


def _record(store: HistoryStore, results: Results, run_id: str, bundle: bytes) -> None:
    """Record as `auditor audit` does: each audit with its own report snapshot."""
    snapshot = HistorySnapshot(run_id=run_id, trend=[], since=None)
    record_audit(store, AuditRecord(
        results=results, results_bytes=results_bytes(results), bundle_bytes=bundle,
        inventory_bytes=demo_file("inventory.yaml"), rulepack_sha256=pack_sha256(),
        ran_at=results.now, generated_at=results.now,
        report={"formats": ["html", "json"], "appendix": "full", "appendix_rows": 10},
        extra_blobs={"snapshot": pretty_bytes(snapshot.model_dump(mode="json"))},
        run_id=run_id))


def _four_audits(store: HistoryStore) -> list[str]:
    """a1 (findings open since), a2 (only resolves one: no streak starts there, and its own
    bundle), a3 (a finding starts failing), a4 (the same: the newest)."""
    base = demo_results()
    failing = next((f.rule_id, f.subject.id) for f in base.findings if f.status == "fail")
    passing = next((f.rule_id, f.subject.id) for f in base.findings if f.status == "pass")
    a2 = _flip(base, *failing, "pass", days=1)
    a3 = _flip(a2, *passing, "fail", days=1)
    a4 = a3.model_copy(update={"now": a3.now + dt.timedelta(days=1)})
    runs = [f"{n:08d}-0000-4000-8000-000000000000" for n in (1, 2, 3, 4)]
    bundle = demo_file("evidence.json")
    for run, results, data in zip(runs, (base, a2, a3, a4),
                                  (bundle, bundle + b"\n", bundle, bundle), strict=True):
        _record(store, results, run, data)
    return runs


def _counts(store: HistoryStore) -> dict[str, int]:
    with store.reading() as conn:
        counted = {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                   for t in (audits, blobs, findings, intervals)}
        counted["pruned"] = int(conn.execute(select(func.count()).select_from(audits)
                                             .where(audits.c.pruned_at.is_not(None))).scalar_one())
    return counted


def test_dry_run_deletes_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    runs = _four_audits(store)
    before = _counts(store)
    plan = dry_run(store, None, KEEP_NEWEST_ONLY)
    assert [p.run_id for p in plan.pruned] == [runs[1]]
    assert plan.blobs == 2  # a2's own bundle and its snapshot
    assert plan.size == len(demo_file("evidence.json")) + 1 + len(
        pretty_bytes(HistorySnapshot(run_id=runs[1], trend=[], since=None)
                     .model_dump(mode="json")))
    assert not plan.applied
    assert _counts(store) == before
    done = cli("history", "prune", "--history", store.where, "--keep-days", "0",
               "--keep-last", "1")
    assert done.exit_code == 0, done.output
    assert f"would prune {runs[1][:8]}" in done.stdout
    assert _counts(store) == before


def test_apply_keeps_newest_and_open_streak_starts_and_they_still_render(
        tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    runs = _four_audits(store)
    before = _counts(store)
    plan = apply_prune(store, None, KEEP_NEWEST_ONLY)
    assert plan.applied
    assert {k.run_id: k.reason for k in plan.kept} == {
        runs[3]: "newest", runs[2]: "an open finding's first sighting",
        runs[0]: "an open finding's first sighting"}
    after = _counts(store)
    assert after == {**before, "blobs": before["blobs"] - 2, "pruned": 1}
    with store.reading() as conn:
        pruned = find_run(conn, runs[1])
        assert pruned.pruned_at == LATER
        assert diff_runs(conn, find_run(conn, runs[0]), find_run(conn, runs[3])).changes
    assert dry_run(store, None, KEEP_NEWEST_ONLY).pruned == []  # nothing left to prune
    gone = cli("history", "report", runs[1][:8], "--out", tmp_path / "gone", "--history",
               store.where)
    assert gone.exit_code == 2
    assert "were pruned on 2100-01-01" in gone.output
    assert len(gone.output.strip().splitlines()) == 1
    kept = cli("history", "report", runs[0][:8], "--out", tmp_path / "kept", "--format",
               "html", "--history", store.where)
    assert kept.exit_code == 0, kept.output
    assert "<html" in (tmp_path / "kept" / "report.html").read_text(encoding="utf-8")


def test_a_failed_delivery_is_in_the_run_record(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'h.sqlite'}")
    run_id = "feedface-0000-4000-8000-000000000000"
    results = demo_results()
    record(store, results, run_id)
    bundle = read_bundle(DEMO / "evidence.json")[0]
    inventory = Toolkit().load_inventory(DEMO / "inventory.yaml").inventory
    audit = AuditRun(results, derive_facts(bundle, inventory, results.now), LATER, LATER)
    blocked = tmp_path / "metrics.prom"
    blocked.mkdir()  # a folder where the file should go: the write fails after the checks
    options = Unattended(Gates(), blocked, False, (), MailWhen.ALWAYS)
    code = options.finish(audit, tmp_path, tmp_path, None,
                          AuditHistory(store, run_id).remember_deliveries)
    assert code == 1  # the audit's own result stands
    shown = cli("history", "show", run_id[:8], "--json", "--history", store.where)
    assert shown.exit_code == 0, shown.output
    [delivery] = json.loads(shown.stdout)["deliveries"]
    assert delivery["kind"] == "metrics"
    assert delivery["target"] == str(blocked)
    assert delivery["ok"] is False
    assert "cannot write" in delivery["message"]
