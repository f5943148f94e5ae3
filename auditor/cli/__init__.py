"""The command line: the only module that prints. Exit codes: 0 ok, 1 findings, 2 bad input."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from auditor import __version__
from auditor.canonical import write_atomic
from auditor.cli import lab_lync, lab_sql
from auditor.cli.preflight import preflight
from auditor.errors import AuditorError, InputError
from auditor.evidence import EvidenceBundle, read_bundle, write_bundle
from auditor.findings import Status
from auditor.inventory import Inventory, LoadedInventory
from auditor.pipeline import Toolkit, collect_bundle
from auditor.records import load_records, records_json_schema
from auditor.report import (
    AppendixMode,
    OutputFormat,
    build_view,
    load_responses,
    write_report,
)
from auditor.results import Results, read_results, results_bytes, write_results
from auditor.ruledoc import rules_markdown

app = typer.Typer(help="Audit the backup and DR posture of Lync Server 2013 deployments.",
                  pretty_exceptions_show_locals=False, no_args_is_help=True,
                  add_completion=False)
rules_app = typer.Typer(help="The rule pack.", no_args_is_help=True)
inventory_app = typer.Typer(help="Inventory files.", no_args_is_help=True)
records_app = typer.Typer(help="The admins' records (YAML or CSV).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(inventory_app, name="inventory")
app.add_typer(records_app, name="records")
app.command("preflight")(preflight)
lab_app = typer.Typer(help="Local stand-ins for SQL Server and Lync, for demos and tests.",
                      no_args_is_help=True)
lab_app.add_typer(lab_sql.app, name="sql")
lab_app.add_typer(lab_lync.app, name="lync")
app.add_typer(lab_app, name="lab")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")


class ExitCode(IntEnum):
    """rules.md "Exit codes"."""

    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2


class _State:
    debug = False


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    _State.debug = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logger = logging.getLogger("auditor")
    logger.setLevel(level)
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stderr))


@contextmanager
def _input_errors() -> Iterator[None]:
    """One error boundary: bad input prints `file:line: field: message` and exits 2."""
    try:
        yield
    except AuditorError as exc:
        if _State.debug:
            raise
        message = exc.render() if isinstance(exc, InputError) else str(exc)
        err.print(f"error: {message}", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT) from None


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
    return parsed


def exit_code(results: Results, fail_under: float | None) -> ExitCode:
    """1 when anything failed or could not be assessed, or the score is below --fail-under."""
    counts = results.overall.counts
    if counts[Status.FAIL.value] or counts[Status.ERROR.value]:
        return ExitCode.FINDINGS
    if fail_under is not None and (results.overall.score or 0.0) < fail_under:
        return ExitCode.FINDINGS
    return ExitCode.OK


def print_summary(results: Results) -> None:
    """Score, coverage and counts, one line each."""
    s = results.overall
    score = "n/a" if s.score is None else f"{s.score:.1f}"
    raw = "n/a" if s.score_without_waivers is None else f"{s.score_without_waivers:.1f}"
    out.print(f"score {score} (without waivers {raw}), coverage {s.coverage or 0:.1f}%")
    out.print(", ".join(f"{k} {v}" for k, v in s.counts.items() if v))


InventoryOpt = Annotated[Path, typer.Option("--inventory", "-i", help="Inventory YAML file.")]
NowOpt = Annotated[str | None, typer.Option(
    "--now", help="Evaluate at this ISO 8601 time (default: the bundle's collection time).")]
FailUnderOpt = Annotated[float | None, typer.Option("--fail-under", min=0, max=100,
                                                    help="Exit 1 below this score.")]
WaiversOpt = Annotated[Path | None, typer.Option("--waivers", help="Waivers file "
                                                 "(default: the one the inventory names).")]
ReplayOpt = Annotated[Path | None, typer.Option(
    "--replay", help="Take the evidence not collected live from a recorded bundle.")]


@app.command("collect")
def collect_cmd(
    inventory: InventoryOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Evidence bundle to write.")],
    replay: ReplayOpt = None,
) -> None:
    """Collect evidence for the inventory into one bundle (records are read fresh)."""
    def run() -> str:
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        started = dt.datetime.now(dt.UTC)
        if replay is not None:
            started = read_bundle(replay)[0].collected_at
        bundle = collect_bundle(toolkit, loaded, replay, started)
        return write_bundle(bundle, out_path)
    digest = _guarded(run)
    out.print(f"wrote {out_path} (sha256 {digest})")


@app.command("evaluate")
def evaluate_cmd(
    bundle_path: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Evidence bundle.")],
    inventory: InventoryOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="results.json to write.")],
    now: NowOpt = None,
    fail_under: FailUnderOpt = None,
    waivers: WaiversOpt = None,
) -> None:
    """Evaluate every rule over a bundle and write results.json."""
    def run() -> Results:
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        bundle, digest = read_bundle(bundle_path)
        found = toolkit.load_waivers(loaded, waivers)
        return toolkit.evaluate(bundle, digest, loaded, found, parse_now(now))
    results = _guarded(run)
    _guarded(lambda: write_results(results, out_path))
    print_summary(results)
    out.print(f"wrote {out_path}")
    raise typer.Exit(exit_code(results, fail_under))


FormatsOpt = Annotated[str, typer.Option(
    "--format", help="Comma-separated: html, pdf, pdfa (PDF/A-3b with the evidence attached), "
                     "json, csv, junit, md.")]
ResponsesOpt = Annotated[Path | None, typer.Option(
    "--responses", help="Management responses (YAML, keyed by subject id).")]
AppendixOpt = Annotated[str, typer.Option(
    "--appendix", help="Evidence appendix: full, summary or split (a separate file).")]
AppendixRowsOpt = Annotated[int, typer.Option("--appendix-rows", min=0, max=10_000,
                                              help="Rows shown per observation.")]


@dataclass(frozen=True)
class ReportOptions:
    """What the report commands share: management responses and the appendix layout."""

    responses: Path | None = None
    appendix: str = "full"
    appendix_rows: int = 10
DEMO_ESTATES = ("healthy", "drifted", "neglected")


def parse_formats(value: str) -> set[OutputFormat]:
    """`html,pdf` -> {HTML, PDF}; an unknown name is bad input."""
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    known = {f.value for f in OutputFormat}
    for name in names:
        if name not in known:
            raise InputError("--format", f"unknown format {name!r} (choose from "
                             f"{', '.join(sorted(known))})")
    return {OutputFormat(name) for name in names}


@contextmanager
def _step(message: str) -> Iterator[None]:
    """A spinner on a terminal; nothing when stdout is a pipe or a file."""
    if out.is_terminal:
        with out.status(message):
            yield
    else:
        yield


def _progress(label: str, done: int, total: int) -> None:
    if out.is_terminal:
        out.log(f"{label}: {done}/{total}")


def _write_audit(toolkit: Toolkit, results: Results, loaded: LoadedInventory,
                 bundle: tuple[EvidenceBundle, bytes] | None, out_dir: Path,
                 formats: set[OutputFormat], generated_at: dt.datetime,
                 options: ReportOptions = ReportOptions()) -> list[Path]:
    try:
        appendix = AppendixMode(options.appendix)
    except ValueError:
        raise InputError("--appendix", f"unknown appendix mode {options.appendix!r} (choose "
                         f"from {', '.join(m.value for m in AppendixMode)})") from None
    responses = (load_responses(options.responses, {r.id for r in toolkit.pack.rules})
                 if options.responses else ())
    view = build_view(results, toolkit.pack, loaded.inventory, bundle[0] if bundle else None,
                      generated_at, responses=responses, appendix_mode=appendix,
                      appendix_rows=options.appendix_rows,
                      evidence_bytes=bundle[1] if bundle else None)
    with _step("rendering the report"):
        return write_report(view, results_bytes(results), out_dir, formats)


def _print_written(paths: list[Path]) -> None:
    for path in paths:
        out.print(f"wrote {path}", markup=False)


@app.command("audit")
def audit_cmd(
    inventory: InventoryOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the audit files.")],
    replay: ReplayOpt = None,
    now: NowOpt = None,
    formats: FormatsOpt = "html,pdf,json",
    fail_under: FailUnderOpt = None,
    waivers: WaiversOpt = None,
    responses: ResponsesOpt = None,
    appendix: AppendixOpt = "full",
    appendix_rows: AppendixRowsOpt = 10,
) -> None:
    """Collect, evaluate and report: evidence.json, results.json, report.html, report.pdf."""
    def run() -> tuple[Results, list[Path]]:
        wanted = parse_formats(formats)
        at = parse_now(now)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        found = toolkit.load_waivers(loaded, waivers)
        started = read_bundle(replay)[0].collected_at if replay else dt.datetime.now(dt.UTC)
        with _step("collecting evidence"):
            bundle = collect_bundle(toolkit, loaded, replay, started, _progress)
        evidence_path = out_dir / "evidence.json"
        digest = write_bundle(bundle, evidence_path)
        results = toolkit.evaluate(bundle, digest, loaded, found, at)
        paths = _write_audit(toolkit, results, loaded, (bundle, evidence_path.read_bytes()),
                             out_dir, wanted | {OutputFormat.JSON}, dt.datetime.now(dt.UTC),
                             ReportOptions(responses, appendix, appendix_rows))
        return results, [evidence_path, *paths]
    results, paths = _guarded(run)
    _print_written(paths)
    print_summary(results)
    raise typer.Exit(exit_code(results, fail_under))


@app.command("report")
def report_cmd(
    results_path: Annotated[Path, typer.Argument(metavar="RESULTS", help="results.json.")],
    inventory: InventoryOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report.")],
    bundle_path: Annotated[Path | None, typer.Option("--bundle", help="Evidence bundle, for "
                                                     "the evidence appendix.")] = None,
    formats: FormatsOpt = "html,pdf",
    responses: ResponsesOpt = None,
    appendix: AppendixOpt = "full",
    appendix_rows: AppendixRowsOpt = 10,
) -> None:
    """Render the report from an existing results.json."""
    def run() -> list[Path]:
        wanted = parse_formats(formats)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        results = read_results(results_path)
        bundle = (read_bundle(bundle_path)[0], bundle_path.read_bytes()) if bundle_path else None
        return _write_audit(toolkit, results, loaded, bundle, out_dir, wanted,
                            dt.datetime.now(dt.UTC),
                            ReportOptions(responses, appendix, appendix_rows))
    _print_written(_guarded(run))


def demo_dir(estate: str) -> Path:
    """A demo estate shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "data" / "fixtures" / "demo" / estate


