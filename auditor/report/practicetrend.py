"""The per-practice score trend: one small line chart per practice (small multiples, one SVG),
over the past full audits history holds and this audit, with the numbers as a table.

Fed by the history snapshot (report/since.py); drawn with the primitives of report/charts.py,
so every text is escaped there and the markup is safe to inline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.report.charts import (
    GRID,
    MUTED,
    NAVY,
    Chart,
    ChartTable,
    _line,
    _n,
    _svg,
    _t,
    _text,
)

COLUMNS = 3
PANEL_W, PANEL_H = 132.0, 62.0
PLOT_LEFT, PLOT_TOP, PLOT_W, PLOT_H = 16.0, 16.0, 86.0, 34.0


@dataclass(frozen=True)
class PracticeSeries:
    """One practice's scores, oldest first; None where it had no applicable finding."""

    practice: str
    title: str
    scores: tuple[float | None, ...]


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[:size - 1] + "…"


def _panel(series: PracticeSeries, x0: float, y0: float, points: int) -> list[str]:
    body = [f'<g class="practice-series" data-practice="{_t(series.practice)}">',
            _text(x0 + 2, y0 + 9, f"{series.practice} {_clip(series.title, 30)}", size=6.2,
                  weight="bold")]
    for pct in (0, 60, 90, 100):
        y = y0 + PLOT_TOP + PLOT_H * (1 - pct / 100)
        body.append(_line(x0 + PLOT_LEFT, y, x0 + PLOT_LEFT + PLOT_W, y,
                          MUTED if pct in (60, 90) else GRID, 0.4,
                          "2 1.5" if pct in (60, 90) else ""))
        if pct in (0, 100):
            body.append(_text(x0 + PLOT_LEFT - 2, y + 2, f"{pct}", size=5, anchor="end",
                              fill=MUTED))
    step = PLOT_W / max(points - 1, 1)
    coords = [(x0 + PLOT_LEFT + (step * i if points > 1 else PLOT_W / 2),
               y0 + PLOT_TOP + PLOT_H * (1 - max(0.0, min(v, 100.0)) / 100), v)
              for i, v in enumerate(series.scores) if v is not None]
    if len(coords) > 1:
        path = " ".join(f"{'M' if i == 0 else 'L'} {_n(x)} {_n(y)}"
                        for i, (x, y, _) in enumerate(coords))
        body.append(f'<path d="{path}" fill="none" stroke="{NAVY}" stroke-width="1.2"/>')
    body += [f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="1.7" fill="{NAVY}"/>'
             for x, y, _ in coords]
    now = series.scores[-1] if series.scores else None
    y = coords[-1][1] if now is not None else y0 + PLOT_TOP + PLOT_H / 2
    body.append(_text(x0 + PLOT_LEFT + PLOT_W + 3, y + 2, "n/a" if now is None else f"{now:.1f}%",
                      size=5.6, weight="bold"))  # this audit's score, beside its point
    body.append("</g>")
    return body


def _alt(series: Sequence[PracticeSeries], dates: Sequence[str]) -> str:
    moved = {"rose": 0, "fell": 0, "held": 0}
    for s in series:
        known = [v for v in s.scores if v is not None]
        if len(known) > 1:
            delta = round(known[-1] - known[-2], 1)
            moved["rose" if delta > 0 else "fell" if delta < 0 else "held"] += 1
    return (f"Score of each of {len(series)} practices over {len(dates)} audits, from "
            f"{dates[0]} to {dates[-1]}, on a 0 to 100 scale with lines at 60 and 90: since "
            f"the audit before, {moved['rose']} rose, {moved['fell']} fell and {moved['held']} "
            "held.")


def practice_trend(anchor: str, series: Sequence[PracticeSeries], dates: Sequence[str],
                   table: ChartTable) -> Chart:
    """Small multiples: a panel per practice, in rows of three; `dates` name the points
    (the last one: "this audit")."""
    title = "Score per practice over past audits"
    body: list[str] = []
    for i, s in enumerate(series):
        body += _panel(s, (i % COLUMNS) * PANEL_W, (i // COLUMNS) * PANEL_H, len(dates))
    rows = -(-len(series) // COLUMNS)
    body.append(_text(2, rows * PANEL_H + 8, f"points: {len(dates)} audits, {dates[0]} to "
                      f"{dates[-1]}; dashed lines at 60 and 90", size=6,
                      fill=MUTED))
    alt = _alt(series, dates)
    return Chart(anchor, title, alt, _svg(anchor, title, alt, PANEL_W * COLUMNS,
                                          rows * PANEL_H + 12, body), table)


def series_of(practices: Mapping[str, tuple[str, float | None]],
              past: Sequence[Mapping[str, float | None]]) -> list[PracticeSeries]:
    """Each practice of this audit (id -> (title, score now)) with its past scores."""
    order = sorted(practices, key=lambda p: (len(p), p))
    return [PracticeSeries(pid, practices[pid][0],
                           (*(p.get(pid) for p in past), practices[pid][1])) for pid in order]
