"""The SQL collector: every applicable catalogue probe on every instance, over pyodbc."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyodbc

from auditor.canonical import canonical_rows
from auditor.collect.base import CollectContext, run_bounded
from auditor.collect.sql_plan import (
    applies,
    bind,
    clock_problem,
    major_version,
    too_old,
    usable_clock,
)
from auditor.connect.credentials import Secret, SecretUnavailableError, resolve
from auditor.connect.sql import (
    ConnectionStringError,
    Failure,
    build_connection_string,
    connect_failure,
    mask_connection_string,
    query_failure,
    scrub,
)
from auditor.evidence import Observation, ObservationStatus, Source, make_observation
from auditor.inventory import SqlInstance
from auditor.probes.catalogue import Catalogue, Dialect, SqlProbe, load_catalogue

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16  # latency-bound: 20 instances in 2 waves (benchmarks/sql.py)
Status = ObservationStatus
Connect = Callable[..., Any]


# --- probes ---------------------------------------------------------------------------------

def now_utc() -> dt.datetime:
    """The collector's clock."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Fetched:
    """One statement's result as the driver returned it: column names and rows of values."""

    names: list[str]
    rows: list[Sequence[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts of driver values."""
        return [dict(zip(self.names, row, strict=True)) for row in self.rows]


def fetch(conn: Any, sql: str, params: Sequence[Any]) -> Fetched:
    """Run one statement with bound parameters and read all of its rows."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql, *params)
        names = [column[0] for column in cursor.description or ()]
        return Fetched(names, cursor.fetchall())
    finally:
        cursor.close()


@dataclass
class _Session:
    """One instance's connection, reconnected at most once after it drops."""

    inst: SqlInstance
    conn_str: str
    secrets: tuple[str | None, ...]
    connect: Connect
    conn: Any = None
    dialect: Dialect | None = None
    reconnects: int = 0
    info: dict[str, str] = field(default_factory=dict)
    clock: dict[str, Any] | None = None  # the server_time row as the driver returned it

    def open(self) -> Failure | None:
        """Connect, learn the dialect and set the query timeout; a Failure when it cannot."""
        log.debug("sql %s: connecting (%s)", self.inst.server_name,
                  mask_connection_string(self.conn_str))
        try:
            self.conn = self.connect(self.conn_str, timeout=self.inst.login_timeout_seconds,
                                     autocommit=True)
        except Exception as exc:  # noqa: BLE001 - every driver failure becomes an observation
            return connect_failure(exc, self.secrets)
        try:
            name = str(self.conn.getinfo(pyodbc.SQL_DBMS_NAME))
            self.info = {"dbms": name, "version": str(self.conn.getinfo(pyodbc.SQL_DBMS_VER))}
            self.dialect = Dialect.LAB if "postgres" in name.lower() else Dialect.TSQL
            self._set_query_timeout()
            wrong = self._wrong_database()
        except Exception as exc:  # noqa: BLE001
            self.close()
            return query_failure(exc, self.secrets)
        if wrong is not None:
            self.close()
        return wrong

    def _wrong_database(self) -> Failure | None:
        """The probes read msdb's tables by two-part names: a connection that opened another
        database (the login's default, master) would fail each of them with error 208."""
        rows = fetch(self.conn, "SELECT DB_NAME() AS database_name", []).rows
        name = str(rows[0][0]) if rows and rows[0][0] is not None else "(none)"
        if name.lower() == "msdb":
            return None
        return Failure(Status.ERROR, f"the connection opened database {name!r}, not msdb, where "
                       "the probes read backup history and SQL Agent tables: add DATABASE=msdb "
                       "to the connection string (or to the DSN)")

    def _set_query_timeout(self) -> None:
        seconds = self.inst.query_timeout_seconds
        if self.dialect is Dialect.LAB:
            cursor = self.conn.cursor()  # psqlODBC rejects SQL_ATTR_CONNECTION_TIMEOUT
            cursor.execute(f"SET statement_timeout = {int(seconds) * 1000}")
            cursor.close()
        else:
            self.conn.timeout = int(seconds)  # SQL_ATTR_QUERY_TIMEOUT on every later cursor

    def close(self) -> None:
        """Close quietly: a dropped connection cannot be closed cleanly."""
        if self.conn is not None:
            try:
                self.conn.close()
            except pyodbc.Error:
                log.debug("sql %s: close failed (connection already gone)", self.inst.server_name)
            self.conn = None

    def run(self, sql: str, params: Sequence[Any]) -> Fetched | Failure:
        """Rows, or the Failure; after a lost connection, one reconnect for the next probe."""
        if self.conn is None:
            if self.reconnects >= 1:
                return Failure(Status.ERROR, "not run: the connection was lost and a "
                               "reconnect failed")
            self.reconnects += 1
            failure = self.open()
            if failure is not None:
                return Failure(failure.status, f"reconnect failed: {failure.message}")
        try:
            return fetch(self.conn, sql, params)
        except Exception as exc:  # noqa: BLE001
            failure = query_failure(exc, self.secrets)
            if failure.connection_lost:
                self.close()
            return failure


@dataclass
class _Recorder:
    """Makes the observations of one instance."""

    inst: SqlInstance
    found: list[Observation] = field(default_factory=list)

    def add(self, probe: str, started: dt.datetime, status: ObservationStatus,
            rows: Fetched | None = None, error: str | None = None,
            parameters: dict[str, Any] | None = None) -> Observation:
        try:
            data = canonical_rows(rows.names, rows.rows) if rows is not None else None
            obs = make_observation(source=Source.SQL, probe=probe, target=self.inst.server_name,
                                   started_at=started, finished_at=now_utc(), status=status,
                                   data=data, error=error, parameters=parameters)
        except (TypeError, ValueError) as exc:  # no canonical JSON form: a driver type, NaN
            obs = make_observation(source=Source.SQL, probe=probe, target=self.inst.server_name,
                                   started_at=started, finished_at=now_utc(),
                                   status=Status.ERROR, error=f"unreadable value: {exc}",
                                   parameters=parameters)
        self.found.append(obs)
        if obs.status is not Status.OK:
            log.info("sql %s: %s ended %s: %s", self.inst.server_name, probe, obs.status.value,
                     obs.error)
        return obs


class SqlCollector:
    """Collects every SQL probe from every inventory instance that has a connection string."""

    name = "sql"

    def __init__(self, *, workers: int = DEFAULT_WORKERS, catalogue: Catalogue | None = None,
                 connect: Connect | None = None, interactive: bool | None = None) -> None:
        self.workers = max(1, workers)
        self.catalogue = catalogue or load_catalogue()
        self.connect: Connect = connect or pyodbc.connect
        self.interactive = interactive

    def collect(self, context: CollectContext) -> list[Observation]:
        """All observations; an instance that fails still yields observations saying why."""
        instances = [i for i in context.inventory.inventory.sql_instances if i.connection]
        secrets = [self._secret(inst) for inst in instances]  # prompts happen here, in order
        jobs = [partial(self.collect_instance, inst, secret)
                for inst, secret in zip(instances, secrets, strict=True)]
        return run_bounded("sql", jobs, self.workers, context.progress)

    def _secret(self, inst: SqlInstance) -> Secret | SecretUnavailableError:
        try:
            return resolve(inst.credential, inst.server_name, interactive=self.interactive)
        except SecretUnavailableError as exc:
            return exc

    def collect_instance(self, inst: SqlInstance,
                         secret: Secret | SecretUnavailableError) -> list[Observation]:
        """Every applicable probe on one instance, over one connection."""
        recorder = _Recorder(inst)
        started = now_utc()
        with self.session(inst, secret) as opened:
            if isinstance(opened, Failure):
                self._fail_all(recorder, started, opened)
                return recorder.found
            self._run_probes(opened, recorder)
        return recorder.found

    @contextmanager
    def session(self, inst: SqlInstance,
                secret: Secret | SecretUnavailableError) -> Iterator[_Session | Failure]:
        """An open session, or the Failure that kept it from opening."""
        if isinstance(secret, SecretUnavailableError):
            yield Failure(Status.DENIED, f"no secret: {secret}")
            return
        password = secret.password
        try:
            conn_str = build_connection_string(inst, secret)
        except ConnectionStringError as exc:
            yield Failure(Status.ERROR, scrub(f"connection string: {exc}", [password]))
            return
        session = _Session(inst, conn_str, (password,), self.connect)
        failure = session.open()
        try:
            yield failure if failure is not None else session
        finally:
            session.close()

    def _fail_all(self, recorder: _Recorder, started: dt.datetime, failure: Failure) -> None:
        for probe in self.catalogue.sql:
            if applies(probe, recorder.inst, None, None):
                recorder.add(probe.name, started, failure.status, error=failure.message)

    def _run_probes(self, session: _Session, recorder: _Recorder) -> None:
        dialect = session.dialect or Dialect.TSQL
        clock_probe = next(p for p in self.catalogue.sql if p.name == "server_time")
        clock_obs = self._run_one(session, recorder, clock_probe, dialect, [])
        clock = session.clock if clock_obs.ok and usable_clock(session.clock) else None
        major = major_version(clock.get("product_version")) if clock else None
        for probe in self.catalogue.sql:
            if probe.name == "server_time" or not applies(probe, recorder.inst, dialect, major):
                continue
            old = too_old(probe, session.clock if clock_obs.ok else None)
            if old is not None:
                recorder.add(probe.name, now_utc(), Status.ERROR, error=old)
            elif not probe.parameters:
                self._run_one(session, recorder, probe, dialect, [])
            elif clock is not None:
                self._run_one(session, recorder, probe, dialect, bind(probe, clock,
                                                                      self.catalogue))
            else:
                recorder.add(probe.name, now_utc(), Status.ERROR,
                             error=clock_problem(session.clock, clock_obs.status.value))

    def _run_one(self, session: _Session, recorder: _Recorder, probe: SqlProbe,
                 dialect: Dialect, params: list[Any]) -> Observation:
        started = now_utc()
        text = probe.text(dialect) or ""
        named = dict(zip(probe.parameters, params, strict=True))
        result = session.run(text, params)
        if isinstance(result, Failure):
            return recorder.add(probe.name, started, result.status, error=result.message,
                                parameters=named)
        if probe.name == "server_time":
            session.clock = result.dicts()[0] if len(result.rows) == 1 else None
        log.debug("sql %s: %s returned %d rows", recorder.inst.server_name, probe.name,
                  len(result.rows))
        return recorder.add(probe.name, started, Status.OK, rows=result, parameters=named)
