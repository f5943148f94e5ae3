"""Which store: `--history URL`, else $AUDITOR_HISTORY, else the inventory's `history.url`,
else a SQLite file in the user's data directory. A bare path is a SQLite file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from auditor.inventory import Credential, HistorySettings

ENV_VAR = "AUDITOR_HISTORY"


@dataclass(frozen=True)
class StoreLocation:
    """A store URL (never holding a password) and the credential for its password, if any."""

    url: str
    credential: Credential | None = None
    source: str = "default"


def default_url() -> str:
    """The per-user SQLite store."""
    return as_url(str(Path(user_data_dir("auditor", appauthor=False)) / "history.sqlite"))


def as_url(value: str) -> str:
    """A URL as given, or a file path as a SQLite URL."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def locate(flag: str | None, settings: HistorySettings | None = None) -> StoreLocation:
    """The store a command uses, by the precedence above."""
    if flag:
        return StoreLocation(as_url(flag), settings.credential if settings else None, "--history")
    env = os.environ.get(ENV_VAR)
    if env:
        return StoreLocation(as_url(env), settings.credential if settings else None, ENV_VAR)
    if settings is not None:
        return StoreLocation(as_url(settings.url), settings.credential, "inventory")
    return StoreLocation(default_url())
