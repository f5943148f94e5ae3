"""What a pipeline handler is given (`Invocation`) and what it answers (`Reply`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CommandCall:
    """One command of a pipeline as the server received it: name or script text, and arguments."""

    name: str
    is_script: bool
    parameters: tuple[tuple[str | None, Any], ...]
    end_of_statement: bool = True


@dataclass(frozen=True)
class Invocation:
    """A pipeline the client asked for."""

    user: str
    shell_id: str
    commands: tuple[CommandCall, ...]


@dataclass(frozen=True)
class ErrorSpec:
    """An error record: message, category (psrpcore ErrorCategory value), id, exception type."""

    message: str
    category: int = 0
    error_id: str = "NotSpecified"
    exception_type: str = "System.Management.Automation.RuntimeException"


@dataclass
class Reply:
    """What a pipeline does: output, error records, how it ends."""

    outputs: list[Any] = field(default_factory=list)
    errors: list[ErrorSpec] = field(default_factory=list)
    failure: ErrorSpec | None = None
    hang: bool = False
    malformed: bool = False
    drop: bool = False


Handler = Callable[[Invocation], Reply]
