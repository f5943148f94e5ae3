"""Charts as inline SVG, drawn in Python: no JavaScript, no fonts or images from anywhere.

Every chart carries a text alternative (its <title> and <desc>, and the sentence under it) and a
table with the same numbers, so nothing is said by colour or shape alone. Every piece of text that
reaches the SVG is escaped here; numbers are formatted here, so the markup is safe to inline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from auditor.report.text import duration

FONT = "DejaVu Sans, Segoe UI, Arial, sans-serif"
INK = "#1a1a1a"
MUTED = "#555"
GRID = "#d5d9e0"
NAVY = "#12294d"
STATUS_FILL = {"pass": "#1e7b34", "fail": "#b3261e", "warn": "#c99a06", "waived": "#3f6aa1",
               "error": "#5b2a86", "na": "#9a9a9a"}
# Grade bands of the gauge, low to high: (from, to, colour, letter).
BANDS = ((0, 60, "#b3261e", "F"), (60, 70, "#d9651b", "D"), (70, 80, "#c99a06", "C"),
         (80, 90, "#6a9f3a", "B"), (90, 100, "#1e7b34", "A"))
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ChartTable:
    """The numbers behind a chart, as a table (the fallback for anyone who cannot see it)."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """An inline SVG with its text alternative and its table."""

    anchor: str
    title: str
    alt: str
    svg: Markup
    table: ChartTable | None  # None: the numbers are in a table of the report, named in `note`
    wide: bool = False
    note: str = ""


@dataclass(frozen=True)
class ChartsView:
    """The report's charts; those without data are None and the template leaves them out."""

    gauge: Chart
    practices: Chart
    ages: Chart | None
    heatmap: Chart | None
    trend: Chart | None


def _t(text: object) -> str:
    return str(escape(str(text)))


def _n(value: float) -> str:
    """A coordinate: two decimals at most, no exponent."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(anchor: str, title: str, alt: str, width: float, height: float, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
            f'aria-labelledby="{anchor}-t {anchor}-d" font-family="{FONT}">'
            f'<title id="{anchor}-t">{_t(title)}</title><desc id="{anchor}-d">{_t(alt)}</desc>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text escaped by _t


def _text(x: float, y: float, text: object, *, size: float = 9, anchor: str = "start",
          fill: str = INK, weight: str = "normal") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
            f'fill="{fill}" font-weight="{weight}">{_t(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return (f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" '
            f'fill="{fill}"{extra}/>')


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 0.6,
          dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{extra}/>')


def _point(cx: float, cy: float, r: float, pct: float) -> tuple[float, float]:
    """The point of the upper half circle at pct percent (0 left, 100 right)."""
    angle = math.pi * (1 - pct / 100)
    return cx + r * math.cos(angle), cy - r * math.sin(angle)


def _arc(cx: float, cy: float, r: float, start: float, end: float) -> str:
    """A path along the upper half circle from start to end percent."""
    (x1, y1), (x2, y2) = _point(cx, cy, r, start), _point(cx, cy, r, end)
    return f"M {_n(x1)} {_n(y1)} A {_n(r)} {_n(r)} 0 0 1 {_n(x2)} {_n(y2)}"


def gauge(anchor: str, score: float | None, grade: str, rows: Sequence[tuple[str, str]]) -> Chart:
    """A half-circle gauge with the grade bands, and the score and grade in its middle."""
    title = "Overall score"
    shown = "n/a" if score is None else f"{score:.1f}%"
    alt = (f"Overall score {shown}, grade {grade}, on a scale of 0 to 100 where A is 90 or more, "
           "B 80, C 70, D 60, and F below 60.")
    cx, cy, r = 110.0, 104.0, 86.0
    body = []
    for low, high, colour, letter in BANDS:
        body.append(f'<path d="{_arc(cx, cy, r, low, high)}" fill="none" stroke="{colour}" '
                    f'stroke-width="16" stroke-opacity="0.28"/>')
        x, y = _point(cx, cy, r + 15, (low + high) / 2)
        body.append(_text(x, y + 3, letter, size=8, anchor="middle", fill=MUTED))
    if score is not None and score > 0:
        body.append(f'<path d="{_arc(cx, cy, r, 0, min(score, 100))}" fill="none" '
                    f'stroke="{NAVY}" stroke-width="16"/>')
    body.append(_text(cx, cy - 18, shown, size=26, anchor="middle", fill=NAVY, weight="bold"))
    body.append(_text(cx, cy + 2, f"Grade {grade}", size=12, anchor="middle", weight="bold"))
    body.append(_text(cx - r, cy + 14, "0", size=7, anchor="middle", fill=MUTED))
    body.append(_text(cx + r, cy + 14, "100", size=7, anchor="middle", fill=MUTED))
    table = ChartTable("Overall score", ("Measure", "Value"), tuple(rows), (False, True))
    return Chart(anchor, title, alt, _svg(anchor, title, alt, 220, 122, body), table)


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart: a label, a value (None: nothing to show) and a status colour."""

    label: str
    value: float | None
    css: str
    text: str


