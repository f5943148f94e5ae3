"""`auditor schedule install|show|remove`: periodic audits as a systemd timer (or a cron line)."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.common import InventoryOpt, _guarded, err, out, say
from auditor.cli.executable import auditor_command
from auditor.errors import InputError, MultipleInputError
from auditor.inventory import LoadedInventory, load_inventory
from auditor.unattended.schedule import (
    Every,
    Schedule,
    cron_line,
    default_time,
    file_credential_names,
    service_text,
    state_history,
    timer_text,
    unattended_problems,
)

app = typer.Typer(help="Periodic unattended audits (systemd timer or cron).",
                  no_args_is_help=True, rich_markup_mode=None)

UserOpt = Annotated[bool, typer.Option("--user", help="A user unit (~/.config/systemd/user) "
                                                      "instead of a system-wide one.")]
UnitDirOpt = Annotated[Path | None, typer.Option(
    "--unit-dir", metavar="DIR", help="Where the unit files go (default: /etc/systemd/system, "
                                      "or ~/.config/systemd/user with --user).")]
CREDENTIALS_DIR = Path("/etc/auditor/credentials")
EstateOpt = Annotated[str, typer.Option("--estate", metavar="ID", help="The estate id.")]


@app.command("install")
def install_cmd(
    inventory: InventoryOpt,
    every: Annotated[Every, typer.Option("--every", case_sensitive=False,
                                         help="daily or weekly (Mondays).")] = Every.DAILY,
    at: Annotated[str | None, typer.Option(
        "--at", metavar="HH:MM", help="Start time (default: an hour after the policy's "
                                      "backup window ends; 06:00 without one).")] = None,
    out_root: Annotated[Path, typer.Option(
        "--out-root", metavar="DIR", help="Each run writes a dated folder here, with a "
                                          "`latest` link.")] = Path("/var/lib/auditor/audits"),
    metrics: Annotated[Path | None, typer.Option(
        "--metrics", metavar="FILE", help="Prometheus textfile each run writes.")] = None,
    user_mode: UserOpt = False,
    run_as: Annotated[str, typer.Option("--run-as", metavar="USER",
                                        help="Unprivileged user of a system unit.")] = "auditor",
    credentials_dir: Annotated[Path, typer.Option(
        "--credentials-dir", metavar="DIR",
        help="Where LoadCredential= reads file credentials from.")] = CREDENTIALS_DIR,
    env_file: Annotated[Path | None, typer.Option(
        "--env-file", metavar="FILE", help="EnvironmentFile= for env credentials (readable "
                                           "by the service user only).")] = None,
    unit_dir: UnitDirOpt = None,
    cron: Annotated[bool, typer.Option("--cron", help="Print a crontab line instead of "
                                                      "writing units.")] = False,
    enable: Annotated[bool, typer.Option("--enable/--no-enable", help="Run systemctl "
                                         "daemon-reload and enable --now the timer.")] = True,
    extra: Annotated[list[str] | None, typer.Argument(
        metavar="[-- AUDIT OPTIONS]", help="More `auditor audit` options for each run "
                                           "(e.g. -- --fail-on high).")] = None,
) -> None:
    """Write a systemd service and timer that audit the inventory periodically."""
    def build() -> Schedule:
        loaded = _unattended_inventory(inventory)
        return _schedule(loaded, every, _parse_at(at, loaded), out_root.absolute(), metrics,
                         user_mode, run_as, credentials_dir, env_file, extra or [])
    schedule = _guarded(build)
    if cron:
        out.print(cron_line(schedule), markup=False, soft_wrap=True)
        return
    target = unit_dir or _default_unit_dir(user_mode)
    written = _guarded(lambda: _write_units(schedule, target))
    for path in written:
        say(f"wrote {path}")
    if enable and unit_dir is None:
        _systemctl(user_mode, "daemon-reload")
        _systemctl(user_mode, "enable", "--now", f"{schedule.unit}.timer")


@app.command("show")
def show_cmd(estate: EstateOpt, user_mode: UserOpt = False, unit_dir: UnitDirOpt = None) -> None:
    """Print the estate's unit files."""
    target = unit_dir or _default_unit_dir(user_mode)
    paths = _unit_paths(target, estate)
    if not any(path.exists() for path in paths):
        err.print(f"error: no schedule for estate {estate!r} in {target}", markup=False)
        raise typer.Exit(2)
    for path in paths:
        out.print(f"# {path}\n{path.read_text(encoding='utf-8')}", markup=False)


