"""The audit commands: collect, evaluate, audit, report and demo."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from auditor.canonical import check_writable, write_atomic
from auditor.cli.common import (
    FailOnNewOpt,
    FailOnOpt,
    FailUnderOpt,
    InventoryOpt,
    NowOpt,
    ReplayOpt,
    WaiversOpt,
    _guarded,
    _step,
    collection_progress,
    err,
    exit_code,
    parse_now,
    print_summary,
    say,
)
from auditor.cli.history_audit import AuditHistory, HistoryOpt, NoHistoryOpt, open_history
from auditor.cli.problems import print_problems
from auditor.cli.unattended import DatedOpt, MailToOpt, MailWhenOpt, MetricsOpt, Unattended
from auditor.engine.selection import select
from auditor.errors import InputError
from auditor.evidence import EvidenceBundle, read_bundle, write_bundle
from auditor.facts import derive_facts
from auditor.gates import Gates
from auditor.history.model import HistorySnapshot
from auditor.inventory import LoadedInventory
from auditor.killhook import checkpoint
from auditor.manifest import check_against_manifest
from auditor.outfolder import OutputFolder, output_folder
from auditor.pipeline import Toolkit, collect_bundle, same_estate
from auditor.remediate.record import read_run
from auditor.report import (
    AppendixMode,
    OutputFormat,
    build_view,
    load_responses,
    write_report,
)
from auditor.results import Results, read_results, results_bytes, write_results
from auditor.unattended.digest import MailWhen
from auditor.unattended.metrics import AuditRun

RuleOpt = Annotated[list[str] | None, typer.Option(
    "--rule", metavar="ID", help="Evaluate only this rule (repeatable): a partial audit, "
                                 "scored over the selection only.")]
SeverityOpt = Annotated[list[str] | None, typer.Option(
    "--severity", metavar="LEVEL", help="Evaluate only rules of this severity (repeatable: "
                                        "critical, high, medium, low); with --rule, both "
                                        "must match.")]
T = TypeVar("T")


def collect_cmd(
    inventory: InventoryOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                                           help="Evidence bundle to write.")],
    replay: ReplayOpt = None,
) -> None:
    """Collect evidence for the inventory into one bundle (records are read fresh)."""
    def run() -> str:
        check_writable(out_path)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        started = dt.datetime.now(dt.UTC)
        with collection_progress() as progress:
            bundle = collect_bundle(toolkit, loaded, replay, started, progress)
        print_problems(bundle, loaded.inventory, err)
        return write_bundle(bundle, out_path)
    digest = _guarded(run)
    say(f"wrote {out_path} (sha256 {digest})")


def evaluate_cmd(
    bundle_path: Annotated[Path, typer.Argument(metavar="BUNDLE", help="Evidence bundle.")],
    inventory: InventoryOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", metavar="FILE",
                                           help="results.json to write.")],
    now: NowOpt = None,
    fail_under: FailUnderOpt = None,
    fail_on: FailOnOpt = None,
    fail_on_new: FailOnNewOpt = False,
    waivers: WaiversOpt = None,
    rules: RuleOpt = None,
    severities: SeverityOpt = None,
) -> None:
    """Evaluate every rule (or the ones selected) over a bundle and write results.json."""
    def run() -> Results:
        check_writable(out_path)
        toolkit = Toolkit()
        scope = select(toolkit.pack, rules or (), severities or ())
        loaded = toolkit.load_inventory(inventory)
        bundle, digest = read_bundle(bundle_path)
        found = toolkit.load_waivers(loaded, waivers)
        print_problems(bundle, loaded.inventory, err)
        return toolkit.evaluate(bundle, digest, loaded, found, parse_now(now), scope)
    results = _guarded(run)
    _guarded(lambda: write_results(results, out_path))
    say(f"wrote {out_path}")
    print_summary(results)
    raise typer.Exit(exit_code(results, Gates(fail_under, fail_on, fail_on_new)))


FormatsOpt = Annotated[str, typer.Option(
    "--format", metavar="LIST",
    help="Comma-separated: html, pdf, pdfa (PDF/A-3b with the evidence attached), json, csv, "
         "junit, md.")]
ResponsesOpt = Annotated[Path | None, typer.Option(
    "--responses", metavar="FILE", help="Management responses (YAML, keyed by subject id).")]
AppendixOpt = Annotated[str, typer.Option(
    "--appendix", metavar="MODE",
    help="Evidence appendix: full, summary or split (a separate file).")]
AppendixRowsOpt = Annotated[int, typer.Option("--appendix-rows", min=0, max=10_000,
                                              metavar="N", help="Rows shown per observation.")]


@dataclass(frozen=True)
class ReportOptions:
    """What the report commands share: management responses and the appendix layout."""

    responses: Path | None = None
    appendix: str = "full"
    appendix_rows: int = 10
    remediation: Path | None = None  # a remediation.json to show beside the findings


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


def _write_audit(toolkit: Toolkit, results: Results, loaded: LoadedInventory,
                 bundle: tuple[EvidenceBundle, bytes] | None, out_dir: Path,
                 formats: set[OutputFormat], generated_at: dt.datetime,
                 options: ReportOptions = ReportOptions(),
                 snapshot: HistorySnapshot | None = None) -> list[Path]:
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
                      evidence_bytes=bundle[1] if bundle else None,
                      history=[(p.at.date(), p.score) for p in snapshot.trend
                               if p.score is not None] if snapshot else (),
                      since=snapshot.since if snapshot else None,
                      trend=snapshot.trend if snapshot else (),
                      remediation=read_run(options.remediation) if options.remediation else None)
    with _step("rendering the report"):
        return write_report(view, results_bytes(results), out_dir, formats)


def report_settings(options: ReportOptions, formats: set[OutputFormat]) -> dict[str, object]:
    """How a report was rendered, as history keeps it to render it again."""
    return {"appendix": options.appendix, "appendix_rows": options.appendix_rows,
            "formats": sorted(f.value for f in formats | {OutputFormat.JSON})}


def _print_written(paths: list[Path]) -> None:
    for path in paths:
        say(f"wrote {path}")


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C


def _in_folder(out_dir: Path, command: str, body: Callable[[Path], T]) -> tuple[T, list[Path]]:
    """`body(staging folder)` with the output folder checked and locked before it starts, then
    swapped in whole (auditor/outfolder.py); the final files. Ctrl-C: one line, exit 130."""
    opened: list[OutputFolder] = []

    def run() -> tuple[T, list[Path]]:
        with output_folder(out_dir) as folder:
            opened.append(folder)
            value = body(folder.staging)
            return value, folder.commit(command)
    try:
        return _guarded(run)
    except KeyboardInterrupt:
        done = bool(opened) and opened[0].swapped
        state = "holds the new audit" if done else "was left as it was"
        err.print(f"interrupted: {out_dir} {state}", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _checked_results(path: Path) -> Results:
    """results.json, checked against the manifest of its folder when it has one."""
    results = read_results(path)
    check_against_manifest(path, hashlib.sha256(path.read_bytes()).hexdigest())
    return results


def _checked_bundle(path: Path) -> tuple[EvidenceBundle, bytes]:
    """The bundle and its bytes, checked against the manifest of its folder when it has one."""
    bundle = read_bundle(path)[0]
    data = path.read_bytes()
    check_against_manifest(path, hashlib.sha256(data).hexdigest())
    return bundle, data


def audit_cmd(
    inventory: InventoryOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                          help="Folder for the audit files.")],
    replay: ReplayOpt = None,
    now: NowOpt = None,
    formats: FormatsOpt = "html,pdf,json",
    fail_under: FailUnderOpt = None,
    fail_on: FailOnOpt = None,
    fail_on_new: FailOnNewOpt = False,
    waivers: WaiversOpt = None,
    responses: ResponsesOpt = None,
    appendix: AppendixOpt = "full",
    appendix_rows: AppendixRowsOpt = 10,
    rules: RuleOpt = None,
    severities: SeverityOpt = None,
    metrics: MetricsOpt = None,
    dated: DatedOpt = False,
    mail_to: MailToOpt = None,
    mail_when: MailWhenOpt = MailWhen.ALWAYS,
    history: HistoryOpt = None,
    no_history: NoHistoryOpt = False,
) -> None:
    """Collect, evaluate and report: evidence.json, results.json, report.html, report.pdf;
    then record the audit into the history (docs/history.md)."""
    run_options = Unattended(Gates(fail_under, fail_on, fail_on_new), metrics, dated,
                             tuple(mail_to or ()), mail_when)
    target = run_options.target(out_dir)
    previous: list[Results | None] = []
    recorded: list[AuditHistory] = []  # the history this audit went into (delivery outcomes)

    def run(folder: Path) -> AuditRun:
        wanted = parse_formats(formats)
        at = parse_now(now)
        toolkit = Toolkit()
        scope = select(toolkit.pack, rules or (), severities or ())
        loaded = toolkit.load_inventory(inventory)
        run_options.check(loaded.inventory, wanted)
        found = toolkit.load_waivers(loaded, waivers)
        past = None if no_history else AuditHistory(open_history(history, loaded))
        started = dt.datetime.now(dt.UTC)
        with collection_progress() as progress:
            bundle = collect_bundle(toolkit, loaded, replay, started, progress)
        print_problems(bundle, loaded.inventory, err)
        evidence_path = folder / "evidence.json"
        digest = write_bundle(bundle, evidence_path)
        checkpoint("evidence")
        # The report is rendered from results and evidence as their files hold them (keys
        # sorted), so it is the one `auditor report` and `auditor history report` render.
        results = Results.model_validate_json(
            results_bytes(toolkit.evaluate(bundle, digest, loaded, found, at, scope)))
        previous.append(past.previous_full(results) if past else run_options.previous(out_dir))
        options = ReportOptions(responses, appendix, appendix_rows)
        generated_at = dt.datetime.now(dt.UTC)
        _write_audit(toolkit, results, loaded, _checked_bundle(evidence_path),
                     folder, wanted | {OutputFormat.JSON}, generated_at, options,
                     past.take_snapshot(results) if past else None)
        if past is not None:
            past.record(results, toolkit.pack, loaded, evidence_path.read_bytes(), started,
                        generated_at, report_settings(options, wanted),
                        responses.read_bytes() if responses else None)
            checkpoint("history")
            recorded.append(past)
        facts = derive_facts(bundle, loaded.inventory, results.now)
        return AuditRun(results, facts, started, dt.datetime.now(dt.UTC))
    audit, paths = _in_folder(target, "audit", run)
    _print_written(paths)
    print_summary(audit.results)
    raise typer.Exit(run_options.finish(audit, out_dir, target, previous[0],
                                        recorded[0].remember_deliveries if recorded else None))


def report_cmd(
    results_path: Annotated[Path, typer.Argument(metavar="RESULTS", help="results.json.")],
    inventory: InventoryOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                          help="Folder for the report.")],
    bundle_path: Annotated[Path | None, typer.Option(
        "--bundle", metavar="BUNDLE", help="Evidence bundle, for the evidence appendix.")] = None,
    formats: FormatsOpt = "html,pdf",
    responses: ResponsesOpt = None,
    appendix: AppendixOpt = "full",
    appendix_rows: AppendixRowsOpt = 10,
    remediation: Annotated[Path | None, typer.Option(
        "--remediation", metavar="FILE", help="remediation.json of the last `remediate apply` "
        "run: shown beside the findings (docs/report.md).")] = None,
) -> None:
    """Render the report from an existing results.json (copied into the folder, with the
    bundle when given, so the folder holds one whole audit)."""
    def run(folder: Path) -> None:
        wanted = parse_formats(formats) | {OutputFormat.JSON}
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        results = _checked_results(results_path)
        same_estate(f"results {results_path}", results.estate_id, results.estate, loaded)
        bundle = _checked_bundle(bundle_path) if bundle_path else None
        if bundle is not None:
            same_estate(f"bundle {bundle_path}", bundle[0].estate_id, bundle[0].estate, loaded)
            write_atomic(folder / "evidence.json", bundle[1])
        _write_audit(toolkit, results, loaded, bundle, folder, wanted,
                     dt.datetime.now(dt.UTC),
                     ReportOptions(responses, appendix, appendix_rows, remediation))
    _print_written(_in_folder(out_dir, "report", run)[1])


def demo_dir(estate: str) -> Path:
    """A demo estate shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "data" / "fixtures" / "demo" / estate


