"""A small pool of WeasyPrint worker processes (pdfworker.py), fed from threads.

Processes, not threads: layout is CPU-bound Python, and a process gives its memory back to the
system when it ends. A worker is replaced after a few documents so that memory fragmentation
cannot pile up over a long report.
Workers run in their own process group and ignore SIGINT: a Ctrl-C reaches the parent only,
which, leaving the pool on an exception, kills the workers instead of waiting for their pages.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import SimpleQueue
from types import TracebackType

from auditor.report.pdfworker import read_message, write_message

logger = logging.getLogger(__name__)
weasyprint_logger = logging.getLogger("weasyprint")
WORKER = Path(__file__).with_name("pdfworker.py")
JOBS_PER_WORKER = 20


class PdfRenderError(RuntimeError):
    """A worker could not render a document."""


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            process_group=0)
        self.jobs = 0
        self.leaving = False

    def render(self, html: bytes) -> bytes:
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            raise PdfRenderError("the PDF worker has no pipes")
        try:
            write_message(stdin, html)
            reply = read_message(stdout)
            warnings = read_message(stdout)
            leaving = read_message(stdout)
        except (OSError, EOFError) as exc:
            raise PdfRenderError(f"the PDF worker died (exit code {self.process.poll()})") \
                from exc
        if reply is None or warnings is None or leaving is None:
            raise PdfRenderError(f"the PDF worker died (exit code {self.process.poll()})")
        self.jobs += 1
        self.leaving = leaving == b"1"
        for line in warnings.decode("utf-8", "replace").splitlines():
            weasyprint_logger.warning("%s", line)
        if reply[:1] != b"\x00":
            raise PdfRenderError(reply[1:].decode("utf-8", "replace"))
        return reply[1:]

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):  # a killed worker: nothing was left to send
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class PdfPool:
    """`with PdfPool(2) as pool: future = pool.submit(html)`; futures resolve to PDF bytes."""

    def __init__(self, workers: int, jobs_per_worker: int = JOBS_PER_WORKER) -> None:
        self.size = workers
        self.jobs_per_worker = jobs_per_worker
        self._free: SimpleQueue[_Worker] = SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closing = False
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdf")

    def __enter__(self) -> PdfPool:
        try:
            for _ in range(self.size):
                self._free.put(self._start())
        except BaseException as exc:  # Ctrl-C while starting: no worker is left behind
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            self._abandon()
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for worker in self._all:
                worker.close()
            self._all.clear()

    def _abandon(self) -> None:
        """Kill every worker (on Ctrl-C or an error): the pages in progress are not wanted, and
        a thread waiting on a killed worker gets an error at once."""
        with self._lock:
            self._closing = True
            for worker in self._all:
                worker.process.kill()

    def _start(self) -> _Worker:
        worker = _Worker()
        with self._lock:
            self._all.append(worker)
            if self._closing:  # started by a thread while the pool was being abandoned
                worker.process.kill()
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._all.remove(worker)
        worker.close()

    def _run(self, html: bytes) -> bytes:
        worker = self._free.get()
        try:
            if self._closing:
                raise PdfRenderError("the PDF pool was abandoned")
            return worker.render(html)
        finally:
            self._free.put(self._renewed(worker))

    def _renewed(self, worker: _Worker) -> _Worker:
        """The worker, or a fresh one when it died, is leaving or has done its share. While
        the pool is abandoned the dead worker goes back as it is, so no job waits forever."""
        spent = (worker.process.poll() is not None or worker.leaving
                 or worker.jobs >= self.jobs_per_worker)
        if not spent or self._closing:
            return worker
        self._retire(worker)
        return self._start()

    def submit(self, html: str) -> Future[bytes]:
        """Render one HTML document in the next free worker."""
        return self._threads.submit(self._run, html.encode("utf-8"))
