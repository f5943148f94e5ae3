"""`history prune` against a real PostgreSQL store (a database of the lab cluster, reached over
TCP with a password that is never in the URL): the dry run deletes nothing; --apply removes
only the old audit's bundle and report files in one transaction, keeps the newest and the open
streaks' first audits, and what stays still renders. tests/unit/test_history_prune.py runs the
same on SQLite."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest

from auditor.history.diff import diff_runs
from auditor.history.prune import apply_prune, dry_run
from auditor.history.queries import find_run
from auditor.history.store import open_store
from auditor.lab.cluster import LabCluster, quote_ident
from tests.unit.test_history_prune import KEEP_NEWEST_ONLY, LATER, _counts, _four_audits, cli

pytestmark = pytest.mark.pg


def test_prune_on_postgresql(lab: LabCluster, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    name, login = f"prune_{uuid.uuid4().hex[:8]}", f"prune_{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(16)
    lab.create_login(login, password)
    lab.execute(f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(login)}")
    url = f"postgresql://{login}@127.0.0.1:{lab.port}/{name}"
    monkeypatch.setenv("PGPASSWORD", password)  # the history commands: libpq's own variable
    store = open_store(url, password)
    assert store.dialect == "postgresql"
    runs = _four_audits(store)
    before = _counts(store)

    plan = dry_run(store, None, KEEP_NEWEST_ONLY)
    assert [p.run_id for p in plan.pruned] == [runs[1]]
    assert plan.blobs == 2  # a2's own bundle and its snapshot
    done = cli("history", "prune", "--history", url, "--keep-days", "0", "--keep-last", "1")
    assert done.exit_code == 0, done.output
    assert f"would prune {runs[1][:8]}" in done.stdout
    assert _counts(store) == before

    applied = apply_prune(store, None, KEEP_NEWEST_ONLY)
    assert applied.applied
    assert {k.run_id: k.reason for k in applied.kept} == {
        runs[3]: "newest", runs[2]: "an open finding's first sighting",
        runs[0]: "an open finding's first sighting"}
    assert _counts(store) == {**before, "blobs": before["blobs"] - 2, "pruned": 1}
    with store.reading() as conn:
        assert find_run(conn, runs[1]).pruned_at == LATER
        assert diff_runs(conn, find_run(conn, runs[0]), find_run(conn, runs[3])).changes
    assert dry_run(store, None, KEEP_NEWEST_ONLY).pruned == []
    gone = cli("history", "report", runs[1][:8], "--out", tmp_path / "gone", "--history", url)
    assert gone.exit_code == 2
    assert "were pruned on 2100-01-01" in gone.output
    kept = cli("history", "report", runs[0][:8], "--out", tmp_path / "kept", "--format",
               "html", "--history", url)
    assert kept.exit_code == 0, kept.output
    assert "<html" in (tmp_path / "kept" / "report.html").read_text(encoding="utf-8")
    assert password not in done.output + gone.output + kept.output
    store.close()
