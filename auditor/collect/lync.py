"""Live Lync Server collection over PowerShell remoting (WinRM + PSRP, pypsrp).

One WSMan connection and one RunspacePool per server. Deployment, pool and share probes run on
the first reachable management server; server probes run on each server itself, in parallel
with a bounded number of workers. A catalogue cmdlet is built with add_cmdlet/add_parameter, a
constant script with add_script/add_parameter: inventory values only ever travel as parameters.
Output objects arrive as CLIXML and are converted here (never through ConvertTo-Json): .NET
DateTime to ISO 8601 with its offset, Int64 and Decimal exactly, enums by name, collections as
lists. Each command has its own deadline, after which the pipeline is stopped. Failures are
observations: unreachable, denied, timeout or error, with messages that never hold the secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import AuthenticationError, WinRMError, WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from auditor.canonical import JsonValue
from auditor.collect.base import CollectContext, PreflightCheck
from auditor.collect.credentials import Secret, SecretUnavailableError, resolve
from auditor.evidence import Observation, ObservationStatus, Source, make_observation
from auditor.facts.lync import share_paths
from auditor.inventory import LoadedInventory, LyncAccess, LyncAuth, LyncTransport
from auditor.probes.catalogue import HERE as PROBES_DIR
from auditor.probes.catalogue import Catalogue, PsProbe, Scope, load_catalogue

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 32
"""Servers collected at once, as Invoke-Command's default -ThrottleLimit: each is its own WinRM
session on its own server, mostly waiting on the network (benchmarks/lync.py)."""
CONNECT_ENV = "AUDITOR_LYNC_CONNECT"
"""Lab aid, like curl --connect-to: `fqdn=addr:port,*=addr:port` sends a server's WinRM
connection elsewhere (the loopback endpoint of `auditor lab lync`)."""
Status = ObservationStatus
Row = dict[str, JsonValue]
NESTED = {"backup_service_status": "BackupModules", "server_inventory": "Products"}
"""Properties holding objects. Remoting serialises output at depth 1, so these would arrive as
their ToString() strings; the probe's pipeline also reads them with
`... | Select-Object -ExpandProperty <name>` (a second statement of the same invocation)."""
SWITCH = "switch"
"""A catalogue parameter whose value is `switch` is passed as a constant switch."""


@dataclass(frozen=True)
class Failure:
    """What went wrong, already scrubbed of secrets."""

    status: ObservationStatus
    message: str
    connection_lost: bool = False


class _FailedError(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


@dataclass(frozen=True)
class Task:
    """One probe on one target, with the parameters it is given."""

    probe: PsProbe
    target: str
    parameters: dict[str, Any]
    problem: str | None = None


def now_utc() -> dt.datetime:
    """The collector's clock."""
    return dt.datetime.now(dt.UTC)


# --- plan -----------------------------------------------------------------------------------

def plan(loaded: LoadedInventory, catalogue: Catalogue) -> tuple[list[Task], dict[str, list[Task]]]:
    """(management tasks, server tasks by server FQDN) for every probe and target."""
    inv = loaded.inventory
    management: list[Task] = []
    servers: dict[str, list[Task]] = {s.fqdn: [] for s in inv.servers}
    for probe in catalogue.powershell:
        if probe.scope is Scope.DEPLOYMENT:
            values: dict[str, Any] = {}
            if inv.export_share is not None:
                values["export_share.unc"] = inv.export_share.unc
            management.append(_task(probe, "deployment", values))
        elif probe.scope is Scope.POOL:
            management.extend(_task(probe, p.fqdn, {"pool.fqdn": p.fqdn}) for p in inv.pools)
        elif probe.scope is Scope.SHARE:
            management.extend(_task(probe, s, {"share.unc": s}) for s in share_paths(inv))
        elif probe.scope is Scope.SERVER:
            for server in inv.servers:
                servers[server.fqdn].append(_task(probe, server.fqdn,
                                                  {"server.fqdn": server.fqdn}))
    return management, servers


def _task(probe: PsProbe, target: str, values: Mapping[str, Any]) -> Task:
    params: dict[str, Any] = {}
    for name, source in probe.parameters.items():
        if source == SWITCH:
            params[name] = True
        elif source in values:
            params[name] = values[source]
        else:
            return Task(probe, target, params, f"not run: the inventory gives no {source}")
    return Task(probe, target, params)


# --- CLIXML -> JSON -------------------------------------------------------------------------

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NET_DATE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
_CONTAINERS = {"LST", "IE", "STK", "QUE"}


