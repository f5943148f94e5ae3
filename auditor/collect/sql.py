"""Live SQL collection: every catalogue probe against every SQL instance, over pyodbc.

One connection per instance (autocommit, a login timeout always, a query timeout always), the
probe variant picked from the driver's SQL_DBMS_NAME, parameters bound and never formatted in,
rows kept as read. Failures are observations, not exceptions: the status says what happened
(unreachable, denied, timeout, error) and the error text never holds the password.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyodbc

from auditor.collect.base import CollectContext, PreflightCheck
from auditor.collect.credentials import Secret, SecretUnavailableError, resolve
from auditor.evidence import Observation, ObservationStatus, Source, make_observation
from auditor.inventory import LoadedInventory, SqlInstance
from auditor.probes.catalogue import Catalogue, Dialect, SqlProbe, load_catalogue

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16  # latency-bound: 20 instances in 2 waves (benchmarks/sql.py)
CDR_USAGE_DAYS = 28  # the LcsCDR usage window (tools/demo/builder.py uses the same)
Status = ObservationStatus
Connect = Callable[..., Any]


class Permission(StrEnum):
    """What a login needs on SQL Server for a probe to read its rows."""

    MSDB_READ = "msdb read"
    AGENT_READER = "SQLAgentReaderRole"
    VIEW_SERVER_STATE = "VIEW SERVER STATE"
    VIEW_ANY_DATABASE = "VIEW ANY DATABASE"
    LCSCDR_READ = "LcsCDR read"


PROBE_PERMISSIONS: dict[str, Permission | None] = {
    "server_time": None,
    "databases": Permission.VIEW_ANY_DATABASE,
    "mirroring": Permission.VIEW_ANY_DATABASE,
    "backup_history": Permission.MSDB_READ,
    "last_backups": Permission.MSDB_READ,
    "backup_devices": Permission.MSDB_READ,
    "restore_history": Permission.MSDB_READ,
    "suspect_pages": Permission.MSDB_READ,
    "backup_encryption": Permission.MSDB_READ,
    "agent_jobs": Permission.AGENT_READER,
    "agent_job_steps": Permission.AGENT_READER,
    "agent_schedules": Permission.AGENT_READER,
    "agent_job_history": Permission.AGENT_READER,
    "database_files": Permission.VIEW_SERVER_STATE,
    "cdr_hourly_usage": Permission.LCSCDR_READ,
}
"""Per probe, the permission it needs (None: any login). `auditor preflight` reports by these."""

PERMISSION_FIX: dict[Permission, str] = {
    Permission.MSDB_READ: "USE msdb; CREATE USER [{login}] FOR LOGIN [{login}]; "
                          "EXEC sp_addrolemember N'db_datareader', N'{login}';",
    Permission.AGENT_READER: "USE msdb; EXEC sp_addrolemember N'SQLAgentReaderRole', N'{login}'; "
                             "(and db_datareader in msdb, for dbo.sysjobs*, dbo.sysschedules, "
                             "dbo.sysjobhistory, dbo.sysoperators)",
    Permission.VIEW_SERVER_STATE: "USE master; GRANT VIEW SERVER STATE TO [{login}]; "
                                  "GRANT VIEW ANY DEFINITION TO [{login}];",
    Permission.VIEW_ANY_DATABASE: "USE master; GRANT VIEW ANY DATABASE TO [{login}];",
    Permission.LCSCDR_READ: "USE LcsCDR; CREATE USER [{login}] FOR LOGIN [{login}]; "
                            "EXEC sp_addrolemember N'db_datareader', N'{login}';",
}


# --- connection strings -------------------------------------------------------------------

class DriverKind(StrEnum):
    """ODBC driver families, which name the TLS keyword differently."""

    MICROSOFT = "microsoft"
    FREETDS = "freetds"
    PSQLODBC = "psqlodbc"
    UNKNOWN = "unknown"


# keyword, value when TLS is required, value for the explicit opt-out, values that turn it off
TLS_KEYWORDS: dict[DriverKind, tuple[str, str, str, frozenset[str]]] = {
    DriverKind.MICROSOFT: ("Encrypt", "yes", "no",
                           frozenset({"no", "false", "optional", "0"})),
    DriverKind.FREETDS: ("Encryption", "require", "request", frozenset({"off", "request"})),
    DriverKind.PSQLODBC: ("SSLmode", "require", "prefer",
                          frozenset({"disable", "allow", "prefer"})),
}


class ConnectionStringError(ValueError):
    """The inventory's connection string cannot be used as it stands."""


