"""Helpers for the history tests: demo results once, variants of them, a recording driver run
as a subprocess (for concurrent writers and kills), and the store's invariants."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sys
from functools import cache
from pathlib import Path

from sqlalchemy import func, select

from auditor.evidence import read_bundle
from auditor.findings import Status
from auditor.history.blobs import get_blob
from auditor.history.queries import list_audits
from auditor.history.record import AuditRecord, record_audit, rulepack_sha256
from auditor.history.schema import audits, estates, intervals
from auditor.history.states import results_estate_key, results_states, states_at
from auditor.history.store import HistoryStore, open_store
from auditor.pipeline import Toolkit
from auditor.results import Results, results_bytes

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo" / "drifted"
FLIP = {Status.PASS: Status.FAIL, Status.FAIL: Status.PASS, Status.WARN: Status.PASS,
        Status.ERROR: Status.PASS}


@cache
def demo_results() -> Results:
    """The drifted demo estate evaluated at its collection time."""
    kit = Toolkit()
    loaded = kit.load_inventory(DEMO / "inventory.yaml")
    bundle, digest = read_bundle(DEMO / "evidence.json")
    return kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None))


def variant(results: Results, seed: int, share: float = 0.02, days: int = 0) -> Results:
    """The results with a share of findings flipped (pass <-> fail), `days` later."""
    rng = random.Random(seed)  # noqa: S311 - test data
    findings = []
    for f in results.findings:
        if f.status in FLIP and rng.random() < share:
            status = FLIP[f.status]
            f = f.model_copy(update={"status": status, "status_before_waiver": status})
        findings.append(f)
    later = results.now + dt.timedelta(days=days)
    return results.model_copy(update={"findings": findings, "now": later})


@cache
def pack_sha256() -> str:
    """The shipped rule pack's hash, computed once."""
    return rulepack_sha256(Toolkit().pack)


@cache
def demo_file(name: str) -> bytes:
    """A file of the drifted demo estate, read once."""
    return (DEMO / name).read_bytes()


def record(store: HistoryStore, results: Results, run_id: str | None = None) -> int:
    """Record results as an audit with the demo's bundle and inventory."""
    made = AuditRecord(
        results=results, results_bytes=results_bytes(results),
        bundle_bytes=demo_file("evidence.json"), inventory_bytes=demo_file("inventory.yaml"),
        rulepack_sha256=pack_sha256(), ran_at=results.now)
    return record_audit(store, dataclasses.replace(made, run_id=run_id) if run_id else made)


def check_whole(store: HistoryStore) -> int:
    """The store's invariants after any kill; the number of audits. Every audit's blobs are
    there; the estate's last audit is the newest; and what history knows as of the newest
    audit is exactly that audit's stored results (so no audit was half applied)."""
    with store.reading() as conn:
        rows = list_audits(conn)
        if not rows:
            assert conn.execute(select(func.count()).select_from(intervals)).scalar() == 0
            return 0
        for row in rows:
            get_blob(conn, row.results_sha256)
            get_blob(conn, row.bundle_sha256)
        newest = rows[0]
        assert conn.execute(select(estates.c.last_seq)).scalar() == newest.seq
        assert conn.execute(select(func.max(intervals.c.last_seq))).scalar() == newest.seq
        stored = Results.model_validate_json(get_blob(conn, newest.results_sha256))
        known = states_at(conn, results_estate_key(stored), newest.seq)
        assert {k: (s.status, s.severity) for k, s in known.items()} == \
            {k: (s.status, s.severity) for k, s in results_states(stored).items()}
        assert conn.execute(select(func.count()).select_from(audits)).scalar() == len(rows)
        return len(rows)


def main() -> None:
    """`python -m tests.historykit URL COUNT SEED`: record COUNT audits, each 2 % different
    from the last, printing `committed RUN` after each commit."""
    url, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    store = open_store(url)
    results = demo_results()
    for i in range(count):
        results = variant(results, seed * 100_000 + i, days=1)
        seq = record(store, results)
        print(f"committed {seq}", flush=True)  # noqa: T201 - the driver's protocol


if __name__ == "__main__":
    main()