def practice_bars(anchor: str, bars: Sequence[Bar], table: ChartTable | None,
                  note: str = "") -> Chart:
    """One horizontal bar per practice, 0-100, with grade lines at 60 and 90."""
    title = "Score per practice"
    scored = [b for b in bars if b.value is not None]
    if scored:
        low = min(scored, key=lambda b: b.value or 0.0)
        high = max(scored, key=lambda b: b.value or 0.0)
        alt = (f"Score of each of {len(bars)} practices on a 0 to 100 scale: lowest "
               f"{low.label} at {low.text}, highest {high.label} at {high.text}; "
               f"{len(bars) - len(scored)} practices have no applicable finding.")
    else:
        alt = "No practice has an applicable finding, so no practice has a score."
    left, width, row = 46.0, 330.0, 14.0
    height = 18 + row * len(bars) + 14
    body = [_rect(left, 12, width, row * len(bars), "#f4f6fa")]
    for pct in (0, 25, 50, 75, 100):
        x = left + width * pct / 100
        body.append(_line(x, 10, x, 12 + row * len(bars), GRID))
        body.append(_text(x, height - 4, f"{pct}", size=7, anchor="middle", fill=MUTED))
    for pct in (60, 90):
        x = left + width * pct / 100
        body.append(_line(x, 8, x, 14 + row * len(bars), MUTED, 0.8, "3 2"))
        body.append(_text(x, 7, f"{pct}", size=6.5, anchor="middle", fill=MUTED))
    for i, bar in enumerate(bars):
        y = 12 + row * i
        body.append(_text(left - 4, y + row * 0.68, bar.label, size=8, anchor="end"))
        if bar.value is None:
            body.append(_text(left + 3, y + row * 0.68, "no applicable finding", size=7,
                              fill=MUTED))
            continue
        w = width * max(0.0, min(bar.value, 100.0)) / 100
        body.append(_rect(left, y + 2.5, w, row - 5, STATUS_FILL.get(bar.css, NAVY)))
        inside = w > 40
        body.append(_text(left + w - 3 if inside else left + w + 3, y + row * 0.68, bar.text,
                          size=7, anchor="end" if inside else "start",
                          fill="#fff" if inside else INK, weight="bold"))
    return Chart(anchor, title, alt, _svg(anchor, title, alt, left + width + 12, height, body),
                 table, note=note)


@dataclass(frozen=True)
class AgeBar:
    """A database's backup age against its own limit (age None: never backed up)."""

    label: str
    age_hours: float | None
    limit_hours: float
    css: str


