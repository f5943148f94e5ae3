"""Mail an audit's PDF: STARTTLS or implicit TLS, certificates validated, bounded retries.

A delivery failure never hides the audit's own result: the caller reports it and keeps the
audit's exit code. Authentication failures are not retried (the same password fails again).
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from auditor.connect.credentials import Secret
from auditor.inventory import Delivery, SmtpSecurity

BACKOFF_SECONDS = 2.0
DEFAULT_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465}


class DeliveryError(Exception):
    """The report could not be mailed; the message is safe to print (no secret in it)."""


@dataclass(frozen=True)
class Mail:
    """One message: who gets it, what it says, and the PDF it carries."""

    recipients: Sequence[str]
    subject: str
    body: str
    attachment: Path


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """The MIME message: the plain-text body and the PDF as an attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    message.add_attachment(mail.attachment.read_bytes(), maintype="application",
                           subtype="pdf", filename=mail.attachment.name)
    return message


def send(delivery: Delivery, secret: Secret | None, mail: Mail,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Send, retrying transient failures with a doubling backoff; the attempts it took."""
    message = build_message(mail, delivery.sender)
    for attempt in range(1, delivery.attempts + 1):
        try:
            _send_once(delivery, secret, message)
            return attempt
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP server {_where(delivery)} refused the login of "
                                f"{secret.username if secret else '?'!r} ({exc.smtp_code})"
                                ) from None
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == delivery.attempts or not _transient(exc):
                raise DeliveryError(f"cannot mail the report through {_where(delivery)} "
                                    f"after {attempt} attempt(s): {_reason(exc)}") from None
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the loop returns or raises")


def _send_once(delivery: Delivery, secret: Secret | None, message: EmailMessage) -> None:
    context = ssl.create_default_context(cafile=delivery.ca_file)
    port = delivery.port or DEFAULT_PORTS[delivery.security]
    if delivery.security is SmtpSecurity.TLS:
        client: smtplib.SMTP = smtplib.SMTP_SSL(delivery.host, port, context=context,
                                                timeout=delivery.timeout_seconds)
    else:
        client = smtplib.SMTP(delivery.host, port, timeout=delivery.timeout_seconds)
    with client:
        if delivery.security is SmtpSecurity.STARTTLS:
            client.starttls(context=context)
        if secret is not None and secret.username and secret.password:
            client.login(secret.username, secret.password)
        client.send_message(message)


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: a dropped connection, a timeout, or a 4xx reply."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return False
    return isinstance(exc, (smtplib.SMTPServerDisconnected, OSError))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message}); set delivery.ca_file"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return f"{exc.smtp_code} {shown}"
    return str(exc) or type(exc).__name__


def _where(delivery: Delivery) -> str:
    return f"{delivery.host}:{delivery.port or DEFAULT_PORTS[delivery.security]}"
