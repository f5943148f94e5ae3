"""The numbers behind the charts, from the results, the rule pack, the inventory and the facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from auditor.checks import check_kinds
from auditor.checks.schedule import in_window
from auditor.checks.subjects import DbClass, lync_databases
from auditor.engine.policy import params_resolver, policy_overrides
from auditor.engine.registry import Scope
from auditor.engine.rules import Rule, RulePack
from auditor.errors import InputError
from auditor.facts import Facts, Known
from auditor.findings import Finding, Status, SubjectType
from auditor.inventory import Inventory
from auditor.report import charts
from auditor.report.charts import AgeBar, Bar, Chart, ChartsView, ChartTable
from auditor.report.text import duration, grade, percent, readable
from auditor.results import Results

MAX_AGE_BARS = 40
AGE_KIND = "full_backup_within"
WINDOW_KIND = "backups_start_in_window"
_STATUS_CSS = {Status.PASS: "pass", Status.FAIL: "fail", Status.WARN: "warn",
               Status.WAIVED: "waived"}


def build_charts(results: Results, pack: RulePack, inventory: Inventory, facts: Facts | None,
                 history: Sequence[tuple[dt.date, float]], letter: str | None = None) -> ChartsView:
    """Every chart of the report; `letter` is the grade shown (capped by the opinion)."""
    overall = results.overall
    letter = letter or grade(overall.score)
    gauge = charts.gauge("chart-gauge", overall.score, letter, (
        ("Score with waivers", percent(overall.score)),
        ("Score without waivers", percent(overall.score_without_waivers)),
        ("Coverage", percent(overall.coverage)), ("Grade", letter)))
    return ChartsView(gauge=gauge, practices=_practice_bars(results),
                      ages=_ages(results, pack, inventory),
                      heatmap=_heatmap(pack, inventory, facts) if facts is not None else None,
                      trend=_trend(results, history) if history else None)


_BAR_CSS = {**_STATUS_CSS, Status.ERROR: "error", Status.NOT_APPLICABLE: "na"}


def _practice_bars(results: Results) -> Chart:
    """The bars; their numbers are the table "By practice" printed right under the chart."""
    # the colour says the practice's status, not its score: a practice with a failure is never
    # drawn green however high it scores
    bars = [Bar(p.id, p.score.score, _BAR_CSS[p.status], percent(p.score.score))
            for p in sorted(results.by_practice, key=lambda p: int(p.id.lstrip("P") or 0))]
    return charts.practice_bars("chart-practices", bars, None,
                                "The numbers are in the table By practice below.")


def _resolver(rule: Rule, inventory: Inventory) -> Any:
    kind = check_kinds().get(rule.check)
    if kind is None:
        return None
    try:
        return params_resolver(rule, kind.params_model, inventory, "inventory")
    except InputError:
        return None


def _scope(finding: Finding) -> Scope:
    subject = finding.subject
    database = subject.id.removeprefix("database:") if subject.type is SubjectType.DATABASE \
        else None
    return Scope(site=subject.site, pool=subject.pool, instance=subject.instance,
                 database=database)


def _limit(resolve: Any, finding: Finding, rule: Rule) -> float | None:
    try:
        value = getattr(resolve(_scope(finding)), "max_age_hours", None) if resolve else None
    except InputError:
        value = None
    if value is None:
        value = rule.params.get("max_age_hours")
    return float(value) if isinstance(value, int | float) else None


def _age(finding: Finding) -> tuple[bool, float | None]:
    """(usable, age in hours); never backed up is usable with no age."""
    observed = finding.observed
    if not isinstance(observed, dict) or "last_full_finished" not in observed:
        return False, None
    age = observed.get("age_hours")
    if observed.get("last_full_finished") is None:
        return True, None
    return isinstance(age, int | float), float(age) if isinstance(age, int | float) else None


def _ages(results: Results, pack: RulePack, inventory: Inventory) -> Chart | None:
    rules = [r for r in pack.rules if r.check == AGE_KIND]
    if not rules:
        return None
    rule = rules[0]
    resolve = _resolver(rule, inventory)
    items: list[tuple[float, AgeBar, tuple[str, ...]]] = []
    for f in results.findings:
        if f.rule_id != rule.id or f.status not in _STATUS_CSS:
            continue
        usable, age = _age(f)
        limit = _limit(resolve, f, rule)
        if not usable or limit is None:
            continue
        label = f"{f.subject.instance}/{f.subject.name}" if f.subject.instance else f.subject.name
        ratio = float("inf") if age is None else age / limit
        finished = readable(f.observed.get("last_full_finished")) or "never"
        items.append((ratio, AgeBar(label, age, limit, _STATUS_CSS[f.status]),
                      (label, str(finished), "never" if age is None else duration(age),
                       duration(limit), f.status.value.upper())))
    if not items:
        return None
    items.sort(key=lambda t: (-t[0], t[1].label))
    shown = items[:MAX_AGE_BARS]
    note = (f"The {len(shown)} databases oldest relative to their limit, of {len(items)}; "
            "every database is in the findings of " + rule.id + ".") \
        if len(items) > len(shown) else ""
    table = ChartTable(f"Age of the last full backup ({rule.id})",
                       ("Database", "Last full finished", "Age", "Limit", "Status"),
                       tuple(t[2] for t in shown), (False, False, True, True, False), note)
    return charts.backup_ages("chart-ages", [t[1] for t in shown], table, len(items), rule.id)


def _hours(text: str) -> float:
    hour, minute = text.split(":")
    return int(hour) + int(minute) / 60


def _lookback(pack: RulePack, inventory: Inventory) -> int:
    rule = next((r for r in pack.rules if r.check == WINDOW_KIND), None)
    resolve = _resolver(rule, inventory) if rule else None
    try:
        days = getattr(resolve(Scope()), "lookback_days", 7) if resolve else 7
    except InputError:
        days = 7
    return int(days) if isinstance(days, int) else 7


def _heatmap(pack: RulePack, inventory: Inventory, facts: Facts) -> Chart | None:
    days = _lookback(pack, inventory)
    span = dt.timedelta(days=days)
    counts = [[0] * 24 for _ in range(7)]
    window = inventory.policy.backup_window
    start = dt.time.fromisoformat(window.start) if window else None
    end = dt.time.fromisoformat(window.end) if window else None
    total = outside = 0
    wanted: dict[int, set[str]] = {}
    for db in lync_databases(facts):
        if db.kind is DbClass.REQUIRED:
            wanted.setdefault(id(db.facts), set()).add(db.name.lower())
    for inst in facts.instances:
        names = wanted.get(id(inst))
        if not names or not isinstance(inst.backups, Known):
            continue
        for b in inst.backups.value:
            if b.type not in ("D", "I") or b.database_name.lower() not in names:
                continue
            if not dt.timedelta(0) <= facts.now - b.started_at < span:
                continue
            counts[b.start_local.weekday()][b.start_local.hour] += 1
            total += 1
            if start is not None and end is not None \
                    and not in_window(b.start_local.time(), start, end):
                outside += 1
    if not total:
        return None
    overlay = None
    label = "no policy window"
    if window is not None:
        first, last = _hours(window.start), _hours(window.end)
        overlay = (first, (last - first) % 24 or 24.0)
        label = f"{outside} started outside the policy window {window.start}-{window.end}"
    day, hour = max(((d, h) for d in range(7) for h in range(24)),
                    key=lambda k: (counts[k[0]][k[1]], -k[0], -k[1]))
    others = any(o.backup_window for o in policy_overrides(inventory))
    alt = (f"{total} full and differential backup starts of the Lync stores in the last "
           f"{days} days, by weekday and hour of the server's local clock; {label}. Busiest: "
           f"{charts.DAYS[day]} {hour:02d}:00 ({counts[day][hour]} starts)."
           + (" Some sites, pools or instances have their own window (not drawn)." if others
              else ""))
    rows = tuple((charts.DAYS[d], *(str(c) if c else "·" for c in counts[d]), str(sum(counts[d])))
                 for d in range(7))
    table = ChartTable("Backup starts by weekday (rows) and hour, server local time",
                       ("Day", *(f"{h:02d}" for h in range(24)), "Total"), rows,
                       (False, *([True] * 25)))
    return charts.heatmap("chart-heatmap", counts, overlay, alt, table)


def _trend(results: Results, history: Sequence[tuple[dt.date, float]]) -> Chart:
    points = [(d.isoformat(), float(s)) for d, s in sorted(history)]
    rows = [(d, f"{s:.1f}%") for d, s in points]
    if results.overall.score is not None:
        points.append((results.now.date().isoformat(), results.overall.score))
        rows.append((f"{points[-1][0]} (this audit)", f"{results.overall.score:.1f}%"))
    table = ChartTable("Score over past audits", ("Audit date", "Score"), tuple(rows),
                       (False, True))
    return charts.trend("chart-trend", points, table)
