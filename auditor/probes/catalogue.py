"""Loads probes/catalogue.yaml: each probe's text or command, its scope and its row shape."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from auditor.yamlio import load_yaml, validate

HERE = Path(__file__).resolve().parent


class Scope(StrEnum):
    """What one run of a probe is about."""

    INSTANCE = "instance"
    DEPLOYMENT = "deployment"
    POOL = "pool"
    SHARE = "share"
    SERVER = "server"


class Dialect(StrEnum):
    """Which SQL a server speaks: real SQL Server (T-SQL) or the PostgreSQL msdb lab."""

    TSQL = "tsql"
    LAB = "lab"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqlProbe(_Closed):
    """A query run on each SQL instance over a connection to msdb."""

    name: str
    scope: Scope
    purpose: str
    file: str | None = None
    variants: dict[Dialect, str] = Field(default_factory=dict)
    parameters: list[str] = Field(default_factory=list)
    columns: dict[str, str]
    roles: list[str] | None = None
    min_major_version: int | None = None
    min_build: str | None = Field(default=None, description="below this ProductVersion build "
                                  "the probe is not run and its observation says why")
    min_build_reason: str | None = Field(default=None, description="what needs that build and "
                                         "what brings it, for that message")

    def text(self, dialect: Dialect) -> str | None:
        """The SQL for a dialect, or None when this probe has no form for it."""
        name = self.variants.get(dialect) or self.file
        return (HERE / "sql" / name).read_text(encoding="utf-8") if name else None


class PsProbe(_Closed):
    """A PowerShell command or constant script run in a remote runspace."""

    name: str
    scope: Scope
    purpose: str
    command: str | None = None
    script: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)
    select: list[str]
    rbac: str
    module: str | None = None
    """The module the session imports once before this probe runs (never left to autoload)."""

    def script_text(self) -> str | None:
        """The constant script (with its param() block), if this probe is a script."""
        return (HERE / "ps" / self.script).read_text(encoding="utf-8") if self.script else None


class Catalogue(_Closed):
    """Every probe the collectors know."""

    version: int
    history_days: int
    restore_history_days: int
    sql: list[SqlProbe]
    powershell: list[PsProbe]


def load_catalogue(path: Path = HERE / "catalogue.yaml") -> Catalogue:
    """The catalogue shipped with the package."""
    data, lines = load_yaml(path)
    return validate(Catalogue, data, path, lines)
