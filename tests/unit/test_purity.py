"""Evaluation is pure: hash seed, time zone, locale and observation order change nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "fixtures" / "demo"

# Loads the bundle, shuffles observations and their rows with the given seed, evaluates at the
# bundle's collection time and writes results.json bytes to stdout.
DRIVER = """
import random, sys
from pathlib import Path
from auditor.evidence import read_bundle
from auditor.pipeline import Toolkit
from auditor.results import results_bytes
estate, seed = Path(sys.argv[1]), int(sys.argv[2])
toolkit = Toolkit()
loaded = toolkit.load_inventory(estate / "inventory.yaml")
bundle, digest = read_bundle(estate / "evidence.json")
rng = random.Random(seed)
observations = list(bundle.observations)
rng.shuffle(observations)
observations = [o.model_copy(update={"data": rng.sample(o.data, len(o.data))})
                for o in observations]
bundle = bundle.model_copy(update={"observations": observations})
results = toolkit.evaluate(bundle, digest, loaded, toolkit.load_waivers(loaded, None))
sys.stdout.buffer.write(results_bytes(results))
"""


def _evaluate(estate: str, seed: int, hash_seed: str, tz: str, locale: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "TZ": tz, "LC_ALL": locale, "LANG": locale}
    done = subprocess.run([sys.executable, "-c", DRIVER, str(DEMO / estate), str(seed)], env=env,
                          capture_output=True, timeout=120, check=True, cwd=ROOT)
    return done.stdout


@pytest.mark.parametrize("estate", ["healthy", "drifted", "neglected"])
def test_results_are_byte_identical_across_processes(estate: str) -> None:
    first = _evaluate(estate, 1, "1", "Australia/Brisbane", "C.UTF-8")
    second = _evaluate(estate, 2, "4242", "America/Chicago", "POSIX")
    assert first.startswith(b"{")
    assert b'"findings"' in first
    assert first == second
