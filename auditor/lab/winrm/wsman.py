"""A WinRM (WS-Management) listener on 127.0.0.1 speaking PSRP through psrpcore's server side.

Enough of MS-WSMV and MS-PSRP for pypsrp: Create/Receive/Command/Send/Signal/Delete on the
PowerShell resource, Basic authentication, HTTPS. What each pipeline does is decided by a
handler (see `Invocation` and `Reply`); transport faults (refuse every login, never answer,
drop a connection) are set on the listener. Not for production: one lock serialises all state.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import re
import socket
import ssl
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psrpcore
from psrpcore.types import ErrorCategoryInfo, ErrorRecord, NETException, PSInvocationState

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

OPERATION_TIMEOUT_CODE = 2150858793
ACTION = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
_TIMEOUT = re.compile(r"^PT(\d+(?:\.\d+)?)S$")


@dataclass(frozen=True)
class CommandCall:
    """One command of a pipeline as the server received it: name or script text, and arguments."""

    name: str
    is_script: bool
    parameters: tuple[tuple[str | None, Any], ...]
    end_of_statement: bool = True


@dataclass(frozen=True)
class Invocation:
    """A pipeline the client asked for."""

    user: str
    shell_id: str
    commands: tuple[CommandCall, ...]


@dataclass(frozen=True)
class ErrorSpec:
    """An error record: message, category (psrpcore ErrorCategory value), id, exception type."""

    message: str
    category: int = 0
    error_id: str = "NotSpecified"
    exception_type: str = "System.Management.Automation.RuntimeException"


@dataclass
class Reply:
    """What a pipeline does: output, error records, how it ends."""

    outputs: list[Any] = field(default_factory=list)
    errors: list[ErrorSpec] = field(default_factory=list)
    failure: ErrorSpec | None = None
    hang: bool = False
    malformed: bool = False
    drop: bool = False


Handler = Callable[[Invocation], Reply]


@dataclass
class TransportFaults:
    """Faults below PSRP: reject every login, never answer, close connections at shell open."""

    refuse_auth: bool = False
    stall: bool = False
    drop_open: bool = False


@dataclass
class _Shell:
    pool: psrpcore.ServerRunspacePool
    user: str
    pipelines: dict[str, psrpcore.ServerPipeline] = field(default_factory=dict)
    queues: dict[str | None, deque[bytes]] = field(default_factory=dict)


class _DropConnectionError(Exception):
    """Close the client's connection without an answer."""


class _FaultError(Exception):
    def __init__(self, code: int, reason: str, status: int = 500) -> None:
        super().__init__(reason)
        self.code, self.reason, self.status = code, reason, status


