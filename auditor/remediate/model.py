"""plan.json: the reviewed list of what `remediate apply` will run (JSON Schema in docs/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor.canonical import pretty_bytes, sha256_of, write_atomic
from auditor.errors import reads_input
from auditor.jsonio import load_json_document
from auditor.limits import MAX_PLAN_BYTES
from auditor.remediate.catalogue import Dialect
from auditor.validation import json_validation_error

PLAN_FORMAT: Literal["auditor-remediation-plan"] = "auditor-remediation-plan"


class Closed(BaseModel):
    """Frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingRef(Closed):
    """A finding of the results the plan was made from."""

    rule_id: str
    subject: str
    status: str
    severity: str
    message: str = ""


class Statement(Closed):
    """One statement exactly as apply sends it: fixed text, parameters bound separately."""

    name: str
    text: str
    parameters: dict[str, str] = Field(description="bound in this order; `{run}` in a value is "
                                       "replaced by the apply run's id (a unique file per run)")
    switches: list[str] = Field(default_factory=list, description="PowerShell only: switch "
                                "parameters, sent with add_parameter(name, True)")


class PlannedAction(Closed):
    """One automated action on one subject."""

    id: str = Field(description="sha256 of rule, subject and action (16 hex digits)")
    action: str
    method: Literal["agent_job", "adhoc", "restore_test", "powershell"]
    instance: str = Field(description="the SQL instance, or for a PowerShell action the "
                          "Lync management server it runs on")
    database: str
    subject: str
    dialect: Dialect = Field(description="the SQL text's dialect (unused by PowerShell)")
    fixes: list[FindingRef] = Field(description="findings this action is expected to turn to pass")
    contributes: list[FindingRef] = Field(default_factory=list, description="findings it helps "
                                          "but cannot fix in one run (for example BR-002's "
                                          "cadence)")
    statements: list[Statement]
    destination: str | None = None
    job_name: str | None = None
    source_instance: str | None = Field(default=None, description="restore_test: the "
                                        "instance whose backup is restored")
    after: str | None = Field(default=None, description="restore_test: the id of this plan's "
                              "backup action whose new full it restores (its file then comes "
                              "from that action's verified artifact)")
    full_backup: bool = Field(description="needs the backup window (or --outside-window): "
                              "full backups and restore tests")
    estimated_seconds: int
    estimated_bytes: int = Field(default=0, description="room the backup needs on its "
                                 "destination: the size of that database's newest backup of "
                                 "that type (0 when it has none)")
    deadline_seconds: int
    resets_differential_base: bool = Field(default=False, description="backup_database of a "
                                           "database with differential backups since its last "
                                           "full: the next differential is relative to this "
                                           "full; apply needs --allow-diff-base-reset")
    impact: str
    risk: str
    notes: list[str] = Field(default_factory=list)


class ManualItem(Closed):
    """A checklist item for a person."""

    finding: FindingRef
    role: str
    step: str
    evidence: str
    reason: str = Field(description="why it is manual")


class Plan(Closed):
    """What apply will run, and what people must do."""

    format: Literal["auditor-remediation-plan"] = PLAN_FORMAT
    version: Literal[1] = 1
    tool_version: str
    estate: str
    results_sha256: str
    results_now: AwareDatetime
    results_collected_at: AwareDatetime
    bundle_sha256: str
    inventory_sha256: str
    results_score: float | None = Field(description="the audit's score, for the before/after")
    selection: dict[str, list[str]]
    actions: list[PlannedAction]
    assess_first: list[FindingRef] = Field(description="error findings: the state is unknown, "
                                           "so nothing is done until they are assessed")
    manual: list[ManualItem]
    waived: list[FindingRef] = Field(description="waived findings, never acted on")


def plan_bytes(plan: Plan) -> bytes:
    """The canonical file form."""
    return pretty_bytes(plan.model_dump(mode="json"))


def plan_sha256(plan: Plan) -> str:
    """The plan's hash, recorded by every run of it."""
    return sha256_of(plan.model_dump(mode="json"))


def write_plan(plan: Plan, path: Path) -> None:
    """Write plan.json atomically."""
    write_atomic(path, plan_bytes(plan))


@reads_input
def read_plan(path: Path) -> Plan:
    """Read a plan.json; bad input names the file and the field."""
    raw: Any = load_json_document(path, PLAN_FORMAT, "remediation plan", MAX_PLAN_BYTES)
    try:
        return Plan.model_validate(raw)
    except ValidationError as exc:
        raise json_validation_error(exc, path) from None


def plan_json_schema() -> dict[str, object]:
    """The JSON Schema of plan.json (docs/plan.schema.json)."""
    return Plan.model_json_schema(mode="serialization")