def backup_ages(anchor: str, bars: Sequence[AgeBar], table: ChartTable, total: int,
                rule: str) -> Chart:
    """Age of the newest full backup per database, each with a tick at its own limit."""
    title = "Age of the last full backup per database"
    over = sum(1 for b in bars if b.age_hours is None or b.age_hours > b.limit_hours)
    shown = f"the {len(bars)} oldest of {total} databases, relative to their limit" \
        if total > len(bars) else f"all {total} databases"
    alt = (f"Hours since the last full backup finished for {shown} ({rule}); {over} are over "
           "their limit or were never backed up. Each bar has a tick at its database's limit.")
    limits = [b.limit_hours for b in bars] or [24.0]
    step = nice_step(max(max(limits) * 2.0, 1.0) / 4)
    scale_max = step * 4
    left, width, row = 150.0, 230.0, 12.0
    height = 14 + row * max(len(bars), 1) + 16
    body = [_rect(left, 12, width, row * max(len(bars), 1), "#f4f6fa")]
    for k in range(5):
        x = left + width * k / 4
        body.append(_line(x, 12, x, 12 + row * len(bars), GRID))
        body.append(_text(x, height - 5, tick_label(step * k, step), size=6.5, anchor="middle",
                          fill=MUTED))
    for i, bar in enumerate(bars):
        y = 12 + row * i
        body.append(_text(left - 4, y + row * 0.7, _clip(bar.label, 34), size=6.8,
                          anchor="end"))
        if bar.age_hours is None:
            body.append(_text(left + 3, y + row * 0.7, "never backed up", size=6.5,
                              fill=STATUS_FILL["fail"], weight="bold"))
        else:
            clipped = bar.age_hours > scale_max
            w = width * min(max(bar.age_hours, 0.0), scale_max) / scale_max
            body.append(_rect(left, y + 2, w, row - 4, STATUS_FILL.get(bar.css, NAVY)))
            label = duration(bar.age_hours) + (" →" if clipped else "")
            body.append(_text(min(left + w + 3, left + width - 1), y + row * 0.7, label,
                              size=6.3, anchor="end" if clipped else "start",
                              fill="#fff" if clipped else INK))
        tick = left + width * min(bar.limit_hours, scale_max) / scale_max
        body.append(_line(tick, y + 0.5, tick, y + row - 0.5, INK, 1.4))
    body.append(_text(left, 8, "bar: hours since the last full backup · tick: the limit",
                      size=6.5, fill=MUTED))
    return Chart(anchor, title, alt, _svg(anchor, title, alt, left + width + 12, height, body),
                 table, wide=True)


# Round steps for an axis in hours: hours, then days, weeks, months (30 d) and years.
_STEPS = (1, 2, 3, 4, 6, 12, 24, 48, 72, 96, 120, 168, 336, 720, 1440, 2160, 8760)


def nice_step(raw: float) -> float:
    """The smallest round step (in hours) at least `raw`: 13 h -> 24 h, 100 h -> 120 h."""
    found = next((s for s in _STEPS if s >= raw), None)
    if found is not None:
        return float(found)
    return 8760.0 * math.ceil(raw / 8760.0)


def tick_label(hours: float, step: float) -> str:
    """'12 h', '3 d', '2 y': a tick of the age axis, in one unit along the axis (the step's)."""
    if step < 24:
        return f"{hours:g} h"
    if step < 8760:
        return f"{hours / 24:g} d"
    return f"{hours / 8760:g} y"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else "…" + text[-(size - 1):]