class WsmanServer:
    """The WSMan/PSRP state machine, independent of HTTP."""

    def __init__(self, handler: Handler, long_poll_cap: float = 0.5) -> None:
        self.handler = handler
        self.long_poll_cap = long_poll_cap
        self.lock = threading.Condition()
        self.shells: dict[str, _Shell] = {}
        self.calls: list[Invocation] = []
        self.actions: list[str] = []

    # --- dispatch -------------------------------------------------------------------------
    def handle(self, body: bytes, user: str) -> bytes:
        """One SOAP request in, one SOAP response out (or _FaultError / _DropConnectionError)."""
        envelope = ET.fromstring(body)  # noqa: S314 - a loopback test endpoint
        header = envelope.find("s:Header", NS)
        if header is None:
            raise _FaultError(2150858817, "no SOAP header")
        action = _text(header, "wsa:Action")
        message_id = _text(header, "wsa:MessageID")
        shell_id = _text(header, "wsman:SelectorSet/wsman:Selector[@Name='ShellId']")
        timeout = _parse_timeout(_text(header, "wsman:OperationTimeout"))
        request = envelope.find("s:Body", NS)
        verb = action.rsplit("/", 1)[-1]
        with self.lock:
            self.actions.append(verb)
        try:
            response = self._dispatch(verb, request, shell_id, timeout, user)
        except _FaultError as fault:
            fault_message_id = message_id
            raise _FaultWithIdError(fault, fault_message_id) from None
        return _envelope(action + "Response", message_id, response)

    def _dispatch(self, verb: str, body: ET.Element | None, shell_id: str, timeout: float,
                  user: str) -> ET.Element | None:
        if body is None:
            raise _FaultError(2150858817, "no SOAP body")
        if verb == "Create":
            return self._create(body, user)
        shell = self.shells.get(shell_id.upper())
        if shell is None:
            raise _FaultError(2150858843, f"The shell {shell_id} was not found.")
        if verb == "Command":
            return self._command(shell, body)
        if verb == "Send":
            return self._send(shell, body)
        if verb == "Receive":
            return self._receive(shell, body, timeout)
        if verb == "Signal":
            return self._signal(shell, body)
        if verb == "Delete":
            self._delete(shell_id)
            return None
        raise _FaultError(2150858853, f"The action {verb} is not supported by this lab endpoint.")

    # --- actions --------------------------------------------------------------------------
    def _create(self, body: ET.Element, user: str) -> ET.Element:
        shell_el = body.find("rsp:Shell", NS)
        creation = body.find("rsp:Shell/pwsh:creationXml", NS)
        if shell_el is None or creation is None or not creation.text:
            raise _FaultError(2150858817, "Create needs a Shell with creationXml")
        shell_id = (shell_el.get("ShellId") or str(uuid.uuid4())).upper()
        with self.lock:
            shell = _Shell(psrpcore.ServerRunspacePool(), user)
            self.shells[shell_id] = shell
            self._feed(shell, _b64(creation.text), None)
        created = ET.Element(f"{{{NS['wst']}}}ResourceCreated")
        ET.SubElement(created, f"{{{NS['wsa']}}}Address").text = "https://127.0.0.1/wsman"
        params = ET.SubElement(created, f"{{{NS['wsa']}}}ReferenceParameters")
        ET.SubElement(params, f"{{{NS['wsman']}}}ResourceURI").text = (
            "http://schemas.microsoft.com/powershell/Microsoft.PowerShell")
        selectors = ET.SubElement(params, f"{{{NS['wsman']}}}SelectorSet")
        ET.SubElement(selectors, f"{{{NS['wsman']}}}Selector", Name="ShellId").text = shell_id
        return created

    def _command(self, shell: _Shell, body: ET.Element) -> ET.Element:
        line = body.find("rsp:CommandLine", NS)
        args = body.find("rsp:CommandLine/rsp:Arguments", NS)
        if line is None or args is None or not args.text:
            raise _FaultError(2150858817, "Command needs CommandLine/Arguments")
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        with self.lock:
            pipeline = psrpcore.ServerPipeline(shell.pool, uuid.UUID(command_id))
            shell.pipelines[command_id] = pipeline
            dropped = self._feed(shell, _b64(args.text), pipeline.pipeline_id)
        if dropped:
            raise _DropConnectionError
        response = ET.Element(f"{{{NS['rsp']}}}CommandResponse")
        ET.SubElement(response, f"{{{NS['rsp']}}}CommandId").text = command_id
        return response

    def _send(self, shell: _Shell, body: ET.Element) -> ET.Element:
        stream = body.find("rsp:Send/rsp:Stream", NS)
        if stream is None:
            raise _FaultError(2150858817, "Send needs a Stream")
        command_id = stream.get("CommandId")
        with self.lock:
            pipeline = shell.pipelines.get(command_id.upper()) if command_id else None
            dropped = self._feed(shell, _b64(stream.text or ""),
                                 pipeline.pipeline_id if pipeline else None)
        if dropped:
            raise _DropConnectionError
        return ET.Element(f"{{{NS['rsp']}}}SendResponse")

    def _receive(self, shell: _Shell, body: ET.Element, timeout: float) -> ET.Element:
        desired = body.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.get("CommandId") if desired is not None else None
        key = command_id.upper() if command_id else None
        deadline = time.monotonic() + min(timeout, self.long_poll_cap)
        with self.lock:
            queue = shell.queues.setdefault(key, deque())
            while not queue:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _FaultError(OPERATION_TIMEOUT_CODE, "The WS-Management service cannot "
                                 "complete the operation within the time specified in "
                                 "OperationTimeout.")
                self.lock.wait(remaining)
            chunks = list(queue)
            queue.clear()
            pipeline = shell.pipelines.get(key) if key else None
            done = pipeline is not None and pipeline.state in _TERMINAL
        response = ET.Element(f"{{{NS['rsp']}}}ReceiveResponse")
        for chunk in chunks:
            attrs = {"Name": "stdout"}
            if command_id:
                attrs["CommandId"] = command_id
            ET.SubElement(response, f"{{{NS['rsp']}}}Stream", attrs).text = (
                base64.b64encode(chunk).decode())
        if command_id:
            state = "Done" if done else "Running"
            ET.SubElement(response, f"{{{NS['rsp']}}}CommandState", CommandId=command_id,
                          State=f"{SHELL}CommandState/{state}")
        return response

    def _signal(self, shell: _Shell, body: ET.Element) -> ET.Element:
        signal = body.find("rsp:Signal", NS)
        code = _text(body, "rsp:Signal/rsp:Code")
        command_id = (signal.get("CommandId") or "").upper() if signal is not None else ""
        with self.lock:
            pipeline = shell.pipelines.get(command_id)
            if pipeline is not None:
                if pipeline.state in (PSInvocationState.Running, PSInvocationState.Stopping):
                    pipeline.stop()
                if code.endswith("/Terminate"):
                    pipeline.close()
                    shell.pipelines.pop(command_id, None)
                self._flush(shell)
        response = ET.Element(f"{{{NS['rsp']}}}SignalResponse")
        return response

    def _delete(self, shell_id: str) -> None:
        with self.lock:
            self.shells.pop(shell_id.upper(), None)
            self.lock.notify_all()

    # --- PSRP ---------------------------------------------------------------------------
    def _feed(self, shell: _Shell, data: bytes, pipeline_id: uuid.UUID | None) -> bool:
        """Give PSRP fragments to psrpcore and run any pipeline they create; True to drop."""
        shell.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default,
                                                     pipeline_id))
        drop = False
        while (event := shell.pool.next_event()) is not None:
            if isinstance(event, psrpcore.CreatePipelineEvent):
                drop |= self._run(shell, event.pipeline_id)
        self._flush(shell)
        return drop

    def _run(self, shell: _Shell, pipeline_id: uuid.UUID) -> bool:
        pipeline = shell.pool.pipeline_table[pipeline_id]
        metadata: Any = pipeline.metadata
        commands = tuple(CommandCall(str(c.command_text), bool(c.is_script),
                                     tuple((n, v) for n, v in c.parameters),
                                     bool(c.end_of_statement))
                         for c in metadata.commands)
        invocation = Invocation(user=shell.user, shell_id=str(shell.pool.runspace_pool_id),
                                commands=commands)
        self.calls.append(invocation)
        try:
            reply = self.handler(invocation)
        except Exception as exc:  # noqa: BLE001 - a lab bug must reach the client as an error
            reply = Reply(failure=ErrorSpec(f"lab endpoint error: {type(exc).__name__}: {exc}"))
        if reply.drop:
            return True
        pipeline.start()
        if reply.hang:
            return False
        for value in reply.outputs:
            pipeline.write_output(value)
        if reply.malformed:
            _queue_raw_output(shell.pool, pipeline_id, b"<Obj RefId=\"0\"><MS><S N=\"Name\">cut")
        for err in reply.errors:
            pipeline.write_error(*_error_parts(err))
        if reply.failure is not None:
            reason, info, _target, error_id = _error_parts(reply.failure)
            record = ErrorRecord(Exception=reason, CategoryInfo=info,
                                 FullyQualifiedErrorId=error_id)
            # psrpcore 0.3.1 has no public call for a failed pipeline
            pipeline._change_state(PSInvocationState.Failed, record)
        else:
            pipeline.complete()
        return False

    def _flush(self, shell: _Shell) -> None:
        while (payload := shell.pool.data_to_send()) is not None:
            key = str(payload.pipeline_id).upper() if payload.pipeline_id else None
            shell.queues.setdefault(key, deque()).append(bytes(payload.data))
        self.lock.notify_all()


