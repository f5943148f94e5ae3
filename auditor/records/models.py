"""The records admins keep (YAML or CSV): one documented pydantic model per kind.

Strict and closed; in CSV files (validated with context {"csv": True}) numbers and booleans are
written as text, as CSV cells are; in YAML they are YAML numbers and booleans.
The loader (files, folders, line numbers, duplicates) is auditor.records.load.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from auditor.limits import MAX_NAME_CHARS, MAX_TEXT_CHARS, IsoDate

_DECIMAL = re.compile(r"^\d{1,15}(\.\d{1,15})?$")
_WHOLE = re.compile(r"^\d{1,15}$")
MAX_NUMBER = 1_000_000_000  # hours, minutes and units of a record are far below this


def _from_csv(info: ValidationInfo) -> bool:
    """CSV cells are text: numbers and booleans may be written as text there, not in YAML."""
    return bool(info.context and info.context.get("csv"))


def _number(value: object, info: ValidationInfo) -> object:
    """A non-negative number (a CSV cell: its digits); never a boolean, never YAML text."""
    if isinstance(value, bool):
        raise PydanticCustomError("number", "must be a number, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _from_csv(info):
        if _DECIMAL.match(value):
            return float(value)
        if _DECIMAL.match(value.replace(",", ".", 1)):
            raise PydanticCustomError("number", "must be a number written with a decimal point "
                                      "(4.5, not 4,5)")
    if isinstance(value, str) and not _from_csv(info):
        raise PydanticCustomError("number", "must be a number, not text (no quotes)")
    raise PydanticCustomError("number", "must be a non-negative number")


def _whole(value: object, info: ValidationInfo) -> object:
    """A non-negative whole number (a CSV cell: its digits); never a boolean, never YAML text."""
    if isinstance(value, bool):
        raise PydanticCustomError("whole", "must be a whole number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _from_csv(info) and _WHOLE.match(value):
        return int(value)
    if isinstance(value, str) and not _from_csv(info):
        raise PydanticCustomError("whole", "must be a whole number, not text (no quotes)")
    raise PydanticCustomError("whole", "must be a non-negative whole number")


def _text(value: object) -> object:
    """Text; a YAML number (version 5.0 is read as a float) must be quoted to be text."""
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("text", "must be text; put numbers such as versions in quotes "
                                  "(\"5.0\")")
    return value


def _flag(value: object, info: ValidationInfo) -> object:
    """A boolean; in CSV only the words true and false (any letter case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and _from_csv(info) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PydanticCustomError("flag", "must be true or false")


# Names, versions, ids: MAX_NAME_CHARS; free text (notes, places, scenarios): MAX_TEXT_CHARS.
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS),
                 BeforeValidator(_text)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS),
                 BeforeValidator(_text)]
Number = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False),
                   BeforeValidator(_number)]
Whole = Annotated[int, Field(ge=0, le=MAX_NUMBER), BeforeValidator(_whole)]
Flag = Annotated[bool, BeforeValidator(_flag)]


