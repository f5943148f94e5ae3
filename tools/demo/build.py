"""Write the evidence bundles of the demo estates: `python -m tools.demo.build [name ...]`.

Each fixtures/demo/<estate>/evidence.json is what `auditor collect` would have written on
2026-11-23 at 20:00 UTC: the SQL and Lync observations of tools/demo/estates.py, and the
records observations read from the estate's own records file or folder (as the records
collector reads them). The same inputs always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from auditor import __version__
from auditor.collect.records import collect_records
from auditor.engine.rules import default_rules_dir
from auditor.evidence import EvidenceBundle, Observation, Origin, source_evidence, write_bundle
from auditor.facts.lync import share_paths
from auditor.inventory import LoadedInventory, load_inventory
from auditor.yamlio import load_yaml
from tools.demo.builder import ProbeClock, lync_observations
from tools.demo.estates import COLLECTED_AT, ESTATES, Estate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
RECORDS_READ_AFTER = dt.timedelta(seconds=1, milliseconds=212)


def observations(estate: Estate, loaded: LoadedInventory) -> list[Observation]:
    """The SQL collector (one lane per instance), the Lync collector, then the records."""
    found: list[Observation] = []
    for lane, server in enumerate(estate.sql):
        found += server.observations(ProbeClock(COLLECTED_AT, lane))
    found += lync_observations(estate.lync, COLLECTED_AT, len(estate.sql))
    inventory = loaded.inventory
    records = loaded.relative(inventory.records) if inventory.records else None
    found += collect_records(records, COLLECTED_AT + RECORDS_READ_AFTER)
    return found


def rulepack_version() -> str:
    """The rule pack's declared version (practices.yaml), without the content hash that
    `auditor collect` appends: the recorded bundles need not change when a rule's text does."""
    data, _ = load_yaml(default_rules_dir() / "practices.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise SystemExit("rules/practices.yaml has no version")
    return str(data["version"])


def check_targets(estate: Estate, loaded: LoadedInventory) -> list[str]:
    """Inventory targets with no observation, and observations of targets not in the inventory."""
    inv = loaded.inventory
    wanted = {i.server_name for i in inv.sql_instances}
    have = {s.server_name for s in estate.sql}
    problems = [f"SQL instance {n} has no evidence" for n in sorted(wanted - have)]
    problems += [f"SQL instance {n} is not in the inventory" for n in sorted(have - wanted)]
    lync_targets = {p.target for p in estate.lync}
    for target in [p.fqdn for p in inv.pools] + share_paths(inv) + [s.fqdn for s in inv.servers]:
        if target not in lync_targets:
            problems.append(f"{target} has no Lync evidence")
    return problems


def build(name: str, root: Path = FIXTURES) -> Path:
    """Write one estate's evidence.json; return its path."""
    estate = ESTATES[name]()
    folder = root / name
    loaded = load_inventory(folder / "inventory.yaml")
    problems = check_targets(estate, loaded)
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))
    found = observations(estate, loaded)
    bundle = EvidenceBundle(
        tool_version=__version__, rulepack_version=rulepack_version(),
        estate=loaded.inventory.estate.name, estate_id=loaded.inventory.estate.id,
        inventory_sha256=loaded.sha256, collected_at=COLLECTED_AT,
        collectors=["sql", "lync", "records"], sources=source_evidence(found, Origin.LIVE),
        observations=found)
    path = folder / "evidence.json"
    write_bundle(bundle, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Build the named estates (all three by default)."""
    parser = argparse.ArgumentParser(prog="python -m tools.demo.build", description=__doc__)
    parser.add_argument("estates", nargs="*", metavar="ESTATE",
                        help=f"one of {', '.join(ESTATES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.estates if name not in ESTATES]
    if unknown:
        parser.error(f"unknown estate {unknown[0]!r} (choose from {', '.join(ESTATES)})")
    for name in args.estates or list(ESTATES):
        path = build(name)
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
