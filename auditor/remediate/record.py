"""remediation.json: what one apply run did, written atomically at the end of the run."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from auditor.canonical import pretty_bytes, write_atomic
from auditor.errors import reads_input
from auditor.jsonio import load_json_document
from auditor.limits import MAX_PLAN_BYTES
from auditor.validation import json_validation_error

RUN_FORMAT: Literal["auditor-remediation-run"] = "auditor-remediation-run"


class Closed(BaseModel):
    """Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class ActionOutcome(StrEnum):
    """How an action ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    DENIED = "denied"
    REFUSED = "refused"  # a precondition or a safety check kept it from starting
    NOT_RUN = "not_run"  # its instance's queue stopped at an earlier failure
    INTERRUPTED = "interrupted"  # Ctrl-C before it started


class FindingVerdict(StrEnum):
    """What the re-audit says of a finding an action was meant to fix."""

    FIXED = "fixed"
    STILL_FAILING = "still failing"
    COULD_NOT_VERIFY = "could not verify"


class ExecutedStatement(Closed):
    """A statement as sent: the template and its bound parameters (never a secret)."""

    name: str
    template: str
    parameters: dict[str, str]


class Artifact(Closed):
    """The backup set the action produced, as msdb records it."""

    backup_set_id: int
    type: str
    physical_device_name: str
    has_backup_checksums: bool
    is_damaged: bool
    is_copy_only: bool
    remote: bool
    verified: bool = Field(description="checksums present, not damaged, on the remote "
                           "destination, and RESTORE VERIFYONLY passed where it ran")


class RestoreTest(Closed):
    """What a restore test did on the restore-test instance, read back from its msdb."""

    copy_name: str
    backup_file: str
    restore_history_id: int | None = Field(description="the restorehistory row the restore "
                                           "wrote (restore_type D, recovery 1)")
    source_server_name: str | None = None
    source_database_name: str | None = None
    checkdb_passed: bool
    dropped: bool


class ExportFile(Closed):
    """The export an action wrote, as the share listing (config_exports) shows it afterwards."""

    path: str
    found: bool
    length: int = 0
    is_zip: bool = False
    has_doc_item_set: bool = False
    entries: int = Field(default=0, description="how many entries the ZIP holds")
    verified: bool = Field(description="on the share, non-empty, a ZIP holding DocItemSet.xml "
                           "(a configuration export) or at least one entry (the others)")


class ActionRun(Closed):
    """One planned action in this run."""

    id: str
    action: str
    instance: str
    database: str
    outcome: ActionOutcome
    reason: str = ""
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    statements: list[ExecutedStatement] = Field(default_factory=list)
    messages: list[str] = Field(default_factory=list, description="the server's messages")
    artifacts: list[Artifact] = Field(default_factory=list)
    restore: RestoreTest | None = None
    export: ExportFile | None = None
    fixes: list[str] = Field(default_factory=list, description="PowerShell actions: the "
                             "findings (rule|subject) the action was planned to fix")


class FindingCheck(Closed):
    """A finding the plan meant to fix, after the re-audit."""

    rule_id: str
    subject: str
    before: str
    after: str | None
    verdict: FindingVerdict
    reason: str = ""


class Verification(Closed):
    """The scoped re-audit: which instances were re-collected and when it was evaluated."""

    evaluated_at: AwareDatetime
    instances: list[str]
    findings: list[FindingCheck]
    score_before: float | None
    score_after: float | None


class RunRecord(Closed):
    """The whole run."""

    format: Literal["auditor-remediation-run"] = RUN_FORMAT
    version: Literal[1] = 1
    tool_version: str
    estate: str
    run_id: str
    plan_sha256: str
    approved_by: str
    started_at: AwareDatetime
    finished_at: AwareDatetime
    options: dict[str, str]
    actions: list[ActionRun]
    verification: Verification | None = None


def write_run(record: RunRecord, path: Path) -> None:
    """Write remediation.json atomically: absent or complete, never half-written."""
    write_atomic(path, pretty_bytes(record.model_dump(mode="json")))


@reads_input
def read_run(path: Path) -> RunRecord:
    """Read a remediation.json; bad input names the file and the field."""
    raw: Any = load_json_document(path, RUN_FORMAT, "remediation run record", MAX_PLAN_BYTES)
    try:
        return RunRecord.model_validate(raw)
    except ValidationError as exc:
        raise json_validation_error(exc, path) from None


def run_json_schema() -> dict[str, object]:
    """The JSON Schema of remediation.json (docs/remediation-run.schema.json)."""
    return RunRecord.model_json_schema(mode="serialization")
