"""`auditor remediate plan` and `auditor remediate apply` (docs/remediation.md)."""

from __future__ import annotations

import datetime as dt
import gc
import getpass
import hashlib
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from auditor.cli.common import ExitCode, InventoryOpt, _guarded, err, out
from auditor.cli.history_audit import remember_remediation
from auditor.errors import InputError
from auditor.evidence import EvidenceBundle, read_bundle
from auditor.facts import Known, derive_facts
from auditor.findings import Severity
from auditor.inventory import LoadedInventory
from auditor.killhook import checkpoint
from auditor.pipeline import Toolkit
from auditor.remediate.apply import DEFAULT_WORKERS, Applier, ApplyOptions
from auditor.remediate.catalogue import default_catalogue
from auditor.remediate.journal import Journal
from auditor.remediate.model import Plan, plan_sha256, read_plan, write_plan
from auditor.remediate.plan import Planner, Selection
from auditor.remediate.record import ActionOutcome, FindingVerdict, RunRecord, write_run
from auditor.remediate.verify import verify
from auditor.results import read_results

app = typer.Typer(help="Plan, review and apply remediation of failing findings.",
                  no_args_is_help=True)

BundleOpt = Annotated[Path, typer.Option("--bundle", "-b", help="The audit's evidence bundle.")]


@app.command("plan")
def plan_cmd(
    results_path: Annotated[Path, typer.Argument(metavar="RESULTS", help="results.json.")],
    bundle_path: BundleOpt,
    inventory: InventoryOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="plan.json to write.")],
    rule: Annotated[list[str] | None, typer.Option("--rule", help="Only these rules.")] = None,
    subject: Annotated[list[str] | None, typer.Option(
        "--subject", help="Only these subjects (glob, e.g. 'database:SQLBNE01*').")] = None,
    severity: Annotated[list[str] | None, typer.Option(
        "--severity", help="Only these severities.")] = None,
    method: Annotated[str, typer.Option(
        "--method", help="auto (an Agent job that covers the database first) or adhoc.")]
    = "auto",
) -> None:
    """Write plan.json from an audit's results: the actions, the checklist, what to assess."""
    def run() -> Plan:
        if method not in ("auto", "adhoc"):
            raise InputError("--method", f"unknown method {method!r} (auto or adhoc)")
        toolkit = Toolkit()
        _check_selection(toolkit, rule or [], severity or [])
        loaded = toolkit.load_inventory(inventory)
        results = read_results(results_path)
        bundle, digest = read_bundle(bundle_path)
        if digest != results.bundle_sha256:
            raise InputError(bundle_path, f"is not the bundle {results_path} was evaluated from")
        # The inputs live until the command ends: frozen, they are not walked again by each full
        # collection the planner's allocations trigger (0.2 s a pass at 500 instances).
        gc.freeze()
        planner = Planner(results, bundle, loaded, default_catalogue(), adhoc=method == "adhoc")
        selection = Selection(tuple(rule or ()), tuple(subject or ()), tuple(severity or ()))
        plan = planner.plan(selection, hashlib.sha256(results_path.read_bytes()).hexdigest())
        write_plan(plan, out_path)
        return plan
    plan = _guarded(run)
    print_plan(plan)
    out.print(f"wrote {out_path} (sha256 {plan_sha256(plan)})", markup=False)


def _check_selection(toolkit: Toolkit, rules: list[str], severities: list[str]) -> None:
    known = {r.id for r in toolkit.pack.rules}
    for rule_id in rules:
        if rule_id.upper() not in known:
            raise InputError("--rule", f"unknown rule {rule_id!r}")
    for name in severities:
        if name not in {s.value for s in Severity}:
            raise InputError("--severity", f"unknown severity {name!r} (choose from "
                             f"{', '.join(s.value for s in Severity)})")


def print_plan(plan: Plan) -> None:
    """The actions as a table, then the checklist counts."""
    table = Table(title=f"remediation plan: {plan.estate}", show_lines=False)
    for column in ("id", "action", "instance", "database", "fixes", "est.", "method"):
        table.add_column(column)
    for a in plan.actions:
        table.add_row(a.id, a.action, a.instance, a.database,
                      ", ".join(f.rule_id for f in a.fixes) or "-",
                      f"{a.estimated_seconds}s", a.job_name or a.method)
    out.print(table)
    out.print(f"{len(plan.actions)} action(s); {len(plan.manual)} manual item(s); "
              f"{len(plan.assess_first)} to assess first; {len(plan.waived)} waived (skipped)",
              markup=False)