def parse_connection_string(text: str) -> list[tuple[str, str]]:
    """`KEY=value;KEY={va;lue}` -> [(KEY, value)], braces removed and `}}` unescaped."""
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            if text[i:].strip(" ;"):
                raise ConnectionStringError(f"no '=' after {text[i:].strip()[:20]!r}")
            break
        key = text[i:eq].strip(" ;")
        if text[eq + 1:eq + 2] == "{":
            value, i = _braced(text, eq + 2)
        else:
            end = text.find(";", eq + 1)
            end = len(text) if end < 0 else end
            value, i = text[eq + 1:end].strip(), end + 1
        pairs.append((key, value))
    return pairs


def _braced(text: str, start: int) -> tuple[str, int]:
    out, i = [], start
    while i < len(text):
        if text[i] == "}":
            if text[i + 1:i + 2] == "}":
                out.append("}")
                i += 2
                continue
            end = text.find(";", i + 1)
            return "".join(out), (len(text) if end < 0 else end + 1)
        out.append(text[i])
        i += 1
    raise ConnectionStringError("a '{' value is not closed")


def format_value(value: str) -> str:
    """A connection-string value, braced when it holds anything special."""
    if value and not re.search(r"[;{}=\s]", value) and value[0] != "{":
        return value
    return "{" + value.replace("}", "}}") + "}"


def get_key(pairs: list[tuple[str, str]], key: str) -> str | None:
    """The value of a keyword, case-insensitively."""
    for k, v in pairs:
        if k.lower() == key.lower():
            return v
    return None


def driver_kind(pairs: list[tuple[str, str]]) -> DriverKind:
    """Which family the DRIVER= keyword names."""
    driver = (get_key(pairs, "DRIVER") or "").lower()
    if "freetds" in driver or "tdsodbc" in driver:
        return DriverKind.FREETDS
    if "postgres" in driver or "psqlodbc" in driver:
        return DriverKind.PSQLODBC
    if "sql server" in driver or "native client" in driver or "msodbcsql" in driver:
        return DriverKind.MICROSOFT
    return DriverKind.UNKNOWN


def build_connection_string(inst: SqlInstance, secret: Secret | None) -> str:
    """The instance's string plus TLS, user and (last, at connect time only) the password."""
    if not inst.connection:
        raise ConnectionStringError("the inventory gives no connection string")
    pairs = parse_connection_string(inst.connection)
    kind = driver_kind(pairs)
    if kind is DriverKind.UNKNOWN:
        if inst.encrypt:
            raise ConnectionStringError(
                "cannot tell which TLS keyword the driver takes: name it with DRIVER={...} "
                "(Microsoft ODBC Driver, FreeTDS or PostgreSQL), or set encrypt: false")
    else:
        keyword, on, off, weak = TLS_KEYWORDS[kind]
        present = get_key(pairs, keyword)
        if present is None:
            pairs.append((keyword, on if inst.encrypt else off))
        elif inst.encrypt and present.lower() in weak:
            raise ConnectionStringError(
                f"{keyword}={present} does not require TLS but the inventory says encrypt: "
                "true; remove the keyword, or set encrypt: false to opt out")
    if kind is DriverKind.PSQLODBC and get_key(pairs, "BoolsAsChar") is None:
        pairs.append(("BoolsAsChar", "0"))  # bit columns as bool, as SQL Server's drivers give
    if secret is not None and secret.password is not None:  # integrated logins send neither
        if secret.username and get_key(pairs, "UID") is None:
            pairs.append(("UID", secret.username))
        pairs.append(("PWD", secret.password))
    return ";".join(f"{k}={format_value(v)}" for k, v in pairs) + ";"