def _string(text: str | None) -> str:
    """A CLIXML string: `_xHHHH_` escapes are UTF-16 code units (surrogate pairs too)."""
    if not text or "_x" not in text:
        return text or ""
    units = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def net_datetime(text: str) -> str:
    """A .NET DateTime as ISO 8601: the offset kept (Kind Utc `Z`, Local `+hh:mm`); a DateTime
    of Kind Unspecified stays without one, which the facts refuse rather than guess."""
    match = _NET_DATE.match(text.strip())
    if not match:
        return text
    base, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    stamp = dt.datetime.fromisoformat(base).replace(microsecond=micro)
    if zone:
        stamp = stamp.replace(tzinfo=dt.UTC if zone == "Z" else dt.datetime.strptime(
            zone.replace(":", ""), "%z").tzinfo)
    return stamp.isoformat()


def _number(text: str) -> JsonValue:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return int(value) if value == value.to_integral_value() else str(value)


def _float(text: str) -> JsonValue:
    value = float(text)
    return value if math.isfinite(value) else text


_PRIMITIVES: dict[str, Callable[[str], JsonValue]] = {
    "S": _string, "C": lambda t: chr(int(t)), "B": lambda t: t.strip().lower() == "true",
    "DT": net_datetime, "TS": str, "By": int, "SB": int, "U16": int, "I16": int, "U32": int,
    "I32": int, "U64": int, "I64": int, "Sg": _float, "Db": _float, "D": _number, "G": str,
    "URI": _string, "Version": str, "XD": _string, "SBK": _string, "BA": str,
}


class Clixml:
    """Converts one serialised object (and what it refers to) to JSON values."""

    def __init__(self) -> None:
        self.refs: dict[str, JsonValue] = {}
        self.type_names: dict[str, list[str]] = {}

    def value(self, element: ET.Element) -> JsonValue:
        """Any CLIXML element: a primitive, a reference or an object."""
        tag = _local(element.tag)
        if tag in _PRIMITIVES:
            return _PRIMITIVES[tag](element.text or "")
        if tag == "Nil" or tag == "SS":  # a SecureString is never decrypted
            return None
        if tag == "Ref":
            return self.refs.get(element.get("RefId", ""))
        if tag == "Obj":
            return self._object(element)
        raise ValueError(f"unknown CLIXML element <{tag}>")

    def _object(self, element: ET.Element) -> JsonValue:
        types: list[str] = []
        props: dict[str, JsonValue] = {}
        items: list[JsonValue] | None = None
        mapping: dict[str, JsonValue] | None = None
        primitive: tuple[bool, JsonValue] = (False, None)
        to_string: str | None = None
        for child in element:
            tag = _local(child.tag)
            if tag == "TN":
                types = [t.text or "" for t in child]
                self.type_names[child.get("RefId", "")] = types
            elif tag == "TNRef":
                types = self.type_names.get(child.get("RefId", ""), [])
            elif tag in ("Props", "MS"):
                for prop in child:
                    props[_string(prop.get("N"))] = self.value(prop)
            elif tag in _CONTAINERS:
                items = [self.value(i) for i in child]
            elif tag == "DCT":
                mapping = {}
                for entry in child:
                    key = next((c for c in entry if c.get("N") == "Key"), None)
                    val = next((c for c in entry if c.get("N") == "Value"), None)
                    if key is not None:
                        mapping[str(self.value(key))] = None if val is None else self.value(val)
            elif tag == "ToString":
                to_string = _string(child.text)
            else:
                primitive = (True, self.value(child))
        result: JsonValue
        if items is not None:
            result = items
        elif mapping is not None:
            result = mapping
        elif "System.Enum" in types:
            result = to_string if to_string is not None else primitive[1]
        elif props:
            result = props
        elif primitive[0]:
            result = primitive[1]
        else:
            result = to_string
        self.refs[element.get("RefId", "")] = result
        return result


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def to_json(value: Any) -> JsonValue:
    """One output object as pypsrp delivered it: complex objects are re-read from their CLIXML
    (pypsrp keeps it), primitives taken as they are."""
    xml = getattr(value, "_xml", None)
    if isinstance(xml, str):
        # pypsrp parsed this same text with ElementTree already; expat >= 2.4.1 caps entity
        # expansion, so a hostile server gets no further here than in pypsrp.
        return Clixml().value(ET.fromstring(xml))  # noqa: S314
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def rows_of(outputs: Sequence[Any], select: Sequence[str]) -> list[Row]:
    """Rows with exactly the selected properties (missing ones null), as Select-Object gives."""
    rows = []
    for i, out in enumerate(outputs, start=1):
        value = _converted(out, i)
        if not isinstance(value, dict):
            shown = repr(value)[:80]
            raise _FailedError(Failure(Status.ERROR, f"malformed output: object {i} is not an "
                                       f"object with properties but {shown}"))
        lowered = {k.lower(): v for k, v in value.items()}
        rows.append({name: lowered.get(name.lower()) for name in select})
    return rows