@app.command("demo")
def demo_cmd(
    estate: Annotated[str, typer.Option("--estate", help="healthy, drifted or neglected.")]
    = "drifted",
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the audit files.")]
    = Path("auditor-demo"),
) -> None:
    """Audit a bundled demo estate from its recorded evidence; exit 0 once the report is out."""
    def run() -> tuple[Results, list[Path]]:
        if estate not in DEMO_ESTATES:
            raise InputError("--estate", f"unknown demo estate {estate!r} (choose from "
                             f"{', '.join(DEMO_ESTATES)})")
        source = demo_dir(estate)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(source / "inventory.yaml")
        bundle, digest = read_bundle(source / "evidence.json")
        write_atomic(out_dir / "evidence.json", (source / "evidence.json").read_bytes())
        results = toolkit.evaluate(bundle, digest, loaded, toolkit.load_waivers(loaded, None))
        paths = _write_audit(toolkit, results, loaded,
                             (bundle, (source / "evidence.json").read_bytes()), out_dir,
                             {OutputFormat.HTML, OutputFormat.PDF, OutputFormat.JSON},
                             results.now)
        return results, [out_dir / "evidence.json", *paths]
    results, paths = _guarded(run)
    _print_written(paths)
    print_summary(results)
    out.print(f"demo report of the {estate} estate: {out_dir.resolve() / 'report.pdf'}",
              markup=False)


