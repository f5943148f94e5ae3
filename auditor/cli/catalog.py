"""The reference commands: the rule pack, the inventory and records formats, the version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from auditor import __version__
from auditor.cli.common import ExitCode, WaiversOpt, _guarded, err, out
from auditor.inventory import Inventory
from auditor.pipeline import Toolkit
from auditor.records import load_records, records_json_schema
from auditor.ruledoc import rules_markdown


def rules_list() -> None:
    """Every rule: id, practice, severity, title."""
    pack = _guarded(Toolkit).pack
    table = Table("id", "practice", "severity", "check", "title", box=None)
    for rule in pack.rules:
        table.add_row(rule.id, rule.practice, rule.severity.value, rule.check, rule.title)
    out.print(table)
    practices = {r.practice for r in pack.rules}
    out.print(f"{len(pack.rules)} rules covering {len(practices)} of {len(pack.practices)} "
              f"practices (rule pack {pack.version})")


def rules_show(rule_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """A rule's documentation: why it matters, how it is checked, how to fix it."""
    pack = _guarded(Toolkit).pack
    rule = pack.rule(rule_id)
    if rule is None:
        err.print(f"error: unknown rule id {rule_id!r}; see `auditor rules list`", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT)
    practice = pack.practice(rule.practice)
    out.print(f"{rule.id}  {rule.title}", markup=False)
    out.print(f"practice {practice.id}: {practice.title}; severity {rule.severity.value}; "
              f"check {rule.check} {json.dumps(rule.params, sort_keys=True)}", markup=False)
    for heading, text in (("Why it matters", rule.rationale), ("How it is checked",
                          rule.how_checked), ("Remediation", rule.remediation)):
        out.print(f"\n{heading}\n  {text}", markup=False)
    if rule.controls:
        out.print(f"\nControls\n  {'; '.join(rule.controls)}", markup=False)
    if rule.references:
        out.print("\nReferences")
    for ref in rule.references:
        out.print(f"  - {ref.title}{f' <{ref.url}>' if ref.url else ''}", markup=False)


def rules_doc() -> None:
    """docs/rules.md as Markdown, generated from the rule pack."""
    typer.echo(rules_markdown(_guarded(Toolkit).pack), nl=False)


def inventory_validate(path: Annotated[Path, typer.Argument(metavar="FILE")],
                       waivers_path: WaiversOpt = None) -> None:
    """Check an inventory (and the waivers file it names, or --waivers)."""
    def run() -> str:
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(path)
        waivers = toolkit.load_waivers(loaded, waivers_path)
        inv = loaded.inventory
        return (f"{path}: ok ({len(inv.sql_instances)} SQL instances, {len(inv.pools)} pools, "
                f"{len(inv.servers)} servers, {len(waivers)} waivers)")
    out.print(_guarded(run), markup=False)


def inventory_schema() -> None:
    """The JSON Schema of the inventory format."""
    out.print_json(data=Inventory.model_json_schema())


def records_validate(path: Annotated[Path, typer.Argument(metavar="PATH")]) -> None:
    """Check a records file or folder."""
    records = _guarded(lambda: load_records(path))
    summary = ", ".join(f"{kind} {len(rows)}" for kind, rows in sorted(records.items()))
    out.print(f"{path}: ok ({summary or 'no records'})", markup=False)


def records_schema() -> None:
    """The JSON Schema of the records format."""
    out.print_json(data=records_json_schema())


def version_cmd() -> None:
    """The tool version."""
    out.print(f"auditor {__version__}")