@app.command("apply")
def apply_cmd(
    plan_path: Annotated[Path, typer.Argument(metavar="PLAN", help="plan.json.")],
    bundle_path: BundleOpt,
    inventory: InventoryOpt,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for journal.jsonl and "
                                          "remediation.json.")] = Path("remediation"),
    do_apply: Annotated[bool, typer.Option("--apply", help="Run it (default: dry run).")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    outside_window: Annotated[bool, typer.Option(
        "--outside-window", help="Allow full backups outside the backup window.")] = False,
    timeout: Annotated[int | None, typer.Option(
        "--timeout", min=1, help="Deadline per action in seconds (default: from the plan).")]
    = None,
    max_age: Annotated[float, typer.Option(
        "--max-results-age", min=0.01, help="Refuse results older than this (hours), on "
        "each server's clock.")] = 24.0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Instances at once.")] = DEFAULT_WORKERS,
    keep: Annotated[bool, typer.Option("--keep", help="Restore tests keep the restored copy "
                                       "(default: dropped after DBCC CHECKDB).")] = False,
    allow_diff_base_reset: Annotated[bool, typer.Option(
        "--allow-diff-base-reset", help="Allow an ad hoc full of a database that has "
        "differential backups since its last full (it restarts their chain).")] = False,
) -> None:
    """Dry run of a plan, or (--apply) run it, verify by re-audit and write remediation.json."""
    def load() -> tuple[Plan, Toolkit, LoadedInventory, EvidenceBundle]:
        plan = read_plan(plan_path)
        toolkit = Toolkit()
        loaded = toolkit.load_inventory(inventory)
        if loaded.sha256 != plan.inventory_sha256:
            raise InputError(inventory, "changed since the plan was made: plan again")
        bundle, digest = read_bundle(bundle_path)
        if digest != plan.bundle_sha256:
            raise InputError(bundle_path, "is not the bundle the plan was made from")
        return plan, toolkit, loaded, bundle
    plan, toolkit, loaded, bundle = _guarded(load)
    if not do_apply:
        _dry_run(plan)
        return
    approver = _approval(plan, yes)
    options = ApplyOptions(outside_window=outside_window, timeout_seconds=timeout,
                           max_results_age=dt.timedelta(hours=max_age), workers=workers,
                           keep=keep, allow_diff_base_reset=allow_diff_base_reset)
    raise typer.Exit(_apply(plan, toolkit, loaded, bundle, options, out_dir, approver))


def _dry_run(plan: Plan) -> None:
    out.print(f"dry run: nothing is sent to any server (add --apply to run); plan "
              f"{plan_sha256(plan)[:16]}", markup=False)
    for a in plan.actions:
        where = f"{a.instance} / {a.database}" if a.database else a.instance
        out.print(f"\n{a.id} {a.action} on {where} "
                  f"({'full: backup window' if a.full_backup else 'any time'}; "
                  f"deadline {a.deadline_seconds}s)", markup=False)
        if a.resets_differential_base:
            out.print("  resets the differential base: needs --allow-diff-base-reset",
                      markup=False)
        for stmt in a.statements:
            out.print(f"  {stmt.text}", markup=False)
            for key, value in stmt.parameters.items():
                out.print(f"    {key} = {value}", markup=False)


def _approval(plan: Plan, yes: bool) -> str:
    user = getpass.getuser()
    if yes:
        return f"{user} (--yes)"
    if not sys.stdin.isatty():
        err.print("error: --apply needs a terminal to confirm, or --yes", markup=False)
        raise typer.Exit(ExitCode.BAD_INPUT)
    if not typer.confirm(f"run {len(plan.actions)} action(s) of plan "
                         f"{plan_sha256(plan)[:16]}?"):
        raise typer.Exit(ExitCode.BAD_INPUT)
    return f"{user} (terminal)"


def _apply(plan: Plan, toolkit: Toolkit, loaded: LoadedInventory, bundle: EvidenceBundle,
           options: ApplyOptions, out_dir: Path, approver: str) -> int:
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%d_%H%M%S_") + secrets.token_hex(3)
    journal = Journal(out_dir / "journal.jsonl")
    started = dt.datetime.now(dt.UTC)
    journal.write("run", run_id=run_id, plan=plan_sha256(plan), approved_by=approver,
                  at=started)
    facts = derive_facts(bundle, loaded.inventory, plan.results_now)
    room = {share: space.value.free_bytes if isinstance(space, Known) else None
            for share, space in facts.lync.share_space.items()}
    applier = Applier(plan, loaded.inventory,
                      {i.instance.server_name.lower(): i for i in facts.instances}, options,
                      journal, run_id, room=room, loaded=loaded)
    runs = applier.run()
    verification, after = verify(toolkit, loaded, plan, bundle, runs)
    record = RunRecord(
        tool_version=plan.tool_version, estate=plan.estate, run_id=run_id,
        plan_sha256=plan_sha256(plan), approved_by=approver, started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        options={"outside_window": str(options.outside_window),
                 "timeout_seconds": str(options.timeout_seconds or ""),
                 "max_results_age": str(options.max_results_age),
                 "workers": str(options.workers), "keep": str(options.keep),
                 "allow_diff_base_reset": str(options.allow_diff_base_reset)},
        actions=runs, verification=verification)
    checkpoint("remediate-record")  # every action ended and verified, nothing recorded yet
    write_run(record, out_dir / "remediation.json")
    journal.write("done", run_id=run_id, at=record.finished_at)
    remember_remediation(loaded, record, (out_dir / "remediation.json").read_bytes(),
                         reaudit=(toolkit, after))
    _print_run(record)
    out.print(f"wrote {out_dir / 'remediation.json'}", markup=False)
    ok = all(r.outcome is ActionOutcome.SUCCEEDED for r in runs) and all(
        c.verdict is FindingVerdict.FIXED for c in verification.findings)
    return int(ExitCode.OK if ok else ExitCode.FINDINGS)


def _print_run(record: RunRecord) -> None:
    table = Table(title=f"remediation run {record.run_id}")
    for column in ("id", "action", "instance", "database", "outcome", "reason"):
        table.add_column(column)
    for r in record.actions:
        table.add_row(r.id, r.action, r.instance, r.database, r.outcome.value, r.reason)
    out.print(table)
    if record.verification is None:
        return
    checks = Table(title="verification (re-audit of the touched instances)")
    for column in ("rule", "subject", "before", "after", "verdict"):
        checks.add_column(column)
    for c in record.verification.findings:
        checks.add_row(c.rule_id, c.subject, c.before, c.after or "-", c.verdict.value)
    out.print(checks)
    out.print(f"score {record.verification.score_before} -> "
              f"{record.verification.score_after}", markup=False)
