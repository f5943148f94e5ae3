"""The collector interface every source (sql, lync, records, replay) implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Protocol

from auditor.evidence import Observation
from auditor.inventory import LoadedInventory

Progress = Callable[[str, int, int], None]
"""progress(label, done, total): how far a collector is; drawn by the CLI, never printed here."""


def no_progress(label: str, done: int, total: int) -> None:
    """The default progress observer: ignore."""


@dataclass(frozen=True)
class CollectContext:
    """What every collector gets: the inventory, the clock, and a progress observer."""

    inventory: LoadedInventory
    started_at: dt.datetime
    progress: Progress = field(default=no_progress)


def run_bounded(label: str, jobs: Sequence[Callable[[], list[Observation]]], workers: int,
                progress: Progress) -> list[Observation]:
    """Run the jobs on at most `workers` threads, reporting progress as each one ends; the
    observations come back sorted by id, so the order of completion never shows."""
    found: list[Observation] = []
    total = len(jobs)
    progress(label, 0, total)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, total)),
                            thread_name_prefix=label) as pool:
        futures = [pool.submit(job) for job in jobs]
        for done, future in enumerate(as_completed(futures), start=1):
            found.extend(future.result())
            progress(label, done, total)
    return sorted(found, key=lambda o: o.id)


class Collector(Protocol):
    """Collects observations. Must not raise for an unreachable or failing target."""

    name: str

    def collect(self, context: CollectContext) -> Sequence[Observation]:
        """Every observation this source can make for the inventory's targets."""
        ...


@dataclass(frozen=True)
class PreflightCheck:
    """One thing `auditor preflight` verified about a target, and the fix when it failed."""

    target: str
    check: str
    ok: bool
    detail: str
    fix: str | None = None
    advisory: bool = False  # a line to act on that preflight cannot check (never a failure)
