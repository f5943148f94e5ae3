"""Lync collection benchmark: loopback WinRM endpoints, each its own process, 100 ms per request.

    .venv/bin/python benchmarks/lync.py [--endpoints 50] [--latency 0.1] [--workers 8]
                                        [--repeat 3]

Each endpoint is `python -m auditor.lab.winrm` serving a synthetic estate (the healthy demo
estate with N front ends; every server's answers recorded), with --latency seconds added to
every HTTP request (a round trip of a slow WAN; TLS handshakes are not delayed). Measured:
- wall of the whole Lync collection of an estate of 1 server (the management server, on one
  endpoint) and of N servers (server i on endpoint i; server 1 is the management server),
  median of --repeat runs; target: N servers <= 3 x 1 server, with the default worker bound;
- per probe, on endpoint 1: the product's Session.run (build, run with its deadline loop,
  convert to rows) against a bare pypsrp call of the same command and parameters on its own
  RunspacePool (`with PowerShell(pool) as ps: ps.add_cmdlet(..)...; ps.invoke()`), median of
  --repeat x 3 alternating runs; target <= 1.3 x.
Each line reads `BENCH name: value unit (target <= T) PASS|MISS`. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditor.collect.base import CollectContext  # noqa: E402
from auditor.collect.lync import LyncCollector  # noqa: E402
from auditor.collect.lync_collector import DEFAULT_WORKERS  # noqa: E402
from auditor.collect.lync_plan import Task, plan  # noqa: E402
from auditor.connect.credentials import Secret  # noqa: E402
from auditor.evidence import (  # noqa: E402
    EvidenceBundle,
    Source,
    make_observation,
    read_bundle,
    write_bundle,
)
from auditor.inventory import LoadedInventory, load_inventory  # noqa: E402
from auditor.probes.catalogue import Catalogue, Scope, load_catalogue  # noqa: E402
from auditor.yamlio import load_yaml  # noqa: E402

DEMO = ROOT / "fixtures" / "demo" / "healthy"
USER = "BENCH\\svc-lyncaudit"
PASSWORD_ENV = "AUDITOR_BENCH_LYNC_PASSWORD"  # noqa: S105 - a variable name
PASSWORD = "bench-password"  # noqa: S105 - a loopback lab's


def fqdn(i: int) -> str:
    """Server i's name."""
    return f"fe{i:02d}.nwtraders.com"


