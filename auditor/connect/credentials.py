"""Secrets for SQL and WinRM logins: environment, keyring or prompt; never stored or echoed."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field

from auditor.inventory import Credential, CredentialKind


class SecretUnavailableError(Exception):
    """No secret could be had; the target ends `denied` with this reason."""


@dataclass(frozen=True)
class Secret:
    """A username and password; the password never appears in repr() or str()."""

    username: str | None
    password: str | None = field(repr=False)

    def __str__(self) -> str:
        return f"Secret(username={self.username!r}, password=***)"


def resolve(credential: Credential | None, target: str, *, interactive: bool | None = None
            ) -> Secret:
    """The secret a credential reference names. Integrated (or no) credential: no password."""
    if credential is None or credential.kind is CredentialKind.INTEGRATED:
        return Secret(username=credential.username if credential else None, password=None)
    if credential.kind is CredentialKind.ENV:
        value = os.environ.get(credential.name or "")
        if not value:
            raise SecretUnavailableError(f"environment variable {credential.name} is not set")
        return Secret(credential.username, value)
    if credential.kind is CredentialKind.KEYRING:
        return Secret(credential.username, _from_keyring(credential, target))
    return Secret(credential.username, _prompt(credential, target, interactive))


def _from_keyring(credential: Credential, target: str) -> str:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise SecretUnavailableError("the keyring package is not installed") from None
    try:
        value = keyring.get_password(credential.name or target, credential.username or "")
    except KeyringError as exc:
        raise SecretUnavailableError(f"keyring unavailable: {type(exc).__name__}") from None
    except RuntimeError as exc:  # keyring raises RuntimeError when no backend is configured
        raise SecretUnavailableError(f"keyring unavailable: {type(exc).__name__}") from None
    if not value:
        raise SecretUnavailableError(f"no keyring entry {credential.name!r} for "
                                     f"{credential.username!r}")
    return str(value)


def _prompt(credential: Credential, target: str, interactive: bool | None) -> str:
    can_ask = sys.stdin.isatty() if interactive is None else interactive
    if not can_ask:
        raise SecretUnavailableError("a password prompt is needed but there is no terminal")
    value = getpass.getpass(f"password for {credential.username or 'login'} on {target}: ")
    if not value:
        raise SecretUnavailableError("no password was entered")
    return value
