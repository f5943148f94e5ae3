"""The run journal: one JSON line per event, on disk (fsync) before the action it announces,
so even a killed run leaves a trace of every action it started."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from auditor.canonical import to_json_value
from auditor.killhook import checkpoint


class Journal:
    """Append-only JSON lines; safe to call from the instance workers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields: Any) -> None:
        """Append one line and fsync it."""
        line = json.dumps(to_json_value({"event": event, **fields}), sort_keys=True,
                          ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        checkpoint(kill_point(event, fields.get("kind")))


def kill_point(event: str, kind: object = None) -> str:
    """The kill tests' fixed point once a journal line is on disk (AUDITOR_TEST_KILL_AT):
    `remediate-start-backup_log`, `remediate-end-restore_test`, `remediate-run` ..."""
    return f"remediate-{event}" + (f"-{kind}" if kind else "")


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete line (a line cut by a kill is left out)."""
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
