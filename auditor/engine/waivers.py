"""Waivers: an approved, expiring exception for one rule on one subject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from auditor.errors import InputError, in_line_order, raise_all, reads_input
from auditor.findings import Finding, Status
from auditor.limits import MAX_NAME_CHARS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS, IsoDate
from auditor.yamlio import dotted, line_of, load_yaml, validate, validation_errors

Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_CHARS,
                                           strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS,
                                          strip_whitespace=True)]
MOVED_SHOWN = 3  # database subjects named in a waiver's note
Approver = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS,
                                            strip_whitespace=True)]


class Waiver(BaseModel):
    """rule + subject id, with who approved it, why, and until when."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    rule: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]
    subject: Subject
    reason: Reason
    approver: Approver
    expires: IsoDate = Field(description="last day the waiver applies, YYYY-MM-DD")

    def expired_at(self, now: dt.datetime) -> bool:
        """A waiver is good through its expiry date, on the auditor's clock (UTC)."""
        return self.expires < now.astimezone(dt.UTC).date()


class _WaiversFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    waivers: list[Waiver]


class _WaiversList(BaseModel):
    """The file's shape, before each waiver is checked on its own."""

    model_config = ConfigDict(extra="forbid", strict=True)
    waivers: list[dict[str, object]]


@reads_input
def load_waivers(path: Path, rule_ids: Collection[str]) -> tuple[Waiver, ...]:
    """Read a waivers file; unknown rule ids and duplicates are input errors. Every error of
    the file is reported: each waiver is checked on its own, then against the others."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(path, "a waivers file is a mapping with a `waivers:` list", line=1)
    shape = validate(_WaiversList, data, path, lines)
    errors: list[InputError] = []
    waivers: dict[int, Waiver] = {}
    for i, item in enumerate(shape.waivers):
        try:
            waivers[i] = Waiver.model_validate(item)
        except ValidationError as exc:
            errors += validation_errors(exc, path, lines, ("waivers", i))
    seen: set[tuple[str, str]] = set()
    for i, waiver in waivers.items():
        if waiver.rule not in rule_ids:
            loc = ("waivers", i, "rule")
            errors.append(InputError(path, f"unknown rule id {waiver.rule!r}",
                                     line=line_of(lines, loc), field=dotted(loc)))
        key = (waiver.rule, waiver.subject.lower())
        if key in seen:
            loc = ("waivers", i, "subject")
            errors.append(InputError(path, f"a second waiver for {waiver.rule} on "
                                     f"{waiver.subject}", line=line_of(lines, loc),
                                     field=dotted(loc)))
        seen.add(key)
    raise_all(in_line_order(errors))
    return tuple(waivers.values())


def waiver_note(waiver: Waiver, findings: Sequence[Finding]) -> str | None:
    """Why a waiver covered nothing, when the reader could not tell: no finding has its
    subject, or its instance's findings of the rule moved to the instance's databases (BR-061
    and DR-030 judge checksums and damage per database), where it does not reach."""
    own = [f for f in findings if f.rule_id == waiver.rule]
    hits = [f for f in own if f.subject.id.lower() == waiver.subject.lower()]
    if any(f.status is Status.WAIVED for f in hits):
        return None
    moved = _database_findings(waiver, own)
    if moved:
        shown = ", ".join(moved[:MOVED_SHOWN]) + (
            f" and {len(moved) - MOVED_SHOWN} more" if len(moved) > MOVED_SHOWN else "")
        return (f"{waiver.rule} judges part of this instance per database, and a waiver on "
                f"the instance does not reach them: {shown} fail or warn; waive each by its "
                "database: subject")
    if not hits:
        return (f"no {waiver.rule} finding is about {waiver.subject} (a subject that no "
                "longer exists, or a misspelt one): this waiver covers nothing")
    return None


def _database_findings(waiver: Waiver, own: Sequence[Finding]) -> list[str]:
    """The instance's database findings of the rule that fail or warn, unwaived."""
    kind, _, name = waiver.subject.partition(":")
    if kind.lower() != "instance":
        return []
    prefix = f"database:{name}/".lower()
    return sorted(f.subject.id for f in own if f.subject.id.lower().startswith(prefix)
                  and f.status in (Status.FAIL, Status.WARN))


def waivers_json_schema() -> dict[str, object]:
    """The JSON Schema of a waivers file."""
    return _WaiversFile.model_json_schema()
