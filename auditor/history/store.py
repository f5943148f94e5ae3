"""Open a history store (SQLite file or PostgreSQL URL), migrated to the newest schema.

SQLite: WAL journal, a busy timeout, and `BEGIN IMMEDIATE` for writing transactions, so two
audits recording at once queue instead of failing. PostgreSQL: one advisory lock held for the
length of a writing transaction (and of a migration). A transaction commits whole or not at
all: a kill at any moment loses nothing committed and leaves no half audit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from auditor.errors import AuditorError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
_WRITE_LOCK = 0x41554449544F52  # the PostgreSQL advisory lock of history writers ("AUDITOR")


class HistoryError(AuditorError):
    """The history store cannot be opened, read or written; the message says why."""


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest schema revision this tool writes."""
    return str(_scripts().get_current_head())


def known_revisions() -> set[str]:
    """Every schema revision this tool knows."""
    return {script.revision for script in _scripts().walk_revisions()}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun below, as IMMEDIATE
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a killed process
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get("history_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class HistoryStore:
    """An open store; `reading()` and `writing()` give a connection inside one transaction."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine = engine
        self.where = where

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent view of the store)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A connection in a write transaction that holds the store's writer lock."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(history_write=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK})
                yield conn

    def revision(self) -> str | None:
        """The schema revision the store is at (None: empty)."""
        with self.reading() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self, target: str = "head") -> None:
        """Upgrade the schema to `target` in one transaction, under the writer lock."""
        with self.writing() as conn:
            command.upgrade(_alembic_config(conn), target)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def make_engine(url: str, password: str | None = None) -> Engine:
    """An engine for a store URL (`sqlite:///path` or `postgresql+psycopg://user@host/db`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise HistoryError(f"history store: not a store URL: {url!r}") from None
    if parsed.password is not None:
        raise HistoryError("history store URL holds a password: name a credential instead "
                           "(docs/history.md)")
    if password is not None:
        parsed = parsed.set(password=password)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise HistoryError(f"history store: unsupported database {parsed.get_backend_name()!r} "
                           "(sqlite or postgresql)")
    return create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)


def open_store(url: str, password: str | None = None, *, migrate: bool = True) -> HistoryStore:
    """Open (creating and migrating as needed) the store at `url`."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    store = HistoryStore(make_engine(url, password), _redacted(url))
    try:
        revision = store.revision()
        if revision is not None and revision not in known_revisions():
            store.close()
            raise HistoryError(f"history store {store.where} is at schema revision {revision}, "
                               "written by a newer auditor: upgrade this one")
        if migrate and revision != head_revision():
            store.migrate()
    except DBAPIError as exc:
        store.close()
        raise HistoryError(f"history store {store.where}: {_reason(exc)}") from None
    return store


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: DBAPIError) -> str:
    """The driver's first line, which names no secret (the password is never in the URL)."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
