"""The history store on SQLite: intervals, retired vs resolved, partial scope, abbreviated run
ids, migration from revision 1, concurrent writers, fixed-point kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, func, insert, select

from auditor.engine.selection import AuditScope
from auditor.errors import InputError
from auditor.findings import Status
from auditor.history.blobs import get_blob
from auditor.history.diff import default_pair, diff_runs
from auditor.history.model import Category
from auditor.history.queries import find_run, list_audits, open_findings
from auditor.history.record import practices_json
from auditor.history.remediation import record_remediation, remediation_runs
from auditor.history.schema import intervals
from auditor.history.store import HistoryError, open_store
from auditor.killhook import KILL_AT
from auditor.results import Results
from tests.historykit import ROOT, check_whole, demo_results, record, variant


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'history.sqlite'}"


def _flip(results: Results, rule: str, subject: str, value: str) -> Results:
    status = Status(value)
    findings = [f.model_copy(update={"status": status, "status_before_waiver": status})
                if (f.rule_id, f.subject.id) == (rule, subject) else f for f in results.findings]
    return results.model_copy(update={"findings": findings})


def _pick(results: Results, status: str, skip: int = 0) -> tuple[str, str]:
    found = [(f.rule_id, f.subject.id) for f in results.findings if f.status == status]
    return found[skip]


def test_unchanged_findings_keep_one_interval_and_changes_open_new_ones(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    base = demo_results()
    failing, passing = _pick(base, "fail"), _pick(base, "pass")
    record(store, base)
    record(store, base)
    later = _flip(_flip(base, *failing, "pass"), *passing, "fail")
    record(store, later)
    with store.reading() as conn:
        assert conn.execute(select(func.count()).select_from(intervals)).scalar() == \
            len(base.findings) + 2
        found = diff_runs(conn, *default_pair(conn, list_audits(conn)[0].estate_key))
    changed = {(c.category, c.rule_id, c.subject_id) for c in found.changes
               if c.category is not Category.STILL_OPEN}
    assert changed == {(Category.RESOLVED, *failing), (Category.REGRESSED, *passing)}


def test_missing_finding_is_retired_not_resolved(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    base = demo_results()
    gone = _pick(base, "fail")
    record(store, base)
    fewer = base.model_copy(update={"findings": [
        f for f in base.findings if (f.rule_id, f.subject.id) != gone]})
    record(store, fewer)
    with store.reading() as conn:
        a, b = list_audits(conn)[1], list_audits(conn)[0]
        changes = [c for c in diff_runs(conn, a, b).changes
                   if c.category is not Category.STILL_OPEN]
    assert [(c.category, c.rule_id, c.subject_id) for c in changes] == \
        [(Category.RETIRED, *gone)]


def test_partial_audit_touches_only_its_scope(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    base = demo_results()
    record(store, base)
    inside = next(f for f in base.findings if f.rule_id == "BR-001" and f.status == "fail")
    outside = _pick(base, "fail", skip=5)
    assert outside[0] != "BR-001"
    scope = AuditScope(complete=False, rules=["BR-001"])
    partial = base.model_copy(update={
        "scope": scope, "rules": [r for r in base.rules if r.id == "BR-001"],
        "findings": [f.model_copy(update={"status": Status.PASS,
                                          "status_before_waiver": Status.PASS})
                     if f is inside else f for f in base.findings if f.rule_id == "BR-001"]})
    record(store, partial)
    with store.reading() as conn:
        rows = list_audits(conn)
        changes = diff_runs(conn, rows[1], rows[0]).changes
        still = {(f.rule_id, f.subject_id) for f in open_findings(conn, rows[0].estate_key)}
        with pytest.raises(InputError, match="1 full audit"):
            default_pair(conn, rows[0].estate_key)
    moved = [(c.category, c.rule_id, c.subject_id) for c in changes
             if c.category is not Category.STILL_OPEN]
    assert moved == [(Category.RESOLVED, inside.rule_id, inside.subject.id)]
    assert outside in still  # never looked at: neither resolved nor retired


def test_open_since_follows_the_open_streak(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    base = demo_results()
    rule, subject = _pick(base, "fail")
    first = record(store, base)
    record(store, _flip(variant(base, 0, 0.0, days=3), rule, subject, "warn"))  # still open
    with store.reading() as conn:
        estate = list_audits(conn)[0].estate_key
        found = {(f.rule_id, f.subject_id): f for f in open_findings(conn, estate)}
        first_run = next(a for a in list_audits(conn) if a.seq == first)
    assert found[(rule, subject)].open_since_run == first_run.run_id
    assert found[(rule, subject)].age_days == 3.0


def test_run_ids_abbreviate_like_git(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    base = demo_results()
    record(store, base, run_id="abcd1111-0000-4000-8000-000000000000")
    record(store, base, run_id="abcd2222-0000-4000-8000-000000000000")
    with store.reading() as conn:
        assert find_run(conn, "ABCD1").run_id.startswith("abcd1111")
        with pytest.raises(InputError, match="ambiguous"):
            find_run(conn, "abcd")
        with pytest.raises(InputError, match="too short"):
            find_run(conn, "abc")
        with pytest.raises(InputError, match="no recorded audit"):
            find_run(conn, "ffff")
        with pytest.raises(InputError, match="no recorded audit"):
            find_run(conn, "ab%_")  # LIKE wildcards are text, not patterns


def test_url_with_a_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="password"):
        open_store("postgresql://auditor:secret@127.0.0.1/history")


def test_store_at_revision_1_is_migrated_with_its_audits(tmp_path: Path) -> None:
    """The fixture: a store made at revision 0001 holding two audits (their rows copied from
    a store recorded by this tool, without what revision 0002 added)."""
    made = open_store(_url(tmp_path / "made"))
    base = demo_results()
    record(made, base)
    record(made, variant(base, 7, days=1))
    old = open_store(_url(tmp_path / "old"), migrate=False)
    old.migrate("0001")
    assert old.revision() == "0001"
    with made.reading() as src, old.writing() as dst:
        for name in ("estates", "blobs", "audits", "findings", "intervals"):
            table = Table(name, MetaData(), autoload_with=dst)
            rows = [{k: v for k, v in r._mapping.items() if k in table.c}
                    for r in src.execute(select(Table(name, MetaData(), autoload_with=src)))]
            dst.execute(insert(table), rows)
    with made.reading() as conn:
        before = [a.model_dump(exclude={"practices"}) for a in list_audits(conn)]
    old.close()
    migrated = open_store(_url(tmp_path / "old"))
    assert migrated.revision() == "0003"
    with migrated.reading() as conn:
        after = list_audits(conn)
        diff = diff_runs(conn, after[1], after[0])
    assert [a.model_dump(exclude={"practices"}) for a in after] == before
    assert after[1].practices == json.loads(practices_json(base))
    assert after[1].practices
    assert diff.changes
    assert check_whole(migrated) == 2


def _driver(url: str, count: int, seed: int, kill_at: str | None = None
            ) -> subprocess.Popen[str]:
    env = {**os.environ, **({KILL_AT: kill_at} if kill_at else {})}
    return subprocess.Popen([sys.executable, "-m", "tests.historykit", url, str(count),
                             str(seed)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_writers_at_once_both_land(tmp_path: Path) -> None:
    url = _url(tmp_path)
    open_store(url).close()
    writers = [_driver(url, 4, seed) for seed in (1, 2)]
    outputs = [w.communicate(timeout=300) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [o[1][-2000:] for o in outputs]
    assert sum(o[0].count("committed") for o in outputs) == 8
    assert check_whole(open_store(url)) == 8


@pytest.mark.slow
@pytest.mark.parametrize("point", ["history-audit-row", "history-intervals"])
def test_kill_inside_the_write_keeps_every_committed_audit(tmp_path: Path, point: str) -> None:
    url = _url(tmp_path)
    store = open_store(url)
    record(store, demo_results())
    store.close()
    killed = _driver(url, 1, 3, kill_at=point)
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert check_whole(open_store(url)) == 1


def test_remediation_runs_are_stored_once_with_their_record(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    at = demo_results().now
    for _ in range(2):  # the same run recorded twice is kept once
        record_remediation(store, run_id="20261203_060000_abcdef", estate_key="fabrikam",
                           estate="Fabrikam", started_at=at, finished_at=at,
                           summary={"actions": 2, "succeeded": 1}, record_bytes=b'{"run": 1}')
    runs = remediation_runs(store, "fabrikam")
    assert [(r["run_id"], r["summary"]) for r in runs] == \
        [("20261203_060000_abcdef", {"actions": 2, "succeeded": 1})]
    with store.reading() as conn:
        assert get_blob(conn, str(runs[0]["record_sha256"])) == b'{"run": 1}'


def test_store_of_a_newer_tool_is_refused(tmp_path: Path) -> None:
    store = open_store(_url(tmp_path))
    with store.writing() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    store.close()
    with pytest.raises(HistoryError, match="newer auditor"):
        open_store(_url(tmp_path))