_PWD_FRAGMENT = re.compile(r"(?i)\b(pwd|password)\s*=\s*(\{(?:[^}]|\}\})*\}?|[^;]*)")


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    """The text with every secret (plain or braced) and every PWD=... fragment masked."""
    for value in secrets:
        if value:
            for form in (format_value(value), value.replace("}", "}}"), value):
                text = text.replace(form, "***")
    return _PWD_FRAGMENT.sub(lambda m: f"{m.group(1)}=***", text)


# --- errors -> statuses -------------------------------------------------------------------

_DENIED = re.compile(
    r"(?i)password authentication failed|login failed|authentication failed|no pg_hba\.conf|"
    r"permission denied|permission was denied|cannot open database|does not exist|"
    r"not able to access the database|role .* is not permitted to log in|\((18456|4060|916)\)")
_UNREACHABLE = re.compile(
    r"(?i)could not translate host|name or service not known|connection refused|timeout expired|"
    r"timed out|could not connect|server is not found|unable to connect|tcp provider|"
    r"network-related|no route to host|server was not found|adaptive server is unavailable")
_PERMISSION = re.compile(r"(?i)permission denied|permission was denied|\((229|230|262|297|300)\)")
_TIMEOUT = re.compile(r"(?i)statement timeout|query timeout|timeout expired|canceling statement")
_LOST_STATES = frozenset({"08S01", "08003", "08007", "57P01", "57P02", "57P03", "HYT01"})


@dataclass(frozen=True)
class Failure:
    """What went wrong, already scrubbed of secrets."""

    status: ObservationStatus
    message: str
    connection_lost: bool = False


def describe(exc: BaseException, secrets: Sequence[str | None]) -> tuple[str, str]:
    """(SQLSTATE, one-line scrubbed message) of a pyodbc error or any other exception."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        state, message = args[0], args[1]
    else:
        state, message = "", f"{type(exc).__name__}: {exc}"
    message = re.sub(r"^\[[0-9A-Z]{5}\]\s*", "", message.strip())
    message = re.sub(r"\s*\(SQL\w+\)$", "", message)
    message = " ".join(message.split())
    return state, scrub(f"{state} {message}".strip(), secrets)


def connect_failure(exc: BaseException, secrets: Sequence[str | None]) -> Failure:
    """Login failed -> denied; no answer, no host, refused -> unreachable; else error."""
    state, message = describe(exc, secrets)
    if state.startswith("28") or _DENIED.search(message):
        return Failure(Status.DENIED, message)
    if state in ("HYT00", "HYT01", "08001", "08S01", "08004") or _UNREACHABLE.search(message):
        return Failure(Status.UNREACHABLE, message)
    return Failure(Status.ERROR, message)


def query_failure(exc: BaseException, secrets: Sequence[str | None]) -> Failure:
    """Permission -> denied; statement timeout -> timeout; lost connection -> error."""
    state, message = describe(exc, secrets)
    if state in _LOST_STATES or "connection has been lost" in message.lower():
        return Failure(Status.ERROR, f"connection lost: {message}", connection_lost=True)
    if state == "42501" or _PERMISSION.search(message):
        return Failure(Status.DENIED, message)
    if state in ("57014", "HYT00") or _TIMEOUT.search(message):
        return Failure(Status.TIMEOUT, message)
    return Failure(Status.ERROR, message)


# --- probes ---------------------------------------------------------------------------------

def now_utc() -> dt.datetime:
    """The collector's clock."""
    return dt.datetime.now(dt.UTC)


def major_version(product_version: object) -> int | None:
    """'11.0.6020.0' -> 11."""
    match = re.match(r"\s*(\d+)\.", str(product_version or ""))
    return int(match.group(1)) if match else None


def applies(probe: SqlProbe, inst: SqlInstance, dialect: Dialect | None,
            major: int | None) -> bool:
    """Whether the probe is for this instance; dialect None: only probes every dialect has."""
    if probe.roles is not None and inst.role.value not in probe.roles:
        return False
    if dialect is None:
        return probe.min_major_version is None and all(probe.text(d) for d in Dialect)
    if probe.text(dialect) is None:
        return False
    return probe.min_major_version is None or (
        major is not None and major >= probe.min_major_version)


