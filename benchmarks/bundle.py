"""Bundle benchmark: a 500-instance evidence bundle written, read and evaluated, against the
healthy demo estate's bundle (6 instances).

    .venv/bin/python benchmarks/bundle.py [--instances 500] [--keep DIR]

The big estate is the healthy demo estate (fixtures/demo/healthy: inventory.yaml and
evidence.json) with its SQL instances cloned until there are `--instances` of them: each clone
gets its own machine and host name, written into its observations' targets, ids and rows, and
each observation is hashed again. Lync and records observations are kept once.
Each stage runs in a child process, for the demo bundle and for the big one:
- write: `write_bundle` of the bundle built in memory (canonical JSON, atomic write);
- read: `read_bundle` (parse, validate, check every observation's SHA-256);
- evaluate: `Toolkit.evaluate` (facts, every rule, scores) over the read bundle.
Time is the stage's own CPU time (process_time: the stages are single-threaded, and on a
shared machine CPU time is what stays comparable between runs); memory is the child's peak RSS
(VmHWM), so it includes the interpreter and, for write, the bundle built in memory before it
and, for evaluate, the bundle read before it. Each figure is printed for both bundles and as a
ratio big/demo; the targets are that nothing grows faster than the number of instances
(ratio <= 1.2 x the instance ratio) and absolute ceilings. Lines read
`BENCH name: value unit (target <= T) PASS|MISS`.
The big bundle must also fit under the tool's own bundle size cap (auditor/limits.py
MAX_BUNDLE_BYTES): a BENCH line says how much of the cap it uses.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "fixtures" / "demo" / "healthy"
MB = 1024 * 1024
STAGES = ("write", "read", "evaluate")
# For 500 instances: CPU seconds per stage, and the peak RSS a 4 GB audit workstation can give.
MAX_SECONDS = {"write": 30.0, "read": 30.0, "evaluate": 60.0}
MAX_PEAK_MB = 2048.0


def _machine(server_name: str) -> str:
    return server_name.split("\\", 1)[0]


def _clone_inventory(inventory: str, instances: list[dict[str, Any]], count: int,
                     ) -> tuple[str, list[tuple[str, str]]]:
    """The inventory text with `count` instances; (old machine, new machine) per clone."""
    data = yaml.safe_load(inventory)
    clones, renames = [], []
    for n in range(count):
        base = instances[n % len(instances)]
        copy = n // len(instances)
        old = _machine(base["server_name"])
        new = old if copy == 0 else f"{old}K{copy:03d}"
        clone = json.loads(json.dumps(base).replace(old, new).replace(old.lower(), new.lower()))
        clones.append(clone)
        renames.append((old, new))
    data["sql_instances"] = clones
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), renames


def build(folder: Path, count: int) -> Path:
    """inventory.yaml (with its records and waivers) in `folder`; the bundle's raw JSON beside
    it (bundle-source.json: observations of the clones, hashed again)."""
    from auditor.canonical import sha256_of_json

    inventory = (DEMO / "inventory.yaml").read_text(encoding="utf-8")
    bundle = json.loads((DEMO / "evidence.json").read_text(encoding="utf-8"))
    instances = yaml.safe_load(inventory)["sql_instances"]
    text, renames = _clone_inventory(inventory, instances, count)
    (folder / "inventory.yaml").write_text(text, encoding="utf-8")
    for extra in ("records.yaml", "waivers.yaml"):
        shutil.copy(DEMO / extra, folder / extra)
    machines = {_machine(i["server_name"]) for i in instances}
    per_machine: dict[str, list[dict[str, Any]]] = {m: [] for m in machines}
    kept = []
    for obs in bundle["observations"]:
        owner = _machine(obs["target"]) if obs["source"] == "sql" else None
        if owner in per_machine:
            per_machine[owner].append(obs)
        else:
            kept.append(obs)
    for old, new in renames:
        pattern = re.compile(re.escape(old), re.IGNORECASE)
        upper, lower = new, new.lower()
        for obs in per_machine[old]:
            text = pattern.sub(lambda m, u=upper, lo=lower: u if m.group(0).isupper() else lo,
                               json.dumps(obs))
            clone = json.loads(text)
            clone["sha256"] = sha256_of_json(clone["data"])
            kept.append(clone)
    bundle["observations"] = kept
    source = folder / "bundle-source.json"
    source.write_text(json.dumps(bundle), encoding="utf-8")
    return source


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stage(name: str, folder: Path) -> dict[str, float]:
    """One stage in this (child) process: its seconds and the process's peak RSS."""
    from auditor.evidence import EvidenceBundle, read_bundle, write_bundle
    from auditor.pipeline import Toolkit

    path = folder / "evidence.json"
    if name == "write":
        bundle = EvidenceBundle.model_validate_json(
            (folder / "bundle-source.json").read_bytes())
        start = time.process_time()
        write_bundle(bundle, path)
    elif name == "read":
        start = time.process_time()
        read_bundle(path)
    else:
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(folder / "inventory.yaml")
        read, digest = read_bundle(path)
        waivers = toolkit.load_waivers(loaded, None)
        start = time.process_time()
        results = toolkit.evaluate(read, digest, loaded, waivers)
        assert sum(results.overall.counts.values()) > 0
    return {"seconds": time.process_time() - start, "peak_mb": _peak_mb(),
            "bytes": float(path.stat().st_size)}


