"""Waivers: an approved, expiring exception for one rule on one subject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from auditor.errors import InputError, in_line_order, raise_all, reads_input
from auditor.limits import MAX_NAME_CHARS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS, IsoDate
from auditor.yamlio import dotted, line_of, load_yaml, validate, validation_errors

Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_CHARS,
                                           strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS,
                                          strip_whitespace=True)]
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


def waivers_json_schema() -> dict[str, object]:
    """The JSON Schema of a waivers file."""
    return _WaiversFile.model_json_schema()
