"""kill -9 at random moments while audits are written into the history store: after each kill
the store opens and holds every audit committed before it, and no half audit.

Slow (minutes), so excluded by default (`-m "not killloop"` in pyproject.toml); run by hand:
    .venv/bin/pytest -q -s -m killloop tests/unit/test_history_killloop.py
AUDITOR_KILL_LOOP_N sets the number of kills (default 60); AUDITOR_KILL_LOOP_SEED the seed.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from auditor.history.store import open_store
from tests.historykit import ROOT, check_whole

pytestmark = pytest.mark.killloop


def test_kills_at_random_moments_lose_nothing_committed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    seed = int(os.environ.get("AUDITOR_KILL_LOOP_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)  # noqa: S311 - kill moments, not secrets
    committed = 0
    counts: Counter[str] = Counter()
    for i in range(int(os.environ.get("AUDITOR_KILL_LOOP_N", "60"))):
        writer = subprocess.Popen([sys.executable, "-m", "tests.historykit", url, "1000",
                                   str(seed * 1000 + i)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        # Wait for the first line (the imports take seconds), then kill within the next writes.
        line = writer.stdout.readline() if rng.random() < 0.8 else ""
        time.sleep(rng.uniform(0, 1.5))
        writer.kill()
        rest, stderr = writer.communicate(timeout=120)
        assert writer.returncode == -9, stderr[-2000:]
        done = (line + rest).count("committed")
        committed += done
        counts["kills after a commit" if done else "kills before any commit"] += 1
        assert check_whole(open_store(url)) == committed
    print(f"seed {seed}: {dict(counts)}, {committed} audits committed")  # noqa: T201
    assert counts["kills after a commit"] > 0
