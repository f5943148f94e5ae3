"""Secrets for SQL and WinRM logins: environment, keyring or prompt; never stored or echoed."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
    if credential.kind is CredentialKind.FILE:
        return Secret(credential.username, _from_file(credential.name or ""))
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


def credential_file(name: str) -> tuple[Path, bool]:
    """Where a file credential lives, and whether systemd put it there: a bare name is in
    systemd's credentials folder ($CREDENTIALS_DIRECTORY, set by LoadCredential=) when there is
    one; anything else is a path to a file that only its owner may read."""
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if folder and "/" not in name:
        return Path(folder) / name, True
    return Path(name).expanduser(), False


def _from_file(name: str) -> str:
    path, from_systemd = credential_file(name)
    try:
        if not from_systemd and path.stat().st_mode & 0o077:
            raise SecretUnavailableError(f"credential file {path} is readable by others "
                                         "(chmod 600 it)")
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise SecretUnavailableError(f"credential file {path}: "
                                     f"{exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise SecretUnavailableError(f"credential file {path} is not UTF-8 text") from None
    if not value:
        raise SecretUnavailableError(f"credential file {path} is empty")
    return value


def _prompt(credential: Credential, target: str, interactive: bool | None) -> str:
    can_ask = sys.stdin.isatty() if interactive is None else interactive
    if not can_ask:
        raise SecretUnavailableError("a password prompt is needed but there is no terminal")
    value = getpass.getpass(f"password for {credential.username or 'login'} on {target}: ")
    if not value:
        raise SecretUnavailableError("no password was entered")
    return value
