"""A lab instance that cannot do TLS: a loopback front to the lab cluster that answers the
client's SSLRequest with "N" (as a server without TLS does) and then passes every byte through.

Through it, psqlODBC with SSLmode=require (the collector's `encrypt: true`) fails with "server
does not support SSL, but SSL was required", and with the `encrypt: false` opt-out
(SSLmode=prefer) logs in without TLS: the case of a SQL Server that offers no encryption, with
the real driver and the real lab behind it (issue 16 item 5).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

from auditor.lab.cluster import HOST

_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104


class NoTlsFront:
    """Listens on a free loopback port while open; one thread pair per client connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server((HOST, 0))
        self.port = int(self.listener.getsockname()[1])
        self.refused = 0  # SSLRequests answered "N"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> NoTlsFront:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection((HOST, self.target_port), timeout=10) as server:
            server.settimeout(None)  # an idle audit connection must not be cut
            first = self._refuse_encryption(client)
            if first is None:
                return
            server.sendall(first)
            back = threading.Thread(target=_pipe, args=(server, client), daemon=True)
            back.start()
            _pipe(client, server)
            back.join(timeout=5)

    def _refuse_encryption(self, client: socket.socket) -> bytes | None:
        """Answer "N" to each SSLRequest/GSSENCRequest; the first other packet, to forward."""
        while True:
            header = read_exactly(client, 8)
            if header is None:
                return None
            length, code = struct.unpack(">II", header)
            if length == 8 and code in (_SSL_REQUEST, _GSS_REQUEST):
                self.refused += code == _SSL_REQUEST
                client.sendall(b"N")
                continue
            rest = read_exactly(client, length - 8) if length > 8 else b""
            return None if rest is None else header + rest


def read_exactly(sock: socket.socket, size: int) -> bytes | None:
    """`size` bytes from the socket, or None when it closes or fails first."""
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
