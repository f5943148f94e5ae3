"""`auditor history`: list, show, diff, open, report, export, dashboard and prune over the
audit history (docs/history.md). Every command takes --json; run ids may be abbreviated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from auditor.cli.common import JsonOpt, _guarded, out, print_json, print_table, say
from auditor.cli.helpstyle import PlainCommand
from auditor.cli.history_audit import HistoryOpt, open_history
from auditor.cli.history_files import dashboard_files, export_file, rerender
from auditor.history.diff import HistoryDiff, default_pair, diff_runs, previous_full
from auditor.history.model import CHANGED, Category
from auditor.history.prune import PrunePlan, Retention, apply_prune, dry_run
from auditor.history.queries import (
    AuditRow,
    OpenFinding,
    find_run,
    list_audits,
    only_estate,
    open_findings,
)
from auditor.history.store import HistoryStore
from auditor.report.text import percent

app = typer.Typer(help="The audit history: past audits, what changed, open findings.",
                  no_args_is_help=True, rich_markup_mode=None)
EstateOpt = Annotated[str | None, typer.Option(
    "--estate", metavar="ID", help="The estate (its id or name) when the history holds several.")]


class AuditList(BaseModel):
    """`history list --json`."""

    audits: list[AuditRow]


class OpenList(BaseModel):
    """`history open --json`."""

    estate: str
    findings: list[OpenFinding]


class Written(BaseModel):
    """The files a command wrote."""

    files: list[str]


def _store(history: str | None) -> HistoryStore:
    return open_history(history)


@app.command("list", cls=PlainCommand)
def list_cmd(history: HistoryOpt = None, estate: EstateOpt = None,
             limit: Annotated[int | None, typer.Option("--limit", min=1, metavar="N")] = None,
             as_json: JsonOpt = False) -> None:
    """Recorded audits, newest first."""
    def run() -> list[AuditRow]:
        store = _store(history)
        with store.reading() as conn:
            key = only_estate(conn, estate) if estate else None
            return list_audits(conn, key, limit, full=False)
    rows = _guarded(run)
    if as_json:
        print_json(AuditList(audits=rows))
        return
    table = Table("run", "estate", "audit time", "scope", "score", "coverage", "findings",
                  box=None, pad_edge=False)
    for r in rows:
        scope = ("full" if r.complete else "partial") + (", pruned" if r.pruned_at else "")
        table.add_row(r.short, r.estate, r.now.isoformat(), scope,
                      percent(r.score), percent(r.coverage), str(r.findings))
    print_table(table, out)


@app.command("show", cls=PlainCommand)
def show_cmd(run: Annotated[str, typer.Argument(metavar="RUN", help="Run id or a prefix.")],
             history: HistoryOpt = None, as_json: JsonOpt = False) -> None:
    """One recorded audit: times, versions, hashes, scope, scores."""
    def load() -> AuditRow:
        with _store(history).reading() as conn:
            return find_run(conn, run)
    row = _guarded(load)
    if as_json:
        print_json(row)
        return
    for name, value in row.model_dump(mode="json", exclude={"report", "practices",
                                                            "deliveries"}).items():
        out.print(f"{name}: {value}", markup=False)
    for d in row.deliveries or []:
        out.print(f"delivery {d.get('kind')} to {d.get('target')}: "
                  f"{'ok' if d.get('ok') else 'FAILED'}: {d.get('message')}", markup=False)
    for pid, p in row.practices.items():
        out.print(f"practice {pid}: {percent(p.get('score'))} (coverage "
                  f"{percent(p.get('coverage'))}) {p.get('title')}", markup=False)


@app.command("diff", cls=PlainCommand)
def diff_cmd(first: Annotated[str | None, typer.Argument(
                 metavar="A", help="The earlier run; given alone, the run compared with the "
                 "full audit before it.")] = None,
             second: Annotated[str | None, typer.Argument(
                 metavar="B", help="The later run (default: the last full audit).")] = None,
             history: HistoryOpt = None, estate: EstateOpt = None,
             as_json: JsonOpt = False) -> None:
    """What changed from audit A to audit B (default: the last two full audits)."""
    def run() -> HistoryDiff:
        with _store(history).reading() as conn:
            if first is None:
                a, b = default_pair(conn, only_estate(conn, estate))
            elif second is None:
                b = find_run(conn, first)
                a = previous_full(conn, b)
            else:
                a, b = find_run(conn, first), find_run(conn, second)
            return diff_runs(conn, a, b)
    found = _guarded(run)
    if as_json:
        print_json(found)
        return
    _print_diff(found)


def _print_diff(found: HistoryDiff) -> None:
    a, b = found.before, found.after
    o = found.overall
    out.print(f"{a.short} ({a.now.isoformat()}) -> {b.short} ({b.now.isoformat()})", markup=False)
    out.print(f"score {percent(o.score_before)} -> {percent(o.score_after)}"
              f" ({'n/a' if o.delta is None else f'{o.delta:+.1f}'}), coverage "
              f"{percent(o.coverage_before)} -> {percent(o.coverage_after)}", markup=False)
    for pid, p in found.practices.items():
        if p.score_before != p.score_after or p.coverage_before != p.coverage_after:
            out.print(f"  {pid}: {percent(p.score_before)} -> {percent(p.score_after)}",
                      markup=False)
    for cat in (*CHANGED, Category.STILL_OPEN):
        items = found.of(cat)
        out.print(f"{cat.value.replace('_', ' ')}: {len(items)}", markup=False)
        for c in items:
            age = f"  open {c.age_days:g} d since {c.open_since:%Y-%m-%d}" \
                if c.open_since is not None and c.age_days is not None else ""
            out.print(f"  {c.rule_id} {c.subject_id}: {c.before or 'absent'} -> "
                      f"{c.after or 'gone'}{age}", markup=False)


@app.command("open", cls=PlainCommand)
def open_cmd(history: HistoryOpt = None, estate: EstateOpt = None,
             as_json: JsonOpt = False) -> None:
    """Every open finding (fail, warn, error) with its age, oldest first."""
    def run() -> OpenList:
        with _store(history).reading() as conn:
            key = only_estate(conn, estate)
            return OpenList(estate=key, findings=open_findings(conn, key))
    found = _guarded(run)
    if as_json:
        print_json(found)
        return
    table = Table("age (d)", "open since", "rule", "subject", "status", "severity", "message",
                  box=None, pad_edge=False)
    for f in found.findings:
        table.add_row(f"{f.age_days:g}", f"{f.open_since:%Y-%m-%d}", f.rule_id, f.subject_id,
                      f.status, f.severity, f.message)
    print_table(table, out)


@app.command("report", cls=PlainCommand)
def report_cmd(run: Annotated[str, typer.Argument(metavar="RUN", help="Run id or a prefix.")],
               out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR")],
               history: HistoryOpt = None,
               formats: Annotated[str | None, typer.Option(
                   "--format", metavar="LIST", help="Default: the audit's own formats.")] = None,
               as_json: JsonOpt = False) -> None:
    """Render a stored audit's report again, with its original generation time."""
    paths = rerender(lambda: _store(history), run, out_dir, formats)
    _written(paths, as_json)


