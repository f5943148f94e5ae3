"""Kills at random moments of real audits into one folder; after each, the folder holds one
whole audit (its manifest matches its files), the previous one or the new one.

Slow (minutes), so excluded by default (`-m "not killloop"` in pyproject.toml); run by hand:
    .venv/bin/pytest -q -s -m killloop tests/unit/test_outfolder_killloop.py
AUDITOR_KILL_LOOP_N sets the number of kills per case (default 30); AUDITOR_KILL_LOOP_SEED the
random seed (printed).
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.outfolderkit import KILLED, ROOT, audit_args, demo_args, env, leftovers, run, run_id

pytestmark = pytest.mark.killloop


@pytest.mark.parametrize("pdf", [False, True], ids=["html-json-md-csv", "pdf"])
def test_kills_at_random_moments_leave_one_whole_audit(pdf: bool, tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    args = demo_args(folder) if pdf else audit_args(folder, "html,json,md,csv")
    start = time.monotonic()
    first = run(args)
    duration = time.monotonic() - start
    assert first.returncode == 0, first.stderr
    seen = {run_id(folder)}
    seed = int(os.environ.get("AUDITOR_KILL_LOOP_SEED", str(time.time_ns() % 1_000_000)))
    rng = random.Random(seed)  # noqa: S311 - kill moments, not secrets
    counts: Counter[str] = Counter()
    for _ in range(int(os.environ.get("AUDITOR_KILL_LOOP_N", "30"))):
        process = subprocess.Popen(args, env=env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, duration * 1.1))
        process.kill()
        _, stderr = process.communicate(timeout=120)
        counts["killed" if process.returncode == KILLED else "finished first"] += 1
        assert process.returncode in (KILLED, 0), stderr
        now = run_id(folder)  # asserts that the manifest matches the files
        counts["previous audit kept" if now in seen else "new audit in place"] += 1
        counts["runs whose leftovers were found"] += bool(leftovers(folder))
        seen.add(now)
    assert run(args).returncode == 0
    assert leftovers(folder) == []
    print(f"\nkill loop ({'with' if pdf else 'without'} PDF, first run {duration:.1f} s, "  # noqa: T201
          f"seed {seed}): {dict(sorted(counts.items()))}")