def build_estate(folder: Path, count: int) -> Path:
    """The healthy estate with `count` front ends, and a recorded server_inventory for each."""
    folder.mkdir(parents=True, exist_ok=True)
    data, _ = load_yaml(DEMO / "inventory.yaml")
    for key in ("waivers", "records"):
        data.pop(key, None)
    data["servers"] = [{"fqdn": fqdn(i), "role": "front_end", "model": "HP ProLiant DL380p Gen8",
                        "pool": "lyncbne.nwtraders.com"} for i in range(1, count + 1)]
    (folder / "inventory.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    recorded, _ = read_bundle(DEMO / "evidence.json")
    template = next(o for o in recorded.observations if o.probe == "server_inventory")
    observations = [o for o in recorded.observations
                    if o.source is Source.LYNC and o.probe != "server_inventory"]
    for i in range(1, count + 1):
        row = {**template.data[0], "ComputerName": fqdn(i).split(".")[0].upper()}
        observations.append(make_observation(
            source=Source.LYNC, probe="server_inventory", target=fqdn(i),
            started_at=template.started_at, finished_at=template.finished_at,
            status=template.status, data=[row], parameters={"ComputerName": fqdn(i)}))
    bundle = EvidenceBundle(**{**recorded.model_dump(), "observations": observations})
    write_bundle(bundle, folder / "evidence.json")
    return folder


def start_endpoints(count: int, estate: Path, latency: float,
                    work: Path) -> list[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    """`count` endpoint processes; returns each with its endpoint.json."""
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    started = []
    for i in range(1, count + 1):
        state = work / f"ep{i:02d}"
        command = [sys.executable, "-m", "auditor.lab.winrm", "--estate", str(estate),
                   "--state-dir", str(state), "--latency", str(latency), "--username", USER,
                   "--password-env", PASSWORD_ENV]
        started.append((subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                        state / "endpoint.json"))
    deadline = time.monotonic() + 300
    out = []
    for process, path in started:
        while not path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"endpoint {path.parent.name} did not start")
            time.sleep(0.1)
        out.append((process, json.loads(path.read_text("utf-8"))))
    return out


def inventory_for(estate: Path, count: int, bundle: Path, work: Path) -> LoadedInventory:
    """The estate's inventory with its first `count` servers and a lync: section."""
    data, _ = load_yaml(estate / "inventory.yaml")
    data["servers"] = data["servers"][:count]
    data["lync"] = {"management_servers": [fqdn(1)], "transport": "https", "auth": "basic",
                    "ca_bundle": str(bundle),
                    "credential": {"kind": "env", "username": USER, "name": PASSWORD_ENV},
                    "command_timeout_seconds": 30, "connect_timeout_seconds": 10}
    path = work / f"inventory-{count}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return load_inventory(path)


def collect_wall(loaded: LoadedInventory, connect_to: dict[str, str], workers: int,
                 repeat: int, catalogue: Catalogue | None = None) -> tuple[float, int, int]:
    """Median wall of the collection, observations made, and how many were not ok."""
    walls, made, bad = [], 0, 0
    for _ in range(repeat):
        collector = LyncCollector(workers=workers, connect_to=connect_to, interactive=False,
                                  catalogue=catalogue)
        started = time.monotonic()
        found = collector.collect(CollectContext(inventory=loaded,
                                                 started_at=dt.datetime.now(dt.UTC)))
        walls.append(time.monotonic() - started)
        made, bad = len(found), sum(1 for o in found if not o.ok)
    return statistics.median(walls), made, bad


def per_probe(loaded: LoadedInventory, address: str, repeat: int) -> list[tuple[str, float,
                                                                                 float]]:
    """(probe, product ms, bare ms) per catalogue probe, on one endpoint."""
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan

    access = loaded.inventory.lync
    assert access is not None
    assert access.ca_bundle
    collector = LyncCollector(connect_to={"*": address}, interactive=False)
    session = collector.session(loaded, access, Secret(USER, PASSWORD), fqdn(1))
    assert session.open() is None
    host, port = address.rsplit(":", 1)
    validation: Any = access.ca_bundle  # pypsrp types it bool; a CA file path is accepted
    wsman = WSMan(host, port=int(port), ssl=True, auth="basic", username=USER,
                  password=PASSWORD, cert_validation=validation)
    management, servers = plan(loaded, collector.catalogue)
    tasks: dict[str, Task] = {}
    for task in [*management, *servers[fqdn(1)]]:
        tasks.setdefault(task.probe.name, task)
    out = []
    with wsman, RunspacePool(wsman) as pool:
        for name, task in tasks.items():
            product, bare = [], []
            for _ in range(repeat * 3):
                started = time.perf_counter()
                result = session.run(task)
                product.append(time.perf_counter() - started)
                assert isinstance(result, list), (name, result)
                started = time.perf_counter()
                with PowerShell(pool) as ps:
                    if task.probe.command:
                        ps.add_cmdlet(task.probe.command)
                    else:
                        ps.add_script(task.probe.script_text() or "")
                    for key, value in task.parameters.items():
                        ps.add_parameter(key, value)
                    ps.invoke()
                bare.append(time.perf_counter() - started)
            out.append((name, statistics.median(product) * 1000,
                        statistics.median(bare) * 1000))
    session.close()
    return out


def line(name: str, value: float, unit: str, target: float) -> str:
    """One BENCH line."""
    verdict = "PASS" if value <= target else "MISS"
    return f"BENCH {name}: {value:.2f} {unit} (target <= {target:.2f}) {verdict}"


def main() -> int:
    """Run the benchmark and print its lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ[PASSWORD_ENV] = PASSWORD
    with tempfile.TemporaryDirectory(prefix="bench-lync-") as tmp:
        work = Path(tmp)
        estate = build_estate(work / "estate", args.endpoints)
        started = time.monotonic()
        endpoints = start_endpoints(args.endpoints, estate, args.latency, work)
        print(f"{args.endpoints} endpoint processes up in {time.monotonic() - started:.1f} s "
              f"(latency {args.latency * 1000:.0f} ms per request, workers {args.workers})")
        try:
            bundle = work / "ca-bundle.pem"
            bundle.write_text("".join(Path(s["ca_cert"]).read_text("utf-8")
                                      for _, s in endpoints), "utf-8")
            addresses = {fqdn(i): f"127.0.0.1:{s['port']}"
                         for i, (_, s) in enumerate(endpoints, start=1)}
            one = inventory_for(estate, 1, bundle, work)
            many = inventory_for(estate, args.endpoints, bundle, work)
            wall_1, made_1, bad_1 = collect_wall(one, addresses, args.workers, args.repeat)
            wall_n, made_n, bad_n = collect_wall(many, addresses, args.workers, args.repeat)
            print(f"1 server: {made_1} observations ({bad_1} not ok); {args.endpoints} "
                  f"servers: {made_n} observations ({bad_n} not ok)")
            print(line("lync_wall_1_endpoint", wall_1, "s", float("inf")))
            print(line(f"lync_wall_{args.endpoints}_endpoints", wall_n, "s", 3 * wall_1))
            print(line("lync_wall_ratio", wall_n / wall_1, "x", 3.0))
            full = load_catalogue()
            servers_only = full.model_copy(update={"powershell": [
                p for p in full.powershell if p.scope is Scope.SERVER]})
            s_1, _, _ = collect_wall(one, addresses, args.workers, args.repeat, servers_only)
            s_n, _, _ = collect_wall(many, addresses, args.workers, args.repeat, servers_only)
            print(f"server probes only (no deployment/pool/share probes): 1 server {s_1:.2f} s, "
                  f"{args.endpoints} servers {s_n:.2f} s")
            print(line("lync_server_probes_wall_ratio", s_n / s_1, "x", 3.0))
            ratios = []
            for name, product, bare in per_probe(one, addresses[fqdn(1)], args.repeat):
                ratio = product / bare
                ratios.append(ratio)
                print(line(f"lync_probe_{name}_ratio", ratio, "x", 1.3)
                      + f"  [product {product:.0f} ms, bare pypsrp {bare:.0f} ms]")
            print(line("lync_probe_ratio_max", max(ratios), "x", 1.3))
        finally:
            for process, _ in endpoints:
                process.terminate()
            for process, _ in endpoints:
                process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
