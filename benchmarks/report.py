"""Report benchmark: a synthetic estate of 500 servers, 2,000 databases and 5,000 findings.

    .venv/bin/python benchmarks/report.py [--keep DIR]

Measured in one run, each in a child process so that memory is measured per process tree:
- evaluate + HTML: scoring the 5,000 findings into results (build_results), the view (with the
  facts of the synthetic evidence bundle: charts and appendix) and the HTML; target <= 2 s;
- baseline: the product's own full report HTML (default options) rendered by one bare
  `weasyprint.HTML(string=...).write_pdf()` call;
- product: the report PDF as `auditor report` writes it (default options: in parts, by workers);
  targets: wall <= 1.2 x the baseline's, peak RSS of the whole process tree <= 400 MB and
  <= 0.8 x the baseline's.
Peak RSS of a tree is the largest sum of VmRSS over the process and its descendants, sampled
every 20 ms from /proc. Each line reads `BENCH name: value unit (target <= T) PASS|MISS`.
The findings are synthetic (statuses, messages, observed values in the shapes the checks write);
the evidence bundle is real in shape (server_time, databases, backup_history, last_backups per
instance), so the facts, charts and appendix are computed as for a real audit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NOW = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)
SERVERS, INSTANCES, STORES_PER_INSTANCE, FINDINGS = 500, 200, 10, 5000
STORES = ("xds", "lis", "rtcxds", "rtcshared", "rgsconfig", "lcscdr", "qoemetrics", "lcslog",
          "mgc", "rtcdyn")
SITES = ("EMEA", "AMER", "APAC", "LATAM", "ANZ")
MB = 1024 * 1024


def inventory() -> dict[str, Any]:
    """500 servers in 50 pools over 5 sites; 200 back-end instances of 10 stores each."""
    pools = [{"fqdn": f"pool{p:02d}.contoso.com", "site": SITES[p % len(SITES)]}
             for p in range(50)]
    servers = [{"fqdn": f"fe{s:03d}.contoso.com", "role": "front_end", "model": "HP DL380 G9",
                "pool": pools[s % 50]["fqdn"]} for s in range(SERVERS)]
    instances = [{"server_name": f"SQL{i:03d}\\RTC", "host": f"sql{i:03d}.contoso.com",
                  "role": "back_end", "pool": pools[i % 50]["fqdn"], "stores": list(STORES)}
                 for i in range(INSTANCES)]
    return {"version": 1, "estate": {"name": "Benchmark estate", "audit_account":
                                     "CONTOSO\\svc-lyncaudit"},
            "sites": [{"id": s} for s in SITES], "pools": pools, "servers": servers,
            "sql_instances": instances,
            "policy": {"backup_window": {"start": "22:00", "end": "05:00"}}}


def _history(instance: str, n: int) -> list[dict[str, Any]]:
    rows = []
    for d, db in enumerate(STORES[:9]):
        for day in range(7):
            start = NOW - dt.timedelta(days=day, hours=(n + d) % 9 + 1)
            rows.append({
                "backup_set_id": n * 1000 + d * 10 + day, "database_name": db,
                "backup_start_date": start.replace(tzinfo=None).isoformat(),
                "backup_finish_date": (start + dt.timedelta(minutes=20)).replace(
                    tzinfo=None).isoformat(),
                "server_name": instance, "machine_name": instance.split("\\")[0], "type": "D",
                "time_zone": 0, "is_copy_only": False, "is_damaged": False,
                "has_backup_checksums": True, "recovery_model": "SIMPLE",
                "first_lsn": "41000000012800001", "last_lsn": "41000000014400001",
                "checkpoint_lsn": "41000000012800001",
                "database_backup_lsn": "41000000009600001", "backup_size": "104857600",
                "compressed_backup_size": "26214400", "media_set_id": n * 1000 + d * 10 + day,
                "family_guid": "6F9619FF-8B86-D011-B42D-00C04FC964FF",
                "media_password_protected": False})
    return rows


def bundle(inv: dict[str, Any]) -> Any:
    """server_time, databases, backup_history and last_backups for every instance."""
    from auditor.evidence import EvidenceBundle, ObservationStatus, Source, make_observation

    observations = []
    for n, inst in enumerate(inv["sql_instances"]):
        name = inst["server_name"]
        clock = NOW.replace(tzinfo=None).isoformat()
        history = _history(name, n)
        probes = {
            "server_time": [{"local_now": clock, "utc_now": clock, "machine_name": name,
                             "server_name": name, "product_version": "11.0.5058.0",
                             "product_level": "SP2", "edition": "Enterprise Edition (64-bit)"}],
            "databases": [{"name": db, "database_id": 5 + i, "state": 0, "state_desc": "ONLINE",
                           "recovery_model": 3, "recovery_model_desc": "SIMPLE",
                           "source_database_id": None, "is_read_only": False}
                          for i, db in enumerate(STORES)],
            "backup_history": history,
            "last_backups": [{"database_name": db, "type": "D", "backup_count": 30,
                              "last_finish": max(r["backup_finish_date"] for r in history
                                                 if r["database_name"] == db)}
                             for db in STORES[:9]],
        }
        for probe, rows in probes.items():
            observations.append(make_observation(
                source=Source.SQL, probe=probe, target=name, started_at=NOW, finished_at=NOW,
                status=ObservationStatus.OK, data=rows))
    return EvidenceBundle(tool_version="bench", rulepack_version="bench",
                          estate="Benchmark estate", inventory_sha256="0" * 64,
                          collected_at=NOW, collectors=["bench"], observations=observations)


def findings(inv: dict[str, Any], pack: Any) -> list[Any]:
    """4,000 database findings (BR-001, BR-002) and 1,000 instance findings (5 rules)."""
    from auditor.findings import Finding, Status, Subject, SubjectType, WaiverRef

    rules = {r.id: r for r in pack.rules}
    cycle = [Status.PASS] * 14 + [Status.FAIL] * 3 + [Status.WARN, Status.ERROR, Status.WAIVED]
    out: list[Finding] = []
    k = 0

    def add(rule_id: str, subject: Subject, message: str, observed: Any, expected: str) -> None:
        nonlocal k
        status = cycle[k % len(cycle)]
        k += 1
        rule = rules[rule_id]
        waiver = WaiverRef(reason="rebuilt from the pool", approver="J. Smith (CISO)",
                           expires="2027-01-31", expired=False) if status is Status.WAIVED \
            else None
        text = message if status is Status.PASS else f"{message}, over the limit" \
            if status is not Status.ERROR else "backup history unavailable: 08001 timeout"
        out.append(Finding(rule_id=rule_id, practice=rule.practice, severity=rule.severity,
                           subject=subject, status=status,
                           status_before_waiver=Status.FAIL if status is Status.WAIVED
                           else status, message=text, observed=observed, expected=expected,
                           evidence_ids=(f"sql:backup_history:{subject.instance}",
                                         f"sql:last_backups:{subject.instance}"),
                           waiver=waiver))

    for n, inst in enumerate(inv["sql_instances"]):
        site = SITES[(n % 50) % len(SITES)]
        for db in STORES:
            subject = Subject(id=f"database:{inst['server_name']}/{db}",
                              type=SubjectType.DATABASE, name=db, instance=inst["server_name"],
                              host=inst["host"], site=site, pool=inst["pool"])
            age = 2 + (n * 7 + len(db)) % 40
            add("BR-001", subject, f"last full backup finished {age} h 00 min ago",
                {"last_full_finished": (NOW - dt.timedelta(hours=age)).isoformat(),
                 "age_hours": float(age)}, "a full backup finished within 26 h")
            add("BR-002", subject, "a full backup on 7 of the last 7 days",
                {"days_with_full": 7, "period_days": 7}, "a full backup on at least 6 of 7 days")
        subject = Subject(id=f"instance:{inst['server_name']}", type=SubjectType.INSTANCE,
                          name=inst["server_name"], instance=inst["server_name"],
                          host=inst["host"], site=site, pool=inst["pool"])
        for rule_id in ("BR-040", "BR-042", "BR-061", "DR-030", "DR-060"):
            add(rule_id, subject, "checked on every backup of the last 7 days",
                {"backups": 63, "checked": 63}, "every backup meets the rule")
    return out


def evaluate_and_html(out: Path) -> dict[str, float]:
    """Results, view and HTML, timed; the HTML is written for the baseline."""
    from auditor.checks import check_kinds
    from auditor.engine.rules import default_rules_dir, load_rule_pack
    from auditor.inventory import Inventory
    from auditor.report import build_view, render_html
    from auditor.results import build_results, results_bytes

    inv = inventory()
    pack = load_rule_pack(default_rules_dir(), check_kinds())
    evidence = bundle(inv)
    items = findings(inv, pack)
    assert len(items) == FINDINGS, len(items)
    inventory_model = Inventory.model_validate(inv)
    start = time.perf_counter()
    results = build_results(findings=items, pack=pack, waivers=(), estate="Benchmark estate",
                            now=NOW, collected_at=NOW, bundle_sha256="0" * 64,
                            inventory_sha256="0" * 64)
    view = build_view(results, pack, inventory_model, evidence, NOW)
    html = render_html(view)
    elapsed = time.perf_counter() - start
    (out / "report.html").write_text(html, encoding="utf-8")
    (out / "results.json").write_bytes(results_bytes(results))
    return {"evaluate_html_s": elapsed, "html_bytes": float(len(html))}


def product(out: Path) -> dict[str, float]:
    """What `auditor report --format pdf` does: view, HTML, then the PDF (in parts)."""
    from auditor.checks import check_kinds
    from auditor.engine.rules import default_rules_dir, load_rule_pack
    from auditor.inventory import Inventory
    from auditor.report import build_view, render_html
    from auditor.report.pdf import report_pdf
    from auditor.results import build_results

    inv = inventory()
    pack = load_rule_pack(default_rules_dir(), check_kinds())
    evidence = bundle(inv)
    results = build_results(findings=findings(inv, pack), pack=pack, waivers=(),
                            estate="Benchmark estate", now=NOW, collected_at=NOW,
                            bundle_sha256="0" * 64, inventory_sha256="0" * 64)
    view = build_view(results, pack, Inventory.model_validate(inv), evidence, NOW)
    html = render_html(view)
    start = time.perf_counter()
    pdf = report_pdf(view, html)
    elapsed = time.perf_counter() - start
    (out / "report.pdf").write_bytes(pdf)
    return {"pdf_s": elapsed}


def baseline(out: Path) -> dict[str, float]:
    """One bare WeasyPrint call on the product's HTML."""
    from weasyprint import HTML

    html = (out / "report.html").read_text(encoding="utf-8")
    start = time.perf_counter()
    pdf = HTML(string=html).write_pdf()
    elapsed = time.perf_counter() - start
    (out / "baseline.pdf").write_bytes(pdf)
    return {"pdf_s": elapsed}