def _with_nested(outputs: Sequence[Any], select: Sequence[str], name: str) -> list[Row]:
    """Split a two-statement output: the objects that have the property are the rows, the
    others its expanded items. Items replace the property's depth-1 strings (a server whose
    types keep them as objects is taken as it is)."""
    rows_out, items = [], []
    for i, out in enumerate(outputs, start=1):
        value = _converted(out, i)
        if isinstance(value, dict) and name.lower() in {k.lower() for k in value}:
            rows_out.append(out)
        elif isinstance(value, dict):
            items.append(value)
        else:
            raise _FailedError(Failure(Status.ERROR, f"malformed output: object {i} is "
                                       f"{repr(value)[:80]}"))
    rows = rows_of(rows_out, select)
    nested = [row.get(name) for row in rows]
    if all(isinstance(v, list) and all(isinstance(i, dict) for i in v) for v in nested):
        return rows
    if len(rows) != 1:
        raise _FailedError(Failure(Status.ERROR, f"{name} came back as strings on {len(rows)} "
                                   "objects and cannot be told apart"))
    return [{**rows[0], name: list(items)}]


def _converted(out: Any, i: int) -> JsonValue:
    try:
        return to_json(out)
    except (ET.ParseError, ValueError) as exc:
        raise _FailedError(Failure(Status.ERROR, f"malformed output object {i}: {exc}")
                           ) from None


# --- errors -> statuses ---------------------------------------------------------------------

WIRE_LOGGERS = ("pypsrp", "spnego", "requests_credssp", "urllib3")


class _ScrubFilter(logging.Filter):
    """Masks the secret in records of the transport libraries (a server may echo it)."""

    def __init__(self, secret: Secret | None) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self.secret)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


@contextmanager
def guarded_logs(secret: Secret | None) -> Iterator[None]:
    """While collecting: pypsrp at WARNING at most (at DEBUG it logs every SOAP message, with
    every parameter and every reply), and the secret masked in any record of the transports."""
    names = [n for n in list(logging.root.manager.loggerDict)
             if n.split(".", 1)[0] in WIRE_LOGGERS]
    loggers = [logging.getLogger(n) for n in dict.fromkeys([*WIRE_LOGGERS, *names])]
    quiet = logging.getLogger("pypsrp")
    level = quiet.level
    if quiet.getEffectiveLevel() < logging.WARNING:
        quiet.setLevel(logging.WARNING)
    guard = _ScrubFilter(secret)
    for logger in loggers:
        logger.addFilter(guard)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(guard)
        quiet.setLevel(level)


def scrub(text: str, secret: Secret | None) -> str:
    """The text without the password, in any form the transports could have echoed."""
    if secret is None or not secret.password:
        return text
    forms = {secret.password}
    if secret.username is not None:
        forms.add(base64.b64encode(f"{secret.username}:{secret.password}".encode()).decode())
    for form in forms:
        text = text.replace(form, "***")
    return text


def transport_failure(exc: BaseException, where: str, *, opening: bool) -> Failure:
    """A pypsrp/requests exception as a status (see the module docstring)."""
    lost = not opening
    if isinstance(exc, AuthenticationError):
        return Failure(Status.DENIED, f"{where}: the login was refused (HTTP 401)")
    if isinstance(exc, WSManFaultError):
        status = Status.DENIED if exc.code in (5, 2147942405) else Status.ERROR
        return Failure(status, f"{where}: WSMan fault {exc.code}: {exc.reason}")
    if isinstance(exc, WinRMTransportError):
        status = Status.DENIED if exc.code in (401, 403) else Status.ERROR
        return Failure(status, f"{where}: HTTP {exc.code} from the WinRM service")
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(Status.ERROR, f"{where}: TLS failed (is the certificate trusted? set "
                       f"lync.ca_bundle): {_first_line(exc)}", lost)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(Status.UNREACHABLE, f"{where}: no TCP connection within the connect "
                       "timeout", lost)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        if opening:  # as the SQL collector's login timeout: no answer is unreachable
            return Failure(Status.UNREACHABLE, f"{where}: no answer within the read timeout")
        return Failure(Status.TIMEOUT, f"{where}: no answer within the read timeout", True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if opening:
            return Failure(Status.UNREACHABLE, f"{where}: {_first_line(exc)}")
        return Failure(Status.ERROR, f"{where}: connection lost: {_first_line(exc)}", True)
    if isinstance(exc, ImportError):
        return Failure(Status.ERROR, f"{where}: {exc} (install the pypsrp extra for this auth)")
    return Failure(Status.ERROR, f"{where}: {type(exc).__name__}: {_first_line(exc)}", lost)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300]


