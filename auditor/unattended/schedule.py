"""systemd service and timer units (or a crontab line) for a periodic, unattended audit.

The units hold no secret: file credentials reach the service through LoadCredential= (systemd
copies them into a private folder, $CREDENTIALS_DIRECTORY) and environment credentials through
an EnvironmentFile= that only the service user can read. Nothing in a unit can prompt or unlock a
desktop keyring, so an inventory that needs either is refused before any unit is written.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from auditor.errors import InputError
from auditor.inventory import UNATTENDED_KINDS, Credential, CredentialKind, Inventory

DEFAULT_TIME = dt.time(6, 0)
AFTER_WINDOW = dt.timedelta(hours=1)


class Every(StrEnum):
    """How often the audit runs."""

    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class Schedule:
    """Everything the units say: what runs, when, as whom, with which credentials."""

    estate_id: str
    every: Every
    at: dt.time
    command: Sequence[str]
    writable: Sequence[Path]
    user_mode: bool = False
    run_as: str = "auditor"
    credentials: Sequence[tuple[str, Path]] = field(default_factory=tuple)
    env_file: Path | None = None
    environment: Sequence[tuple[str, str]] = field(default_factory=tuple)

    @property
    def unit(self) -> str:
        """The units' common name, one pair per estate."""
        return f"auditor-audit-{self.estate_id}"


def default_time(inventory: Inventory) -> dt.time:
    """An hour after the policy's backup window ends (so backups are not judged while they
    run); 06:00 without a window. The window is on the servers' clock: see docs/unattended.md."""
    window = inventory.policy.backup_window
    if window is None:
        return DEFAULT_TIME
    end = dt.datetime.combine(dt.date(2000, 1, 1), dt.time.fromisoformat(window.end)) + AFTER_WINDOW
    return end.time()


Key = tuple[str | int, ...]


def unattended_problems(inventory: Inventory) -> list[tuple[Key, str]]:
    """(where, why) for every credential an unattended run could not use (prompt, keyring)."""
    return [(key, f"a {credential.kind.value} credential needs a person at the run; use kind "
                  "file (LoadCredential=) or env (an EnvironmentFile= only the service user "
                  "reads)")
            for key, credential in credentials_of(inventory)
            if credential.kind not in UNATTENDED_KINDS]


def credentials_of(inventory: Inventory) -> Iterable[tuple[Key, Credential]]:
    """(where, credential) for every credential the inventory holds."""
    for index, instance in enumerate(inventory.sql_instances):
        for label, credential in (("credential", instance.credential),
                                  ("remediation_credential", instance.remediation_credential)):
            if credential is not None:
                yield ("sql_instances", index, label), credential
    if inventory.lync is not None and inventory.lync.credential is not None:
        yield ("lync", "credential"), inventory.lync.credential


def file_credential_names(inventory: Inventory) -> list[str]:
    """The bare names of file credentials: each becomes one LoadCredential= line."""
    names = {credential.name for _, credential in credentials_of(inventory)
             if credential.kind is CredentialKind.FILE and credential.name
             and "/" not in credential.name}
    return sorted(names)


def state_history(inventory: Inventory) -> list[tuple[str, str]]:
    """Without a history store in the inventory, the service keeps its SQLite history in its
    state directory (%S is /var/lib, or ~/.local/state for a user unit): ProtectSystem=strict
    leaves no other place writable, and a per-user data folder would be read-only."""
    if inventory.history is not None:
        return []
    return [("AUDITOR_HISTORY", "%S/auditor/history.sqlite")]


def calendar(every: Every, at: dt.time) -> str:
    """systemd's OnCalendar= form: daily at HH:MM, or Mondays at HH:MM."""
    day = "Mon " if every is Every.WEEKLY else ""
    return f"{day}*-*-* {at:%H:%M}:00"


def service_text(schedule: Schedule) -> str:
    """The oneshot service that runs one audit, hardened as systemd allows."""
    lines = ["[Unit]", f"Description=Lync backup audit of {schedule.estate_id}",
             "Wants=network-online.target", "After=network-online.target", "",
             "[Service]", "Type=oneshot", f"ExecStart={_exec_line(schedule.command)}"]
    if not schedule.user_mode:
        lines.append(f"User={schedule.run_as}")
    lines += [f"LoadCredential={name}:{path}" for name, path in schedule.credentials]
    if schedule.env_file is not None:
        lines.append(f"EnvironmentFile={schedule.env_file}")
    lines += [f'Environment="{name}={value}"' for name, value in schedule.environment]
    lines += _hardening(schedule)
    return "\n".join(lines) + "\n"


def _hardening(schedule: Schedule) -> list[str]:
    writable = " ".join(_unit_path(path) for path in schedule.writable)
    return ["StateDirectory=auditor", "UMask=0077", "NoNewPrivileges=yes", "PrivateTmp=yes",
            "ProtectSystem=strict", f"ReadWritePaths={writable}", "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes", "ProtectControlGroups=yes", "RestrictSUIDSGID=yes",
            "LockPersonality=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
            "TimeoutStartSec=4h"]


def timer_text(schedule: Schedule) -> str:
    """The timer: missed runs happen at boot (Persistent=), with a random delay."""
    return "\n".join([
        "[Unit]", f"Description=Periodic Lync backup audit of {schedule.estate_id}", "",
        "[Timer]", f"OnCalendar={calendar(schedule.every, schedule.at)}", "Persistent=true",
        "RandomizedDelaySec=15min", f"Unit={schedule.unit}.service", "",
        "[Install]", "WantedBy=timers.target"]) + "\n"


def cron_line(schedule: Schedule) -> str:
    """The crontab equivalent (minute hour day month weekday command)."""
    weekday = "1" if schedule.every is Every.WEEKLY else "*"
    command = " ".join(shlex.quote(part) for part in schedule.command)
    return f"{schedule.at.minute} {schedule.at.hour} * * {weekday} {command}"


def _exec_line(command: Sequence[str]) -> str:
    """ExecStart= quoting: each word double-quoted, with systemd's specifiers escaped."""
    return " ".join(_unit_word(part) for part in command)


def _unit_word(word: str) -> str:
    if any(char in word for char in "\n\r"):
        raise InputError("schedule", f"a line break cannot go into a unit: {word!r}")
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped.replace("$", "$$")}"'


def _unit_path(path: Path) -> str:
    text = str(path)
    if any(char.isspace() for char in text) or "%" in text:
        raise InputError("schedule", f"{text!r}: a path with spaces or '%' cannot be "
                                     "listed in ReadWritePaths=")
    return text
