"""Management responses: who fixes a finding, by when, and what they say (an optional YAML file).

```yaml
responses:
  - subject: database:SQL01\\RTC/lis     # the canonical subject id of the finding
    rule: BR-001                         # optional: without it, every finding of the subject
    owner: J. Smith (DBA team lead)
    due: 2027-01-31
    response: Nightly full backup of lis added to the maintenance plan on 2026-11-26.
```
A response with a rule wins over one without for the same subject. Subject ids compare without
regard to letter case, as waivers do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from auditor.errors import InputError, reads_input
from auditor.limits import IsoDate
from auditor.yamlio import dotted, line_of, load_yaml, validate

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


class ManagementResponse(BaseModel):
    """Management's answer to the finding(s) of one subject."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    subject: Annotated[str, StringConstraints(min_length=1, max_length=600,
                                              strip_whitespace=True)]
    rule: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")] | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200,
                                            strip_whitespace=True)]
    due: IsoDate
    response: Text


class _ResponsesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    version: Annotated[int, Field(ge=1, le=1)] = 1
    responses: list[ManagementResponse]


@reads_input
def load_responses(path: Path, rule_ids: Collection[str]) -> tuple[ManagementResponse, ...]:
    """Read a responses file; an unknown rule id or a second response for the same finding is
    an input error naming the file, line and field."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise InputError(path, "a responses file is a mapping with a `responses:` list", line=1)
    parsed = validate(_ResponsesFile, data, path, lines)
    seen: set[tuple[str | None, str]] = set()
    for i, item in enumerate(parsed.responses):
        if item.rule is not None and item.rule not in rule_ids:
            loc = ("responses", i, "rule")
            raise InputError(path, f"unknown rule id {item.rule!r}", line=line_of(lines, loc),
                             field=dotted(loc))
        key = (item.rule, item.subject.lower())
        if key in seen:
            loc = ("responses", i, "subject")
            what = f"{item.rule} on {item.subject}" if item.rule else item.subject
            raise InputError(path, f"a second response for {what}", line=line_of(lines, loc),
                             field=dotted(loc))
        seen.add(key)
    return tuple(parsed.responses)


def responses_json_schema() -> dict[str, object]:
    """The JSON Schema of a responses file."""
    return _ResponsesFile.model_json_schema()


class ResponseIndex:
    """Finds the response to a finding: rule and subject first, then the subject alone."""

    def __init__(self, responses: Sequence[ManagementResponse]) -> None:
        self._by_key: Mapping[tuple[str | None, str], ManagementResponse] = {
            (r.rule, r.subject.lower()): r for r in responses}
        self.responses = tuple(responses)
        self.used: set[int] = set()

    def find(self, rule_id: str, subject_id: str) -> ManagementResponse | None:
        """The response for this finding, remembering it was used."""
        low = subject_id.lower()
        found = self._by_key.get((rule_id, low)) or self._by_key.get((None, low))
        if found is not None:
            self.used.add(id(found))
        return found

    def unused(self) -> tuple[ManagementResponse, ...]:
        """Responses that matched no finding that needs one (a typo, or a fixed finding)."""
        return tuple(r for r in self.responses if id(r) not in self.used)