def heatmap(anchor: str, counts: Sequence[Sequence[int]], window: tuple[float, float] | None,
            alt: str, table: ChartTable) -> Chart:
    """7 x 24 cells of backup starts (server local time), with the policy window outlined.

    `window` is (first hour, hours long) and may wrap midnight; None when no window is set.
    """
    title = "Full and differential backup starts by weekday and hour (server local time)"
    left, top, cell_w, cell_h = 30.0, 16.0, 14.0, 12.0
    peak = max((c for day in counts for c in day), default=0)
    body = []
    for hour in range(0, 24, 3):
        body.append(_text(left + cell_w * hour + cell_w / 2, top - 4, f"{hour:02d}", size=6.5,
                          anchor="middle", fill=MUTED))
    for d, day in enumerate(counts):
        y = top + cell_h * d
        body.append(_text(left - 4, y + cell_h * 0.72, DAYS[d], size=7, anchor="end"))
        for hour, count in enumerate(day):
            shade = 0.0 if not peak else 0.15 + 0.85 * count / peak
            fill = NAVY if count else "#f1f3f7"
            opacity = f' fill-opacity="{_n(shade)}"' if count else ""
            body.append(_rect(left + cell_w * hour + 0.5, y + 0.5, cell_w - 1, cell_h - 1, fill,
                              opacity))
            if count:
                colour = "#fff" if shade > 0.55 else INK
                body.append(_text(left + cell_w * hour + cell_w / 2, y + cell_h * 0.72, count,
                                  size=6, anchor="middle", fill=colour))
    bottom = top + cell_h * 7
    if window is not None:
        first, length = window
        spans = [(first, min(length, 24 - first))]
        if first + length > 24:
            spans.append((0, first + length - 24))
        for start, span in spans:
            body.append(f'<rect x="{_n(left + cell_w * start)}" y="{_n(top - 1)}" '
                        f'width="{_n(cell_w * span)}" height="{_n(cell_h * 7 + 2)}" fill="none" '
                        f'stroke="#c2410c" stroke-width="1.6" stroke-dasharray="4 2"/>')
        body.append(_rect(left, bottom + 6, 12, 7, "none",
                          ' stroke="#c2410c" stroke-width="1.4" stroke-dasharray="3 1.5"'))
        body.append(_text(left + 16, bottom + 12.5, "policy backup window", size=6.8))
    else:
        body.append(_text(left, bottom + 12.5, "no backup window in the policy", size=6.8,
                          fill=MUTED))
    body.append(_rect(left + 150, bottom + 6, 12, 7, NAVY, ' fill-opacity="0.6"'))
    body.append(_text(left + 166, bottom + 12.5, f"number of starts (darkest: {peak})",
                      size=6.8))
    width, height = left + cell_w * 24 + 6, bottom + 18
    return Chart(anchor, title, alt, _svg(anchor, title, alt, width, height, body), table,
                 wide=True)


def trend(anchor: str, points: Sequence[tuple[str, float]], table: ChartTable) -> Chart:
    """The score over past audits and this one, on a 0-100 axis."""
    title = "Score over past audits"
    first, last = points[0], points[-1]
    alt = (f"Score over {len(points)} audits from {first[0]} to {last[0]}: from "
           f"{first[1]:.1f}% to {last[1]:.1f}%, lowest {min(p[1] for p in points):.1f}%, "
           f"highest {max(p[1] for p in points):.1f}%.")
    left, top, width, height = 30.0, 10.0, 340.0, 100.0
    body = []
    for pct in (0, 50, 60, 90, 100):
        y = top + height * (1 - pct / 100)
        dash = "3 2" if pct in (60, 90) else ""
        body.append(_line(left, y, left + width, y, GRID if not dash else MUTED, 0.6, dash))
        body.append(_text(left - 4, y + 2.5, f"{pct}", size=6.5, anchor="end", fill=MUTED))
    step = width / max(len(points) - 1, 1)
    coords = [(left + step * i if len(points) > 1 else left + width / 2,
               top + height * (1 - max(0.0, min(p[1], 100.0)) / 100))
              for i, p in enumerate(points)]
    path = " ".join(f"{'M' if i == 0 else 'L'} {_n(x)} {_n(y)}" for i, (x, y) in enumerate(coords))
    body.append(f'<path d="{path}" fill="none" stroke="{NAVY}" stroke-width="1.6"/>')
    label_every = max(1, len(points) // 8)
    for i, ((x, y), (date, value)) in enumerate(zip(coords, points, strict=True)):
        body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.4" fill="{NAVY}"/>')
        if i % label_every == 0 or i == len(points) - 1:
            body.append(_text(x, top + height + 10, date, size=6.3, anchor="middle",
                              fill=MUTED))
            body.append(_text(x, y - 4, f"{value:.1f}", size=6.3, anchor="middle"))
    return Chart(anchor, title, alt, _svg(anchor, title, alt, left + width + 20,
                                          top + height + 16, body), table)
