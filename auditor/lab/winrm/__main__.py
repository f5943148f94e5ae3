"""`python -m auditor.lab.winrm`: one loopback WinRM endpoint for a demo estate, in its own
process (used by `auditor lab lync up` and benchmarks/lync.py).

Writes STATE_DIR/endpoint.json ({pid, port, ca_cert, username}) once it listens, and serves
until SIGTERM or SIGINT. The password comes from the environment variable --password-env.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
from pathlib import Path

from auditor.lab.winrm.endpoint import WinRMEndpoint
from auditor.lab.winrm.lync import LyncLab

PASSWORD_ENV = "AUDITOR_LAB_LYNC_PASSWORD"  # noqa: S105 - a variable name
STATE_FILE = "endpoint.json"


def main(argv: list[str] | None = None) -> int:
    """Serve until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m auditor.lab.winrm")
    parser.add_argument("--estate", type=Path, required=True,
                        help="folder with inventory.yaml and evidence.json")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds added to every request (a slow network)")
    parser.add_argument("--username", default="lab\\auditor")
    parser.add_argument("--password-env", default=PASSWORD_ENV)
    parser.add_argument("--naive-dates", action="store_true",
                        help="write Local dates without an offset (Kind Unspecified)")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env)
    if not password:
        parser.error(f"set the password in ${args.password_env}")
    lab = LyncLab.from_estate(args.estate, dt.datetime.now(dt.UTC),  # moved to the present
                              naive_dates=args.naive_dates)
    args.state_dir = args.state_dir.resolve()
    args.state_dir.mkdir(parents=True, exist_ok=True)
    endpoint = WinRMEndpoint(lab, username=args.username, password=password, port=args.port,
                             latency=args.latency, tls_dir=args.state_dir / "tls")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    endpoint.start()
    state = {"pid": os.getpid(), "port": endpoint.port, "username": args.username,
             "ca_cert": str(endpoint.ca_cert), "estate": str(args.estate.resolve())}
    tmp = args.state_dir / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    tmp.replace(args.state_dir / STATE_FILE)
    try:
        stop.wait()
    finally:
        endpoint.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
