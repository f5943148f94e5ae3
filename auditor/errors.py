"""The errors that cross module boundaries; the CLI maps them to exit codes."""

from __future__ import annotations

from pathlib import Path


class AuditorError(Exception):
    """Base of every error the CLI reports without a traceback."""


class InputError(AuditorError):
    """Bad user input: names the file, the line and the field at fault."""

    def __init__(
        self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        """`file:line: field: message`, leaving out the parts that are unknown."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class ConfigurationError(AuditorError):
    """The tool itself is misconfigured (a broken rule pack, a missing template)."""