def measured(name: str, folder: Path) -> dict[str, float]:
    """A stage in a child process."""
    child = subprocess.run([sys.executable, __file__, "--stage", name, "--dir", str(folder)],
                           capture_output=True, text=True, check=False)
    if child.returncode != 0:
        raise SystemExit(f"stage {name} failed:\n{child.stderr}")
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def line(name: str, value: float, unit: str, target: float) -> str:
    """`BENCH name: value unit (target <= T) PASS|MISS`."""
    verdict = "PASS" if value <= target else "MISS"
    return f"BENCH {name}: {value:.2f} {unit} (target <= {target:g}) {verdict}"


def demo_instances() -> int:
    """The number of SQL instances of the demo estate."""
    inventory = yaml.safe_load((DEMO / "inventory.yaml").read_text(encoding="utf-8"))
    return len(inventory["sql_instances"])


def _run_all(base: Path, count: int) -> dict[str, dict[str, dict[str, float]]]:
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for label, instances in (("demo", demo_instances()), ("big", count)):
        folder = base / label
        folder.mkdir(parents=True, exist_ok=True)
        build(folder, instances)
        figures[label] = {name: measured(name, folder) for name in STAGES}
    return figures


def main() -> int:
    """Build both estates, run every stage, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=STAGES)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="keep the estates and bundles here")
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.dir)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        figures = _run_all(args.keep or Path(tmp), args.instances)
    demo, big = figures["demo"], figures["big"]
    scale = args.instances / demo_instances()
    print(f"bundles: demo {demo['write']['bytes'] / MB:.1f} MB ({demo_instances()} instances), big "
          f"{big['write']['bytes'] / MB:.1f} MB ({args.instances} instances, x{scale:.1f})")
    from auditor.limits import MAX_BUNDLE_BYTES

    print(line("bundle500_share_of_size_cap", 100 * big["write"]["bytes"] / MAX_BUNDLE_BYTES,
               "%", 50))
    for name in STAGES:
        d, b = demo[name], big[name]
        print(f"{name}: demo {d['seconds']:.2f} s, peak {d['peak_mb']:.0f} MB; big "
              f"{b['seconds']:.2f} s, peak {b['peak_mb']:.0f} MB")
        print(line(f"bundle500_{name}_time", b["seconds"], "s", MAX_SECONDS[name]))
        print(line(f"bundle500_{name}_time_ratio", b["seconds"] / d["seconds"], "x demo",
                   1.2 * scale))
        print(line(f"bundle500_{name}_peak_rss", b["peak_mb"], "MB", MAX_PEAK_MB))
        print(line(f"bundle500_{name}_peak_rss_ratio", b["peak_mb"] / d["peak_mb"], "x demo",
                   1.2 * scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
