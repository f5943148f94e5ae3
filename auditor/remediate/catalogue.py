"""The remediation catalogue (actions.yaml and sql/): what may be done about each rule."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from auditor.errors import ConfigurationError
from auditor.yamlio import load_yaml, validate

HERE = Path(__file__).resolve().parent
SQL_DIR = HERE / "sql"
CATALOGUE_PATH = HERE / "actions.yaml"
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class Dialect(StrEnum):
    """Which text of a statement runs: T-SQL on SQL Server, the stand-in on the lab."""

    TSQL = "tsql"
    LAB = "lab"


class ActionKind(StrEnum):
    """How an action reaches its target."""

    SQL = "sql"
    POWERSHELL = "powershell"


class Closed(BaseModel):
    """Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Closed):
    """One statement of an action, with its `?` parameters by name."""

    statement: NonEmpty
    compressed: str | None = None
    switches: list[NonEmpty] = []  # PowerShell switch parameters (add_parameter(name, True))
    parameters: list[NonEmpty]


class Action(Closed):
    """An automated action."""

    name: NonEmpty
    kind: ActionKind
    implemented: bool
    summary: NonEmpty
    impact: NonEmpty
    risk: NonEmpty
    steps: list[Step] = []
    command: str | None = None


class Manual(Closed):
    """A checklist item: who, what (with {placeholders} for real names), and what closes it."""

    role: NonEmpty
    step: NonEmpty
    evidence: NonEmpty


class RuleRemediation(Closed):
    """A rule's actions in order of preference, and its manual fallback."""

    actions: list[NonEmpty] = []
    one_run: bool = True
    manual: Manual


class Catalogue(Closed):
    """The whole catalogue."""

    version: int
    actions: list[Action]
    rules: dict[str, RuleRemediation]

    def action(self, name: str) -> Action:
        """An action by name."""
        return next(a for a in self.actions if a.name == name)


def statement_path(name: str, dialect: Dialect) -> Path:
    """sql/<name>.sql (T-SQL) or sql/<name>.lab.sql (lab)."""
    return SQL_DIR / (f"{name}.lab.sql" if dialect is Dialect.LAB else f"{name}.sql")


@cache
def statement(name: str, dialect: Dialect) -> str:
    """The fixed text of a statement in a dialect (a statement without a lab form runs as is)."""
    path = statement_path(name, dialect)
    if not path.is_file():
        path = statement_path(name, Dialect.TSQL)
    return path.read_text(encoding="utf-8").strip()


# The one-file form of the restore's MOVE clause in each dialect, repeated once per file that
# RESTORE FILELISTONLY lists: the text stays fixed, every name and path a bound `?`.
MOVE_CLAUSE = {Dialect.TSQL: ("MOVE ? TO ?", ", "), Dialect.LAB: ("ARRAY[?, ?]", None)}


def with_moves(text: str, dialect: Dialect, files: int) -> str:
    """The restore statement with one `MOVE ? TO ?` (lab: one `?, ?` pair) per file."""
    unit, joiner = MOVE_CLAUSE[dialect]
    if unit not in text or files < 1:
        raise ValueError("a restore needs its MOVE clause and at least one file")
    if joiner is not None:
        return text.replace(unit, joiner.join([unit] * files))
    return text.replace(unit, "ARRAY[" + ", ".join(["?, ?"] * files) + "]")


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """actions.yaml, validated: every action a rule names exists, every statement file too."""
    data, lines = load_yaml(path)
    catalogue = validate(Catalogue, data, path, lines)
    names = {a.name for a in catalogue.actions}
    for rule_id, entry in catalogue.rules.items():
        for name in entry.actions:
            if name not in names:
                raise ConfigurationError(f"{path}: {rule_id} names unknown action {name!r}")
    for action in catalogue.actions:
        if action.kind is ActionKind.POWERSHELL:
            continue  # cmdlets, sent with add_cmdlet/add_parameter (remediate/export_exec.py)
        for step in action.steps:
            for name in filter(None, (step.statement, step.compressed)):
                if not statement_path(name, Dialect.TSQL).is_file():
                    raise ConfigurationError(f"{path}: {action.name}: no sql/{name}.sql")
    return catalogue


@cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, loaded once."""
    return load_catalogue()
