"""Bad input: one or two lines naming file, line and field; exit code 2; never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.yamlio import MAX_INPUT_BYTES, load_yaml

CORPUS = Path(__file__).resolve().parent.parent / "bad_input"


def run_cli(*args: str, cwd: Path = CORPUS) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def expected_of(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path} does not state its expected error"
    return first.removeprefix("# expect: ")


def assert_bad_input(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"error: {expected}"


INVENTORIES = sorted((CORPUS / "inventory").glob("*.yaml"))
WAIVERS = sorted((CORPUS / "waivers").glob("*.yaml"))


@pytest.mark.parametrize("path", INVENTORIES, ids=[p.stem for p in INVENTORIES])
def test_bad_inventory(path: Path) -> None:
    assert_bad_input(run_cli("inventory", "validate", f"inventory/{path.name}"),
                     expected_of(path))


@pytest.mark.parametrize("path", WAIVERS, ids=[p.stem for p in WAIVERS])
def test_bad_waivers(path: Path) -> None:
    result = run_cli("inventory", "validate", "good_inventory.yaml", "--waivers",
                     f"waivers/{path.name}")
    assert_bad_input(result, expected_of(path))


def test_bad_bundles(tmp_path: Path) -> None:
    expected, _ = load_yaml(CORPUS / "bundle" / "expected.yaml")
    assert len(expected) >= 4
    for name, message in expected.items():
        result = run_cli("evaluate", f"bundle/{name}", "--inventory", "good_inventory.yaml",
                         "--out", str(tmp_path / "results.json"))
        assert_bad_input(result, message)
    assert not (tmp_path / "results.json").exists()


def test_now_without_zone(tmp_path: Path) -> None:
    result = run_cli("evaluate", "bundle/tampered.json", "--inventory", "good_inventory.yaml",
                     "--out", str(tmp_path / "r.json"), "--now", "2026-11-25T06:00:00")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def _special_files(tmp: Path) -> dict[str, str]:
    """Files that cannot carry their own expectation: made here, expectation beside them."""
    (tmp / "a_directory.yaml").mkdir()
    os.mkfifo(tmp / "a_fifo.yaml")
    (tmp / "dangling.yaml").symlink_to(tmp / "nowhere.yaml")
    (tmp / "latin1.yaml").write_bytes(b"version: 1\nestate: {name: Caf\xe9}\n")
    (tmp / "empty.yaml").write_bytes(b"")
    (tmp / "blank.yaml").write_bytes(b"\n  \n")
    with (tmp / "huge.yaml").open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)
    return {
        "a_directory.yaml": "a_directory.yaml: is a directory, expected a file",
        "a_fifo.yaml": "a_fifo.yaml: is not a regular file (FIFO, socket or device)",
        "dangling.yaml": "dangling.yaml: dangling symbolic link",
        "missing.yaml": "missing.yaml: file not found",
        "latin1.yaml": "latin1.yaml:2: not valid UTF-8 text",
        "empty.yaml": "empty.yaml:1: file is empty",
        "blank.yaml": "blank.yaml:1: file is empty",
        "huge.yaml": f"huge.yaml: file too large ({MAX_INPUT_BYTES + 1} bytes, "
                     f"limit {MAX_INPUT_BYTES})",
    }


def test_special_files(tmp_path: Path) -> None:
    for name, message in _special_files(tmp_path).items():
        assert_bad_input(run_cli("inventory", "validate", name, cwd=tmp_path), message)


def test_corpus_is_large_enough() -> None:
    files = len(INVENTORIES) + len(WAIVERS) + 4 + 8
    assert files >= 25
