"""`auditor preflight`: can every target be reached, logged into and read?"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from auditor.cli.common import _State, print_json, print_table
from auditor.collect.base import PreflightCheck
from auditor.collect.remediation_preflight import preflight_remediation
from auditor.collect.sql import preflight_sql
from auditor.inventory import LoadedInventory
from auditor.outputs import preflight_output

PreflightInventoryOpt = Annotated[Path, typer.Option("--inventory", "-i", metavar="FILE",
                                                     help="Inventory YAML file.")]
PreflightJsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (its schema is in "
                                                "docs/preflight.schema.json).")]
RemediationOpt = Annotated[bool, typer.Option(
    "--remediation", help="Check the permissions `remediate apply` needs instead, with each "
    "instance's remediation_credential (docs/remediation.md).")]


def lync_checks(loaded: LoadedInventory) -> list[PreflightCheck]:
    """The Lync preflight, when the Lync collector provides one and the inventory names Lync
    access or Lync servers (a SQL-only inventory is not failed for lacking a lync: section)."""
    inv = loaded.inventory
    if inv.lync is None and not inv.servers and not inv.pools:
        return []
    if importlib.util.find_spec("auditor.collect.lync") is None:
        return []
    module = importlib.import_module("auditor.collect.lync")
    check = getattr(module, "preflight_lync", None)
    if check is None:
        return []
    return list(check(loaded))


def render(checks: list[PreflightCheck], console: Console) -> None:
    """One row per check (under --quiet, per failed check), then the fix of each failed check
    in full (to copy and run)."""
    failed = [c for c in checks if not c.ok]
    shown = failed if _State.quiet else checks
    if shown:
        table = Table("target", "check", "result", "detail", box=None, pad_edge=False)
        for c in shown:
            result = "advisory" if c.advisory else "ok" if c.ok else "FAILED"
            table.add_row(c.target, c.check, result, c.detail)
        print_table(table, console)
    fixes = [c for c in checks if c.fix and (c.advisory or not c.ok)]
    if fixes:
        console.print("\nfixes:", markup=False)
    for c in fixes:
        console.print(f"- {c.target} {c.check}:\n  fix: {c.fix}", markup=False, soft_wrap=True)
    console.print(f"{len(checks)} checks, {len(failed)} failed", markup=False)


def preflight(inventory: PreflightInventoryOpt, as_json: PreflightJsonOpt = False,
              remediation: RemediationOpt = False) -> None:
    """Check reachability, login and every permission the probes need, with the fixes."""
    from auditor.cli import ExitCode, _guarded, out
    from auditor.pipeline import Toolkit

    def run() -> list[PreflightCheck]:
        loaded = Toolkit().load_inventory(inventory)
        if remediation:
            return preflight_remediation(loaded)
        return preflight_sql(loaded) + lync_checks(loaded)

    checks = _guarded(run)
    if as_json:
        print_json(preflight_output(str(inventory), checks,
                                    "remediation" if remediation else "audit"))
    else:
        render(checks, out)
    raise typer.Exit(ExitCode.FINDINGS if any(not c.ok for c in checks) else ExitCode.OK)