def _usable_clock(row: dict[str, Any] | None) -> bool:
    return row is not None and all(isinstance(row.get(k), dt.datetime)
                                   for k in ("local_now", "utc_now"))


def bind(probe: SqlProbe, clock: dict[str, Any], catalogue: Catalogue) -> list[Any]:
    """The probe's parameters, from the server's own clock (never the collector's)."""
    local_now = clock["local_now"].replace(microsecond=0)
    utc_now = clock["utc_now"].replace(microsecond=0)
    since = local_now - dt.timedelta(days=catalogue.history_days)
    known: dict[str, Any] = {
        "since_local": since,
        "restore_since_local": local_now - dt.timedelta(days=catalogue.restore_history_days),
        "since_yyyymmdd": int(since.strftime("%Y%m%d")),
        "usage_since_utc": utc_now - dt.timedelta(days=CDR_USAGE_DAYS),
    }
    missing = [name for name in probe.parameters if name not in known]
    if missing:
        raise KeyError(f"probe {probe.name} wants unknown parameter {missing[0]}")
    return [known[name] for name in probe.parameters]


def fetch_rows(conn: Any, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """Run one statement with bound parameters; rows as dicts of what the driver returned."""
    cursor = conn.cursor()
    try:
        cursor.execute(sql, *params)
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
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
                  scrub(self.conn_str, self.secrets))
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
        except Exception as exc:  # noqa: BLE001
            self.close()
            return query_failure(exc, self.secrets)
        return None

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

    def run(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]] | Failure:
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
            return fetch_rows(self.conn, sql, params)
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
            rows: list[dict[str, Any]] | None = None, error: str | None = None,
            parameters: dict[str, Any] | None = None) -> Observation:
        try:
            obs = make_observation(source=Source.SQL, probe=probe, target=self.inst.server_name,
                                   started_at=started, finished_at=now_utc(), status=status,
                                   data=rows, error=error, parameters=parameters)
        except TypeError as exc:  # a driver type with no canonical JSON form
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
        found: list[Observation] = []
        total = len(instances)
        context.progress("sql", 0, total)
        with ThreadPoolExecutor(max_workers=min(self.workers, max(total, 1)),
                                thread_name_prefix="sql") as pool:
            futures = [pool.submit(self.collect_instance, inst, secret)
                       for inst, secret in zip(instances, secrets, strict=True)]
            for done, future in enumerate(as_completed(futures), start=1):
                found.extend(future.result())
                context.progress("sql", done, total)
        return sorted(found, key=lambda o: o.id)

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
        clock = session.clock if clock_obs.ok and _usable_clock(session.clock) else None
        major = major_version(clock.get("product_version")) if clock else None
        for probe in self.catalogue.sql:
            if probe.name == "server_time" or not applies(probe, recorder.inst, dialect, major):
                continue
            if not probe.parameters:
                self._run_one(session, recorder, probe, dialect, [])
            elif clock is not None:
                self._run_one(session, recorder, probe, dialect, bind(probe, clock,
                                                                      self.catalogue))
            else:
                recorder.add(probe.name, now_utc(), Status.ERROR,
                             error="not run: its parameters come from the server clock, and "
                             f"server_time ended {clock_obs.status.value} or gave no usable "
                             "local_now/utc_now")

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
            session.clock = result[0] if len(result) == 1 else None
        log.debug("sql %s: %s returned %d rows", recorder.inst.server_name, probe.name,
                  len(result))
        return recorder.add(probe.name, started, Status.OK, rows=result, parameters=named)


# --- preflight -------------------------------------------------------------------------------