class Record(BaseModel):
    """Strict and closed; dates, numbers and booleans may be written as text (CSV)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HardwareSoftwareRecord(Record):
    """P11: the hardware and software of one server, as the admins last reviewed it."""

    server: Text = Field(description="server FQDN, as in the inventory (any letter case)")
    manufacturer: Text | None = Field(default=None, description="as the server reports it (HP)")
    model: Text | None = Field(default=None, description="as the server reports it "
                               "(ProLiant DL380p Gen8); required when the server reports one")
    serial: Text | None = Field(default=None, description="serial number (not compared)")
    os: Text | None = Field(default=None, description="operating system name "
                            "(Windows Server 2012 R2 Standard)")
    os_version: Text | None = Field(default=None, description="operating system version "
                                    "(6.3.9600); required when the server reports one")
    lync_version: Text | None = Field(default=None, description="Lync Server version "
                                      "(5.0.8308.992); required when Lync is installed")
    sql_version: Text | None = Field(default=None, description="SQL Server version (not "
                                     "compared: DR-010 covers SQL Server versions)")
    firmware: Text | None = Field(default=None, description="system firmware (BIOS) version; "
                                  "DR-010 expects media for it")
    reviewed: IsoDate = Field(description="date the record was last checked against the server")
    owner: Text | None = Field(default=None, description="who keeps this record")


class MediaRecord(Record):
    """P10: where the installation media and updates of one product version are kept."""

    product: Text = Field(description="product name: Lync Server 2013, SQL Server 2012, "
                          "Windows Server 2012 R2, or '<manufacturer> <model> firmware'")
    version: Text = Field(description="version exactly as the servers report it "
                          "(5.0.8308.992); trailing .0 parts are ignored")
    media_location: Note = Field(description="where the installation media (and the update "
                                 "packages, unless updates_location is given) are kept")
    updates_location: Note | None = Field(default=None, description="where the update "
                                          "packages are kept, when not with the media")
    checked: IsoDate = Field(description="date someone last confirmed the media are there")


class SpareRecord(Record):
    """P14: spare units on hand for a server model (one row per model and location)."""

    model: Text = Field(description="server model as the inventory names it (HP DL380 G8)")
    units: Whole = Field(description="spare units on hand")
    location: Note | None = Field(default=None, description="where the spares are kept")


class SlaRecord(Record):
    """P14: a hardware replacement contract for a server model."""

    model: Text = Field(description="server model as the inventory names it (HP DL380 G8)")
    vendor: Text = Field(description="who replaces the hardware")
    contract: Text | None = Field(default=None, description="contract or agreement number")
    response_hours: Number = Field(description="committed time to a replacement, in hours")
    expires: IsoDate = Field(description="last day the contract is in force")


class ProcedureRecord(Record):
    """P13: a documented DR procedure."""

    name: Text = Field(description="name of the procedure (Restore the Back End pool)")
    owner: Text | None = Field(default=None, description="who keeps the procedure up to date")
    location: Note | None = Field(default=None, description="where the document is")
    reviewed: IsoDate = Field(description="date the procedure was last reviewed")


class TrainingRecord(Record):
    """P13: a person on the DR roster and their last DR training."""

    person: Text = Field(description="name of the person on the DR roster")
    role: Text | None = Field(default=None, description="their part in a recovery")
    trained: IsoDate | None = Field(default=None, description="date of their last DR "
                                    "training; empty if never trained")
    course: Note | None = Field(default=None, description="what the training was")


class DrDrillRecord(Record):
    """P13: a disaster-recovery simulation and how it went."""

    date: IsoDate = Field(description="day the drill ran")
    scenario: Note = Field(description="what was simulated (loss of pool01 Back End)")
    rto_target_minutes: Number = Field(description="recovery time objective of the drill")
    rto_achieved_minutes: Number = Field(description="time the recovery actually took")
    rpo_target_minutes: Number = Field(description="recovery point objective of the drill")
    rpo_achieved_minutes: Number = Field(description="data actually lost, in minutes")
    notes: Note | None = Field(default=None, description="what went well or wrong")


class RestoreDrillRecord(Record):
    """P7: a restore test that was done outside the audited instances."""

    date: IsoDate = Field(description="day the restore was tested")
    instance: Text = Field(description="HOST\\INSTANCE of the source database")
    database: Text = Field(description="name of the source database")
    restored_to: Text | None = Field(default=None, description="where it was restored")
    verified_by: Text | None = Field(default=None, description="who checked the result")
    succeeded: Flag = Field(default=True, description="whether the restored copy worked")


RECORD_KINDS: dict[str, type[Record]] = {
    "hardware_software": HardwareSoftwareRecord,
    "media": MediaRecord,
    "spares": SpareRecord,
    "slas": SlaRecord,
    "dr_procedures": ProcedureRecord,
    "training": TrainingRecord,
    "dr_drills": DrDrillRecord,
    "restore_drills": RestoreDrillRecord,
}


def normal(text: str) -> str:
    """Lower case with runs of white space collapsed, for comparing names."""
    return " ".join(text.lower().split())


def _identity(record: Record) -> tuple[str, Hashable, str] | None:
    """(field, key, label) of what must be unique within a kind; None when rows may repeat."""
    if isinstance(record, HardwareSoftwareRecord):
        return "server", normal(record.server), f"record for server {record.server!r}"
    if isinstance(record, TrainingRecord):
        return "person", normal(record.person), f"person {record.person!r}"
    if isinstance(record, MediaRecord):
        return ("version", (normal(record.product), normal(record.version)),
                f"media record for {record.product} {record.version}")
    if isinstance(record, ProcedureRecord):
        return "name", normal(record.name), f"procedure {record.name!r}"
    if isinstance(record, SpareRecord):
        return ("location", (normal(record.model), normal(record.location or "")),
                f"spares row for {record.model} at {record.location or 'no location'}")
    if isinstance(record, DrDrillRecord):
        return ("scenario", (record.date, normal(record.scenario)),
                f"drill {record.scenario!r} on {record.date.isoformat()}")
    return None


class RecordsFile(BaseModel):
    """The single-file form: any of the kinds, each a list of rows."""

    model_config = ConfigDict(extra="forbid", strict=True, title="auditor records")

    hardware_software: list[HardwareSoftwareRecord] = Field(default_factory=list)
    media: list[MediaRecord] = Field(default_factory=list)
    spares: list[SpareRecord] = Field(default_factory=list)
    slas: list[SlaRecord] = Field(default_factory=list)
    dr_procedures: list[ProcedureRecord] = Field(default_factory=list)
    training: list[TrainingRecord] = Field(default_factory=list)
    dr_drills: list[DrDrillRecord] = Field(default_factory=list)
    restore_drills: list[RestoreDrillRecord] = Field(default_factory=list)


def records_json_schema() -> dict[str, Any]:
    """JSON Schema of the single-file YAML form (`auditor records schema`)."""
    return RecordsFile.model_json_schema()