_DENIED_IDS = re.compile(r"(?i)unauthorizedaccess|accessdenied|pssecurityexception|"
                         r"notauthorized|permissiondenied")


def record_failure(command: str, records: Sequence[Any], had_errors: bool) -> Failure:
    """Error records as a status: denied when a record says access was refused."""
    if not records:
        return Failure(Status.ERROR, f"{command} failed without an error record")
    first = records[0]
    category = getattr(first, "category", None)
    ids = " ".join(str(getattr(first, a, "") or "") for a in ("fq_error", "reason"))
    denied = category == 18 or bool(_DENIED_IDS.search(ids))
    kind = "terminating error" if had_errors else "error record"
    fq = getattr(first, "fq_error", None)
    more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
    message = f"{command}: {kind}: {_first_line(Exception(str(first)))}"
    return Failure(Status.DENIED if denied else Status.ERROR,
                   message + (f" [{fq}]" if fq else "") + more)


# --- sessions -------------------------------------------------------------------------------

def parse_connect_to(text: str) -> dict[str, str]:
    """`fqdn=addr:port,*=addr:port` (see CONNECT_ENV) as {fqdn-lower: addr:port}."""
    mapping = {}
    for part in text.split(","):
        name, sep, where = part.strip().partition("=")
        if sep and name.strip() and where.strip():
            mapping[name.strip().lower()] = where.strip()
    return mapping


def _split_address(where: str) -> tuple[str, int | None]:
    host, sep, port = where.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return where, None


