"""The collection progress bar: drawn on a terminal from worker threads, silent elsewhere."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from auditor.cli.common import collection_progress


def test_a_terminal_gets_a_bar_per_collector() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with collection_progress(console) as progress:
        progress("sql", 0, 20)
        workers = [threading.Thread(target=progress, args=("sql", done, 20))
                   for done in range(1, 21)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        progress("sql", 20, 20)  # the last word, whatever order the threads ran in
        progress("lync", 3, 3)
    text = screen.getvalue()
    assert "collecting sql" in text
    assert "20/20" in text
    assert "collecting lync" in text
    assert "3/3" in text


def test_a_pipe_or_file_gets_nothing() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=False, width=100)
    with collection_progress(console) as progress:
        progress("sql", 0, 2)
        progress("sql", 2, 2)
    assert screen.getvalue() == ""
