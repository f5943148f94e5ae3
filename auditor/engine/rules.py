"""The rule pack: rules as YAML (identity, documentation, parameters), validated on load."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from auditor.engine.registry import CheckKind
from auditor.errors import ConfigurationError, InputError
from auditor.findings import Severity, SubjectType
from auditor.yamlio import dotted, line_of, load_yaml, validate, validation_error

NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Assessment(StrEnum):
    """How a practice is assessed."""

    AUTOMATED = "automated"
    RECORDS = "records"
    MIXED = "mixed"


class Practice(BaseModel):
    """A best practice of the source document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^P\d{1,2}$")]
    title: NonEmpty
    source_text: NonEmpty
    assessment: Assessment


class Reference(BaseModel):
    """Where a rule's requirement comes from, or the control it maps to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: NonEmpty
    url: str | None = None


class Rule(BaseModel):
    """One rule: what it checks, with which kind and thresholds, and its own documentation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]
    title: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    practice: Annotated[str, StringConstraints(pattern=r"^P\d{1,2}$")]
    severity: Severity
    check: NonEmpty
    params: dict[str, Any] = Field(default_factory=dict)
    applies_to: list[SubjectType]
    rationale: NonEmpty
    how_checked: NonEmpty
    remediation: NonEmpty
    references: list[Reference] = Field(default_factory=list)
    controls: list[NonEmpty] = Field(default_factory=list)


class RulePack(BaseModel):
    """All rules and practices, with a version derived from their content."""

    model_config = ConfigDict(frozen=True)

    version: str
    practices: tuple[Practice, ...]
    rules: tuple[Rule, ...]

    def rule(self, rule_id: str) -> Rule | None:
        """A rule by id (case-insensitive)."""
        for rule in self.rules:
            if rule.id == rule_id.upper():
                return rule
        return None

    def practice(self, practice_id: str) -> Practice:
        """A practice by id."""
        return next(p for p in self.practices if p.id == practice_id)


class _PracticesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: NonEmpty
    practices: list[Practice]


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule]


def default_rules_dir() -> Path:
    """The rule pack shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "data" / "rules"


def load_rule_pack(directory: Path, kinds: Mapping[str, CheckKind[Any]]) -> RulePack:
    """Load practices.yaml and every other *.yaml as rules; cross-check ids, practices, kinds."""
    practices_path = directory / "practices.yaml"
    if not practices_path.is_file():
        raise ConfigurationError(f"{practices_path}: the rule pack has no practices.yaml")
    data, lines = load_yaml(practices_path)
    practices_file = validate(_PracticesFile, data, practices_path, lines)
    practice_ids = {p.id for p in practices_file.practices}
    digest = hashlib.sha256(practices_path.read_bytes())
    rules: list[Rule] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "practices.yaml":
            continue
        digest.update(path.read_bytes())
        rules.extend(_load_rules_file(path, practice_ids, kinds, {r.id for r in rules}))
    version = f"{practices_file.version}+{digest.hexdigest()[:12]}"
    return RulePack(version=version, practices=tuple(practices_file.practices),
                    rules=tuple(sorted(rules, key=lambda r: r.id)))


def _load_rules_file(path: Path, practice_ids: set[str], kinds: Mapping[str, CheckKind[Any]],
                     seen: set[str]) -> list[Rule]:
    data, lines = load_yaml(path)
    rules_file = validate(_RulesFile, data, path, lines)
    for i, rule in enumerate(rules_file.rules):
        def fail(field: str, message: str, i: int = i) -> InputError:
            loc = ("rules", i, field)
            return InputError(path, message, line=line_of(lines, loc), field=dotted(loc))
        if rule.id in seen:
            raise fail("id", f"duplicate rule id {rule.id}")
        seen.add(rule.id)
        if rule.practice not in practice_ids:
            raise fail("practice", f"unknown practice {rule.practice!r}")
        kind = kinds.get(rule.check)
        if kind is None:
            raise fail("check", f"unknown check kind {rule.check!r}")
        try:
            kind.params_model.model_validate(rule.params)
        except ValidationError as exc:
            raise validation_error(exc, path, lines, ("rules", i, "params")) from None
    return rules_file.rules
