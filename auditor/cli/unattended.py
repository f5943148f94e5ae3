"""What `auditor audit` does for unattended runs: dated folders, gates, metrics and mail.

Delivery failures (metrics, mail) are said on stderr and never change the audit's own exit
code: the audit happened and its folder is whole whatever the mail server does. Each delivery's
outcome is also handed to the history, which adds it to the audit's record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from auditor.canonical import check_writable
from auditor.cli.common import ExitCode, _guarded, err, exit_code, say
from auditor.connect.credentials import SecretUnavailableError, resolve
from auditor.errors import AuditorError, InputError
from auditor.gates import Gates
from auditor.inventory import Inventory
from auditor.outfolder import dated_folder, point_latest
from auditor.report import OutputFormat
from auditor.results import Results, read_results
from auditor.unattended.digest import (
    Change,
    MailWhen,
    body_text,
    failing_keys,
    should_mail,
    subject_line,
)
from auditor.unattended.mail import DeliveryError, Mail, send
from auditor.unattended.metrics import AuditRun, write_metrics

MetricsOpt = Annotated[Path | None, typer.Option(
    "--metrics", metavar="FILE", help="Also write a Prometheus textfile (node_exporter's "
                                      "textfile collector), atomically.")]
DatedOpt = Annotated[bool, typer.Option(
    "--dated", help="--out is a root: write into a new folder named by the UTC time under it, "
                    "then point its `latest` link there (for scheduled runs).")]
MailToOpt = Annotated[list[str] | None, typer.Option(
    "--mail-to", metavar="ADDRESS", help="Mail the PDF report (repeatable; SMTP settings in "
                                         "the inventory's delivery: section).")]
MailWhenOpt = Annotated[MailWhen, typer.Option(
    "--mail-when", case_sensitive=False, help="always, changed (a status or the score "
                                              "differs from the last audit) or failed.")]


@dataclass(frozen=True)
class Delivery:
    """What became of one delivery, as the run record keeps it (the message names no
    secret: it is the one stderr shows)."""

    kind: str  # "metrics" or "mail"
    target: str
    ok: bool
    message: str


Remember = Callable[[list[dict[str, object]]], None]


@dataclass(frozen=True)
class Unattended:
    """The unattended options of one `auditor audit` run."""

    gates: Gates
    metrics: Path | None
    dated: bool
    mail_to: tuple[str, ...]
    mail_when: MailWhen

    def target(self, out_dir: Path) -> Path:
        """The folder this run writes: --out itself, or a new dated folder under it."""
        if not self.dated:
            return out_dir
        _guarded(lambda: out_dir.mkdir(parents=True, exist_ok=True))
        return dated_folder(out_dir, dt.datetime.now(dt.UTC))

    def previous(self, out_dir: Path) -> Results | None:
        """Without history (--no-history), the audit `--out/latest` names, when --dated."""
        return _previous(out_dir) if self.dated else None

    def check(self, inventory: Inventory, formats: set[OutputFormat]) -> None:
        """Refuse, before collecting, what could only fail at the end."""
        if self.metrics is not None:
            check_writable(self.metrics)
        if self.mail_to and inventory.delivery is None:
            raise InputError("--mail-to", "the inventory has no delivery: section (SMTP host, "
                                          "sender, credential)")
        if self.mail_to and OutputFormat.PDF not in formats:
            raise InputError("--mail-to", "mails the PDF report: add pdf to --format")

    def finish(self, audit: AuditRun, out_dir: Path, folder: Path,
               previous: Results | None, remember: Remember | None = None) -> ExitCode:
        """Point `latest`, write metrics, mail (their outcomes to `remember`); the exit code
        the gates give."""
        if self.dated:
            _guarded(lambda: point_latest(out_dir, folder))
        code = exit_code(audit.results, self.gates, failing_keys(previous))
        done: list[Delivery] = []
        if self.metrics is not None:
            done.append(_deliver_metrics(audit, self.metrics))
        change = Change(audit.results, previous)
        if self.mail_to and should_mail(self.mail_when, change, code is ExitCode.FINDINGS):
            done.append(_deliver_mail(audit.facts.inventory, change, self.mail_to,
                                      folder / "report.pdf"))
        elif self.mail_to:
            say(f"not mailed: --mail-when {self.mail_when.value} and nothing to tell")
        if done and remember is not None:
            remember([asdict(d) for d in done])
        return code


def _previous(root: Path) -> Results | None:
    """The results of the audit `root/latest` names; None (said) when it cannot be read."""
    path = root / "latest" / "results.json"
    if not path.exists():
        return None
    try:
        return read_results(path)
    except AuditorError as exc:
        err.print(f"warning: previous audit not compared: {exc}", markup=False)
        return None


def _deliver_metrics(audit: AuditRun, path: Path) -> Delivery:
    try:
        write_metrics(audit, path)
    except OSError as exc:
        message = f"cannot write {path}: {exc.strerror or exc}"
        err.print(f"error: metrics: {message}", markup=False)
        return Delivery("metrics", str(path), False, message)
    say(f"wrote {path}")
    return Delivery("metrics", str(path), True, "written")


def _deliver_mail(inventory: Inventory, change: Change, recipients: tuple[str, ...],
                  pdf: Path) -> Delivery:
    target = ", ".join(recipients)
    delivery = inventory.delivery
    if delivery is None:  # check() refused this run before collecting
        return Delivery("mail", target, False, "the inventory has no delivery: section")
    mail = Mail(recipients, subject_line(change), body_text(change, pdf.name), pdf)
    try:
        secret = resolve(delivery.credential, delivery.host) if delivery.credential else None
        attempts = send(delivery, secret, mail)
    except (DeliveryError, SecretUnavailableError) as exc:
        err.print(f"error: mail: {exc}", markup=False)
        return Delivery("mail", target, False, str(exc))
    message = f"mailed {pdf.name} to {target} ({attempts} attempt(s))"
    say(message)
    return Delivery("mail", target, True, message)
