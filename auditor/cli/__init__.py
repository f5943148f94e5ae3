"""The command line: the only package that prints. Exit codes: 0 ok, 1 findings, 2 bad input.

This module holds the typer apps and registers the commands, which live in `audit` (collect,
evaluate, audit, report, demo), `catalog` (rules, inventory, records, version), `preflight`
and the `lab_*` modules; what they share is in `common`.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer

from auditor.cli import history, lab_lync, lab_sql, remediate, schedule
from auditor.cli.audit import (
    DEMO_ESTATES,
    ReportOptions,
    audit_cmd,
    collect_cmd,
    demo_cmd,
    demo_dir,
    evaluate_cmd,
    parse_formats,
    report_cmd,
)
from auditor.cli.catalog import (
    inventory_schema,
    inventory_validate,
    records_schema,
    records_validate,
    rules_doc,
    rules_list,
    rules_show,
    version_cmd,
)
from auditor.cli.common import (
    ExitCode,
    _guarded,
    _input_errors,
    _State,
    err,
    exit_code,
    out,
    package_version,
    parse_now,
    print_summary,
)
from auditor.cli.discover import discover_cmd
from auditor.cli.helpstyle import PlainCommand
from auditor.cli.preflight import preflight

__all__ = [
    "DEMO_ESTATES", "ExitCode", "ReportOptions", "_guarded", "_input_errors", "app", "demo_dir",
    "err", "exit_code", "main", "out", "parse_formats", "parse_now", "print_summary",
]

# Plain (click-style) help: the rich panels print a `<bool>` type after every flag and wrap at
# 80 columns when piped; plain help lists flags bare and values by their metavar (FILE, ID).
PLAIN_HELP: Any = None
app = typer.Typer(help="Audit the backup and DR posture of Lync Server 2013 deployments.",
                  pretty_exceptions_show_locals=False, no_args_is_help=True,
                  add_completion=True, rich_markup_mode=PLAIN_HELP)
rules_app = typer.Typer(help="The rule pack.", no_args_is_help=True,
                        rich_markup_mode=PLAIN_HELP)
inventory_app = typer.Typer(help="Inventory files.", no_args_is_help=True,
                            rich_markup_mode=PLAIN_HELP)
records_app = typer.Typer(help="The admins' records (YAML or CSV).", no_args_is_help=True,
                          rich_markup_mode=PLAIN_HELP)
lab_app = typer.Typer(help="Local stand-ins for SQL Server and Lync, for demos and tests.",
                      no_args_is_help=True, rich_markup_mode=PLAIN_HELP)
lab_app.add_typer(lab_sql.app, name="sql")
lab_app.add_typer(lab_lync.app, name="lync")

# Registration order is the order `auditor --help` lists them in.
# short_help: the one line of `auditor --help`, which click would cut off at 80 columns.
app.command("preflight", short_help="Check reachability, login and permissions, with fixes.")(
    preflight)
app.command("discover", short_help="Write an inventory from the Lync topology.")(discover_cmd)
app.command("collect", short_help="Collect evidence into one bundle.")(collect_cmd)
app.command("evaluate", short_help="Evaluate the rules over a bundle: results.json.",
            cls=PlainCommand)(evaluate_cmd)
app.command("audit", short_help="Collect, evaluate and report in one go.")(audit_cmd)
app.command("report", cls=PlainCommand)(report_cmd)
app.command("demo", short_help="Audit a bundled demo estate (recorded evidence).")(demo_cmd)
app.command("version")(version_cmd)
app.add_typer(rules_app, name="rules")
app.add_typer(inventory_app, name="inventory")
app.add_typer(records_app, name="records")
app.add_typer(lab_app, name="lab")
app.add_typer(remediate.app, name="remediate")
app.add_typer(schedule.app, name="schedule")
app.add_typer(history.app, name="history")
rules_app.command("list")(rules_list)
rules_app.command("show", short_help="A rule's documentation.", cls=PlainCommand)(rules_show)
rules_app.command("doc")(rules_doc)
inventory_app.command("validate", cls=PlainCommand)(inventory_validate)
inventory_app.command("schema")(inventory_schema)
records_app.command("validate", cls=PlainCommand)(records_validate)
records_app.command("schema")(records_schema)


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(f"auditor {package_version()}", markup=False)
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and the "
                                        "verdict line (no progress, no `wrote` lines).")] = False,
    _version: Annotated[bool, typer.Option("--version", help="Print the version and exit.",
                                           callback=_print_version, is_eager=True)] = False,
) -> None:
    _State.debug = debug
    _State.quiet = quiet
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logger = logging.getLogger("auditor")
    logger.setLevel(level)
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler(sys.stderr))


def main() -> Any:
    """Console-script entry point."""
    return app()