@dataclass
class Session:
    """One server's WSMan connection and RunspacePool; reconnected at most once if it drops."""

    host: str
    access: LyncAccess
    secret: Secret
    ca_bundle: str | None = None
    address: str | None = None
    poll_seconds: int = 5
    wsman: Any = None
    pool: Any = None
    reconnects: int = 0
    scripts: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """How the server is named in messages."""
        https = self.access.transport is LyncTransport.HTTPS
        port = self.access.port or (5986 if https else 5985)
        via = f" via {self.address}" if self.address else ""
        return f"WinRM {self.host}:{port}{via}"

    def _connection(self) -> Any:
        https = self.access.transport is LyncTransport.HTTPS
        server, port = _split_address(self.address) if self.address else (self.host, None)
        port = port or self.access.port or (5986 if https else 5985)
        validation: Any = True
        if https:
            encryption, validation = "auto", (self.ca_bundle or True)
        else:  # message encryption unless basic was explicitly allowed over http
            basic = self.access.auth is LyncAuth.BASIC
            encryption = "never" if basic else "always"
        operation = max(1, min(20, self.access.command_timeout_seconds))
        connect = self.access.connect_timeout_seconds
        return WSMan(server, port=port, ssl=https, auth=self.access.auth.value,
                     username=self.secret.username, password=self.secret.password,
                     cert_validation=validation, encryption=encryption,
                     operation_timeout=operation, read_timeout=operation + connect,
                     connection_timeout=connect, reconnection_retries=0,
                     reconnection_backoff=0.1)

    def open(self) -> Failure | None:
        """Connect and open the RunspacePool; the Failure when it cannot."""
        try:
            self.wsman = self._connection()
            self.pool = RunspacePool(self.wsman)
            self.pool.open()
        except Exception as exc:  # noqa: BLE001 - every failure becomes an observation
            self.close()
            failure = transport_failure(exc, self.where, opening=True)
            return Failure(failure.status, scrub(failure.message, self.secret))
        log.debug("%s: runspace pool open", self.where)
        return None

    def close(self) -> None:
        """Close quietly: a lost connection cannot be closed cleanly."""
        pool, wsman, self.pool, self.wsman = self.pool, self.wsman, None, None
        try:
            if pool is not None:
                pool.close()
            if wsman is not None:
                wsman.close()
        except Exception as exc:  # noqa: BLE001
            log.debug("%s: close failed: %s", self.where, type(exc).__name__)

    def run(self, task: Task) -> list[Row] | Failure:
        """The probe's rows, or the Failure; after a lost connection one reconnect."""
        if self.pool is None:
            if self.reconnects >= 1:
                return Failure(Status.ERROR, "not run: the connection was lost and a reconnect "
                               "failed")
            self.reconnects += 1
            failure = self.open()
            if failure is not None:
                return Failure(failure.status, f"reconnect failed: {failure.message}")
        probe = task.probe
        nested = NESTED.get(probe.name)
        nested = nested if nested in probe.select else None
        label = probe.command or probe.script or probe.name
        try:
            outputs = self.call(self._builder(task, nested), label)
            if nested is None:
                return rows_of(outputs, probe.select)
            return _with_nested(outputs, probe.select, nested)
        except _FailedError as err:
            failure = err.failure
        except Exception as exc:  # noqa: BLE001
            failure = transport_failure(exc, self.where, opening=False)
            if failure.connection_lost:
                self.close()
        return Failure(failure.status, scrub(failure.message, self.secret),
                       failure.connection_lost)

    def _builder(self, task: Task, nested: str | None) -> Callable[[Any], None]:
        """The probe's pipeline. With a nested property, two statements in one invocation:
        the command, then the command again with `| Select-Object -ExpandProperty <name>`."""
        probe = task.probe

        def add(ps: Any) -> None:
            if probe.command:
                ps.add_cmdlet(probe.command)
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)
                ps.add_parameter("ErrorAction", "Stop")
            else:
                if probe.name not in self.scripts:
                    self.scripts[probe.name] = probe.script_text() or ""
                ps.add_script(self.scripts[probe.name])
                for name, value in task.parameters.items():
                    ps.add_parameter(name, value)

        def build(ps: Any) -> None:
            add(ps)
            if nested:
                ps.add_statement()
                add(ps)
                ps.add_cmdlet("Select-Object").add_parameter("ExpandProperty", nested)

        return build

    def call(self, build: Callable[[Any], None], label: str,
             deadline: float | None = None) -> list[Any]:
        """Run one pipeline to its end or its deadline; its output objects as pypsrp gives
        them. Error records raise _FailedError; transport failures raise as they are."""
        if deadline is None:
            deadline = time.monotonic() + self.access.command_timeout_seconds
        ps = PowerShell(self.pool)
        build(ps)
        ps.begin_invoke()
        while ps.state == PSInvocationState.RUNNING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                ps.stop()
                self._terminate(ps)
                raise _FailedError(Failure(Status.TIMEOUT, f"{label} did not finish within "
                                           f"{self.access.command_timeout_seconds} s; the "
                                           "pipeline was stopped"))
            ps.poll_invoke(timeout=max(1, min(self.poll_seconds, math.ceil(remaining))))
        errors, had_errors, output = list(ps.streams.error), bool(ps.had_errors), list(ps.output)
        self._terminate(ps)
        if had_errors or errors:
            raise _FailedError(record_failure(label, errors, had_errors))
        return output

    def _terminate(self, ps: Any) -> None:
        try:
            ps.close()
        except (WinRMError, requests.exceptions.RequestException) as exc:
            log.debug("%s: closing a pipeline failed: %s", self.where, type(exc).__name__)
            self.close()


# --- the collector ----------------------------------------------------------------------------

def _observation(task: Task, started: dt.datetime, result: list[Row] | Failure) -> Observation:
    if isinstance(result, Failure):
        if result.status is not Status.OK:
            log.info("lync %s on %s ended %s: %s", task.probe.name, task.target,
                     result.status.value, result.message)
        return make_observation(source=Source.LYNC, probe=task.probe.name, target=task.target,
                                started_at=started, finished_at=now_utc(),
                                status=result.status, error=result.message,
                                parameters=task.parameters)
    return make_observation(source=Source.LYNC, probe=task.probe.name, target=task.target,
                            started_at=started, finished_at=now_utc(), status=Status.OK,
                            data=result, parameters=task.parameters)


def _fail(tasks: Sequence[Task], failure: Failure) -> list[Observation]:
    started = now_utc()
    return [_observation(t, started, failure) for t in tasks]


