"""The vocabulary every stage shares: statuses, severities, subjects and findings."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    """A finding's verdict; rules.md "Result statuses"."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    WAIVED = "waived"


# Worst first: a rule's status is the worst of its subjects.
STATUS_ORDER: tuple[Status, ...] = (
    Status.ERROR, Status.FAIL, Status.WARN, Status.WAIVED, Status.PASS, Status.NOT_APPLICABLE,
)

CREDIT: dict[Status, float] = {Status.PASS: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0,
                               Status.ERROR: 0.0}


def worst(statuses: list[Status]) -> Status:
    """The worst status of a list; not_applicable for an empty one."""
    if not statuses:
        return Status.NOT_APPLICABLE
    return min(statuses, key=STATUS_ORDER.index)


class Severity(StrEnum):
    """A rule's severity, which sets its weight in the score."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def weight(self) -> int:
        """critical 10, high 5, medium 3, low 1 (rules.md)."""
        return {"critical": 10, "high": 5, "medium": 3, "low": 1}[self.value]


class SubjectType(StrEnum):
    """The kinds of subject a finding can be about (rules.md "Subjects")."""

    DATABASE = "database"
    INSTANCE = "instance"
    POOL = "pool"
    SHARE = "share"
    SERVER = "server"
    MODEL = "model"
    PERSON = "person"
    PRODUCT = "product"
    ESTATE = "estate"


class Subject(BaseModel):
    """What a finding is about, with its canonical id and where it sits in the estate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: SubjectType
    name: str
    instance: str | None = None
    host: str | None = None
    site: str | None = None
    pool: str | None = None


class Verdict(BaseModel):
    """What a check kind says about one subject, before the engine adds rule metadata."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: Subject
    status: Status
    message: str
    observed: Any = None
    expected: Any = None
    evidence_ids: tuple[str, ...] = ()


class WaiverRef(BaseModel):
    """The waiver that covered (or, expired, failed to cover) a finding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str
    approver: str
    expires: str
    expired: bool


class Finding(BaseModel):
    """One rule applied to one subject, as it appears in results.json."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    practice: str
    severity: Severity
    subject: Subject
    status: Status
    status_before_waiver: Status
    message: str
    observed: Any = None
    expected: Any = None
    evidence_ids: tuple[str, ...] = Field(default=())
    waiver: WaiverRef | None = None
