"""Move a recorded estate to the present, so a live lab audit judges meaningful data.

A live audit is judged at its own collection time (docs/time.md). A demo estate recorded on
23 Nov and served by the lab on 2 Dec would otherwise look nine days stale. When the lab loads
an estate it shifts every recorded time by one delta (whole minutes, so SQL Server's
.000/.003/.007 s and every minute-granular value keep their form): msdb times, SQL Agent's int
dates, PowerShell `/Date(ms)/` and ISO times, the observations' own stamps; the lab inventory's
backup window moves by the same time of day, and the records' dates by the calendar days, so
every age, every in-window start and every day count is as recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from auditor.canonical import JsonValue, sha256_of_json
from auditor.evidence import EvidenceBundle, Observation, SourceEvidence

_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")
_AWARE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_AGENT_NEVER = (0, 99991231)  # SQL Agent's "no date" and "no end date"


def delta_to(recorded: dt.datetime, present: dt.datetime) -> dt.timedelta:
    """The shift that puts the recording at `present`, in whole minutes (never negative)."""
    minutes = max(int((present - recorded).total_seconds() // 60), 0)
    return dt.timedelta(minutes=minutes)


def days_of(delta: dt.timedelta, recorded: dt.datetime) -> int:
    """The calendar days a date moves: the recording day's distance to the shifted day."""
    return ((recorded + delta).date() - recorded.date()).days


def shift_value(value: JsonValue, delta: dt.timedelta, days: int) -> JsonValue:
    """One evidence value moved by `delta` (a date by `days`); anything else unchanged."""
    if isinstance(value, dict):
        return shift_row(value, delta, days)
    if isinstance(value, list):
        return [shift_value(v, delta, days) for v in value]
    if not isinstance(value, str):
        return value
    match = _MS_DATE.match(value)
    if match:
        millis = int(match.group(1)) + int(delta.total_seconds() * 1000)
        return f"/Date({millis}{match.group(2) or ''})/"
    if _NAIVE.match(value) or _AWARE.match(value):
        # delta is whole minutes: the seconds, the fraction (as written) and the zone stay.
        moved = dt.datetime.fromisoformat(value[:19]) + delta
        return moved.strftime("%Y-%m-%dT%H:%M") + value[16:19] + value[19:]
    if _DATE.match(value):
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


def shift_row(row: Mapping[str, JsonValue], delta: dt.timedelta, days: int) -> dict[str, JsonValue]:
    """A row with its times moved; SQL Agent's `x_date`/`x_time` int pairs moved together."""
    out = {k: shift_value(v, delta, days) for k, v in row.items()}
    for key, value in row.items():
        if not key.endswith("_date") or isinstance(value, bool) or not isinstance(value, int):
            continue
        if value in _AGENT_NEVER:
            continue
        time_key = key[:-5] + "_time"
        clock = row.get(time_key, 0)
        seconds = clock if isinstance(clock, int) and not isinstance(clock, bool) else 0
        when = dt.datetime(value // 10000, value // 100 % 100, value % 100,  # noqa: DTZ001
                           seconds // 10000, seconds // 100 % 100, seconds % 100) + delta
        out[key] = when.year * 10000 + when.month * 100 + when.day
        if time_key in row:
            out[time_key] = when.hour * 10000 + when.minute * 100 + when.second
    return out


def shift_observation(obs: Observation, delta: dt.timedelta, days: int) -> Observation:
    """The observation as if made `delta` later (its hash recomputed over the moved rows)."""
    rows = [shift_row(row, delta, days) for row in obs.data]
    return obs.model_copy(update={"data": rows, "sha256": sha256_of_json(list(rows)),
                                  "started_at": obs.started_at + delta,
                                  "finished_at": obs.finished_at + delta})


def shift_bundle(bundle: EvidenceBundle, delta: dt.timedelta) -> EvidenceBundle:
    """The whole recording moved by `delta`."""
    days = days_of(delta, bundle.collected_at)
    sources = [_shift_source(s, delta) for s in bundle.sources]
    return bundle.model_copy(update={
        "collected_at": bundle.collected_at + delta, "sources": sources,
        "observations": [shift_observation(o, delta, days) for o in bundle.observations]})


def _shift_source(entry: SourceEvidence, delta: dt.timedelta) -> SourceEvidence:
    return entry.model_copy(update={
        "first_started": entry.first_started + delta, "last_finished": entry.last_finished + delta,
        "recorded_at": entry.recorded_at + delta if entry.recorded_at else None})


def shift_windows(value: Any, delta: dt.timedelta) -> Any:
    """Every `backup_window: {start, end}` of an inventory moved by the time of day of
    `delta`, so a backup that started inside the window still does."""
    if isinstance(value, list):
        return [shift_windows(v, delta) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: shift_windows(v, delta) for k, v in value.items()}
    window = value.get("backup_window")
    if isinstance(window, dict):
        out["backup_window"] = {**window, **{k: _clock_plus(str(window[k]), delta)
                                             for k in ("start", "end") if k in window}}
    return out


def _clock_plus(text: str, delta: dt.timedelta) -> str:
    hours, _, minutes = text.partition(":")
    total = (int(hours) * 60 + int(minutes or 0) + int(delta.total_seconds() // 60)) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def shift_records(records: Mapping[str, list[dict[str, JsonValue]]], days: int
                  ) -> dict[str, list[JsonValue]]:
    """Record rows ({kind: [rows]}) with every date moved by `days`."""
    return {kind: [shift_value(row, dt.timedelta(0), days) for row in rows]
            for kind, rows in records.items()}


def shift_dates(value: Any, days: int) -> Any:
    """A YAML document (a waivers file) with every date, parsed or ISO text, moved by `days`."""
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value + dt.timedelta(days=days)
    if isinstance(value, str) and _DATE.match(value):
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


def trim_agent_history(bundle: EvidenceBundle, history_days: int) -> EvidenceBundle:
    """A moved recording without the job-history rows the live probe would no longer return.

    agent_job_history keeps rows by calendar day (`run_date >= since_yyyymmdd`, from the
    server's local clock): moving rows and clock by a delta with a time of day can carry a row
    at the window's first day across midnight while the cut day stays, so the lab would hold a
    row that its own probe leaves out. Datetime-filtered probes move with their cut exactly."""
    cuts = {o.target: _cut_day(o, history_days) for o in bundle.observations
            if o.probe == "server_time" and o.data}
    observations = [_trimmed(o, cuts.get(o.target)) if o.probe == "agent_job_history" else o
                    for o in bundle.observations]
    return bundle.model_copy(update={"observations": observations})


def _cut_day(clock: Observation, history_days: int) -> int | None:
    local_now = clock.data[0].get("local_now") if isinstance(clock.data[0], dict) else None
    if not isinstance(local_now, str):
        return None
    since = dt.datetime.fromisoformat(local_now) - dt.timedelta(days=history_days)
    return int(since.strftime("%Y%m%d"))


def _trimmed(obs: Observation, cut: int | None) -> Observation:
    if cut is None:
        return obs
    rows = [row for row in obs.data
            if not isinstance(row, dict) or not isinstance(row.get("run_date"), int)
            or int(row["run_date"]) >= cut]  # type: ignore[arg-type]
    return obs.model_copy(update={"data": rows})
