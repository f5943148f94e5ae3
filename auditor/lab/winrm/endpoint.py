"""The loopback WinRM endpoint: TLS made at start, a listener thread, start/stop."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from auditor.lab.winrm.tls import TlsFiles, make_tls_files
from auditor.lab.winrm.wsman import (
    Handler,
    Invocation,
    TransportFaults,
    WsmanServer,
    make_http_server,
)


def _quiet_psrpcore() -> None:
    """psrpcore logs every message it queues, whole, at DEBUG: the server side of the lab
    keeps it at WARNING so that a test's captured logs hold only the client's."""
    logger = logging.getLogger("psrpcore")
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)


class WinRMEndpoint:
    """A WinRM listener on 127.0.0.1 (HTTPS by default, certificate from a CA made here).

    Use as a context manager, or start()/stop(). `calls` holds every pipeline received,
    `actions` every WSMan action, `faults` the transport faults (changeable while running).
    """

    def __init__(self, handler: Handler, *, username: str = "lab\\auditor",
                 password: str = "lab-password",  # noqa: S107 - the lab's own login
                 host: str = "127.0.0.1", port: int = 0,
                 https: bool = True, latency: float = 0.0, long_poll_cap: float = 0.5,
                 tls_dir: Path | None = None) -> None:
        self.username, self.password, self.host = username, password, host
        self.https = https
        self.faults = TransportFaults()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if tls_dir is None and https:
            self._tmp = tempfile.TemporaryDirectory(prefix="auditor-winrm-")
            tls_dir = Path(self._tmp.name)
        self.tls: TlsFiles | None = make_tls_files(tls_dir, host) if (https and tls_dir) else None
        self.wsman = WsmanServer(handler, long_poll_cap=long_poll_cap)
        self._http = make_http_server(
            self.wsman, host=host, port=port, username=username, password=password,
            faults=self.faults, latency=latency,
            tls=(self.tls.server_cert, self.tls.server_key) if self.tls else None)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the listener is bound to."""
        return int(self._http.server_address[1])

    @property
    def ca_cert(self) -> Path | None:
        """The CA certificate a client must trust (None over plain HTTP)."""
        return self.tls.ca_cert if self.tls else None

    @property
    def calls(self) -> list[Invocation]:
        """Every pipeline the endpoint received, in order."""
        return self.wsman.calls

    @property
    def actions(self) -> list[str]:
        """Every WSMan action (Create, Receive, Command, Signal, Delete, ...), in order."""
        return self.wsman.actions

    def start(self) -> WinRMEndpoint:
        """Serve in a daemon thread."""
        _quiet_psrpcore()
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"winrm-lab-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release stalled requests, remove the TLS files."""
        self._http.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        _quiet_psrpcore()
        try:
            self._http.serve_forever(poll_interval=0.2)
        finally:
            self._http.server_close()

    def __enter__(self) -> WinRMEndpoint:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