@rules_app.command("list")
def rules_list() -> None:
    """Every rule: id, practice, severity, title."""
    pack = _guarded(Toolkit).pack
    table = Table("id", "practice", "severity", "check", "title", box=None)
    for rule in pack.rules:
        table.add_row(rule.id, rule.practice, rule.severity.value, rule.check, rule.title)
    out.print(table)
    practices = {r.practice for r in pack.rules}
    out.print(f"{len(pack.rules)} rules covering {len(practices)} of {len(pack.practices)} "
              f"practices (rule pack {pack.version})")


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """A rule's documentation: why it matters, how it is checked, how to fix it."""
    pack = _guarded(Toolkit).pack
    rule = pack.rule(rule_id)
    if rule is None:
        err.print(f"error: unknown rule id {rule_id!r}; see `auditor rules list`", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT)
    practice = pack.practice(rule.practice)
    out.print(f"{rule.id}  {rule.title}", markup=False)
    out.print(f"practice {practice.id}: {practice.title}; severity {rule.severity.value}; "
              f"check {rule.check} {json.dumps(rule.params, sort_keys=True)}", markup=False)
    for heading, text in (("Why it matters", rule.rationale), ("How it is checked",
                          rule.how_checked), ("Remediation", rule.remediation)):
        out.print(f"\n{heading}\n  {text}", markup=False)
    if rule.controls:
        out.print(f"\nControls\n  {'; '.join(rule.controls)}", markup=False)
    if rule.references:
        out.print("\nReferences")
    for ref in rule.references:
        out.print(f"  - {ref.title}{f' <{ref.url}>' if ref.url else ''}", markup=False)


@rules_app.command("doc")
def rules_doc() -> None:
    """docs/rules.md as Markdown, generated from the rule pack."""
    typer.echo(rules_markdown(_guarded(Toolkit).pack), nl=False)


@inventory_app.command("validate")
def inventory_validate(path: Annotated[Path, typer.Argument(metavar="FILE")],
                       waivers_path: WaiversOpt = None) -> None:
    """Check an inventory (and the waivers file it names, or --waivers)."""
    def run() -> str:
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(path)
        waivers = toolkit.load_waivers(loaded, waivers_path)
        inv = loaded.inventory
        return (f"{path}: ok ({len(inv.sql_instances)} SQL instances, {len(inv.pools)} pools, "
                f"{len(inv.servers)} servers, {len(waivers)} waivers)")
    out.print(_guarded(run), markup=False)


@inventory_app.command("schema")
def inventory_schema() -> None:
    """The JSON Schema of the inventory format."""
    out.print_json(data=Inventory.model_json_schema())


@records_app.command("validate")
def records_validate(path: Annotated[Path, typer.Argument(metavar="PATH")]) -> None:
    """Check a records file or folder."""
    records = _guarded(lambda: load_records(path))
    summary = ", ".join(f"{kind} {len(rows)}" for kind, rows in sorted(records.items()))
    out.print(f"{path}: ok ({summary or 'no records'})", markup=False)


@records_app.command("schema")
def records_schema() -> None:
    """The JSON Schema of the records format."""
    out.print_json(data=records_json_schema())


@app.command("version")
def version_cmd() -> None:
    """The tool version."""
    out.print(f"auditor {__version__}")


def main() -> Any:
    """Console-script entry point."""
    return app()
