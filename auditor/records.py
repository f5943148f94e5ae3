"""The records admins keep (YAML or CSV): one model per kind, each documented."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LaxDate = Annotated[dt.date, Field(strict=False)]
LaxFloat = Annotated[float, Field(strict=False, ge=0)]
LaxInt = Annotated[int, Field(strict=False, ge=0)]


class Record(BaseModel):
    """Strict and closed, except that dates and numbers may be written as text (CSV)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HardwareSoftwareRecord(Record):
    """P11: the hardware and software of one server, as the admins last reviewed it."""

    server: Text = Field(description="server FQDN, as in the inventory")
    manufacturer: Text | None = None
    model: Text | None = None
    serial: Text | None = None
    os: Text | None = Field(default=None, description="operating system and version")
    lync_version: Text | None = None
    sql_version: Text | None = None
    firmware: Text | None = None
    reviewed: LaxDate = Field(description="date the record was last checked against the server")
    owner: Text | None = None


class MediaRecord(Record):
    """P10: where the installation media and updates of one product version are kept."""

    product: Text = Field(description="product name: Lync Server 2013, SQL Server, Windows Server")
    version: Text = Field(description="version as the servers report it (e.g. 5.0.8308.992)")
    media_location: Text
    updates_location: Text | None = None
    checked: LaxDate = Field(description="date someone last confirmed the media are there")


class SpareRecord(Record):
    """P14: spare units on hand for a server model."""

    model: Text
    units: LaxInt
    location: Text | None = None


class SlaRecord(Record):
    """P14: a hardware replacement contract for a server model."""

    model: Text
    vendor: Text
    contract: Text | None = None
    response_hours: LaxFloat
    expires: LaxDate


class ProcedureRecord(Record):
    """P13: a documented DR procedure."""

    name: Text
    owner: Text | None = None
    location: Text | None = None
    reviewed: LaxDate


class TrainingRecord(Record):
    """P13: a person on the DR roster and their last DR training."""

    person: Text
    role: Text | None = None
    trained: LaxDate | None = Field(default=None, description="empty if never trained")
    course: Text | None = None


class DrDrillRecord(Record):
    """P13: a disaster-recovery simulation and how it went."""

    date: LaxDate
    scenario: Text
    rto_target_minutes: LaxFloat
    rto_achieved_minutes: LaxFloat
    rpo_target_minutes: LaxFloat
    rpo_achieved_minutes: LaxFloat
    notes: Text | None = None


class RestoreDrillRecord(Record):
    """P7: a restore test that was done outside the audited instances."""

    date: LaxDate
    instance: Text = Field(description="HOST\\INSTANCE of the source database")
    database: Text
    restored_to: Text | None = None
    verified_by: Text | None = None
    succeeded: bool = True


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
