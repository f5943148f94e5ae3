"""What every command shares: exit codes, the error boundary, the consoles and common options."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from enum import IntEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from auditor import __version__
from auditor.cli.problems import unassessed_warning
from auditor.collect.base import Progress as ProgressCallback
from auditor.collect.base import no_progress
from auditor.errors import AuditorError, InputError, MultipleInputError
from auditor.findings import Severity
from auditor.gates import Gates, tripped
from auditor.limits import MAX_YEAR, MIN_YEAR, in_range
from auditor.report.text import visible
from auditor.results import Results


class SafeConsole(Console):
    """A console on which no printed text can move the cursor, recolour the terminal or reverse
    the line: every string (in print, in table cells) goes through report.text.visible."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text), **options)


out = SafeConsole(highlight=False, soft_wrap=True)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")
# A table printed to a pipe or a file is laid out this wide, so that no row wraps (each row
# stays one greppable line) whatever the terminal the command was started from.
PIPE_WIDTH = 100_000


class ExitCode(IntEnum):
    """rules.md "Exit codes"."""

    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2


class _State:
    debug = False
    quiet = False  # --quiet: errors and the verdict line only


@contextmanager
def _input_errors() -> Iterator[None]:
    """One error boundary: bad input prints `file:line: field: message` (one line per error)
    and exits 2. The loaders turn what fails unexpectedly while reading a file into an
    InputError (auditor.errors.reads_input), so a hostile file cannot end in a traceback; an
    exception raised anywhere else is a bug and keeps its traceback. --debug raises all."""
    try:
        yield
    except AuditorError as exc:
        if _State.debug:
            raise
        for line in error_lines(exc):
            err.print(f"error: {line}", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def error_lines(exc: AuditorError) -> list[str]:
    """The lines the boundary prints for an error (without the `error: ` prefix)."""
    if isinstance(exc, MultipleInputError):
        return exc.lines()
    return [exc.render() if isinstance(exc, InputError) else str(exc)]


def _guarded(func: Callable[[], T]) -> T:
    with _input_errors():
        return func()


def parse_now(value: str | None) -> dt.datetime | None:
    """--now as an aware ISO 8601 time; a time without a zone is bad input."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError("--now", f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise InputError("--now", f"{value!r} has no UTC offset (write e.g. 2026-11-25T06:00Z)")
    if not in_range(parsed.year):
        raise InputError("--now", f"{value!r} is not between the years {MIN_YEAR} and {MAX_YEAR}")
    return parsed


def exit_code(results: Results, gates: Gates,
              previous: Collection[str] | None = None) -> ExitCode:
    """1 when a gate tripped (by default: anything failed or could not be assessed); each
    reason goes to stderr when a gate other than the default decided."""
    reasons = tripped(results, gates, previous)
    if reasons and (gates.replaces_default or gates.fail_under is not None):
        for reason in reasons:
            err.print(f"gate: {reason}", markup=False, highlight=False)
    return ExitCode.FINDINGS if reasons else ExitCode.OK


def package_version() -> str:
    """The installed distribution's version; the source tree's when it is not installed."""
    try:
        return version("lync-backup-auditor")
    except PackageNotFoundError:
        return __version__


def print_json(model: BaseModel | None) -> None:
    """A --json output: indented JSON on stdout, nothing else (no markup, no wrapping)."""
    if model is not None:
        typer.echo(model.model_dump_json(indent=2))


def say(message: str) -> None:
    """An informational line on stdout (a file written, a next step); none under --quiet."""
    if not _State.quiet:
        out.print(message, markup=False)


def print_table(table: RenderableType, console: Console) -> None:
    """A table as the terminal is wide; to a pipe or a file, every row on one line."""
    if console.is_terminal:
        console.print(table)
        return
    options = console.options.update(width=PIPE_WIDTH)
    text = "".join(segment.text for segment in console.render(table, options))
    for line in text.splitlines():
        console.print(line.rstrip(), markup=False, highlight=False)


def print_summary(results: Results) -> None:
    """Score, coverage and counts, one line each; under --quiet the one verdict line."""
    s = results.overall
    score = "n/a" if s.score is None else f"{s.score:.1f}"
    raw = "n/a" if s.score_without_waivers is None else f"{s.score_without_waivers:.1f}"
    head = f"score {score} (without waivers {raw}), coverage {s.coverage or 0:.1f}%"
    if not results.scope.complete:
        head += f", partial audit: over {len(results.rules)} selected rules only"
    counts = ", ".join(f"{k} {v}" for k, v in s.counts.items() if v)
    warning = unassessed_warning(s)
    if warning:
        err.print(warning, markup=False)
    for waiver in (w for w in results.waivers if w.note):
        err.print(f"waiver {waiver.rule} on {waiver.subject}: {waiver.note}", markup=False)
    if _State.quiet:
        out.print(f"{head}; {counts}", markup=False)
        return
    out.print(head, markup=False)
    out.print(counts, markup=False)


@contextmanager
def _step(message: str) -> Iterator[None]:
    """A spinner on a terminal; nothing when stdout is a pipe or a file, or under --quiet."""
    if out.is_terminal and not _State.quiet:
        with out.status(message):
            yield
    else:
        yield


@contextmanager
def collection_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    """A progress bar per collector (sql, lync...) on a terminal, updated from the collectors'
    worker threads; nothing at all when the output is a pipe or a file, or under --quiet."""
    console = console or out
    if not console.is_terminal or _State.quiet:
        yield no_progress
        return
    columns = (TextColumn("collecting {task.description:<8}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}
        lock = threading.Lock()

        def update(label: str, done: int, total: int) -> None:
            with lock:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=total)
                bar.update(tasks[label], completed=done, total=total)

        yield update


InventoryOpt = Annotated[Path, typer.Option("--inventory", "-i", metavar="FILE",
                                             help="Inventory YAML file.")]
NowOpt = Annotated[str | None, typer.Option(
    "--now", metavar="TIME",
    help="Evaluate at this ISO 8601 time (default: the bundle's collection time).")]
FailUnderOpt = Annotated[float | None, typer.Option("--fail-under", min=0, max=100,
                                                    metavar="SCORE",
                                                    help="Exit 1 below this score.")]
FailOnOpt = Annotated[Severity | None, typer.Option(
    "--fail-on", metavar="SEVERITY", case_sensitive=False,
    help="Exit 1 only for a fail or error at or above this severity (replaces the default "
         "rule: any fail or error).")]
FailOnNewOpt = Annotated[bool, typer.Option(
    "--fail-on-new", help="Exit 1 only for a fail or error that is new since the last full "
                          "audit in history (with none, every finding is new).")]
WaiversOpt = Annotated[Path | None, typer.Option("--waivers", metavar="FILE",
                                                 help="Waivers file (default: the one the "
                                                      "inventory names).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (its schema is in docs/).")]
ReplayOpt = Annotated[Path | None, typer.Option(
    "--replay", metavar="BUNDLE",
    help="Take the evidence not collected live from a recorded bundle.")]