class LyncCollector:
    """Collects every PowerShell probe of the catalogue from the inventory's Lync servers."""

    name = "lync"

    def __init__(self, *, workers: int = DEFAULT_WORKERS, catalogue: Catalogue | None = None,
                 interactive: bool | None = None, connect_to: Mapping[str, str] | None = None,
                 poll_seconds: int = 5) -> None:
        self.workers = max(1, workers)
        self.catalogue = catalogue or load_catalogue()
        self.interactive = interactive
        self.connect_to = {k.lower(): v for k, v in (connect_to or {}).items()}
        self.poll_seconds = poll_seconds

    def collect(self, context: CollectContext) -> list[Observation]:
        """All observations; a server that fails still yields observations saying why."""
        loaded = context.inventory
        access = loaded.inventory.lync
        if access is None:
            return []
        management, servers = plan(loaded, self.catalogue)
        secret = self._secret(access)
        managers = {h.lower() for h in access.management_servers}
        others = [fqdn for fqdn in servers if fqdn.lower() not in managers]
        total = 1 + len(others)
        found: list[Observation] = []
        context.progress("lync", 0, total)
        guarded = secret if isinstance(secret, Secret) else None
        with guarded_logs(guarded), ThreadPoolExecutor(max_workers=min(self.workers, total),
                                                       thread_name_prefix="lync") as pool:
            futures = [pool.submit(self._management, loaded, access, secret, management,
                                   servers)]
            futures += [pool.submit(self._server, loaded, access, secret, fqdn, servers[fqdn])
                        for fqdn in others]
            for done, future in enumerate(as_completed(futures), start=1):
                found.extend(future.result())
                context.progress("lync", done, total)
        return sorted(found, key=lambda o: o.id)

    def _secret(self, access: LyncAccess) -> Secret | SecretUnavailableError:
        try:
            return resolve(access.credential, access.management_servers[0],
                           interactive=self.interactive)
        except SecretUnavailableError as exc:
            return exc

    def session(self, loaded: LoadedInventory, access: LyncAccess, secret: Secret,
                host: str) -> Session:
        """A (not yet open) session to one server."""
        connect_to = self.connect_to or parse_connect_to(os.environ.get(CONNECT_ENV, ""))
        address = connect_to.get(host.lower()) or connect_to.get("*")
        ca_bundle = str(loaded.relative(access.ca_bundle)) if access.ca_bundle else None
        return Session(host, access, secret, ca_bundle, address, self.poll_seconds)

    def _run(self, session: Session, tasks: Sequence[Task]) -> list[Observation]:
        found = []
        try:
            for task in tasks:
                started = now_utc()
                if task.problem is not None:
                    found.append(_observation(task, started, Failure(Status.ERROR,
                                                                     task.problem)))
                    continue
                found.append(_observation(task, started, session.run(task)))
        finally:
            session.close()
        return found

    def _server(self, loaded: LoadedInventory, access: LyncAccess,
                secret: Secret | SecretUnavailableError, host: str,
                tasks: Sequence[Task]) -> list[Observation]:
        if isinstance(secret, SecretUnavailableError):
            return _fail(tasks, Failure(Status.DENIED, f"no secret: {secret}"))
        session = self.session(loaded, access, secret, host)
        failure = session.open()
        if failure is not None:
            return _fail(tasks, failure)
        return self._run(session, tasks)

    def _management(self, loaded: LoadedInventory, access: LyncAccess,
                    secret: Secret | SecretUnavailableError, tasks: Sequence[Task],
                    servers: Mapping[str, Sequence[Task]]) -> list[Observation]:
        """Deployment, pool and share probes on the first reachable management server."""
        own = {fqdn.lower(): list(t) for fqdn, t in servers.items()}
        if isinstance(secret, SecretUnavailableError):
            failure = Failure(Status.DENIED, f"no secret: {secret}")
            mine = [t for h in access.management_servers for t in own.get(h.lower(), [])]
            return _fail([*tasks, *mine], failure)
        found: list[Observation] = []
        tried: list[str] = []
        attempts: list[Failure] = []
        opened = False
        for host in access.management_servers:
            tried.append(host.lower())
            session = self.session(loaded, access, secret, host)
            refused = session.open()
            if refused is None:
                found += self._run(session, [*tasks, *own.get(host.lower(), [])])
                opened = True
                break
            attempts.append(refused)
            found += _fail(own.get(host.lower(), []), refused)
            if refused.status not in (Status.UNREACHABLE, Status.TIMEOUT):
                break  # reachable but refused: another server would refuse the same account
        if not opened:
            found += _fail(tasks, Failure(attempts[-1].status, "no management server could be "
                                          "used: " + "; ".join(a.message for a in attempts)))
        for host in access.management_servers:
            if host.lower() not in tried and host.lower() in own:
                found += self._server(loaded, access, secret, host, own[host.lower()])
        return found


