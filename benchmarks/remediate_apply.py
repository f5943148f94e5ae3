"""Remediation apply benchmark: 20 lab instances, each behind a TCP proxy that adds latency.

    .venv/bin/python benchmarks/remediate_apply.py [--instances 20] [--delay-ms 100]

Each instance is loaded from the healthy demo's SQLBNE01\\RTC and reached through
benchmarks/sql.py's loopback proxy, which delays every chunk by --delay-ms in each direction
(so every round trip costs twice that more). The plan is made by the real Planner (ad hoc
full backups of rtcxds and rtcshared on every instance: two actions a queue) and applied by the
real Applier through pyodbc and psqlODBC: preconditions, BACKUP, RESTORE VERIFYONLY and the
msdb read-back, each a round trip through the proxy. Verification (the re-audit) is not
timed: it is the collector's, measured by benchmarks/sql.py.

Baseline: one instance's queue applied alone (the slowest of --samples instances, each the
best of --repeat runs). Target: all instances at once (--workers, default one per instance)
<= 1.5 x that. Prints `BENCH name: value unit (target <= T) PASS|MISS`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.evidence import (  # noqa: E402
    EvidenceBundle,
    Observation,
    make_observation,
    read_bundle,
)
from auditor.findings import Finding, Status, Subject, SubjectType  # noqa: E402
from auditor.inventory import Inventory, LoadedInventory  # noqa: E402
from auditor.lab.cluster import LabCluster  # noqa: E402
from auditor.lab.demo import demo_root  # noqa: E402
from auditor.lab.instance import LabLogin, create_instance  # noqa: E402
from auditor.lab.loader import InstanceData, sql_observations  # noqa: E402
from auditor.pipeline import Toolkit  # noqa: E402
from auditor.remediate.apply import Applier, ApplyOptions  # noqa: E402
from auditor.remediate.catalogue import default_catalogue  # noqa: E402
from auditor.remediate.journal import Journal  # noqa: E402
from auditor.remediate.model import Plan  # noqa: E402
from auditor.remediate.plan import Planner, Selection  # noqa: E402
from auditor.remediate.record import ActionOutcome  # noqa: E402
from auditor.results import Results, build_results  # noqa: E402
from benchmarks.sql import _proxy_process, bench  # noqa: E402

SOURCE = "SQLBNE01\\RTC"
DATABASES = ("rtcxds", "rtcshared")
DESTINATION = {"path": "\\\\bnebak01.litwareinc.com\\sql", "host": "bnebak01.litwareinc.com",
               "site": "BNE"}
TARGET_RATIO = 1.5


def renamed(observations: dict[str, Observation], name: str) -> list[Observation]:
    """The recorded observations of SOURCE, as if collected from `name`."""
    return [make_observation(source=o.source, probe=o.probe, target=name,
                             started_at=o.started_at, finished_at=o.finished_at,
                             status=o.status, error=o.error, data=o.data,
                             parameters=o.parameters) for o in observations.values()]


def findings(names: list[str], pack: Any, bundle: EvidenceBundle) -> Results:
    """BR-001 failing for two stores of every instance (what an audit of a neglected estate
    would give); the Planner does the rest."""
    rule = next(r for r in pack.rules if r.id == "BR-001")
    items = [Finding(rule_id="BR-001", practice=rule.practice, severity=rule.severity,
                     subject=Subject(id=f"database:{name}/{db}", type=SubjectType.DATABASE,
                                     name=db, instance=name, host="lab.example.com",
                                     site="BNE"),
                     status=Status.FAIL, status_before_waiver=Status.FAIL, message="too old")
             for name in names for db in DATABASES]
    return build_results(findings=items, pack=pack, waivers=(), estate="bench",
                         now=bundle.collected_at, collected_at=bundle.collected_at,
                         bundle_sha256="0" * 64, inventory_sha256="0" * 64)


def apply_wall(plan: Plan, loaded: LoadedInventory, workers: int, folder: Path) -> float:
    """Wall seconds of the Applier over the plan; every action must succeed."""
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d_%H%M%S_") + secrets.token_hex(3)
    journal = Journal(folder / f"{run_id}.jsonl")
    options = ApplyOptions(outside_window=True, workers=workers, allow_diff_base_reset=True,
                           max_results_age=dt.timedelta(days=3650))
    applier = Applier(plan, loaded.inventory, {}, options, journal, run_id)
    start = time.perf_counter()
    runs = applier.run()
    wall = time.perf_counter() - start
    bad = [(r.instance, r.database, r.outcome.value, r.reason) for r in runs
           if r.outcome is not ActionOutcome.SUCCEEDED]
    if bad:
        raise SystemExit(f"apply failed: {bad[:3]}")
    return wall


def build(lab: LabCluster, count: int, delay_ms: float) -> tuple[Plan, LoadedInventory, Any]:
    """The instances, their proxies, the inventory and the plan."""
    recorded, _ = read_bundle(demo_root() / "healthy" / "evidence.json")
    observations = sql_observations(recorded.observations, SOURCE)
    ports: Any = multiprocessing.Queue()
    proxy = multiprocessing.Process(target=_proxy_process, daemon=True,
                                    args=(lab.port, count, delay_ms / 1000, ports))
    proxy.start()
    entries: list[dict[str, Any]] = []
    served: list[Observation] = []
    for i in range(count):
        name, key = f"REM{i:02d}\\BENCH", f"rem{i:02d}"
        login = LabLogin(f"bench_{key}", secrets.token_urlsafe(16))
        create_instance(lab, key, InstanceData(SOURCE, observations), login)
        env = f"BENCH_{key.upper()}_PASSWORD"
        os.environ[env] = login.password
        entries.append({"server_name": name, "host": f"{key}.example.com", "role": "back_end",
                        "site": "BNE", "connection": lab.odbc(key, login.name,
                                                              port=int(ports.get(timeout=30))),
                        "credential": {"kind": "env", "name": env, "username": login.name}})
        served.extend(renamed(observations, name))
    inventory = Inventory.model_validate({
        "version": 1, "estate": {"name": "bench"}, "sites": [{"id": "BNE"}],
        "sql_instances": entries, "backup_destinations": [DESTINATION]})
    loaded = LoadedInventory(inventory=inventory, path=ROOT / "bench.yaml", sha256="0" * 64)
    bundle = recorded.model_copy(update={"observations": served})
    results = findings([e["server_name"] for e in entries], Toolkit().pack, bundle)
    plan = Planner(results, bundle, loaded, default_catalogue(), adhoc=True).plan(
        Selection(), "0" * 64)
    assert len(plan.actions) == count * len(DATABASES), [a.action for a in plan.actions]
    return plan, loaded, proxy


def only(plan: Plan, instance: str) -> Plan:
    """The plan cut to one instance's queue."""
    return plan.model_copy(update={"actions": [a for a in plan.actions
                                               if a.instance == instance]})


def main(argv: list[str] | None = None) -> int:
    """Build the instances, time one queue alone and every queue at once."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=0, help="0: one per instance")
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    workers = args.workers or args.instances
    lab = LabCluster.start()
    proxy = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            plan, loaded, proxy = build(lab, args.instances, args.delay_ms)
            names = sorted({a.instance for a in plan.actions})
            picks = names[:: max(1, len(names) // args.samples)][:args.samples]
            single = max(min(apply_wall(only(plan, n), loaded, 1, Path(tmp))
                             for _ in range(args.repeat)) for n in picks)
            every = min(apply_wall(plan, loaded, workers, Path(tmp))
                        for _ in range(args.repeat))
        print(f"# {args.instances} instances x {len(DATABASES)} ad hoc fulls, +{args.delay_ms:g}"
              f" ms each way: slowest single queue {single:.2f} s (of {len(picks)}), all at "
              f"once {every:.2f} s with {workers} workers", flush=True)
        bench(f"remediate_apply_{args.instances}_instances_at_{args.delay_ms:g}ms "
              "(all / slowest single queue)", every / single, "x", TARGET_RATIO)
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.join(timeout=5)
        lab.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
