"""The reference commands: the rule pack, the inventory and records formats, the version."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table

from auditor.cli.common import (
    ExitCode,
    JsonOpt,
    WaiversOpt,
    _guarded,
    _State,
    err,
    out,
    package_version,
    print_json,
    print_table,
)
from auditor.errors import AuditorError, InputError
from auditor.inventory import Inventory
from auditor.outputs import (
    InventoryValidation,
    Problem,
    RecordsValidation,
    problems,
    rule_output,
    rules_output,
)
from auditor.pipeline import Toolkit
from auditor.records import load_records, records_json_schema
from auditor.ruledoc import rules_markdown

M = TypeVar("M", bound=BaseModel)


def rules_list(as_json: JsonOpt = False) -> None:
    """Every rule: id, practice, severity, title."""
    pack = _guarded(Toolkit).pack
    if as_json:
        print_json(rules_output(pack))
        return
    table = Table("id", "practice", "severity", "check", "title", box=None, pad_edge=False)
    for rule in pack.rules:
        table.add_row(rule.id, rule.practice, rule.severity.value, rule.check, rule.title)
    print_table(table, out)
    practices = {r.practice for r in pack.rules}
    out.print(f"{len(pack.rules)} rules covering {len(practices)} of {len(pack.practices)} "
              f"practices (rule pack {pack.version})")


def rules_show(rule_id: Annotated[str, typer.Argument(metavar="ID")],
               as_json: JsonOpt = False) -> None:
    """A rule's documentation: why it matters, how it is checked, how to fix it."""
    pack = _guarded(Toolkit).pack
    rule = pack.rule(rule_id)
    if rule is None:
        err.print(f"error: unknown rule id {rule_id!r}; see `auditor rules list`", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT)
    if as_json:
        print_json(rule_output(pack, rule.id))
        return
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
                       waivers_path: WaiversOpt = None, as_json: JsonOpt = False) -> None:
    """Check an inventory (and the waivers file it names, or --waivers)."""
    if as_json:
        _validation_json(lambda: _inventory_json(path, waivers_path),
                         lambda errors: InventoryValidation(file=str(path), ok=False,
                                                            errors=errors))
        return

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


def records_validate(path: Annotated[Path, typer.Argument(metavar="PATH")],
                     as_json: JsonOpt = False) -> None:
    """Check a records file or folder."""
    if as_json:
        _validation_json(lambda: _records_json(path),
                         lambda errors: RecordsValidation(path=str(path), ok=False,
                                                          errors=errors))
        return
    records = _guarded(lambda: load_records(path))
    summary = ", ".join(f"{kind} {len(rows)}" for kind, rows in sorted(records.items()))
    out.print(f"{path}: ok ({summary or 'no records'})", markup=False)


def records_schema() -> None:
    """The JSON Schema of the records format."""
    out.print_json(data=records_json_schema())


def version_cmd() -> None:
    """The tool version."""
    out.print(f"auditor {package_version()}", markup=False)


# --- --json of the validate commands: the result, or every error found, on stdout ------------

def _inventory_json(path: Path, waivers_path: Path | None) -> InventoryValidation:
    toolkit = Toolkit()
    loaded = toolkit.load_inventory(path)
    waivers = toolkit.load_waivers(loaded, waivers_path)
    inv = loaded.inventory
    return InventoryValidation(file=str(path), ok=True, sql_instances=len(inv.sql_instances),
                               pools=len(inv.pools), servers=len(inv.servers),
                               waivers=len(waivers))


def _records_json(path: Path) -> RecordsValidation:
    records = load_records(path)
    return RecordsValidation(path=str(path), ok=True,
                             records={kind: len(rows) for kind, rows in sorted(records.items())})


def _error_problems(exc: AuditorError) -> list[Problem]:
    """An error as rows: an InputError, or an error carrying several (`errors`)."""
    found = getattr(exc, "errors", None)
    if isinstance(found, list | tuple) and all(isinstance(e, InputError) for e in found):
        return problems(found)
    if isinstance(exc, InputError):
        return problems([exc])
    return [Problem(file="", line=None, field=None, message=str(exc))]


def _validation_json(build: Callable[[], M], failed: Callable[[list[Problem]], M]) -> None:
    """Print the validation result as JSON; bad input prints its errors as JSON, exit 2."""
    try:
        result = build()
    except AuditorError as exc:
        if _State.debug:
            raise
        print_json(failed(_error_problems(exc)))
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    print_json(result)