def _tree_rss(root: int) -> int:
    """Sum of VmRSS (bytes) of `root` and all its descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, todo = {root}, [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        tree.update(kids)
        todo.extend(kids)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def measured(stage: str, out: Path) -> tuple[dict[str, float], float, float]:
    """Run a stage in a child process; its figures, wall time and peak tree RSS (bytes)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--stage", stage, "--dir", str(out)],
                             stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = child.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"stage {stage} failed with exit code {child.returncode}")
    return json.loads(stdout.strip().splitlines()[-1]), wall, float(peak)


def line(name: str, value: float, unit: str, target: float) -> str:
    """`BENCH name: value unit (target <= T) PASS|MISS`."""
    verdict = "PASS" if value <= target else "MISS"
    return f"BENCH {name}: {value:.2f} {unit} (target <= {target:g}) {verdict}"


def main() -> int:
    """Run every stage and print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("html", "product", "baseline"))
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the HTML and PDFs in this folder")
    args = parser.parse_args()
    if args.stage:
        stage = {"html": evaluate_and_html, "product": product, "baseline": baseline}
        print(json.dumps(stage[args.stage](args.dir)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        html, _, _ = measured("html", out)
        base, _, base_rss = measured("baseline", out)
        prod, _, prod_rss = measured("product", out)
        from pypdf import PdfReader

        pages = len(PdfReader(out / "report.pdf").pages)
        base_pages = len(PdfReader(out / "baseline.pdf").pages)
    print(f"estate: {SERVERS} servers, {INSTANCES * STORES_PER_INSTANCE} databases, {FINDINGS} "
          f"findings; HTML {html['html_bytes'] / MB:.1f} MB; product PDF {pages} pages, "
          f"baseline PDF {base_pages} pages")
    print(f"baseline (bare WeasyPrint): {base['pdf_s']:.1f} s, peak RSS {base_rss / MB:.0f} MB")
    print(f"product (report_pdf): {prod['pdf_s']:.1f} s, peak RSS {prod_rss / MB:.0f} MB")
    print(line("evaluate_html", html["evaluate_html_s"], "s", 2))
    print(line("pdf_wall_ratio", prod["pdf_s"] / base["pdf_s"], "x baseline", 1.2))
    print(line("pdf_peak_rss", prod_rss / MB, "MB", 400))
    print(line("pdf_peak_rss_ratio", prod_rss / base_rss, "x baseline", 0.8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
