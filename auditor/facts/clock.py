"""The audit clock: how old an evidence time is at `now`, and when it lies in the future.

An evidence time (a backup's finish, a restore, an export's write time, a job run, a record's
date) cannot be later than the moment the observation that read it finished. Clocks drift, so
CLOCK_TOLERANCE is allowed beyond that moment; a time later still is "in the future": the
server's clock or time zone (or the record) is wrong, and no rule passes on it (the checks fail
it, docs/time.md). A time between `now` and that bound (a backup finishing while the collection
runs, since `now` defaults to the collection start) counts as age 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from auditor.evidence import EvidenceBundle

CLOCK_TOLERANCE = dt.timedelta(minutes=5)
# A calendar date carries no zone: the day it names may already have begun in the easternmost
# zone (UTC+14) while the evidence was read.
DATE_TOLERANCE = dt.timedelta(hours=14)
ZERO = dt.timedelta(0)


def span(delta: dt.timedelta) -> str:
    """'3 d 04 h', '4 h 05 min' or '7 min', never negative."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    if days:
        return f"{days} d {rest // 60:02d} h"
    if rest >= 60:
        return f"{rest // 60} h {rest % 60:02d} min"
    return f"{rest} min"


def stamp(moment: dt.datetime) -> str:
    """'2026-11-24 09:00 UTC' for messages."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Future:
    """An evidence time later than the evidence itself: why no rule can pass on it."""

    what: str
    moment: dt.datetime
    collected: dt.datetime

    @property
    def text(self) -> str:
        """'newest full backup finished 2026-11-25 12:10 UTC, 12 min after ...'."""
        return (f"{self.what} {stamp(self.moment)}, {span(self.moment - self.collected)} after "
                f"the evidence was collected ({stamp(self.collected)}): the server's clock or "
                "time zone is wrong, so no age can be trusted")


@dataclass(frozen=True)
class FutureDate:
    """A record's date later than the day the records were read."""

    what: str
    day: dt.date
    collected: dt.datetime

    @property
    def text(self) -> str:
        """'training of ann 2026-12-01 is after the records were read (2026-11-25 ...)'."""
        return (f"{self.what} {self.day.isoformat()} is after the day the evidence was read "
                f"({stamp(self.collected)}): the date is wrong, so no age can be trusted")


@dataclass(frozen=True)
class AuditClock:
    """`now`, and when each observation finished (by evidence id)."""

    now: dt.datetime
    observed_at: Mapping[str, dt.datetime]
    tolerance: dt.timedelta = CLOCK_TOLERANCE

    @classmethod
    def of(cls, bundle: EvidenceBundle, now: dt.datetime) -> AuditClock:
        """The clock of one evaluation."""
        return cls(now, {obs.id: obs.finished_at for obs in bundle.observations})

    def with_tolerance(self, tolerance: dt.timedelta) -> AuditClock:
        """The same clock with a rule's own tolerance (BR-003's clock_skew_minutes)."""
        return AuditClock(self.now, self.observed_at, tolerance)

    def collected(self, ids: Iterable[str]) -> dt.datetime:
        """When the evidence of these ids was read (its latest finish; `now` when unknown)."""
        return max((self.observed_at[i] for i in ids if i in self.observed_at), default=self.now)

    def future(self, what: str, moments: Iterable[dt.datetime | None],
               ids: Iterable[str]) -> Future | None:
        """The latest of `moments` if it lies beyond the evidence's collection + tolerance."""
        known = [m for m in moments if m is not None]
        if not known:
            return None
        collected = self.collected(tuple(ids))
        latest = max(known)
        return Future(what, latest, collected) if latest - collected > self.tolerance else None

    def future_date(self, what: str, days: Iterable[dt.date | None],
                    ids: Iterable[str]) -> FutureDate | None:
        """The latest of `days` if it is after the day the evidence was read (anywhere on
        Earth)."""
        known = [d for d in days if d is not None]
        if not known:
            return None
        collected = self.collected(tuple(ids))
        latest = max(known)
        last_day = (collected.astimezone(dt.UTC) + DATE_TOLERANCE).date()
        return FutureDate(what, latest, collected) if latest > last_day else None

    def age(self, moment: dt.datetime) -> dt.timedelta:
        """How long before `now` the moment lies; 0 for a moment after `now` (check `future`
        first: this never says a time is in the future)."""
        return max(self.now - moment, ZERO)

    def age_days(self, day: dt.date) -> int:
        """Whole days from a date to the audit date (in the audit time's own zone); 0 for a
        later date."""
        return max((self.now.date() - day).days, 0)
