"""`auditor lab sql ...`: a local PostgreSQL msdb lab holding the demo estates."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from auditor.cli.executable import auditor_command, quoted

app = typer.Typer(help="A local PostgreSQL lab standing in for the SQL Server back ends.",
                  no_args_is_help=True)

STATE_FILE = "sql-lab.json"
ENV_FILE = "lab.env"
DirOpt = Annotated[Path, typer.Option("--dir", help="Folder for the lab's inventories, "
                                      "replay bundles and state.")]
console = Console(highlight=False, soft_wrap=True)


@app.command("up")
def up(
    directory: DirOpt = Path("auditor-lab"),
    estates: Annotated[list[str] | None, typer.Option(
        "--estate", help="Demo estate to load (repeatable; default: all three).")] = None,
    express: Annotated[list[str] | None, typer.Option(
        "--express", help="Serve this SQL instance (e.g. 'SQLMON01\\LYNCMON') as SQL Server "
        "Express: its edition says so and its SQL Agent tables are empty (repeatable).")] = None,
) -> None:
    """Start the lab, load the demo estates, and write an inventory for each."""
    from auditor.cli import _guarded

    directory = directory.absolute()

    def run() -> tuple[list[tuple[str, Path, Path, int]], Path]:
        return _up(directory, estates or [], express or [])

    built, preflight = _guarded(run)
    table = Table("estate", "SQL instances", "inventory", box=None)
    for name, inventory, _replay, count in built:
        table.add_row(name, str(count), str(inventory))
    console.print(table)
    console.print(printed_commands(directory, built, preflight), markup=False)


def printed_commands(directory: Path, built: list[tuple[str, Path, Path, int]],
                     preflight: Path) -> str:
    """What `up` tells the user to run next: commands that work as printed, in any shell."""
    env = directory / ENV_FILE
    run = f"env $(cat {quoted(env)}) {auditor_command()}"
    audits = "".join(f"  {run} audit --inventory {quoted(inventory)} --replay {quoted(replay)} "
                     f"--out audit-{name}\n" for name, inventory, replay, _ in built)
    return (f"\nlab up; passwords in {env} (mode 0600). Audit each estate live:\n{audits}"
            f"Check the permissions the probes need (one login has none):\n"
            f"  {run} preflight --inventory {quoted(preflight)}\n"
            f"stop it with: {auditor_command()} lab sql down --dir {quoted(directory)}")


def _up(directory: Path, wanted: list[str],
        express: list[str]) -> tuple[list[tuple[str, Path, Path, int]], Path]:
    from auditor.errors import InputError
    from auditor.lab.cluster import LabCluster
    from auditor.lab.demo import (
        DEMO_ESTATES,
        NO_GRANTS_ENV,
        build_estate,
        build_preflight,
        demo_root,
        write_env,
    )

    unknown = [e for e in wanted if e not in DEMO_ESTATES]
    if unknown:
        raise InputError("--estate", f"unknown demo estate {unknown[0]!r} (choose from "
                         f"{', '.join(DEMO_ESTATES)})")
    editions = _express_editions(wanted or list(DEMO_ESTATES), express)
    if (directory / STATE_FILE).exists():
        raise InputError(directory / STATE_FILE, "a lab is already up here; run "
                         f"`{auditor_command()} lab sql down --dir {quoted(directory)}` first")
    cluster = LabCluster.start()
    try:
        present = dt.datetime.now(dt.UTC)  # a live audit is judged at its own time
        built = [build_estate(cluster, demo_root() / name, directory, present=present,
                              editions=editions) for name in (wanted or list(DEMO_ESTATES))]
        preflight, password = build_preflight(cluster, built[0], directory)
        write_env(directory / ENV_FILE, built, {NO_GRANTS_ENV: password})
        (directory / STATE_FILE).write_text(cluster.state.to_json(), encoding="utf-8")
    except BaseException:
        cluster.stop()
        raise
    return [(e.name, e.inventory, e.replay, len(e.instances)) for e in built], preflight


def _express_editions(estates: list[str], express: list[str]) -> dict[str, str]:
    """--express names as instances of the estates being loaded, each served as Express."""
    from auditor.errors import InputError
    from auditor.inventory import load_inventory
    from auditor.lab.demo import demo_root
    from auditor.lab.edition import EXPRESS

    known = {i.server_name.lower(): i.server_name for name in estates
             for i in load_inventory(demo_root() / name / "inventory.yaml").inventory.sql_instances}
    unknown = [n for n in express if n.lower() not in known]
    if unknown:
        raise InputError("--express", f"no SQL instance '{unknown[0]}' in the estates being "
                         f"loaded (they have {', '.join(sorted(known.values()))})")
    return {known[n.lower()]: EXPRESS for n in express}


@app.command("down")
def down(directory: DirOpt = Path("auditor-lab")) -> None:
    """Stop the lab and remove what `up` wrote."""
    from auditor.cli import _guarded

    def run() -> str:
        from auditor.errors import InputError
        from auditor.lab.cluster import ClusterState, stop_cluster
        from auditor.lab.demo import DEMO_ESTATES, PREFLIGHT_DIR

        state_path = directory / STATE_FILE
        if not state_path.exists():
            raise InputError(state_path, "no lab is up here")
        state = ClusterState.from_json(state_path.read_text(encoding="utf-8"))
        stop_cluster(state)
        for name in (*DEMO_ESTATES, PREFLIGHT_DIR):
            shutil.rmtree(directory / name, ignore_errors=True)
        (directory / ENV_FILE).unlink(missing_ok=True)
        state_path.unlink()
        return f"lab on port {state.port} stopped and removed"

    console.print(_guarded(run), markup=False)
