"""The WSMan/PSRP state machine of the lab's WinRM listener, on psrpcore's server side.

Enough of MS-WSMV and MS-PSRP for pypsrp: Create/Receive/Command/Send/Signal/Delete on the
PowerShell resource. What each pipeline does is decided by a handler (see `Invocation` and
`Reply`, in invocation.py); the SOAP envelopes are built and read in soap.py; HTTP, Basic
authentication, HTTPS and the transport faults (refuse every login, never answer, drop a
connection) are the listener's, in listener.py. Not for production: one lock serialises all
state. The names the rest of the lab imports from here are re-exported (`__all__`).
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import psrpcore
from psrpcore.types import ErrorCategoryInfo, ErrorRecord, NETException, PSInvocationState

from auditor.lab.winrm.invocation import CommandCall, ErrorSpec, Handler, Invocation, Reply
from auditor.lab.winrm.listener import TransportFaults, make_http_server
from auditor.lab.winrm.soap import (
    NS,
    OPERATION_TIMEOUT_CODE,
    SHELL,
    DropConnectionError,
    FaultError,
    FaultWithIdError,
    decode_b64,
    find_text,
    parse_timeout,
    response_envelope,
)

__all__ = [
    "CommandCall",
    "ErrorSpec",
    "Handler",
    "Invocation",
    "Reply",
    "TransportFaults",
    "WsmanServer",
    "make_http_server",
]


@dataclass
class _Shell:
    pool: psrpcore.ServerRunspacePool
    user: str
    pipelines: dict[str, psrpcore.ServerPipeline] = field(default_factory=dict)
    queues: dict[str | None, deque[bytes]] = field(default_factory=dict)


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
        """One SOAP request in, one SOAP response out (or FaultWithIdError /
        DropConnectionError)."""
        envelope = ET.fromstring(body)  # noqa: S314 - a loopback test endpoint
        header = envelope.find("s:Header", NS)
        if header is None:  # no MessageID to relate the fault to
            raise FaultWithIdError(FaultError(2150858817, "no SOAP header"), "")
        action = find_text(header, "wsa:Action")
        message_id = find_text(header, "wsa:MessageID")
        shell_id = find_text(header, "wsman:SelectorSet/wsman:Selector[@Name='ShellId']")
        timeout = parse_timeout(find_text(header, "wsman:OperationTimeout"))
        request = envelope.find("s:Body", NS)
        verb = action.rsplit("/", 1)[-1]
        with self.lock:
            self.actions.append(verb)
        try:
            response = self._dispatch(verb, request, shell_id, timeout, user)
        except FaultError as fault:
            raise FaultWithIdError(fault, message_id) from None
        return response_envelope(action + "Response", message_id, response)

    def _dispatch(self, verb: str, body: ET.Element | None, shell_id: str, timeout: float,
                  user: str) -> ET.Element | None:
        if body is None:
            raise FaultError(2150858817, "no SOAP body")
        if verb == "Create":
            return self._create(body, user)
        shell = self.shells.get(shell_id.upper())
        if shell is None:
            raise FaultError(2150858843, f"The shell {shell_id} was not found.")
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
        raise FaultError(2150858853, f"The action {verb} is not supported by this lab endpoint.")

    # --- actions --------------------------------------------------------------------------
    def _create(self, body: ET.Element, user: str) -> ET.Element:
        shell_el = body.find("rsp:Shell", NS)
        creation = body.find("rsp:Shell/pwsh:creationXml", NS)
        if shell_el is None or creation is None or not creation.text:
            raise FaultError(2150858817, "Create needs a Shell with creationXml")
        shell_id = (shell_el.get("ShellId") or str(uuid.uuid4())).upper()
        with self.lock:
            shell = _Shell(psrpcore.ServerRunspacePool(), user)
            self.shells[shell_id] = shell
            self._feed(shell, decode_b64(creation.text), None)
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
            raise FaultError(2150858817, "Command needs CommandLine/Arguments")
        command_id = (line.get("CommandId") or str(uuid.uuid4())).upper()
        with self.lock:
            pipeline = psrpcore.ServerPipeline(shell.pool, uuid.UUID(command_id))
            shell.pipelines[command_id] = pipeline
            dropped = self._feed(shell, decode_b64(args.text), pipeline.pipeline_id)
        if dropped:
            raise DropConnectionError
        response = ET.Element(f"{{{NS['rsp']}}}CommandResponse")
        ET.SubElement(response, f"{{{NS['rsp']}}}CommandId").text = command_id
        return response

    def _send(self, shell: _Shell, body: ET.Element) -> ET.Element:
        stream = body.find("rsp:Send/rsp:Stream", NS)
        if stream is None:
            raise FaultError(2150858817, "Send needs a Stream")
        command_id = stream.get("CommandId")
        with self.lock:
            pipeline = shell.pipelines.get(command_id.upper()) if command_id else None
            dropped = self._feed(shell, decode_b64(stream.text or ""),
                                 pipeline.pipeline_id if pipeline else None)
        if dropped:
            raise DropConnectionError
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
                    raise FaultError(OPERATION_TIMEOUT_CODE, "The WS-Management service cannot "
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
        code = find_text(body, "rsp:Signal/rsp:Code")
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
