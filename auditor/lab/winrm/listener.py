"""The HTTP side of the lab listener: Basic authentication, HTTPS, transport faults.

Every WSMan request is a POST handed to a `WsmanServer`; its faults become SOAP fault
envelopes and a dropped connection is closed without an answer.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import http.server
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.lab.winrm.soap import DropConnectionError, FaultWithIdError, fault_envelope

if TYPE_CHECKING:
    from auditor.lab.winrm.wsman import WsmanServer


@dataclass
class TransportFaults:
    """Faults below PSRP: reject every login, never answer, close connections at shell open."""

    refuse_auth: bool = False
    stall: bool = False
    drop_open: bool = False


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
        except DropConnectionError:
            self._drop()
            return
        except FaultWithIdError as err:
            self._send(err.fault.status, fault_envelope(err.fault, err.message_id))
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