# --- preflight ------------------------------------------------------------------------------

ROLE_GRANTS: dict[str, frozenset[str]] = {
    "csviewonlyadministrator": frozenset({
        "csviewonlyadministrator", "csserveradministrator", "csadministrator",
        "rtcuniversalserveradmins", "rtcuniversaluseradmins"}),
    "rtcuniversalserveradmins": frozenset({"rtcuniversalserveradmins"}),
    "local administrators (wmi read)": frozenset({"builtin\\administrators"}),
}
"""Per catalogue `rbac` requirement, the groups (Lync RBAC roles are universal groups) that
meet it. `file share read` is checked by Test-Path on each share instead."""
ROLE_FIX = {
    "csviewonlyadministrator": "Add-ADGroupMember -Identity CsViewOnlyAdministrator -Members "
                               "{user}  (or grant it with Grant-CsAdminRole)",
    "rtcuniversalserveradmins": "Add-ADGroupMember -Identity RTCUniversalServerAdmins -Members "
                                "{user}  (Get-CsBackupServiceStatus needs it, or a group in "
                                "Set-CsBackupServiceConfiguration -AuthorizedUniversalGroups)",
    "local administrators (wmi read)": "Add-LocalGroupMember -Group Administrators -Member "
                                       "{user}  (on that server; WMI and the registry are read)",
}
IDENTITY_SCRIPT = "audit_identity.ps1"


def _holds(requirement: str, groups: Sequence[str]) -> bool:
    grants = ROLE_GRANTS[requirement]
    for group in groups:
        low = group.lower()
        if low in grants or low.rsplit("\\", 1)[-1] in grants:
            return True
    return False


def preflight_lync(loaded: LoadedInventory, *, interactive: bool | None = None,
                   connect_to: Mapping[str, str] | None = None) -> list[PreflightCheck]:
    """Per Lync server: reachable, login, and each role the probes run there need."""
    access = loaded.inventory.lync
    if access is None:
        return [PreflightCheck("lync", "inventory", False, "the inventory has no lync: section",
                               fix="add lync: {management_servers: [<front end FQDN>]}")]
    collector = LyncCollector(interactive=interactive, connect_to=connect_to)
    checks = [_transport_check(access)]
    secret = collector._secret(access)
    hosts = list(dict.fromkeys([*access.management_servers,
                                *(s.fqdn for s in loaded.inventory.servers)]))
    managers = {h.lower() for h in access.management_servers}
    with guarded_logs(secret if isinstance(secret, Secret) else None):
        checks += _preflight_hosts(collector, loaded, access, secret, hosts, managers)
    return checks


def _preflight_hosts(collector: LyncCollector, loaded: LoadedInventory, access: LyncAccess,
                     secret: Secret | SecretUnavailableError, hosts: Sequence[str],
                     managers: set[str]) -> list[PreflightCheck]:
    checks: list[PreflightCheck] = []
    for host in hosts:
        if isinstance(secret, SecretUnavailableError):
            checks.append(PreflightCheck(host, "login", False, f"no secret: {secret}",
                                         fix="set the credential's environment variable or "
                                         "keyring entry, or run with a terminal for the prompt"))
            continue
        session = collector.session(loaded, access, secret, host)
        started = time.monotonic()
        failure = session.open()
        if failure is not None:
            reachable = failure.status not in (Status.UNREACHABLE, Status.TIMEOUT)
            checks.append(PreflightCheck(host, "reachable", reachable, failure.message if not
                                         reachable else f"{session.where} answered",
                                         fix=None if reachable else _REACH_FIX))
            if reachable:
                checks.append(PreflightCheck(host, "login", False, failure.message,
                                             fix=_LOGIN_FIX))
            continue
        took = (time.monotonic() - started) * 1000
        checks.append(PreflightCheck(host, "reachable", True, f"{session.where} answered"))
        checks.append(PreflightCheck(host, "login", True, f"runspace pool opened as "
                                     f"{secret.username or 'the current user'} in {took:.0f} ms"))
        try:
            servers = {s.fqdn.lower() for s in loaded.inventory.servers}
            scopes = ({Scope.SERVER} if host.lower() in servers else set()) | (
                {Scope.DEPLOYMENT, Scope.POOL, Scope.SHARE} if host.lower() in managers else set())
            checks += _role_checks(collector, session, host, scopes, loaded, secret)
        finally:
            session.close()
    return checks


