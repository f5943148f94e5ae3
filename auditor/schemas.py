"""The JSON Schemas of the file formats; `python -m auditor.schemas docs` writes them to docs/."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from auditor.canonical import write_atomic
from auditor.engine.waivers import waivers_json_schema
from auditor.inventory import Inventory
from auditor.outputs import (
    InventoryValidation,
    PreflightOutput,
    RecordsValidation,
    RuleOutput,
    RulesOutput,
)
from auditor.records import records_json_schema
from auditor.remediate.model import plan_json_schema
from auditor.remediate.record import run_json_schema
from auditor.results import results_json_schema


def _inventory() -> dict[str, object]:
    return Inventory.model_json_schema()


def _output(model: type[BaseModel]) -> Callable[[], dict[str, object]]:
    """A --json output's schema: as written, every field present."""
    return lambda: model.model_json_schema(mode="serialization")


SCHEMAS: dict[str, Callable[[], dict[str, object]]] = {
    "inventory.schema.json": _inventory,
    "records.schema.json": records_json_schema,
    "plan.schema.json": plan_json_schema,
    "remediation-run.schema.json": run_json_schema,
    "results.schema.json": results_json_schema,
    "waivers.schema.json": waivers_json_schema,
    # the --json outputs of the commands
    "preflight.schema.json": _output(PreflightOutput),
    "rules-list.schema.json": _output(RulesOutput),
    "rule.schema.json": _output(RuleOutput),
    "inventory-validation.schema.json": _output(InventoryValidation),
    "records-validation.schema.json": _output(RecordsValidation),
}


def schema_text(name: str) -> str:
    """A schema as stable, indented JSON."""
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=True) + "\n"


def write_all(directory: Path) -> None:
    """Write every schema into a folder."""
    for name in SCHEMAS:
        write_atomic(directory / name, schema_text(name).encode("utf-8"))


if __name__ == "__main__":
    write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
