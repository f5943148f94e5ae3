"""The evidence appendix: every observation with its provenance and (some of) its rows."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from auditor.canonical import JsonValue
from auditor.evidence import Observation, ObservationStatus, Source
from auditor.facts.sql import server_offset
from auditor.report.model import Badge
from auditor.report.text import time_text, when

DEFAULT_MAX_ROWS = 10
MAX_TABLE_COLUMNS = 6
CLOCK_PROBE = "server_time"


class AppendixMode(StrEnum):
    """How much of the evidence the report prints (`--appendix`)."""

    FULL = "full"  # every observation with its first rows
    SUMMARY = "summary"  # every observation, no rows (large estates)
    SPLIT = "split"  # the rows go to a separate file, evidence-appendix.html/.pdf


@dataclass(frozen=True)
class EvidenceDetail:
    """One observation in the appendix. `columns` empty: rows are shown as `key=value` lines."""

    anchor: str
    id: str
    source: str
    probe: str
    target: str
    status: Badge
    started: str
    finished: str
    sha256: str
    error: str
    parameters: str
    rows: int
    columns: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    note: str


@dataclass(frozen=True)
class EvidenceAppendix:
    """The appendix as the report prints it."""

    mode: str
    max_rows: int
    details: tuple[EvidenceDetail, ...]  # empty in summary mode
    intro: str


def cell(value: JsonValue, offset: dt.timedelta | None = None) -> str:
    """A value of an evidence row as text, whole; NULL for a database null; a time as ISO 8601
    with its zone (a server-local time with the server's, `offset`, when known)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return time_text(value, offset) or value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def server_offsets(observations: Sequence[Observation]) -> dict[str, dt.timedelta]:
    """Each SQL target's UTC offset, from its server_time observation (as the facts derive it),
    so the local times of its rows are shown with their zone."""
    offsets = {}
    for obs in observations:
        if obs.source is not Source.SQL or obs.probe != CLOCK_PROBE or len(obs.data) != 1:
            continue
        row = obs.data[0]
        local, utc = row.get("local_now"), row.get("utc_now")
        try:
            offsets[obs.target] = server_offset(dt.datetime.fromisoformat(str(local)),
                                                dt.datetime.fromisoformat(str(utc)))
        except ValueError:
            continue
    return offsets


def _columns(rows: Sequence[dict[str, JsonValue]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def detail(obs: Observation, anchor: str, max_rows: int,
           offsets: Mapping[str, dt.timedelta] | None = None) -> EvidenceDetail:
    """An observation with its first `max_rows` rows and a note saying what was left out."""
    offset = (offsets or {}).get(obs.target)
    ok = obs.status is ObservationStatus.OK
    shown = obs.data[:max_rows]
    columns = _columns(shown)
    if len(columns) <= MAX_TABLE_COLUMNS:
        cells = tuple(tuple(cell(row.get(c), offset) for c in columns) for row in shown)
        heads = tuple(columns)
    else:
        cells = tuple(("; ".join(f"{k}={cell(row[k], offset)}" for k in sorted(row)),)
                      for row in shown)
        heads = ()
    total = len(obs.data)
    note = ""
    if total > len(shown):
        note = (f"Showing the first {len(shown)} of {total} rows; every row is in the evidence "
                "bundle (evidence.json), whose SHA-256 is on the cover.")
    elif not total and ok:
        note = "The probe returned no rows."
    params = "; ".join(f"{k}={cell(v)}" for k, v in sorted(obs.parameters.items()))
    return EvidenceDetail(
        anchor=anchor, id=obs.id, source=obs.source.value, probe=obs.probe, target=obs.target,
        status=Badge(obs.status.value.upper(), "pass" if ok else "error"),
        started=when(obs.started_at), finished=when(obs.finished_at), sha256=obs.sha256,
        error=obs.error or "", parameters=params, rows=total, columns=heads, cells=cells,
        note=note)


def appendix(observations: Sequence[tuple[Observation, str]], mode: AppendixMode,
             max_rows: int) -> EvidenceAppendix:
    """The appendix for the chosen mode."""
    if mode is AppendixMode.SUMMARY:
        intro = ("The rows of each observation are left out of this report (--appendix "
                 "summary); they are in the evidence bundle, evidence.json.")
        return EvidenceAppendix(mode.value, max_rows, (), intro)
    offsets = server_offsets([obs for obs, _ in observations])
    details = tuple(detail(obs, name, max_rows, offsets) for obs, name in observations)
    if mode is AppendixMode.SPLIT:
        intro = ("The rows of each observation are in a separate file, evidence-appendix "
                 "(.html or .pdf), written beside this report.")
    else:
        intro = (f"Each observation with its first {max_rows} rows as collected. The "
                 "observation's SHA-256 covers all of its rows in canonical JSON.")
    return EvidenceAppendix(mode.value, max_rows, details, intro)