_REACH_FIX = ("check the name, the firewall (TCP 5986 for https, 5985 for http) and that WinRM "
              "listens: winrm quickconfig -transport:https")
_LOGIN_FIX = ("check the account and its password source; it must be allowed to log on over "
              "WinRM (Remote Management Users or local Administrators on the server)")


def _transport_check(access: LyncAccess) -> PreflightCheck:
    if access.transport is LyncTransport.HTTPS:
        ca = access.ca_bundle or "the system store"
        return PreflightCheck("lync", "transport", True, f"https, certificates validated "
                              f"against {ca}, auth {access.auth.value}")
    if access.auth is LyncAuth.BASIC:
        return PreflightCheck("lync", "transport", True, "http with basic auth: ALLOWED BY "
                              "allow_basic_over_http, the password crosses the network "
                              "unencrypted", fix="use transport: https")
    return PreflightCheck("lync", "transport", True, f"http with {access.auth.value} message "
                          "encryption")


def _role_checks(collector: LyncCollector, session: Session, host: str, scopes: set[Scope],
                 loaded: LoadedInventory, secret: Secret) -> list[PreflightCheck]:
    manager = Scope.DEPLOYMENT in scopes
    probes = [p for p in collector.catalogue.powershell if p.scope in scopes]
    user = secret.username or "<audit account>"
    checks: list[PreflightCheck] = []
    script = (PROBES_DIR / "ps" / IDENTITY_SCRIPT).read_text(encoding="utf-8")
    identity = _try(session, lambda ps: ps.add_script(script), IDENTITY_SCRIPT)
    groups: list[str] = []
    if isinstance(identity, Failure):
        checks.append(PreflightCheck(host, "identity", False, identity.message))
    else:
        found = to_json(identity[0]) if identity else None
        raw = found.get("Groups") if isinstance(found, dict) else None
        groups = [str(g) for g in raw] if isinstance(raw, list) else []
    for requirement in sorted({p.rbac for p in probes}):
        names = ", ".join(sorted(p.name for p in probes if p.rbac == requirement))
        key = requirement.lower()
        if key == "file share read":
            checks += _share_checks(session, host, loaded, names)
        elif key in ROLE_GRANTS:
            ok = _holds(key, groups)
            checks.append(PreflightCheck(host, requirement, ok, f"{'held' if ok else 'NOT held'}"
                                         f" (needed by {names})",
                                         fix=None if ok else ROLE_FIX[key].format(user=user)))
        else:
            checks.append(PreflightCheck(host, requirement, False, f"cannot be verified "
                                         f"(needed by {names})"))
    if manager:
        checks.append(_cmdlet_check(session, host, probes))
    return checks


def _try(session: Session, build: Callable[[Any], None], label: str) -> list[Any] | Failure:
    try:
        return session.call(build, label)
    except _FailedError as err:
        return err.failure
    except Exception as exc:  # noqa: BLE001
        failure = transport_failure(exc, session.where, opening=False)
        return Failure(failure.status, scrub(failure.message, session.secret))


def _command(name: str, **parameters: Any) -> Callable[[Any], None]:
    def build(ps: Any) -> None:
        ps.add_cmdlet(name)
        for key, value in parameters.items():
            ps.add_parameter(key, value)

    return build


def _share_checks(session: Session, host: str, loaded: LoadedInventory,
                  names: str) -> list[PreflightCheck]:
    checks = []
    for share in share_paths(loaded.inventory):
        result = _try(session, _command("Test-Path", LiteralPath=share), "Test-Path")
        ok = not isinstance(result, Failure) and bool(result) and result[0] is True
        detail = result.message if isinstance(result, Failure) else (
            "readable" if ok else "not found or not readable")
        checks.append(PreflightCheck(host, f"file share read {share}", ok,
                                     f"{detail} (needed by {names})",
                                     fix=None if ok else "grant the audit account Read on the "
                                     "share and on the folder's NTFS ACL"))
    return checks


def _cmdlet_check(session: Session, host: str, probes: Sequence[PsProbe]) -> PreflightCheck:
    missing = []
    for command in sorted({p.command for p in probes if p.command}):
        result = _try(session, _command("Get-Command", Name=command), "Get-Command")
        if isinstance(result, Failure) or not result:
            missing.append(command)
    if missing:
        return PreflightCheck(host, "cmdlets", False, "not available to the account: "
                              + ", ".join(missing), fix="run on a server with the Lync Server "
                              "Management Shell, with a role that includes these cmdlets")
    return PreflightCheck(host, "cmdlets", True, "every probe cmdlet is available")
