"""Mail delivery against a real local SMTP server (aiosmtpd) with STARTTLS and AUTH, its
certificate self-signed and trusted through the inventory's delivery.ca_file."""

from __future__ import annotations

import hashlib
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from auditor.lab.cluster import free_port
from auditor.lab.tls import write_self_signed

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = ROOT / "auditor" / "data" / "fixtures" / "demo" / "drifted"
PASSWORD = "smtp-Canary-7f3e"  # noqa: S105 - the test server's own password


class Inbox:
    """What the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
    ok = (isinstance(data, LoginPassword) and data.login == b"auditor"
          and data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Inbox, int, Path]]:
    folder = tmp_path_factory.mktemp("smtp")
    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticate,
                            auth_require_tls=True)
    controller.start()
    yield inbox, port, cert
    controller.stop()


def estate_with_delivery(folder: Path, port: int, cert: Path) -> Path:
    """The drifted demo inventory with a delivery: section pointing at the test server."""
    text = (DRIFTED / "inventory.yaml").read_text(encoding="utf-8")
    text += ("delivery:\n  host: localhost\n"
             f"  port: {port}\n  security: starttls\n  ca_file: {cert}\n"
             "  sender: auditor@example.com\n  attempts: 2\n"
             "  credential: {kind: env, name: AUDITOR_SMTP_PASSWORD, username: auditor}\n")
    inventory = folder / "inventory.yaml"
    inventory.write_text(text, encoding="utf-8")
    for name in ("waivers.yaml", "records"):
        (folder / name).symlink_to(DRIFTED / name)
    return inventory


def audit(inventory: Path, root: Path, password: str, *extra: str
          ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "AUDITOR_SMTP_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "audit", "--inventory", str(inventory), "--replay",
         str(DRIFTED / "evidence.json"), "--format", "pdf,json", "--appendix", "summary",
         "--out", str(root), "--dated", "--mail-to", "auditors@example.com", *extra],
        env=env, capture_output=True, text=True, timeout=600, check=False)


def test_mail_delivery_end_to_end(smtp: tuple[Inbox, int, Path], tmp_path: Path) -> None:
    inbox, port, cert = smtp
    inventory = estate_with_delivery(tmp_path, port, cert)
    root = tmp_path / "audits"

    first = audit(inventory, root, PASSWORD)
    assert first.returncode == 1, first.stderr  # the drifted estate's findings
    assert len(inbox.messages) == 1, first.stderr
    message = inbox.messages[0]
    written = (root / "latest" / "report.pdf").read_bytes()
    attachment = next(iter(message.iter_attachments()))
    assert attachment.get_filename() == "report.pdf"
    received = attachment.get_content()
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(written).hexdigest()
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "No earlier audit to compare with: every finding is new." in text
    assert "New critical and high findings: 13" in text  # 3 critical + 10 high fails
    assert "BR-0" in text
    assert PASSWORD not in text
    assert message["Subject"].startswith("[auditor] ")

    time.sleep(1.1)  # dated folders are named to the second
    wrong = audit(inventory, root, "not-the-password")
    assert wrong.returncode == 1  # the audit's own result, not a delivery error
    assert "error: mail: SMTP server localhost:" in wrong.stderr
    assert "refused the login of 'auditor' (535)" in wrong.stderr
    assert "not-the-password" not in wrong.stderr + wrong.stdout
    assert len(inbox.messages) == 1
    assert len([p for p in root.iterdir() if p.name[0].isdigit()]) == 2  # still recorded

    time.sleep(1.1)
    unchanged = audit(inventory, root, PASSWORD, "--mail-when", "changed")
    assert unchanged.returncode == 1, unchanged.stderr
    assert len(inbox.messages) == 1  # nothing changed since the last audit
    assert "not mailed: --mail-when changed" in unchanged.stdout