def demo_cmd(
    estate: Annotated[str, typer.Option("--estate", metavar="NAME",
                                        help="healthy, drifted or neglected.")]
    = "drifted",
    out_dir: Annotated[Path, typer.Option("--out", "-o", metavar="DIR",
                                          help="Folder for the audit files.")]
    = Path("auditor-demo"),
) -> None:
    """Audit a bundled demo estate from its recorded evidence; exit 0 once the report is out."""
    def run(folder: Path) -> Results:
        if estate not in DEMO_ESTATES:
            raise InputError("--estate", f"unknown demo estate {estate!r} (choose from "
                             f"{', '.join(DEMO_ESTATES)})")
        source = demo_dir(estate)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(source / "inventory.yaml")
        bundle, digest = read_bundle(source / "evidence.json")
        print_problems(bundle, loaded.inventory, err)
        write_atomic(folder / "evidence.json", (source / "evidence.json").read_bytes())
        checkpoint("evidence")
        results = toolkit.evaluate(bundle, digest, loaded, toolkit.load_waivers(loaded, None))
        _write_audit(toolkit, results, loaded,
                     (bundle, (source / "evidence.json").read_bytes()), folder,
                     {OutputFormat.HTML, OutputFormat.PDF, OutputFormat.JSON},
                     dt.datetime.now(dt.UTC))  # the render time; the evidence keeps its own
        return results
    results, paths = _in_folder(out_dir, "demo", run)
    _print_written(paths)
    print_summary(results)
    say(f"demo report of the {estate} estate: {out_dir.resolve() / 'report.pdf'}")