def _endpoint(inst: SqlInstance) -> tuple[str, int] | None:
    """(host, port) from the connection string, when it names a TCP port."""
    pairs = parse_connection_string(inst.connection or "")
    server = get_key(pairs, "SERVER") or get_key(pairs, "Servername") or inst.host
    server = re.sub(r"(?i)^tcp:", "", server)
    port_text = get_key(pairs, "PORT")
    if "," in server:
        server, port_text = server.split(",", 1)
    if port_text is None:
        if "\\" in server:
            return None  # a named instance: SQL Browser gives the port
        port_text = "5432" if driver_kind(pairs) is DriverKind.PSQLODBC else "1433"
    try:
        return server.strip(), int(port_text)
    except ValueError:
        return None


def _tcp_check(inst: SqlInstance) -> PreflightCheck:
    where = inst.server_name
    endpoint = _endpoint(inst)
    if endpoint is None:
        return PreflightCheck(where, "reachable", True, "named instance: the port comes from "
                              "SQL Browser (checked by the login below)")
    host, port = endpoint
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=inst.login_timeout_seconds):
            pass
    except OSError as exc:
        return PreflightCheck(where, "reachable", False, f"TCP {host}:{port}: {exc}",
                              fix="check the host name, the port, the firewall and that the "
                              "SQL Server service listens on TCP")
    return PreflightCheck(where, "reachable", True, f"TCP {host}:{port} accepted in "
                          f"{(time.monotonic() - started) * 1000:.0f} ms")


def preflight_sql(loaded: LoadedInventory, *, interactive: bool | None = None,
                  connect: Connect | None = None) -> list[PreflightCheck]:
    """Per instance: reachable, login, and each permission the probes need, with the fixes."""
    collector = SqlCollector(connect=connect, interactive=interactive)
    checks: list[PreflightCheck] = []
    for inst in loaded.inventory.sql_instances:
        if not inst.connection:
            checks.append(PreflightCheck(inst.server_name, "connection string", False,
                                         "the inventory gives no connection string",
                                         fix="add connection: to the instance"))
            continue
        checks.append(_tcp_check(inst))
        checks.extend(_login_and_permissions(collector, inst))
    return checks


def _login_and_permissions(collector: SqlCollector, inst: SqlInstance) -> list[PreflightCheck]:
    where = inst.server_name
    secret = collector._secret(inst)
    login = secret.username if isinstance(secret, Secret) and secret.username else "<login>"
    with collector.session(inst, secret) as opened:
        if isinstance(opened, Failure):
            return [PreflightCheck(where, "login", False, f"{opened.status.value}: "
                                   f"{opened.message}", fix=_login_fix(opened.status))]
        tls = "TLS required" if inst.encrypt else "TLS not required (encrypt: false opt-out)"
        checks = [PreflightCheck(where, "login", True, f"connected to {opened.info.get('dbms')} "
                                 f"{opened.info.get('version')}; {tls}")]
        recorder = _Recorder(inst)
        collector._run_probes(opened, recorder)
    by_permission: dict[Permission, list[Observation]] = {}
    for obs in recorder.found:
        permission = PROBE_PERMISSIONS.get(obs.probe)
        if permission is not None:
            by_permission.setdefault(permission, []).append(obs)
    for permission, observations in by_permission.items():
        bad = [o for o in observations if not o.ok]
        probes = ", ".join(sorted(o.probe for o in observations))
        if not bad:
            checks.append(PreflightCheck(where, permission.value, True, f"read by {probes}"))
            continue
        detail = "; ".join(f"{o.probe} {o.status.value}: {o.error}" for o in bad[:2])
        fix = (PERMISSION_FIX[permission].format(login=login)
               if any(o.status is Status.DENIED for o in bad) else None)
        checks.append(PreflightCheck(where, permission.value, False, detail, fix=fix))
    return checks


def _login_fix(status: ObservationStatus) -> str:
    if status is Status.DENIED:
        return ("check the login and its password source (env/keyring/prompt), and that the "
                "login may open msdb: USE msdb; CREATE USER [login] FOR LOGIN [login];")
    if status is Status.UNREACHABLE:
        return "check the host, the port, the firewall and the SQL Server service"
    return "check the connection string (DRIVER=, SERVER=, DATABASE=msdb) and the TLS setting"