_TERMINAL = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)


class _FaultWithIdError(Exception):
    def __init__(self, fault: _FaultError, message_id: str) -> None:
        super().__init__(fault.reason)
        self.fault, self.message_id = fault, message_id


def _error_parts(err: ErrorSpec) -> tuple[NETException, ErrorCategoryInfo, None, str]:
    exc = NETException(Message=err.message)
    exc.PSObject.type_names = [err.exception_type, "System.Exception", "System.Object"]
    info = ErrorCategoryInfo(Category=err.category, Reason=err.exception_type.rsplit(".", 1)[-1])
    return exc, info, None, err.error_id


def _queue_raw_output(pool: psrpcore.ServerRunspacePool, pipeline_id: uuid.UUID,
                      clixml: bytes) -> None:
    """Queue a PipelineOutput message whose CLIXML is cut short (the `malformed` fault)."""
    from psrpcore._payload import PSRPMessage, create_message  # private: no public way to
    from psrpcore.types import PSRPMessageType  # send bytes that are not a serialised object

    raw = create_message(False, PSRPMessageType.PipelineOutput, clixml, pool.runspace_pool_id,
                         pipeline_id)
    message = PSRPMessage(PSRPMessageType.PipelineOutput, bytearray(raw),
                          pool.runspace_pool_id, pipeline_id, pool._fragment_counter,
                          psrpcore.StreamType.default)
    pool._send_buffer.append(message)


