"""`auditor lab lync ...`: a loopback WinRM/PSRP endpoint answering the Lync cmdlets."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from auditor.cli.executable import auditor_command, quoted

app = typer.Typer(help="A loopback WinRM endpoint standing in for the Lync servers.",
                  no_args_is_help=True)

ENV_FILE = "lync.env"
INVENTORY = "inventory.yaml"
REPLAY = "replay.json"  # the recording, moved to the present (live Lync evidence wins)
PASSWORD_ENV = "AUDITOR_LAB_LYNC_PASSWORD"  # noqa: S105 - a variable name
USERNAME = "LAB\\svc-lyncaudit"
DirOpt = Annotated[Path, typer.Option("--dir", help="Folder for the endpoint's state, its CA "
                                      "and the inventory it writes.")]
EstateOpt = Annotated[str, typer.Option("--estate", help="Demo estate to serve: healthy, "
                                        "drifted or neglected.")]
console = Console(highlight=False, soft_wrap=True)
_DETACHED: list[subprocess.Popen[bytes]] = []


def _folder(directory: Path, estate: str) -> Path:
    return directory / f"lync-{estate}"


@app.command("up")
def up(
    directory: DirOpt = Path("auditor-lab"),
    estate: EstateOpt = "healthy",
    port: Annotated[int, typer.Option(help="TCP port (0: any free one).")] = 0,
    latency: Annotated[float, typer.Option(help="Seconds added to every request.")] = 0.0,
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory to add the lync: section to (e.g. the one `auditor lab sql up` "
        "wrote); default: the estate's own.")] = None,
) -> None:
    """Start the endpoint in the background and write an inventory that reaches it."""
    from auditor.cli import _guarded

    written = _guarded(lambda: _up(directory, estate, port, latency, inventory))
    env, inv, state = written
    console.print(f"WinRM endpoint for {estate} on https://127.0.0.1:{state['port']}/wsman "
                  f"(pid {state['pid']}, CA {state['ca_cert']})\n"
                  f"inventory: {inv}\nsecrets and the connect map: {env} (mode 0600)\n"
                  f"audit the estate, its Lync side live:\n"
                  f"  {audit_command(estate, env, inv, inventory)}\n"
                  f"stop it with: {auditor_command()} lab lync down "
                  f"--dir {quoted(directory.absolute())} "
                  f"--estate {estate}", markup=False)


def audit_command(estate: str, env: Path, inventory: Path, base: Path | None) -> str:
    """The audit of the estate as printed: Lync live, the rest from the estate's recording.

    Without the SQL evidence, records and dates of the recording most rules could not assess.
    With `--inventory` from `lab sql up`, SQL is live too: that lab's replay.json and lab.env.
    """
    from auditor.cli.lab_sql import ENV_FILE as SQL_ENV_FILE

    envs = [env]
    replay = (inventory.parent / REPLAY).absolute()
    if base is not None and (base.parent / "replay.json").is_file():
        replay = (base.parent / "replay.json").absolute()
        if (base.parent.parent / SQL_ENV_FILE).is_file():
            envs.insert(0, base.parent.parent / SQL_ENV_FILE)
    variables = " ".join(f"$(cat {quoted(path.absolute())})" for path in envs)
    return (f"env {variables} {auditor_command()} audit --inventory {quoted(inventory.absolute())}"
            f" --replay {quoted(replay)} --out audit-{estate}")


def _up(directory: Path, estate: str, port: int, latency: float,
        base: Path | None) -> tuple[Path, Path, dict[str, Any]]:
    from auditor.errors import InputError
    from auditor.lab.demo import DEMO_ESTATES, demo_root

    if estate not in DEMO_ESTATES:
        raise InputError("--estate", f"unknown demo estate {estate!r} (choose from "
                         f"{', '.join(DEMO_ESTATES)})")
    folder = _folder(directory, estate)
    state_path = folder / "endpoint.json"
    if state_path.exists():
        raise InputError(state_path, "an endpoint is already up here; run "
                         f"`{auditor_command()} lab lync down --dir {quoted(directory)} "
                         f"--estate {estate}` first")
    folder.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    source = demo_root() / estate
    env = {**os.environ, PASSWORD_ENV: password}
    command = [sys.executable, "-m", "auditor.lab.winrm", "--estate", str(source),
               "--state-dir", str(folder), "--port", str(port), "--latency", str(latency),
               "--username", USERNAME]
    with (folder / "endpoint.log").open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    _DETACHED.append(process)  # it outlives this command: `down` stops it by its pid
    state = _wait_for_state(state_path, process)
    inv = _write_inventory(base or source / INVENTORY, folder / INVENTORY, state, source)
    env_path = folder / ENV_FILE
    env_path.touch(mode=0o600)
    env_path.chmod(0o600)
    env_path.write_text(f"{PASSWORD_ENV}={password}\n"
                        f"AUDITOR_LYNC_CONNECT=*=127.0.0.1:{state['port']}\n", encoding="utf-8")
    return env_path, inv, state


def _wait_for_state(path: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    from auditor.errors import InputError

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists():
            state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return state
        if process.poll() is not None:
            raise InputError(path.parent / "endpoint.log", "the endpoint did not start "
                             f"(exit code {process.returncode}); see the log")
        time.sleep(0.05)
    process.terminate()
    raise InputError(path.parent / "endpoint.log", "the endpoint did not start within 30 s")


def _write_inventory(base: Path, target: Path, state: dict[str, Any], source: Path) -> Path:
    import datetime as dt

    import yaml

    from auditor.evidence import read_bundle, write_bundle
    from auditor.lab.demo import move_to_present
    from auditor.lab.timeshift import delta_to, shift_bundle
    from auditor.yamlio import load_yaml

    data, _ = load_yaml(base)
    for key in ("waivers", "records"):
        if isinstance(data, dict) and data.get(key):
            data[key] = str((base.parent / data[key]).resolve())
    # The endpoint serves the recording moved to the present: records, waivers and the
    # replayed SQL evidence follow, so a live audit (judged now) sees the estate as recorded.
    bundle = read_bundle(source / "evidence.json")[0]
    recorded = bundle.collected_at
    delta = delta_to(recorded, dt.datetime.now(dt.UTC))
    write_bundle(shift_bundle(bundle, delta), target.parent / REPLAY)
    data = move_to_present(data, base.parent, target.parent, delta, recorded)
    data["lync"] = {
        "management_servers": [next((s["fqdn"] for s in data.get("servers", [])
                                     if s.get("role") == "front_end"), "lync-mgmt.lab.invalid")],
        "transport": "https", "port": state["port"], "auth": "basic",
        "ca_bundle": state["ca_cert"],
        "credential": {"kind": "env", "username": USERNAME, "name": PASSWORD_ENV},
        "command_timeout_seconds": 10, "connect_timeout_seconds": 5,
    }
    target.write_text("# written by `auditor lab lync up`: the estate's inventory, reaching the "
                      "loopback WinRM endpoint\n" + yaml.safe_dump(data, sort_keys=False),
                      encoding="utf-8")
    return target


@app.command("down")
def down(directory: DirOpt = Path("auditor-lab"), estate: EstateOpt = "healthy") -> None:
    """Stop the endpoint `up` started and remove what it wrote."""
    from auditor.cli import _guarded

    console.print(_guarded(lambda: _down(directory, estate)), markup=False)


def _down(directory: Path, estate: str) -> str:
    import shutil

    from auditor.errors import InputError

    folder = _folder(directory, estate)
    state_path = folder / "endpoint.json"
    if not state_path.exists():
        raise InputError(state_path, "no endpoint is up here")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    pid = int(state["pid"])
    started_here = next((p for p in _DETACHED if p.pid == pid), None)
    if started_here is not None:  # `up` ran in this process (tests)
        started_here.terminate()
        started_here.wait(timeout=10)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # the process `up` started, by its id
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
    shutil.rmtree(folder, ignore_errors=True)
    return f"endpoint on port {state['port']} (pid {pid}) stopped and removed"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@app.command("serve")
def serve(
    estate: EstateOpt = "healthy",
    port: Annotated[int, typer.Option(help="TCP port (0: any free one).")] = 5986,
    latency: Annotated[float, typer.Option(help="Seconds added to every request.")] = 0.0,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (the password is printed: a lab's)."""
    from auditor.cli import _guarded
    from auditor.lab.demo import demo_root
    from auditor.lab.winrm.endpoint import WinRMEndpoint
    from auditor.lab.winrm.lync import LyncLab

    lab = _guarded(lambda: LyncLab.from_estate(demo_root() / estate))
    password = secrets.token_urlsafe(18)
    with WinRMEndpoint(lab, username=USERNAME, password=password, port=port,
                       latency=latency) as endpoint:
        console.print(f"serving {estate} on https://127.0.0.1:{endpoint.port}/wsman\n"
                      f"  CA certificate: {endpoint.ca_cert}\n  login: {USERNAME} / {password}"
                      "\nCtrl-C stops.", markup=False)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        console.print("stopped", markup=False)
