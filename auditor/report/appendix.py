"""The evidence appendix: every observation with its provenance and (some of) its rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from auditor.canonical import JsonValue
from auditor.evidence import Observation, ObservationStatus
from auditor.report.model import Badge
from auditor.report.text import when

DEFAULT_MAX_ROWS = 10
MAX_TABLE_COLUMNS = 6
MAX_CELL_CHARS = 160


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


def cell(value: JsonValue) -> str:
    """A value of an evidence row as short text; NULL for a database null."""
    if value is None:
        text = "NULL"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_CELL_CHARS:
        return f"{text[:MAX_CELL_CHARS]}… ({len(text) - MAX_CELL_CHARS} more characters)"
    return text


def _columns(rows: Sequence[dict[str, JsonValue]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def detail(obs: Observation, anchor: str, max_rows: int) -> EvidenceDetail:
    """An observation with its first `max_rows` rows and a note saying what was left out."""
    ok = obs.status is ObservationStatus.OK
    shown = obs.data[:max_rows]
    columns = _columns(shown)
    if len(columns) <= MAX_TABLE_COLUMNS:
        cells = tuple(tuple(cell(row.get(c)) for c in columns) for row in shown)
        heads = tuple(columns)
    else:
        cells = tuple(("; ".join(f"{k}={cell(v)}" for k, v in row.items()),) for row in shown)
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
    details = tuple(detail(obs, name, max_rows) for obs, name in observations)
    if mode is AppendixMode.SPLIT:
        intro = ("The rows of each observation are in a separate file, evidence-appendix "
                 "(.html or .pdf), written beside this report.")
    else:
        intro = (f"Each observation with its first {max_rows} rows as collected. The "
                 "observation's SHA-256 covers all of its rows in canonical JSON.")
    return EvidenceAppendix(mode.value, max_rows, details, intro)