@app.command("export", cls=PlainCommand)
def export_cmd(out_path: Annotated[Path, typer.Option("--out", "-o", metavar="FILE")],
               history: HistoryOpt = None, estate: EstateOpt = None,
               fmt: Annotated[str, typer.Option("--format", metavar="FORMAT",
                                                help="jsonl or csv.")] = "jsonl",
               as_json: JsonOpt = False) -> None:
    """Every finding's status intervals (first seen, last seen, status) as JSON lines or CSV."""
    path = export_file(lambda: _store(history), estate, out_path, fmt)
    _written([path], as_json)


@app.command("dashboard", cls=PlainCommand)
def dashboard_cmd(out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR")],
                  history: HistoryOpt = None, estate: EstateOpt = None,
                  reports: Annotated[int, typer.Option(
                      "--reports", min=0, max=1000, metavar="N",
                      help="Render the last N audits' HTML reports beside it.")] = 5,
                  as_json: JsonOpt = False) -> None:
    """One self-contained HTML page: trends, open findings by age, time to resolve."""
    paths = dashboard_files(lambda: _store(history), estate, out_dir, reports)
    _written(paths, as_json)


@app.command("prune", cls=PlainCommand)
def prune_cmd(keep_days: Annotated[int, typer.Option(
                  "--keep-days", min=0, metavar="N", help="Keep audits run in the last N days.")]
              = 90,
              keep_last: Annotated[int, typer.Option(
                  "--keep-last", min=1, metavar="N", help="Keep each estate's last N audits.")]
              = 10,
              apply: Annotated[bool, typer.Option(
                  "--apply", help="Remove them (default: a dry run that only says what).")]
              = False,
              history: HistoryOpt = None, estate: EstateOpt = None,
              as_json: JsonOpt = False) -> None:
    """Remove old audits' evidence bundles and report files (rows, results and findings stay);
    never the newest audit, nor one where an open finding's open streak began."""
    policy = Retention(keep_days, keep_last, dt.datetime.now(dt.UTC))
    act = apply_prune if apply else dry_run
    plan = _guarded(lambda: act(_store(history), estate, policy))
    if as_json:
        print_json(plan)
        return
    _print_prune(plan)


def _print_prune(plan: PrunePlan) -> None:
    for p in plan.pruned:
        out.print(f"{'pruned' if plan.applied else 'would prune'} {p.run_id[:8]} {p.estate} "
                  f"{p.ran_at:%Y-%m-%d %H:%M}: {len(p.blobs)} blob(s), {_size(p.size)} "
                  f"({_size(p.stored)} stored)", markup=False)
    for k in plan.kept:
        out.print(f"keep {k.run_id[:8]} {k.estate}: {k.reason}", markup=False)
    verb = "removed" if plan.applied else "would remove (dry run; --apply removes)"
    say(f"{verb}: {len(plan.pruned)} audit(s)' files, {plan.blobs} blob(s), "
        f"{_size(plan.size)} ({_size(plan.stored)} stored)")


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MiB" if count >= 1_048_576 else f"{count / 1024:.1f} KiB"


def _written(paths: list[Path], as_json: bool) -> None:
    if as_json:
        print_json(Written(files=[str(p) for p in paths]))
        return
    for path in paths:
        say(f"wrote {path}")
