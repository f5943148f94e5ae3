"""The errors that cross module boundaries; the CLI maps them to exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


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


MAX_REPORTED = 20


class MultipleInputError(AuditorError):
    """Every error found in an input file (or a folder of them), in file order, first error
    first; `lines` shows the first MAX_REPORTED and counts the rest."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.lines()))

    def lines(self, limit: int = MAX_REPORTED) -> list[str]:
        """One `file:line: field: message` per error, then `… and N more`."""
        shown = [e.render() for e in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(f"… and {len(self.errors) - limit} more")
        return shown


def in_line_order(errors: Sequence[InputError]) -> list[InputError]:
    """Errors of one file sorted by line (stable; errors about the whole file first)."""
    return sorted(errors, key=lambda e: e.line or 0)


def raise_all(errors: Sequence[InputError]) -> None:
    """Nothing for no errors, the error itself for one, MultipleInputError for several."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise MultipleInputError(errors)


def reads_input(func: Callable[P, R]) -> Callable[P, R]:
    """For the function reading the input file named by its first argument: an exception that
    is not an AuditorError (a parser or validator failing in a way nobody foresaw) becomes an
    InputError naming the file, without its text; the original stays as __cause__, so that
    `--debug` shows its traceback."""
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except AuditorError:
            raise
        except Exception as exc:
            where = args[0] if args and isinstance(args[0], Path | str) else "input"
            raise InputError(where, f"could not be read ({type(exc).__name__}); if the file "
                             "looks right this is a bug: run with --debug and report it") from exc
    return wrapper