def _text(root: ET.Element, path: str) -> str:
    found = root.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _parse_timeout(value: str) -> float:
    match = _TIMEOUT.match(value)
    return float(match.group(1)) if match else 20.0


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text)
    except binascii.Error as exc:
        raise _FaultError(2150858817, f"bad base64: {exc}") from None


def _envelope(action: str, relates_to: str, body: ET.Element | None) -> bytes:
    env = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(env, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = action
    ET.SubElement(header, f"{{{NS['wsa']}}}MessageID").text = f"uuid:{uuid.uuid4()}"
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = relates_to
    body_el = ET.SubElement(env, f"{{{NS['s']}}}Body")
    if body is not None:
        body_el.append(body)
    return bytes(ET.tostring(env, encoding="utf-8", xml_declaration=True))


def _fault_envelope(fault: _FaultError, relates_to: str) -> bytes:
    env = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(env, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = (
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault")
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = relates_to
    body = ET.SubElement(env, f"{{{NS['s']}}}Body")
    soap_fault = ET.SubElement(body, f"{{{NS['s']}}}Fault")
    code = ET.SubElement(soap_fault, f"{{{NS['s']}}}Code")
    ET.SubElement(code, f"{{{NS['s']}}}Value").text = "s:Receiver"
    reason = ET.SubElement(soap_fault, f"{{{NS['s']}}}Reason")
    ET.SubElement(reason, f"{{{NS['s']}}}Text").text = fault.reason
    detail = ET.SubElement(soap_fault, f"{{{NS['s']}}}Detail")
    wsman_fault = ET.SubElement(detail, f"{{{NS['wsmanfault']}}}WSManFault",
                                Code=str(fault.code), Machine="127.0.0.1")
    ET.SubElement(wsman_fault, f"{{{NS['wsmanfault']}}}Message").text = fault.reason
    return bytes(ET.tostring(env, encoding="utf-8", xml_declaration=True))


# --- HTTP -----------------------------------------------------------------------------------

class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    wsman: WsmanServer
    username: str
    password: str
    faults: TransportFaults
    latency: float
    stopping: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that rejects the certificate or hangs up is not a lab failure."""


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the lab records actions and calls instead of logging requests."""

    def do_POST(self) -> None:
        """Every WSMan request is a POST to /wsman."""
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if srv.latency:
            time.sleep(srv.latency)
        if srv.faults.stall:
            srv.stopping.wait()
            self.close_connection = True
            return
        user = self._authenticate()
        if user is None:
            self._send(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        if not body:
            self._send(200, b"")
            return
        if srv.faults.drop_open and b"/transfer/Create" in body:
            self._drop()
            return
        try:
            payload = srv.wsman.handle(body, user)
        except _DropConnectionError:
            self._drop()
            return
        except _FaultWithIdError as err:
            self._send(err.fault.status, _fault_envelope(err.fault, err.message_id))
            return
        except ET.ParseError:
            self._send(400, b"")
            return
        self._send(200, payload)

    def _authenticate(self) -> str | None:
        srv = self.server
        if srv.faults.refuse_auth:
            return None
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        ok = hmac.compare_digest(user.encode(), srv.username.encode()) and hmac.compare_digest(
            password.encode(), srv.password.encode())
        return user if ok else None

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def make_http_server(wsman: WsmanServer, *, host: str, port: int, username: str,
                     password: str, faults: TransportFaults, latency: float,
                     tls: tuple[Path, Path] | None) -> _HttpServer:
    """Bind the listener (HTTPS when `tls` gives a certificate and key)."""
    server = _HttpServer((host, port), _RequestHandler)
    server.wsman, server.username, server.password = wsman, username, password
    server.faults, server.latency, server.stopping = faults, latency, threading.Event()
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)
    return server