@app.command("remove")
def remove_cmd(estate: EstateOpt, user_mode: UserOpt = False,
               unit_dir: UnitDirOpt = None) -> None:
    """Stop and remove the estate's timer and service."""
    target = unit_dir or _default_unit_dir(user_mode)
    paths = [path for path in _unit_paths(target, estate) if path.exists()]
    if not paths:
        err.print(f"error: no schedule for estate {estate!r} in {target}", markup=False)
        raise typer.Exit(2)
    if unit_dir is None:
        _systemctl(user_mode, "disable", "--now", f"auditor-audit-{estate}.timer")
    for path in paths:
        path.unlink()
        say(f"removed {path}")


def _unattended_inventory(path: Path) -> LoadedInventory:
    loaded = load_inventory(path)
    problems = unattended_problems(loaded.inventory)
    if problems:
        raise MultipleInputError([
            InputError(path, problem, line=loaded.lines.get(key), field=_dotted(key))
            for key, problem in problems])
    return loaded


def _dotted(key: tuple[str | int, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in key)[1:]


def _parse_at(value: str | None, loaded: LoadedInventory) -> dt.time:
    if value is None:
        return default_time(loaded.inventory)
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise InputError("--at", f"not a time of day (HH:MM): {value!r}") from None


def _schedule(loaded: LoadedInventory, every: Every, at: dt.time, out_root: Path,
              metrics: Path | None, user_mode: bool, run_as: str, credentials_dir: Path,
              env_file: Path | None, extra: list[str]) -> Schedule:
    estate_id = loaded.inventory.estate.id
    if estate_id is None:
        raise InputError(str(loaded.path), "estate.id is needed to name the schedule's units")
    command = [*shlex.split(auditor_command()), "audit", "--inventory",
               str(loaded.path.absolute()), "--out", str(out_root), "--dated", "--quiet"]
    writable = [out_root, *([metrics.absolute().parent] if metrics else [])]
    if metrics is not None:
        command += ["--metrics", str(metrics.absolute())]
    credentials = [(name, credentials_dir / name)
                   for name in file_credential_names(loaded.inventory)]
    return Schedule(estate_id=estate_id, every=every, at=at, command=[*command, *extra],
                    writable=writable, user_mode=user_mode, run_as=run_as,
                    credentials=credentials, env_file=env_file and env_file.absolute(),
                    environment=state_history(loaded.inventory))


def _default_unit_dir(user_mode: bool) -> Path:
    if user_mode:
        return Path.home() / ".config" / "systemd" / "user"
    return Path("/etc/systemd/system")


def _unit_paths(folder: Path, estate: str) -> list[Path]:
    return [folder / f"auditor-audit-{estate}.service", folder / f"auditor-audit-{estate}.timer"]


def _write_units(schedule: Schedule, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    service, timer = _unit_paths(folder, schedule.estate_id)
    for path, text in ((service, service_text(schedule)), (timer, timer_text(schedule))):
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.write_text(text, encoding="utf-8")
        staging.replace(path)
    return [service, timer]


def _systemctl(user_mode: bool, *args: str) -> None:
    """Run systemctl; when it cannot, say the command to run by hand (the units are written)."""
    command = ["systemctl", *(["--user"] if user_mode else []), *args]
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        err.print(f"warning: systemctl not found; run: {shlex.join(command)}", markup=False)
        return
    done = subprocess.run([systemctl, *command[1:]], capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["failed"]
        err.print(f"warning: {shlex.join(command)}: {reason[0]}", markup=False)
