"""History benchmark: 1,000 stored audits of 5,000 findings each, 2 % of the findings changing
per audit, in a SQLite store, measured in-process.

    .venv/bin/python benchmarks/history.py [--audits 1000] [--findings 5000] [--keep DIR]

The first audits are bulk-loaded in the layout the recorder writes (one audit row each, and
per finding one status interval per run of equal statuses; their results blob is one shared
placeholder, as the blobs are not counted); the last 5 audits go through `record_audit` itself,
each with a 5,000-finding results document. Then:
- record: the median time of `record_audit` over those 5 audits (each one's results compressed
  and stored, 2 % of the findings changed; the slowest is printed too), against a baseline:
  bare sqlite3 inserting the same 5,000 finding rows into an empty table in one transaction;
- diff: `history diff` of the last two audits (default_pair + diff_runs);
- list: `history list` (every audit, newest first);
- size: the store file without the bytes of its blobs.
Lines read `BENCH name: value unit (target <= T) PASS|MISS`, with the baseline ratio where
there is one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.findings import Finding, Severity, Status, Subject, SubjectType  # noqa: E402
from auditor.history.diff import default_pair, diff_runs  # noqa: E402
from auditor.history.queries import list_audits  # noqa: E402
from auditor.history.record import AuditRecord, iso, practices_json, record_audit  # noqa: E402
from auditor.history.schema import audits, blobs, estates, findings, intervals  # noqa: E402
from auditor.history.states import finding_key, results_estate_key  # noqa: E402
from auditor.history.store import HistoryStore, open_store  # noqa: E402
from auditor.results import Results, results_bytes  # noqa: E402
from tests.historykit import demo_results  # noqa: E402

ESTATE = "bench-estate"
SEVERITIES = list(Severity)
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
RECORDED = 5  # the last audits go through record_audit itself; the median is reported


def bench(name: str, value: float, unit: str, target: float, extra: str = "") -> str:
    """`BENCH name: value unit (target <= T) PASS|MISS`."""
    verdict = "PASS" if value <= target else "MISS"
    return f"BENCH {name}: {value:.3f} {unit} (target <= {target:g}) {verdict}{extra}"


def make_findings(count: int, statuses: list[Status]) -> list[Finding]:
    """`count` findings over 50 rules and 15 practices, one subject each."""
    out = []
    for i in range(count):
        subject = Subject(id=f"database:SQL{i % 40:02d}\\RTC/db{i:05d}",
                          type=SubjectType.DATABASE, name=f"db{i:05d}")
        out.append(Finding(rule_id=f"BR-{i % 50:03d}", practice=f"P{i % 15 + 1}",
                           severity=SEVERITIES[i % 4], subject=subject, status=statuses[i],
                           status_before_waiver=statuses[i],
                           message=f"finding {i}: {statuses[i].value}"))
    return out


def flip(status: Status) -> Status:
    return Status.FAIL if status is Status.PASS else Status.PASS


def bulk_load(store: HistoryStore, n_audits: int, n_findings: int, rng: random.Random,
              template: Results) -> list[Status]:
    """Audits 1..n_audits-1 in the recorder's layout; the statuses after the last of them."""
    statuses = [Status.PASS if rng.random() < 0.7 else Status.FAIL for _ in range(n_findings)]
    started = [1] * n_findings
    rows: list[dict[str, object]] = []
    practices = practices_json(template)
    with store.writing() as conn:
        conn.execute(insert(estates).values(key=ESTATE, name="Bench", last_seq=n_audits - 1))
        placeholder = b"{}"
        conn.execute(insert(blobs).values(sha256="0" * 64, size=2, compression="zlib",
                                          data=zlib.compress(placeholder)))
        conn.execute(insert(findings), [
            {"key": finding_key(ESTATE, f"BR-{i % 50:03d}", f"database:SQL{i % 40:02d}\\RTC/"
                                f"db{i:05d}"), "estate_key": ESTATE, "rule_id": f"BR-{i % 50:03d}",
             "subject_id": f"database:SQL{i % 40:02d}\\RTC/db{i:05d}", "subject_type": "database",
             "practice": f"P{i % 15 + 1}"} for i in range(n_findings)])
        ids = {str(k): int(v) for k, v in conn.execute(select(findings.c.key, findings.c.id))}
        key_of = [finding_key(ESTATE, f"BR-{i % 50:03d}", f"database:SQL{i % 40:02d}\\RTC/"
                              f"db{i:05d}") for i in range(n_findings)]
        audit_rows = []
        for seq in range(1, n_audits):
            now = START + dt.timedelta(days=seq)
            audit_rows.append({
                "seq": seq, "run_id": f"{seq:08x}-0000-4000-8000-000000000000",
                "estate_key": ESTATE, "estate": "Bench", "ran_at": iso(now),
                "collected_at": iso(now), "now": iso(now), "recorded_at": iso(now),
                "generated_at": None, "tool_version": "bench", "rulepack_version": "bench",
                "rulepack_sha256": "0" * 64, "inventory_sha256": "0" * 64,
                "bundle_sha256": "0" * 64, "results_sha256": "0" * 64,
                "score": round(rng.uniform(60, 90), 1), "score_without_waivers": 80.0,
                "coverage": 99.0, "applicable": n_findings, "assessed": n_findings,
                "findings": n_findings, "counts": "{}", "complete": True,
                "scope": json.dumps(template.scope.model_dump(mode="json")), "report": "{}",
                "practices": practices})
            if seq == 1:
                continue
            for i in rng.sample(range(n_findings), n_findings // 50):
                rows.append(_interval(ids[key_of[i]], statuses[i], i, started[i], seq - 1, seq))
                statuses[i], started[i] = flip(statuses[i]), seq
        conn.execute(insert(audits), audit_rows)
        rows += [_interval(ids[key_of[i]], statuses[i], i, started[i], n_audits - 1, None)
                 for i in range(n_findings)]
        conn.execute(insert(intervals), rows)
    return statuses


def _interval(finding_id: int, status: Status, i: int, first: int, last: int,
              ended: int | None) -> dict[str, object]:
    return {"finding_id": finding_id, "estate_key": ESTATE, "status": status.value,
            "severity": SEVERITIES[i % 4].value, "message": f"finding {i}: {status.value}",
            "first_seq": first, "last_seq": last, "ended_seq": ended,
            "end_reason": "changed" if ended else None,
            "open_since_seq": first if status is Status.FAIL else None}


def baseline(rows: list[Finding], folder: Path) -> float:
    """Bare sqlite3: the same finding rows inserted into an empty table, one transaction."""
    conn = sqlite3.connect(folder / "baseline.sqlite")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE f (rule TEXT, subject TEXT, status TEXT, severity TEXT, "
                 "message TEXT)")
    start = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?)",
                         [(f.rule_id, f.subject.id, f.status.value, f.severity.value, f.message)
                          for f in rows])
    took = time.perf_counter() - start
    conn.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--audits", type=int, default=1000)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="auditor-bench-history-"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261203)  # noqa: S311 - benchmark data
    store = open_store(f"sqlite:///{folder / 'history.sqlite'}")
    template = demo_results().model_copy(update={"estate_id": ESTATE, "estate": "Bench"})
    start = time.perf_counter()
    statuses = bulk_load(store, args.audits - RECORDED + 1, args.findings, rng, template)
    print(f"bulk-loaded {args.audits - RECORDED} audits in {time.perf_counter() - start:.1f} s")
    took: list[float] = []
    last = template
    for k in range(RECORDED):
        for i in rng.sample(range(args.findings), args.findings // 50):
            statuses[i] = flip(statuses[i])
        last = template.model_copy(update={
            "findings": make_findings(args.findings, statuses),
            "now": START + dt.timedelta(days=args.audits - RECORDED + 1 + k)})
        assert results_estate_key(last) == ESTATE
        record = AuditRecord(results=last, results_bytes=results_bytes(last),
                             bundle_bytes=b'{"bench": %d}' % k,
                             inventory_bytes=b"estate: bench\n", rulepack_sha256="0" * 64,
                             ran_at=last.now)
        start = time.perf_counter()
        record_audit(store, record)
        took.append(time.perf_counter() - start)
    took_record = statistics.median(took)
    base = baseline(last.findings, folder)
    print(bench(f"history record {args.findings} findings", took_record, "s", 1.0,
                f" (median of the last {RECORDED} audits recorded; slowest "
                f"{max(took):.3f} s; baseline bare sqlite3 insert of the rows {base:.3f} s, "
                f"ratio {took_record / base:.1f})"))
    start = time.perf_counter()
    with store.reading() as conn:
        found = diff_runs(conn, *default_pair(conn, ESTATE))
    took_diff = time.perf_counter() - start
    changed = len([c for c in found.changes if c.category != "still_open"])
    print(bench("history diff last two", took_diff, "s", 1.0, f" ({changed} changed)"))
    assert changed == args.findings // 50, changed
    start = time.perf_counter()
    with store.reading() as conn:
        listed = list_audits(conn, ESTATE, full=False)
    took_list = time.perf_counter() - start
    print(bench("history list", took_list, "s", 0.5, f" ({len(listed)} audits)"))
    with store.writing() as conn:
        blob_bytes = conn.execute(select(func.sum(func.length(blobs.c.data)))).scalar() or 0
        n_intervals = conn.execute(select(func.count()).select_from(intervals)).scalar()
    with store.engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    store.close()
    size = (folder / "history.sqlite").stat().st_size
    print(bench("history store size without blobs", (size - blob_bytes) / 1e6, "MB", 200,
                f" ({n_intervals} intervals; file {size / 1e6:.1f} MB, blobs "
                f"{blob_bytes / 1e6:.1f} MB)"))


if __name__ == "__main__":
    main()
