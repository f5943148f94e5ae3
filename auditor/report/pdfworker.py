"""A WeasyPrint worker process: HTML documents in on stdin, PDFs out on stdout, until EOF.

Run as a script in isolated mode (`python -I pdfworker.py`), so it imports WeasyPrint and the
standard library only, never the auditor package. Each message is an 8-byte big-endian length
and that many bytes. A reply is three messages: one byte 0 then the PDF (or 1 then an error
text); WeasyPrint's warnings about the document, one per line (often none); and b"1" when the
worker is about to exit (it has grown over MAX_RSS_MB), else b"0".
Only data: URLs may be fetched, as in pdf.render_pdf.
The worker ignores SIGINT (the parent handles Ctrl-C and kills it), and when the parent is gone
(its pipe is closed) it exits without a word.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import signal
import struct
import sys
from typing import IO

HEADER = struct.Struct(">Q")
# After a document, a worker whose resident memory is over this many MB exits once it has
# replied (the parent starts a fresh one): freed layout memory is not always given back.
MAX_RSS_MB = int(os.environ.get("AUDITOR_PDF_WORKER_MAX_RSS_MB", "130"))


def read_message(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed message, or None at a clean end of the stream."""
    head = stream.read(HEADER.size)
    if not head:
        return None
    if len(head) != HEADER.size:
        raise EOFError("truncated message header")
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) != size:
        raise EOFError("truncated message")
    return body


def write_message(stream: IO[bytes], body: bytes) -> None:
    """One length-prefixed message, flushed."""
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


class _Complaints(logging.Handler):
    """WeasyPrint's warnings and errors about a document, passed back to the parent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _resident_mb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return 0
    return 0


def _give_back() -> None:
    """Return freed memory to the system (glibc keeps it otherwise)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return


def main() -> int:
    """Serve until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return _serve()
    except (BrokenPipeError, EOFError):
        # The parent died (or was killed) while sending a document or while this worker was
        # rendering one: there is nobody to answer.
        os._exit(0)


def _serve() -> int:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    complaints = _Complaints()
    logging.getLogger("weasyprint").addHandler(complaints)
    fetcher = URLFetcher(allowed_protocols={"data"})
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while (message := read_message(source)) is not None:
        complaints.messages.clear()
        try:
            pdf = HTML(string=message.decode("utf-8"), url_fetcher=fetcher).write_pdf()
            write_message(sink, b"\x00" + (pdf or b""))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
            write_message(sink, b"\x01" + f"{type(exc).__name__}: {exc}".encode())
        _give_back()
        done = _resident_mb() > MAX_RSS_MB
        write_message(sink, "\n".join(complaints.messages).encode())
        write_message(sink, b"1" if done else b"0")
        if done:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
